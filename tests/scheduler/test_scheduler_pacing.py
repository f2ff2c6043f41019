"""Pacing within Telegram's limits, measured on fake time."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.clock import FakeMonotonic
from scheduler.pacing import PaceLimits, Pacer


def _pacer(limits: PaceLimits | None = None) -> tuple[Pacer, FakeMonotonic]:
    mono = FakeMonotonic(start=0.0)
    return Pacer(limits, monotonic=mono, sleep=mono.sleep), mono


async def _send_all(pacer: Pacer, mono: FakeMonotonic, chats: list[int]) -> list[tuple[float, int]]:
    """Acquire for every chat concurrently (in list order per chat); when each went."""
    sent: list[tuple[float, int]] = []

    async def one_chat(chat: int, n: int) -> None:
        for _ in range(n):
            await pacer.acquire(chat)
            sent.append((mono(), chat))

    counts = Counter(chats)
    await asyncio.gather(*(one_chat(chat, n) for chat, n in counts.items()))
    return sorted(sent)


def _max_in_window(times: list[float], window: float) -> int:
    best = 0
    for i, start in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t < start + window - 1e-9))
    return best


async def test_one_chat_gets_about_one_message_a_second() -> None:
    pacer, mono = _pacer()
    sent = await _send_all(pacer, mono, [7] * 10)
    times = [t for t, _ in sent]
    # A burst of two, then one a second.
    expected = [0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert times == pytest.approx(expected)
    assert _max_in_window(times, 1.0) == 2
    assert _max_in_window(times, 5.0) <= 6


async def test_many_chats_get_28_a_second_overall_never_more_than_30_in_a_second() -> None:
    pacer, mono = _pacer()
    sent = await _send_all(pacer, mono, list(range(1, 141)))  # 140 chats, one message each
    times = [t for t, _ in sent]
    assert len(times) == 140
    assert _max_in_window(times, 1.0) == 30  # a burst of 3, then 28 a second
    assert times[-1] == pytest.approx((139 - 2) / 28)  # evenly spaced after it, no idle gaps


async def test_stalls_between_sends_are_made_up_within_the_limit() -> None:
    """Time spent between sends (claiming, recording) is recovered, so 28/s holds on average."""

    async def elapsed(limits: PaceLimits) -> float:
        pacer, mono = _pacer(limits)
        for chat in range(1, 57):  # 56 sends, a stall of two sends' worth after every 10th
            await pacer.acquire(chat)
            if chat % 10 == 0:
                await mono.sleep(2 / 28)
        return mono()

    with_burst = await elapsed(PaceLimits())
    without = await elapsed(PaceLimits(global_burst=1))
    assert with_burst <= 55 / 28  # no slower than 28 a second despite the stalls
    assert without > 55 / 28 + 2 / 28  # the stalls would otherwise be lost for good


async def test_one_busy_chat_does_not_hold_up_the_others() -> None:
    pacer, mono = _pacer()
    sent = await _send_all(pacer, mono, [1] * 5 + [2, 3, 4])
    first = {chat: min(t for t, c in sent if c == chat) for chat in (2, 3, 4)}
    assert max(first.values()) < 0.5


async def test_retry_after_pauses_that_chat_only() -> None:
    pacer, mono = _pacer()
    await pacer.acquire(1)
    pacer.pause_chat(1, 30)
    waited_other = await pacer.acquire(2)
    waited = await pacer.acquire(1)
    assert waited_other < 0.1
    assert waited == pytest.approx(30.0, abs=0.05)
    assert mono() == pytest.approx(30.0, abs=0.05)


async def test_pause_all_holds_every_chat() -> None:
    pacer, mono = _pacer()
    pacer.pause_all(5)
    await pacer.acquire(1)
    await pacer.acquire(2)
    assert mono() >= 5.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=60))
def test_no_schedule_breaks_either_limit(chats: list[int]) -> None:
    async def run() -> list[tuple[float, int]]:
        pacer, mono = _pacer()
        return await _send_all(pacer, mono, chats)

    sent = asyncio.run(run())
    assert len(sent) == len(chats)
    times = [t for t, _ in sent]
    assert _max_in_window(times, 1.0) <= 30
    for chat in set(chats):
        mine = [t for t, c in sent if c == chat]
        assert _max_in_window(mine, 1.0) <= 2
        assert _max_in_window(mine, 10.0) <= 11


async def test_each_lane_keeps_its_own_overall_rate() -> None:
    """Telegram's 28 a second is Telegram's: a lane without an overall rate is not held to it."""
    mono = FakeMonotonic(start=0.0)
    lanes: dict[Hashable, PaceLimits] = {
        "telegram": PaceLimits(),
        "wechat": PaceLimits(global_rate=None),
    }
    pacer = Pacer(lanes=lanes, monotonic=mono, sleep=mono.sleep)
    sent: dict[str, list[float]] = {"telegram": [], "wechat": []}

    async def one(chat: int, lane: str) -> None:
        await pacer.acquire(chat, lane)
        sent[lane].append(mono())

    await asyncio.gather(
        *(one(chat, "telegram" if chat % 2 else "wechat") for chat in range(1, 113))
    )
    assert len(sent["telegram"]) == len(sent["wechat"]) == 56
    assert max(sent["wechat"]) == 0.0  # every one at once
    assert _max_in_window(sent["telegram"], 1.0) == 30  # a burst of 3, then 28 a second
    assert max(sent["telegram"]) == pytest.approx((56 - 3) / 28)


async def test_a_lane_not_named_is_paced_as_the_default_and_pauses_are_per_lane() -> None:
    mono = FakeMonotonic(start=0.0)
    pacer = Pacer(lanes={"wechat": PaceLimits(global_rate=None)}, monotonic=mono, sleep=mono.sleep)
    pacer.pause_all(5)  # the default lane's flood wait
    assert await pacer.acquire(1, "wechat") == 0.0
    assert await pacer.acquire(2, "telegram") == pytest.approx(5.0)
    pacer.pause_all(3, "wechat")
    assert await pacer.acquire(3, "wechat") == pytest.approx(3.0)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        PaceLimits(global_rate=0)
    with pytest.raises(ValueError, match="at least 1"):
        PaceLimits(per_chat_burst=0)
