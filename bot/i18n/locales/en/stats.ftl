# The /stats chart (python -m bot stats --chart too).
stats-chart-title = Questions per day, last { $days } days
stats-chart-questions = questions
stats-chart-topics = Top topics (answered)
stats-chart-answered = answered
stats-chart-suggested = suggestions
stats-chart-fallback = not answered
