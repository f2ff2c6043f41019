"""A local WeCom (企业微信) server: the API of docs/wecom/api.json, checked, and pushes.

Give the bot's WeCom client :attr:`LocalWecom.url` as its base URL (the
paths are WeCom's, ``/cgi-bin/...``) and the stand-in's CorpID, AgentId,
Secret, Token and EncodingAESKey; give the stand-in the bot's callback URL.
Then:

* every API request is checked before it is served
  (:mod:`local_servers.common.server`): the access token (41001 missing,
  40014 unknown or invalidated, 42001 expired), the body (UTF-8 JSON without
  ``\\uXXXX`` escapes, 40033, configurable; multipart for an upload), the
  method's fields and limits (:mod:`local_servers.wecom.spec`; ``message/send``
  is five methods, told apart by ``msgtype``, 40008 for another), then what
  the method itself refuses (:mod:`local_servers.wecom.methods`). A refusal
  because the request broke api.json is kept in :attr:`LocalWecom.violations`,
  which a test suite asserts stays empty;
* what the app sent is kept in :attr:`LocalWecom.sent`, its cards by task_id
  in :attr:`LocalWecom.cards`, uploads in ``world.media``, every request in
  :attr:`LocalWecom.requests`;
* members act through :attr:`LocalWecom.staff` (type, send a picture, open
  the app, tap a card's button...) and their messages and events are pushed
  to the bot, encrypted (:mod:`local_servers.wecom.pushes`);
* faults can be injected: for API methods an errcode answer, HTTP 500, a
  dropped connection, or an answer held back after the call took effect;
  for pushes a bad signature, a wrong receiveid, a duplicate delivery;
* the control interface under ``/control/`` does all of this over HTTP
  (:mod:`local_servers.wecom.control`).

``python -m local_servers.wecom --port 8083`` runs one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from local_servers.common import server as common
from local_servers.common.control import ControlError
from local_servers.common.records import loggable
from local_servers.common.server import ApiServer, Handler
from local_servers.common.spec import MethodSpec
from local_servers.wecom.control import ControlApi
from local_servers.wecom.methods import Settings, WecomMethods, summary
from local_servers.wecom.pushes import Pusher
from local_servers.wecom.spec import SPEC_PATH, Refusal, WecomSpec, load_spec
from local_servers.wecom.staff import Staff
from local_servers.wecom.uploads import parse_multipart
from local_servers.wecom.world import Card, SentMessage, World

__all__ = [
    "DEFAULT_AES_KEY",
    "DEFAULT_AGENT_ID",
    "DEFAULT_CORP_ID",
    "DEFAULT_SECRET",
    "DEFAULT_TOKEN",
    "LocalWecom",
    "serve_forever",
]

JSON = dict[str, Any]

DEFAULT_CORP_ID = "ww0123456789abcdef"
DEFAULT_AGENT_ID = 1000002
DEFAULT_SECRET = "LocalWeComAppSecret0123456789abcdefghijklm"
DEFAULT_TOKEN = "localwecomtoken"
DEFAULT_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
# A \u escape: a backslash-u not itself escaped by a backslash before it.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")
# Uploads go up to 20 MiB (a file); a little more lets the stand-in answer 40006 itself.
_MAX_BODY = 32 * 1024 * 1024


class LocalWecom(ApiServer):
    """The stand-in server and its world (see the module docstring).

    ``clock`` gives Unix seconds (the world can also be moved on with
    :meth:`advance`). The rest are api.json's unverified points,
    configurable: ``rate_limit_errcode`` (None: a message over the per-member
    limits is answered 0 and dropped; 45009: refused), ``truncate_long_text``
    (content over 2048 bytes truncated rather than refused with 45002),
    ``response_code_lifetime_s`` (72 h; older copies say 24),
    ``task_id_reused_errcode``, ``no_callback_errcode`` and
    ``no_recipients_errcode``, ``deliveries`` of a push (3 or 4) and their
    ``retry_delay_s``.
    """

    spec: WecomSpec

    def __init__(
        self,
        *,
        corp_id: str = DEFAULT_CORP_ID,
        agent_id: int = DEFAULT_AGENT_ID,
        secret: str = DEFAULT_SECRET,
        token: str = DEFAULT_TOKEN,
        encoding_aes_key: str = DEFAULT_AES_KEY,
        callback_url: str | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime_s: int = 7200,
        response_code_lifetime_s: float | None = None,
        rate_limit_errcode: int | None = None,
        truncate_long_text: bool = False,
        task_id_reused_errcode: int = 40058,
        no_callback_errcode: int = 40058,
        no_recipients_errcode: int = 40058,
        reject_unicode_escapes: bool = True,
        deliveries: int = 3,
        retry_delay_s: float = 5.0,
        push_timeout_s: float = 5.0,
        verify_timeout_s: float = 1.0,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        super().__init__(client_max_size=_MAX_BODY)
        self.spec = load_spec(spec_path, truncate_long_text=truncate_long_text)
        limits = self.spec.limits
        per_member = limits["app_messages"]["per_app_per_member"]
        lifetime = response_code_lifetime_s or limits["response_code"]["lifetime_h"] * 3600.0
        self.world = World(
            corp_id,
            agent_id,
            secret,
            clock=clock,
            token_lifetime_s=token_lifetime_s,
            response_code_lifetime_s=lifetime,
            per_minute=per_member["per_minute"],
            per_hour=per_member["per_hour"],
        )
        self.pusher = Pusher(
            corp_id,
            agent_id,
            token=token,
            encoding_aes_key=encoding_aes_key,
            clock=self.world.now,
            callback_url=callback_url,
            deliveries=deliveries,
            retry_delay_s=retry_delay_s,
            timeout_s=push_timeout_s,
            verify_timeout_s=verify_timeout_s,
        )
        self.staff = Staff(self.world, self.pusher, self._media_url)
        settings = Settings(
            rate_limit_errcode=rate_limit_errcode,
            task_id_reused_errcode=task_id_reused_errcode,
            no_callback_errcode=no_callback_errcode,
            no_recipients_errcode=no_recipients_errcode,
        )
        self.methods = WecomMethods(
            self.world, self.spec, settings, lambda: self.pusher.callback_url is not None
        )
        self.reject_unicode_escapes = reject_unicode_escapes

    @property
    def sent(self) -> list[SentMessage]:
        """Every accepted ``message/send``, in order (``delivered``: whom it reached)."""
        return self.methods.sent

    @property
    def cards(self) -> dict[str, Card]:
        """Every template card sent, by task_id."""
        return self.world.cards

    async def register_callback(self, url: str | None, *, verify: bool = True) -> None:
        """Set the app's callback URL as the console does (callbacks.md §3, §8.1): it checks
        the URL first and keeps the old setting if the check fails (ControlError).
        ``verify`` False skips the check (a bot not started yet); None removes the URL."""
        previous = self.pusher.callback_url
        self.pusher.callback_url = url
        if url is None or not verify:
            return
        result = await self.pusher.verify_url()
        if not result.ok:
            self.pusher.callback_url = previous
            answer = result.error or f"HTTP {result.status} {result.body[:80]!r}"
            raise ControlError(
                f"the URL check of {url} failed (expected {result.expected!r}, got {answer}):"
                " the console keeps the previous setting"
            )

    def _media_url(self, media_id: str) -> str:
        return f"{self.url}/control/media/{media_id}"

    # --- the platform's part of the front door (local_servers.common.server) -------------

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return self.methods.handlers

    def token_refusal(self, query: Mapping[str, str]) -> Refusal | None:
        errcode = self.world.token_error(query.get("access_token"))
        return None if errcode is None else self.spec.refusal(errcode)

    def pick(self, methods: Sequence[MethodSpec], raw: bytes) -> MethodSpec | None:
        """``message/send``'s method by the body's ``msgtype``."""
        if len(methods) == 1:
            return methods[0]
        try:
            body = json.loads(raw)
        except ValueError:
            return None
        return self.spec.send_method(body.get("msgtype")) if isinstance(body, dict) else None

    def route_name(self, methods: Sequence[MethodSpec]) -> str:
        return "sendMessage"  # api.json's name for message/send as a whole (errors.returned_by)

    def no_method(self, methods: Sequence[MethodSpec], body: Any) -> Refusal:
        if not isinstance(body, dict):
            return self.spec.refusal(40058, field="body", violation=True, json_warning=True)
        return self.spec.refusal(40008, field="msgtype", violation=True)

    def read_body(self, method: MethodSpec, raw: bytes, request: web.Request) -> Any:
        if method.body is None:
            return None
        if method.name == "uploadMedia":
            parts = parse_multipart(request.headers.get("Content-Type", ""), raw)
            if parts is None:
                raise self.spec.refusal(44001, field="media", violation=True, why="no multipart")
            return {part.name: part for part in parts}
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise self.spec.refusal(40058, field="body", violation=True, why="not UTF-8") from None
        if self.reject_unicode_escapes and _UNICODE_ESCAPE.search(text):
            raise self.spec.refusal(40033, violation=True)
        try:
            return json.loads(text)
        except ValueError:
            raise self.spec.refusal(
                40058, field="body", violation=True, why="not JSON", json_warning=True
            ) from None

    def body_record(self, body: Any) -> JSON | None:
        return loggable(summary(body)) if isinstance(body, dict) else None

    def add_control_routes(self, app: web.Application) -> None:
        ControlApi(self).add_routes(app)

    def advance(self, seconds: float) -> float:
        self.world.advance(seconds)
        return self.world.now()

    async def close(self) -> None:
        await self.pusher.close()


async def serve_forever(
    server: LocalWecom, host: str, port: int, out: TextIO | None = None
) -> None:
    """Run ``server`` until cancelled, printing what to configure the bot with."""

    def describe() -> list[str]:
        callback = server.pusher.callback_url or "none yet (POST /control/settings)"
        return [
            f"WECOM_API_BASE_URL={server.url}",
            f"WECOM_CORP_ID={server.world.corp_id}",
            f"WECOM_AGENT_ID={server.world.agent_id}",
            f"WECOM_SECRET={server.world.secret}",
            f"WECOM_TOKEN={server.pusher.token}",
            f"WECOM_ENCODING_AES_KEY={server.pusher.encoding_aes_key}",
            f"callback URL: {callback}",
            f"control interface: {server.url}/control/",
        ]

    await common.serve_forever(server, host, port, describe, out)
