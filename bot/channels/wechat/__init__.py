"""The WeChat Official Account channel for patients in mainland China.

Built so far: reading callbacks (:mod:`bot.channels.wechat.xml`, with the
crypto of :mod:`bot.channels.wxcrypto`), the server API client
(:mod:`bot.channels.wechat.api`), what template values may hold
(:mod:`bot.channels.wechat.templates`) and what each API error means
(:mod:`bot.channels.wechat.outcomes`). The API facts they follow are in
docs/wechat-oa/api.json and docs/wechat-oa/callbacks.md.
"""
