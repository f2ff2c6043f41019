"""The reminder engine on fake time with scripted fakes (no Telegram)."""
