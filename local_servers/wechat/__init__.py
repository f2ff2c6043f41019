"""A local WeChat Official Account server for tests and rehearsals.

It serves the API methods of docs/wechat-oa/api.json, checks every request
against it, and plays the patients: their scans, follows, messages and menu
taps are pushed to the bot's callback, signed and encrypted as WeChat does.
``python -m local_servers.wechat --port 8082`` runs one; tests start
:class:`LocalWechat` in their own event loop.
"""

from local_servers.wechat.server import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
    serve_forever,
)

__all__ = [
    "DEFAULT_AES_KEY",
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "DEFAULT_TOKEN",
    "LocalWechat",
    "serve_forever",
]
