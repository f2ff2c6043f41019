"""An async client for the WeCom calls the staff channel makes (docs/wecom/api.json).

``getToken`` (the app's access token: ``GET /cgi-bin/gettoken`` with the corp
id and the app's secret, cached; 40014 or 42001 fetch a new one and the call
is made once more), ``message/send`` as text, a button-interaction template
card, an image or a file (the two last after ``media/upload``), and
``update_template_card`` with the single-use code a card's click brought.
Every other failure raises :class:`~bot.channels.wecom.outcomes.WecomApiError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp

from bot.channels.token_api import DEFAULT_TIMEOUT, JSON, Token, TokenApi
from bot.channels.wechat.outcomes import Outcome
from bot.channels.wecom.outcomes import WecomApiError

__all__ = ["DEFAULT_BASE_URL", "TEXT_MAX_BYTES", "Card", "SentMessage", "WecomApi"]

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
#: api.json ``limits.text_content_max_bytes``: a text message's content.
TEXT_MAX_BYTES = 2048
#: api.json ``template_card.button_interaction``: at most 6 buttons; their text and the
#: card's title and body within the lengths the client shows in full.
CARD_BUTTONS_MAX = 6
CARD_TITLE_MAX = 36
CARD_BODY_MAX = 160
BUTTON_TEXT_MAX = 10


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What ``message/send`` answered: WeCom's ``msgid`` (and a card's ``response_code``)."""

    msgid: str
    response_code: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """A button-interaction card: a title, a body, and buttons as (key, text, style)."""

    task_id: str
    title: str
    body: str
    buttons: Sequence[tuple[str, str]]
    source: str = ""

    def to_json(self) -> JSON:
        card: JSON = {
            "card_type": "button_interaction",
            "main_title": {"title": self.title},
            "task_id": self.task_id,
            "button_list": [
                {"type": 0, "text": text, "style": 1 if n == 0 else 2, "key": key}
                for n, (key, text) in enumerate(self.buttons)
            ],
        }
        if self.body:
            card["sub_title_text"] = self.body
        if self.source:
            card["source"] = {"desc": self.source}
        return card


class WecomApi(TokenApi):
    """The WeCom API of one self-built application (corp id, agent id, secret)."""

    token_errcodes = frozenset({40014, 42001})
    error = WecomApiError

    def __init__(
        self,
        corp_id: str,
        agent_id: int,
        secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin_s: float = 120.0,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(
            base_url,
            session=session,
            clock=clock,
            refresh_margin_s=refresh_margin_s,
            timeout=timeout,
        )
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret

    async def _fetch_token(self, *, force: bool) -> Token:
        # gettoken has no forced mode: a fresh call is the only way to a new token.
        query = {"corpid": self.corp_id, "corpsecret": self._secret}
        return await self._token_call("getToken", "GET", "/cgi-bin/gettoken", query, None)

    # --- messages ---------------------------------------------------------------------

    async def _send(self, method: str, touser: str, msgtype: str, content: JSON) -> SentMessage:
        body: JSON = {
            "touser": touser,
            "msgtype": msgtype,
            "agentid": self.agent_id,
            msgtype: content,
        }
        answer = await self._call(method, "POST", "/cgi-bin/message/send", body=body)
        if answer.get("invaliduser"):
            # Accepted for nobody: the member left or is outside the app's visible range.
            raise WecomApiError(method, Outcome.UNREACHABLE, "invaliduser", field="touser")
        code = answer.get("response_code")
        return SentMessage(str(answer.get("msgid", "")), code if isinstance(code, str) else None)

    async def send_text(self, touser: str, content: str) -> SentMessage:
        if len(content.encode()) > TEXT_MAX_BYTES:
            raise WecomApiError(
                "sendText",
                Outcome.REJECTED,
                f"text is at most {TEXT_MAX_BYTES} bytes",
                field="text.content",
            )
        return await self._send("sendText", touser, "text", {"content": content})

    async def send_card(self, touser: str, card: Card) -> SentMessage:
        if not 1 <= len(card.buttons) <= CARD_BUTTONS_MAX:
            raise WecomApiError(
                "sendTemplateCard",
                Outcome.REJECTED,
                f"1 to {CARD_BUTTONS_MAX} buttons",
                field="template_card.button_list",
            )
        return await self._send("sendTemplateCard", touser, "template_card", card.to_json())

    async def send_media(self, touser: str, kind: str, media_id: str) -> SentMessage:
        """An uploaded image (``kind`` "image") or file ("file")."""
        method = "sendImage" if kind == "image" else "sendFile"
        return await self._send(method, touser, kind, {"media_id": media_id})

    async def upload(self, kind: str, filename: str, data: bytes, content_type: str) -> str:
        """Upload an image or a file (kept 3 days by WeCom); its ``media_id``."""

        def form() -> aiohttp.FormData:
            made = aiohttp.FormData()
            made.add_field("media", data, filename=filename, content_type=content_type)
            return made

        answer = await self._call(
            "uploadMedia", "POST", "/cgi-bin/media/upload", query={"type": kind}, form=form
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WecomApiError("uploadMedia", Outcome.UNCERTAIN, "no media_id in the answer")
        return media_id

    async def update_card_button(self, userid: str, response_code: str, text: str) -> None:
        """Grey out the clicked card's buttons with ``text`` (once per click's code)."""
        body: JSON = {
            "userids": [userid],
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": text},
        }
        await self._call(
            "updateTemplateCard", "POST", "/cgi-bin/message/update_template_card", body=body
        )
