"""What a stand-in keeps: its API requests, the ones that broke api.json, and lists to wait on.

A test or a rehearsal in another process asks "what was sent after the
first n, waiting up to t seconds for one": :class:`Journal` answers without
polling, woken by each new entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["SECRET_FIELDS", "ApiRequest", "Journal", "Violation", "loggable"]

JSON = dict[str, Any]
T = TypeVar("T")

#: Credentials never kept in a request's record.
SECRET_FIELDS = frozenset({"access_token", "secret", "corpsecret"})


def loggable(values: Mapping[str, Any] | None) -> JSON | None:
    """``values`` without credentials."""
    if values is None:
        return None
    return {k: v for k, v in values.items() if k not in SECRET_FIELDS}


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


class Journal(Generic[T]):
    """A list that can be waited on: :meth:`wait` returns once it has grown."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self._changed = asyncio.Event()

    def append(self, item: T) -> None:
        self.items.append(item)
        # A new event for the next wait: waiters on the old one wake now.
        self._changed.set()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def matching(self, match: Callable[[T], bool] | None = None) -> list[T]:
        return [item for item in self.items if match is None or match(item)]

    async def wait(
        self, after: int, timeout: float, match: Callable[[T], bool] | None = None
    ) -> list[T]:
        """The items (that ``match``) after the first ``after``, waiting up to ``timeout``
        seconds for one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.matching(match)) <= after:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        return self.matching(match)[after:]
