"""Local stand-ins of the chat platforms' servers, for tests and rehearsals.

They live outside the bot's runtime package and import nothing from the
product (docs/DESIGN.md §2), so a bug in the bot cannot hide in its own
stand-in: ``local_servers.wechat`` (the patients' WeChat Official Account)
and ``local_servers.wecom`` (the staff's WeCom app) have their own crypto
and their own reading of docs/wechat-oa/api.json and docs/wecom/api.json,
sharing what does not depend on the platform in ``local_servers.common``.
"""
