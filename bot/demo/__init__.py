"""``python -m bot demo``: the scripted rehearsal behind ``make demo``."""
