"""Local stand-ins of the chat platforms' servers, for tests and rehearsals.

They live outside the bot's runtime package and import nothing from the
product (docs/DESIGN.md §2), so a bug in the bot cannot hide in its own
stand-in: ``local_servers.wechat`` has its own crypto and its own reading
of docs/wechat-oa/api.json.
"""
