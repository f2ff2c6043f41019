"""Telegram's flood limits as token buckets, on an injectable clock.

Source: Bots FAQ "My bot is hitting limits": about one message per second per
private chat with short bursts, 20 a minute per group, 30 a second overall;
a message over a limit is answered 429 with ``retry_after``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FloodLimiter", "FloodPolicy", "TokenBucket"]


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    """Telegram's message limits as token buckets (capacity = burst, rate = tokens per second).

    Source: Bots FAQ "avoid sending more than one message per second" to a
    chat, "not able to send more than 20 messages per minute to the same
    group", "no more than 30 messages per second" in total.
    """

    chat_capacity: float = 3.0
    chat_rate: float = 1.0
    group_capacity: float = 3.0
    group_rate: float = 20.0 / 60.0
    global_capacity: float = 30.0
    global_rate: float = 30.0


class TokenBucket:
    """A token bucket on an injectable clock: ``capacity`` tokens, refilled at ``rate``/s."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0.0 when one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def tokens(self) -> float:
        """The tokens available now."""
        self._refill()
        return self._tokens

    def take(self) -> None:
        """Use one token (call only when :meth:`wait_time` is 0)."""
        self._refill()
        self._tokens -= 1.0


class FloodLimiter:
    """Per-chat and global buckets; a message passes only when both have a token."""

    def __init__(self, policy: FloodPolicy, clock: Callable[[], float]) -> None:
        self.policy = policy
        self._clock = clock
        self._global = TokenBucket(policy.global_capacity, policy.global_rate, clock)
        self._chats: dict[int, TokenBucket] = {}

    def acquire(self, chat_id: int, *, group: bool) -> int:
        """0 if a message to ``chat_id`` may go now (tokens taken), else ``retry_after`` seconds.

        ``retry_after`` is the wait until both buckets have a token, rounded
        up to whole seconds and at least 1, as Telegram reports it.
        """
        bucket = self._chats.get(chat_id)
        if bucket is None:
            p = self.policy
            bucket = (
                TokenBucket(p.group_capacity, p.group_rate, self._clock)
                if group
                else TokenBucket(p.chat_capacity, p.chat_rate, self._clock)
            )
            self._chats[chat_id] = bucket
        wait = max(bucket.wait_time(), self._global.wait_time())
        if wait > 0:
            return max(1, math.ceil(wait - 1e-9))
        bucket.take()
        self._global.take()
        return 0

    def allowance(self, chat_id: int) -> float:
        """Tokens in ``chat_id``'s bucket now (a full bucket for a chat never sent to)."""
        bucket = self._chats.get(chat_id)
        if bucket is None:
            return self.policy.chat_capacity
        return bucket.tokens()
