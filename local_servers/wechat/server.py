"""A local WeChat Official Account server: the API of docs/wechat-oa/api.json, checked, and pushes.

Give the bot's WeChat client :attr:`LocalWechat.url` as its base URL (the
paths are WeChat's, ``/cgi-bin/...``) and the stand-in's AppID, secret,
token and EncodingAESKey; give the stand-in the bot's callback URL. Then:

* every API request is checked before it is served: the access token
  (41001 missing, 40001 unknown or replaced, 42001 expired), the body
  (UTF-8 JSON without ``\\uXXXX`` escapes, 40033, configurable), the
  method's fields and limits (:mod:`local_servers.wechat.spec`), then what
  the method itself refuses (:mod:`local_servers.wechat.methods`). A refusal
  because the request broke api.json is kept in :attr:`LocalWechat.violations`,
  which a test suite asserts stays empty;
* what the account sent is kept in :attr:`LocalWechat.sent`, every request in
  :attr:`LocalWechat.requests`;
* people act through :attr:`LocalWechat.patients` (scan, write, tap...) and
  their messages and events are pushed to the bot, signed and encrypted
  (:mod:`local_servers.wechat.pushes`);
* faults can be injected: an errcode answer, HTTP 500, a dropped
  connection, or an answer held back after the call took effect;
* the control interface under ``/control/`` does all of this over HTTP
  (:mod:`local_servers.wechat.control`).

``python -m local_servers.wechat --port 8082`` runs one.
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
from local_servers.common.records import ApiRequest, Violation
from local_servers.common.server import FAULT_KINDS, ApiServer, Fault, Handler
from local_servers.wechat.control import ControlApi
from local_servers.wechat.methods import SentMessage, WechatMethods
from local_servers.wechat.patients import Patients
from local_servers.wechat.pushes import Pusher
from local_servers.wechat.spec import SPEC_PATH, ApiSpec, MethodSpec, Refusal, load_spec
from local_servers.wechat.world import Template, World

__all__ = [
    "DEFAULT_AES_KEY",
    "DEFAULT_APP_ID",
    "DEFAULT_APP_SECRET",
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "ApiRequest",
    "Fault",
    "LocalWechat",
    "Violation",
    "serve_forever",
]

JSON = dict[str, Any]

DEFAULT_APP_ID = "wx0123456789abcdef"
DEFAULT_APP_SECRET = "0123456789abcdef0123456789abcdef"
DEFAULT_TOKEN = "localtoken"
DEFAULT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# A \u escape: a backslash-u not itself escaped by a backslash before it.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")


class LocalWechat(ApiServer):
    """The stand-in server and its world (see the module docstring).

    ``clock`` gives Unix seconds (the world can also be moved on with
    ``world.advance``); ``templates`` maps template ids to their keys.
    The rest are api.json's unverified points, configurable:
    ``non_follower_errcode`` (43004 or 40003), ``argument_errcode`` (the code
    for a value out of range), ``deliveries`` of a push (3 or 4),
    ``msgmenu_allowed`` (False: an account that gets 40200).
    """

    spec: ApiSpec

    def __init__(
        self,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        token: str = DEFAULT_TOKEN,
        encoding_aes_key: str = DEFAULT_AES_KEY,
        callback_url: str | None = None,
        safe_mode: bool = True,
        templates: Mapping[str, Sequence[str]] | None = None,
        clock: Callable[[], float] = time.time,
        token_lifetime_s: int = 7200,
        non_follower_errcode: int = 43004,
        argument_errcode: int = 47003,
        msgmenu_allowed: bool = True,
        reject_unicode_escapes: bool = True,
        receipt_failure_rate: float = 0.0,
        seed: int | None = None,
        deliveries: int = 3,
        retry_delay_s: float = 1.0,
        push_timeout_s: float = 5.0,
        spec_path: Path = SPEC_PATH,
    ) -> None:
        super().__init__()
        self.spec = load_spec(spec_path, argument_errcode=argument_errcode)
        self.world = World(
            app_id,
            app_secret,
            clock=clock,
            token_lifetime_s=token_lifetime_s,
            non_follower_errcode=non_follower_errcode,
            msgmenu_allowed=msgmenu_allowed,
        )
        for template_id, keys in (templates or {}).items():
            self.world.templates[template_id] = Template(template_id, tuple(keys))
        self.pusher = Pusher(
            app_id,
            self.world.account,
            token=token,
            encoding_aes_key=encoding_aes_key,
            clock=self.world.now,
            callback_url=callback_url,
            safe_mode=safe_mode,
            deliveries=deliveries,
            retry_delay_s=retry_delay_s,
            timeout_s=push_timeout_s,
        )
        self.patients = Patients(
            self.world,
            self.pusher,
            receipt_failure_rate=receipt_failure_rate,
            seed=seed,
        )
        self.methods = WechatMethods(self.world, self.spec, self._template_sent)
        self.reject_unicode_escapes = reject_unicode_escapes

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the account sent, in order."""
        return self.methods.sent

    def _template_sent(self, sent: SentMessage) -> None:
        self.patients.receipt_for(sent)

    def register_template(
        self,
        template_id: str,
        keys: Sequence[str],
        values: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Add a template to the account's list; ``values`` for its enum and const keys."""
        fixed = {key: frozenset(v) for key, v in (values or {}).items()}
        self.world.templates[template_id] = Template(template_id, tuple(keys), fixed)

    # --- the platform's part of the front door (local_servers.common.server) -------------

    @property
    def handlers(self) -> Mapping[str, Handler]:
        return self.methods.handlers

    def token_refusal(self, query: Mapping[str, str]) -> Refusal | None:
        errcode = self.world.token_error(query.get("access_token"))
        return None if errcode is None else self.spec.refusal(errcode)

    def read_body(self, method: MethodSpec, raw: bytes, request: web.Request) -> Any:
        if method.body is None:
            return None
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise self.spec.refusal(47001, field="body", violation=True) from None
        if self.reject_unicode_escapes and _UNICODE_ESCAPE.search(text):
            raise self.spec.refusal(40033, violation=True)
        try:
            return json.loads(text)
        except ValueError:
            raise self.spec.refusal(47001, field="body", violation=True) from None

    def add_control_routes(self, app: web.Application) -> None:
        ControlApi(self).add_routes(app)

    def advance(self, seconds: float) -> float:
        self.world.advance(seconds)
        return self.world.now()

    async def close(self) -> None:
        """Cancel pending receipts, close the push sessions."""
        await self.patients.close()
        await self.pusher.close()


async def serve_forever(
    server: LocalWechat, host: str, port: int, out: TextIO | None = None
) -> None:
    """Run ``server`` until cancelled, printing what to configure the bot with."""

    def describe() -> list[str]:
        callback = server.pusher.callback_url or "none yet (POST /control/callback)"
        return [
            f"WECHAT_API_BASE_URL={server.url}",
            f"WECHAT_APP_ID={server.world.app_id}",
            f"WECHAT_APP_SECRET={server.world.app_secret}",
            f"WECHAT_TOKEN={server.pusher.token}",
            f"WECHAT_ENCODING_AES_KEY={server.pusher.encoding_aes_key}",
            f"callback URL: {callback}",
            f"control interface: {server.url}/control/",
        ]

    await common.serve_forever(server, host, port, describe, out)
