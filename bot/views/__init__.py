"""The pure renderers: records in, text (or a file) in one reader's language out.

Nothing here reads the database, the clock or a channel: each function is
given what it shows and a :class:`~bot.i18n.Translator`, so the same text can
be rendered for any reader, any channel and in tests.
"""
