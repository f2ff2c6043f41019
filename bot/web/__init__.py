"""The bot's own HTTP server: channel callbacks and the patients' pages."""
