"""The Telegram channel: python-telegram-bot's ``Application`` in front of the conversation layer."""
