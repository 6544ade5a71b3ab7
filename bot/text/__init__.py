"""Text for Telegram: its HTML dialect (tghtml) and splitting long messages (split)."""
