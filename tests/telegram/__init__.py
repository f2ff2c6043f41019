"""Telegram itself: the real Application, real processes, the local Bot API server."""
