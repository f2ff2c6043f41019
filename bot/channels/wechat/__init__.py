"""The WeChat Official Account channel for patients in mainland China.

Reading callbacks (:mod:`bot.channels.wechat.xml`, with the crypto of
:mod:`bot.channels.wxcrypto`), the server API client
(:mod:`bot.channels.wechat.api`), what each API error means
(:mod:`bot.channels.wechat.outcomes`), reminders as template messages
(:mod:`bot.channels.wechat.transport`, the values checked by
:mod:`core.template_fields`) and their delivery receipts
(:mod:`bot.channels.wechat.receipts`); the callback endpoint
(:mod:`bot.channels.wechat.callback`), the adapter to the conversation layer
(:mod:`bot.channels.wechat.adapter`), join QR codes
(:mod:`bot.channels.wechat.join_codes`), files as links
(:mod:`bot.channels.wechat.files`), the account's menu
(:mod:`bot.channels.wechat.menu`), and the channel put together
(:mod:`bot.channels.wechat.channel`). The API facts they follow are in
docs/wechat-oa/api.json and docs/wechat-oa/callbacks.md.
"""
