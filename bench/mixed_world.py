"""The mixed burst's outside world: both local servers, timed, and the staff who use the bot.

Imported only by :func:`bench.mixed_burst.mixed_burst` when it runs (the
cold start's child imports ``bench.run`` and must not load the servers).
Everything here runs in the bench's process, the bot in a process of its own,
so the instants the servers note are where Telegram and WeChat would see
them, on the machine's one monotonic clock (``CLOCK_MONOTONIC`` is the same
for every process).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local_servers.telegram.server import LocalBotApi, SentMessage
from local_servers.wechat import LocalWechat
from local_servers.wechat.methods import SentMessage as WechatSent

# A member of staff reads an answer and types the next command: 10 to 20 real seconds
# (one command each every 15 s on average, so 20 staff ask about 1.3 a second).
THINK_SECONDS = (10.0, 20.0)
# Past this the reply counts as never come (and the p95 as missed).
REPLY_TIMEOUT = 30.0


class TimedBotApi(LocalBotApi):
    """The local Bot API server, noting when it accepted each message of the bot's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delivered: list[tuple[int, float]] = []  # (chat, instant), in order
        self.arrived: dict[tuple[int, int], float] = {}  # (chat, message_id) -> instant

    def _deliver(self, sent: SentMessage, reply_to: Any) -> Any:
        now = time.monotonic()
        self.delivered.append((sent.chat_id, now))
        self.arrived[(sent.chat_id, sent.message_id)] = now
        return super()._deliver(sent, reply_to)


class TimedWechat(LocalWechat):
    """The local WeChat server, noting when it accepted each template message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delivered: list[tuple[str, float]] = []  # (openid, instant), in order

    def _template_sent(self, sent: WechatSent) -> None:
        self.delivered.append((sent.touser, time.monotonic()))
        super()._template_sent(sent)


@dataclass(frozen=True, slots=True)
class StaffRequest:
    """One command a member of staff sent: when, and how long the bot's reply took."""

    command: str
    sent_at: float
    latency: float | None  # seconds; None when no reply came within REPLY_TIMEOUT


async def staff_member(
    api: TimedBotApi,
    user: int,
    commands: Sequence[str],
    start_at: float,
    done: asyncio.Event,
    rng: random.Random,
) -> list[StaffRequest]:
    """A coordinator on Telegram: a command, its reply, a pause, the next, until ``done``.

    The first command goes at ``start_at`` plus a pause drawn as the others
    are, so the staff's commands are spread as in the steady state. Latency
    runs from the user's message entering the server (the bot's
    ``getUpdates`` is woken at once) to the server accepting the bot's first
    message in answer.
    """
    requests: list[StaffRequest] = []
    pause = rng.uniform(0.0, THINK_SECONDS[1])
    await _sleep_until(start_at + pause, done)
    turn = 0
    while not done.is_set():
        command = commands[turn % len(commands)]
        turn += 1
        sent_at = time.monotonic()
        message_id = await api.user_sends(user, command)
        try:
            reply = await api.wait_for_message(user, after=message_id, timeout=REPLY_TIMEOUT)
            latency: float | None = api.arrived[(user, reply.message_id)] - sent_at
        except TimeoutError:
            latency = None
        requests.append(StaffRequest(command.split()[0], sent_at, latency))
        await _sleep_until(time.monotonic() + rng.uniform(*THINK_SECONDS), done)
    return requests


async def _sleep_until(instant: float, done: asyncio.Event) -> None:
    """Wait until the monotonic ``instant``, or less if ``done`` is set meanwhile."""
    delay = instant - time.monotonic()
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), delay)
