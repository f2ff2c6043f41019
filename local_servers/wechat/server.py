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

import asyncio
import contextlib
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from local_servers.wechat.control import ControlApi
from local_servers.wechat.methods import SentMessage, WechatMethods
from local_servers.wechat.patients import Patients
from local_servers.wechat.pushes import Pusher
from local_servers.wechat.spec import SPEC_PATH, MethodSpec, Refusal, load_spec
from local_servers.wechat.world import ControlError, Template, World

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
#: ``errcode``: answer {errcode}; ``http_500``; ``drop``: close the connection
#: unanswered; ``slow``: carry the call out, then hold the answer ``delay`` s.
FAULT_KINDS = frozenset({"errcode", "http_500", "drop", "slow"})
_SECRET_FIELDS = frozenset({"access_token", "secret"})
# A \u escape: a backslash-u not itself escaped by a backslash before it.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")
_dumps = partial(json.dumps, ensure_ascii=False)


def _loggable(values: Mapping[str, Any] | None) -> JSON | None:
    if values is None:
        return None
    return {k: v for k, v in values.items() if k not in _SECRET_FIELDS}


@dataclass(slots=True)
class ApiRequest:
    """One API request (credentials left out) and the errcode it was answered with."""

    method: str
    query: JSON
    body: JSON | None = None
    errcode: int = 0
    errmsg: str = "ok"

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "query": self.query,
            "body": self.body,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
        }


@dataclass(frozen=True, slots=True)
class Violation:
    """A request refused because it broke api.json: the bot's bug, not the world's state."""

    method: str
    errcode: int
    errmsg: str
    field: str | None

    def to_json(self) -> JSON:
        return {
            "method": self.method,
            "errcode": self.errcode,
            "errmsg": self.errmsg,
            "field": self.field,
        }


@dataclass(slots=True)
class Fault:
    """An injected failure for ``method`` (None: any method but the token ones)."""

    method: str | None
    kind: str
    count: int
    errcode: int = -1
    delay: float = 5.0


class LocalWechat:
    """The stand-in server and its world (see the module docstring).

    ``clock`` gives Unix seconds (the world can also be moved on with
    ``world.advance``); ``templates`` maps template ids to their keys.
    The rest are api.json's unverified points, configurable:
    ``non_follower_errcode`` (43004 or 40003), ``argument_errcode`` (the code
    for a value out of range), ``deliveries`` of a push (3 or 4),
    ``msgmenu_allowed`` (False: an account that gets 40200).
    """

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
        self.requests: list[ApiRequest] = []
        self.violations: list[Violation] = []
        self._faults: list[Fault] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

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

    # --- faults ---------------------------------------------------------------------------

    def inject_fault(
        self,
        method: str | None,
        kind: str,
        count: int = 1,
        *,
        errcode: int = -1,
        delay: float = 5.0,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail (see :data:`FAULT_KINDS`)."""
        if kind not in FAULT_KINDS:
            raise ControlError(f"fault kind must be one of {sorted(FAULT_KINDS)}")
        if method is not None and method not in self.spec.methods:
            raise ControlError(f"api.json has no method {method}")
        self._faults.append(Fault(method, kind, count, errcode, delay))

    def clear_faults(self) -> None:
        self._faults.clear()

    def _take_fault(self, method: MethodSpec) -> Fault | None:
        for fault in self._faults:
            hits = fault.method == method.name or (fault.method is None and method.takes_token)
            if hits:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root: the base URL for the bot's client, and ``{url}/control/``."""
        return f"http://{self._host}:{self._port}"

    def make_app(self) -> web.Application:
        """The aiohttp application: api.json's methods at their paths, and the control routes."""
        app = web.Application()
        for method in self.spec.methods.values():
            app.router.add_route(method.http, method.path, partial(self._handle, method))
        ControlApi(self).add_routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port; see :attr:`url`)."""
        self._closing.clear()
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=2.0, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer held requests at once, cancel pending receipts, close the server."""
        self._closing.set()
        await self.patients.close()
        await self.pusher.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalWechat:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the API's front door ---------------------------------------------------------------

    def _body(self, method: MethodSpec, raw: bytes) -> Any:
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

    async def _handle(self, method: MethodSpec, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        raw = await request.read()
        record = ApiRequest(method.name, _loggable(query) or {})
        self.requests.append(record)
        fault = self._take_fault(method)
        if fault is not None and fault.kind == "drop":
            record.errcode, record.errmsg = -1, "connection dropped (injected)"
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is not None and fault.kind == "http_500":
            record.errcode, record.errmsg = -1, "HTTP 500 (injected)"
            return web.Response(status=500, text="Internal Server Error")
        try:
            if fault is not None and fault.kind == "errcode":
                raise self.spec.refusal(fault.errcode)
            if method.takes_token:
                errcode = self.world.token_error(query.get("access_token"))
                if errcode is not None:
                    raise self.spec.refusal(errcode)
            body = self._body(method, raw)
            record.body = _loggable(body) if isinstance(body, dict) else None
            self.spec.check_query(method, query)
            self.spec.check_body(method, body)
            answer = await self.methods.handlers[method.name](query, body)
        except Refusal as refusal:
            return self._refused(method, record, refusal)
        if fault is not None and fault.kind == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.delay)
        return web.json_response(answer, dumps=_dumps)

    def _refused(self, method: MethodSpec, record: ApiRequest, refusal: Refusal) -> web.Response:
        answer = refusal.answer()
        record.errcode, record.errmsg = refusal.errcode, answer["errmsg"]
        if refusal.violation:
            self.violations.append(
                Violation(method.name, refusal.errcode, refusal.errmsg, refusal.field)
            )
        return web.json_response(answer, dumps=_dumps)


async def serve_forever(
    server: LocalWechat, host: str, port: int, out: TextIO | None = None
) -> None:
    """Run ``server`` until cancelled, printing what to configure the bot with."""
    await server.start(host=host, port=port)
    stream = out if out is not None else sys.stdout
    callback = server.pusher.callback_url or "none yet (POST /control/callback)"
    lines = [
        f"WECHAT_API_BASE_URL={server.url}",
        f"WECHAT_APP_ID={server.world.app_id}",
        f"WECHAT_APP_SECRET={server.world.app_secret}",
        f"WECHAT_TOKEN={server.pusher.token}",
        f"WECHAT_ENCODING_AES_KEY={server.pusher.encoding_aes_key}",
        f"callback URL: {callback}",
        f"control interface: {server.url}/control/",
    ]
    print("\n".join(lines), file=stream, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
