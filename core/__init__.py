"""The trial's rules: pure functions that take values and return values.

Nothing in this package (outside ``core.store``) talks to Telegram, APScheduler,
the clock or the file system, apart from ``core.protocol`` which reads the
protocol file once at start-up.
"""
