"""A local WeCom (企业微信) server for tests and rehearsals.

It serves the API methods of docs/wecom/api.json (the self-built app's
token, messages, template cards and their updates, media, members, recall),
checks every request against it, and plays the staff: their messages, card
clicks and visible-range changes are pushed to the bot's callback, encrypted
as WeCom does (docs/wecom/callbacks.md §8 is the checklist).
``python -m local_servers.wecom --port 8083`` runs one; tests start
:class:`LocalWecom` in their own event loop.
"""

from local_servers.wecom.server import (
    DEFAULT_AES_KEY,
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    LocalWecom,
    serve_forever,
)

__all__ = [
    "DEFAULT_AES_KEY",
    "DEFAULT_AGENT_ID",
    "DEFAULT_CORP_ID",
    "DEFAULT_SECRET",
    "DEFAULT_TOKEN",
    "LocalWecom",
    "serve_forever",
]
