# График /stats (и python -m bot stats --chart).
stats-chart-title = Вопросы по дням, последние { $days } дн.
stats-chart-questions = вопросов
stats-chart-topics = Популярные темы (с ответом)
stats-chart-answered = отвечено
stats-chart-suggested = предложены варианты
stats-chart-fallback = без ответа
