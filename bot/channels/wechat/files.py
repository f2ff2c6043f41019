"""Files the bot sends on WeChat, as links: the calendar file, any attachment.

A customer-service message carries text or a menu of options only: docs/wechat-oa/api.json
has no media upload, so a file cannot be sent as itself. It is kept here
instead and the message carries its caption and a link to it, served by the
bot's web server at ``/wechat/files/<random key>/<file name>``. The key is
unguessable (``secrets``), a link lasts :data:`LINK_LIFETIME_S` and is kept
in memory only: after a restart the person asks again (``/calendar`` makes
the file anew).
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import quote

from aiohttp import web

from bot.conversations.events import Attachment
from bot.i18n import LANGUAGES, Translator
from core.messages import N_

FILES_PATH = "/wechat/files/{key}/{name}"
LINK_LIFETIME_S = 24 * 3600.0
EXPIRED = N_("This link has expired. Ask the bot for the file again.")


@dataclass(frozen=True, slots=True)
class _Kept:
    attachment: Attachment
    until: float


class FileLinks:
    """Attachments waiting to be downloaded, each behind its own link."""

    def __init__(
        self,
        public_base_url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        lifetime_s: float = LINK_LIFETIME_S,
    ) -> None:
        self.base_url = public_base_url.rstrip("/")
        self._clock = clock
        self._lifetime = lifetime_s
        self._kept: dict[str, _Kept] = {}

    def publish(self, attachment: Attachment) -> str:
        """Keep ``attachment``; the link that serves it until it expires."""
        now = self._clock()
        for key in [k for k, kept in self._kept.items() if kept.until <= now]:
            del self._kept[key]
        key = secrets.token_urlsafe(24)
        self._kept[key] = _Kept(attachment, now + self._lifetime)
        name = quote(attachment.filename, safe="")
        return self.base_url + FILES_PATH.format(key=key, name=name)

    async def serve(self, request: web.Request) -> web.Response:
        """``GET /wechat/files/<key>/<name>``: the file, or 404 once expired or unknown."""
        kept = self._kept.get(request.match_info["key"])
        if kept is None or kept.until <= self._clock():
            # Whose link it was is not known any more: both languages.
            text = "\n".join(Translator(lang, UTC)._(EXPIRED) for lang in LANGUAGES)
            return web.Response(status=404, text=text)
        attachment = kept.attachment
        kind = mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
        return web.Response(
            body=attachment.data,
            content_type=kind,
            headers={
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.filename)}"
            },
        )
