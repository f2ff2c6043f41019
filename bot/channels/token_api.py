"""What the server APIs of WeChat's Official Account and of WeCom share, written once.

Both are JSON over HTTPS with an access token in the query (docs/wechat-oa/api.json
and docs/wecom/api.json, ``conventions``): bodies are UTF-8 JSON with non-ASCII
characters unescaped, an answer is judged by ``errcode`` alone, ids stay
Python ints. The token is cached and fetched again ``refresh_margin_s``
before it expires; a call refused because of its token fetches one and is made
once more. How a token is fetched, which codes mean "token refused" and what
each other code means differ: a subclass says (:meth:`TokenApi._fetch_token`,
:attr:`TokenApi.token_errcodes`, :attr:`TokenApi.error`).

The network's failures map onto :class:`~bot.channels.wechat.outcomes.Outcome`
the same way for both: a refused or dropped connection, a connect timeout,
HTTP 5xx or 429 -> retry later (nothing was carried out); no answer in time
after the request left, or an answer that is not JSON -> uncertain.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

import aiohttp

from bot.channels.wechat.outcomes import Outcome, WechatApiError

__all__ = ["DEFAULT_TIMEOUT", "JSON", "Token", "TokenApi"]

JSON = dict[str, Any]
#: Connecting may take 5 s (nothing was sent if it fails); an answer 10 s.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=10.0)


@dataclass(slots=True)
class Token:
    value: str
    expires_at: float


class TokenApi:
    """JSON calls with a cached access token against ``base_url``.

    ``clock`` (monotonic seconds) times the token; ``timeout`` is aiohttp's.
    Use as ``async with`` or call :meth:`close`.
    """

    #: The errcodes that mean the token was refused (fetch one, call once more).
    token_errcodes: ClassVar[frozenset[int]] = frozenset()
    #: The error raised, whose ``from_answer`` knows the platform's codes.
    error: ClassVar[type[WechatApiError]] = WechatApiError

    def __init__(
        self,
        base_url: str,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin_s: float = 120.0,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._margin = refresh_margin_s
        self._timeout = timeout
        self._token: Token | None = None
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if this client opened it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    # --- HTTP -------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        verb: str,
        path: str,
        query: Mapping[str, str],
        body: JSON | None,
        form: aiohttp.FormData | None = None,
    ) -> JSON:
        """One HTTP exchange; the answer's JSON object, or the error its failure means."""
        data: bytes | aiohttp.FormData | None = form
        headers = {}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            async with self._http().request(
                verb,
                self.base_url + path,
                params=dict(query),
                data=data,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                status = response.status
                raw = await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise self.error(method, Outcome.RETRY_LATER, f"connect timeout: {exc}") from exc
        except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
            raise self.error(method, Outcome.UNCERTAIN, "no answer in time") from exc
        except aiohttp.ClientError as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise self.error(method, Outcome.RETRY_LATER, reason) from exc
        if status >= 500 or status == 429:
            raise self.error(method, Outcome.RETRY_LATER, f"HTTP {status}")
        if status != 200:
            raise self.error(method, Outcome.REJECTED, f"HTTP {status}")
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self.error(method, Outcome.UNCERTAIN, "the answer is not a JSON object")
        return answer

    @staticmethod
    def _errcode(answer: JSON) -> int:
        code = answer.get("errcode", 0)
        return code if isinstance(code, int) else -1

    def _refused(self, method: str, answer: JSON) -> WechatApiError:
        return self.error.from_answer(method, self._errcode(answer), str(answer.get("errmsg", "")))

    # --- the access token -------------------------------------------------------------

    async def _fetch_token(self, *, force: bool) -> Token:
        """A new token from the platform (``force``: even if the last one still holds)."""
        raise NotImplementedError

    async def _token_call(
        self, method: str, verb: str, path: str, query: Mapping[str, str], body: JSON | None
    ) -> Token:
        """The token endpoint's answer as a :class:`Token`, timed from before the call."""
        started = self._clock()
        try:
            answer = await self._request(method, verb, path, query, body)
        except WechatApiError as exc:
            if exc.outcome is Outcome.UNCERTAIN:
                # Asking for a token changes nothing a person sees: ask again later.
                raise self.error(method, Outcome.RETRY_LATER, exc.reason) from exc
            raise
        if self._errcode(answer):
            raise self._refused(method, answer)
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise self.error(method, Outcome.RETRY_LATER, "no access_token in the answer")
        return Token(token, started + expires_in)

    async def access_token(self) -> str:
        """The cached access token, fetched first when absent or about to expire."""
        async with self._token_lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at - self._margin:
                token = self._token = await self._fetch_token(force=False)
            return token.value

    async def _replace_token(self, refused: str) -> str:
        """A token other than ``refused``, which the platform just called invalid or expired."""
        async with self._token_lock:
            if self._token is not None and self._token.value != refused:
                return self._token.value  # another call replaced it meanwhile
            self._token = None
            token = await self._fetch_token(force=False)
            if token.value == refused:
                token = await self._fetch_token(force=True)
            self._token = token
            return token.value

    async def _call(
        self,
        method: str,
        verb: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: JSON | None = None,
        form: Callable[[], aiohttp.FormData] | None = None,
    ) -> JSON:
        """An API call with the access token: refreshed and made again once when the token
        is refused. ``form`` makes a multipart body (made anew for the second try)."""
        token = await self.access_token()
        answer = await self._request(
            method,
            verb,
            path,
            {**(query or {}), "access_token": token},
            body,
            None if form is None else form(),
        )
        if self._errcode(answer) in self.token_errcodes:
            token = await self._replace_token(token)
            answer = await self._request(
                method,
                verb,
                path,
                {**(query or {}), "access_token": token},
                body,
                None if form is None else form(),
            )
        if self._errcode(answer):
            raise self._refused(method, answer)
        return answer
