"""The WeCom (企业微信) staff channel: the self-built application's API, callback and adapter.

Staff in mainland China use the hospital's WeCom; the same conversation layer
answers them as it answers staff on Telegram (docs/wecom/callbacks.md,
docs/wecom/api.json).
"""
