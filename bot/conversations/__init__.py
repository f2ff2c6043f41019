"""The conversation layer: what people can say to the bot and what it answers, on any channel.

It knows no chat app. A channel adapter (:mod:`bot.channels.telegram`, the in-memory
one of tests) turns what a person did into an
:class:`~bot.conversations.events.Inbound`, calls
:meth:`~bot.conversations.dispatch.Conversations.handle`, and shows the
replies through its :class:`~bot.conversations.events.Replies` port.
"""
