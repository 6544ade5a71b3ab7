"""Admissions staff tools: statistics, unanswered questions, hand-off, broadcasts, audit."""
