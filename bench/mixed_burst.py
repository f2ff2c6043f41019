"""mixed_burst: reminders due at one instant, half on Telegram and half on WeChat, while staff ask.

The bot is the real one, ``python -m bot run`` in a process of its own (as
``make demo`` runs it: :class:`bot.demo.process.BotProcess`), with WeChat on
and a rehearsal clock at real speed, a weekday 10:00 in Shanghai. This
process is the outside world (:mod:`bench.mixed_world`): the local Bot API
server with Telegram's flood limits, the local WeChat server (api.json's
checks; it pushes a delivery receipt for every template message to the bot's
callback), and ``staff`` coordinators on Telegram alternating ``/status`` and
an ``/ae`` line (its preview: showing, not recording, as :mod:`bench.status`
times ``/status``), each pausing 10 to 20 s between a reply and their next
command.

Each patient has exactly one reminder due at the burst's instant; even
patients are on Telegram, odd ones on WeChat. A rate is deliveries over the
seconds from a channel's first to its last. Staff latency is from a command
entering the Bot API server to the bot's first message in answer reaching
it, for the commands sent between the burst's first and last delivery.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.delivery import REHEARSAL_START, on_telegram, setup_due_patients
from bench.measure import TOKEN, percentile, progress

if TYPE_CHECKING:
    from bench.mixed_world import StaffRequest
    from core.store.models import Patient
    from core.store.uow import UnitOfWork

# Trial seconds from the bot's clock start to the burst: the bot is polling well before.
DUE_AFTER = 10.0
# Real seconds waited after the last delivery, for anything sent twice to show up.
SETTLE = 2.0
FIRST_STAFF_USER = 900_001
# The targets: Telegram at 28 a second or more, staff replies p95 within 500 ms.
TELEGRAM_MIN_PER_S = 28.0
STAFF_P95_MAX_MS = 500.0


def wechat_openid(index: int) -> str:
    """A WeChat openid of the usual 28 characters for the patient at ``index``."""
    return f"oBench{index:022d}"


def on_wechat(uow: UnitOfWork, patient: Patient, index: int) -> str:
    """Join ``patient`` on WeChat with their openid (joining by QR code is the callback's)."""
    from core.store.identities import bind_account
    from core.store.models import Channel

    openid = wechat_openid(index)
    bind_account(uow, patient, Channel.WECHAT, openid, openid)
    return openid


def half_and_half(uow: UnitOfWork, patient: Patient, index: int) -> str:
    """Even patients on Telegram, odd ones on WeChat: every claimed batch holds both."""
    return (on_wechat if index % 2 else on_telegram)(uow, patient, index)


def add_coordinators(url: str, users: Iterable[int]) -> None:
    """Each Telegram user joins as a coordinator with an invitation, as /start does."""
    from core.store.db import make_engine
    from core.store.invites import create_invite, redeem_invite
    from core.store.models import Channel, InviteRole, Language
    from core.store.uow import UnitOfWork

    engine = make_engine(url)
    before = REHEARSAL_START - timedelta(days=1)
    for user in users:
        with UnitOfWork(engine, "system", before) as uow:
            token = create_invite(uow, InviteRole.COORDINATOR)
            redeem_invite(
                uow,
                token,
                channel=Channel.TELEGRAM,
                account=str(user),
                chat=str(user),
                language=Language.EN,
            )
    engine.dispose()


@dataclass(frozen=True, slots=True)
class Deliveries:
    """What reached each server for the patients, as (chat, monotonic instant) in order."""

    telegram: list[tuple[str, float]]
    wechat: list[tuple[str, float]]
    telegram_all: list[float]  # every message the bot sent on Telegram, staff's too
    flood_errors: int
    violations: int


def _span(times: list[float]) -> tuple[float, float] | None:
    return (min(times), max(times)) if times else None


def _rate(times: list[float]) -> float | None:
    span = _span(times)
    if span is None or span[1] <= span[0]:
        return None
    return round(len(times) / (span[1] - span[0]), 2)


def figures(
    due: dict[str, str],
    deliveries: Deliveries,
    requests: list[StaffRequest],
    statuses: dict[str, int],
) -> dict[str, Any]:
    """The mixed burst's JSON: counts, rates, staff latency and each target met or not.

    ``due`` maps each patient's chat to its channel (``telegram``/``wechat``).
    """
    per_chat = Counter(chat for chat, _ in [*deliveries.telegram, *deliveries.wechat])
    lost = sum(1 for chat in due if per_chat[chat] == 0)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    tg_times = [t for _, t in deliveries.telegram]
    wx_times = [t for _, t in deliveries.wechat]
    burst = _span(tg_times + wx_times)
    during = [r for r in requests if burst is not None and burst[0] <= r.sent_at <= burst[1]]
    latencies = [r.latency * 1000 for r in during if r.latency is not None]
    unanswered = sum(1 for r in during if r.latency is None)
    all_tg = [t for t in deliveries.telegram_all if burst is not None and burst[0] <= t <= burst[1]]
    tg_rate, wx_rate = _rate(tg_times), _rate(wx_times)
    p95 = round(percentile(latencies, 95), 1) if latencies else None
    targets = {
        "no_loss": lost == 0,
        "no_duplicates": duplicates == 0,
        "telegram_28_per_s": tg_rate is not None and tg_rate >= TELEGRAM_MIN_PER_S,
        "wechat_not_slower": wx_rate is not None and tg_rate is not None and wx_rate >= tg_rate,
        "staff_p95_500_ms": p95 is not None and p95 <= STAFF_P95_MAX_MS and unanswered == 0,
    }
    return {
        "reminders": len(due),
        "telegram_sent": len(tg_times),
        "wechat_sent": len(wx_times),
        "lost": lost,
        "duplicates": duplicates,
        "telegram_msg_per_s": tg_rate,
        "wechat_msg_per_s": wx_rate,
        "telegram_seconds": _seconds(tg_times),
        "wechat_seconds": _seconds(wx_times),
        "staff_reply_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "staff_reply_p95_ms": p95,
        "staff_reply_max_ms": round(max(latencies), 1) if latencies else None,
        "staff_requests": len(during),
        "staff_unanswered": unanswered,
        "staff_requests_by_command": dict(Counter(r.command for r in during)),
        "staff_reply_p95_ms_by_command": {
            command: round(percentile(times, 95), 1)
            for command in sorted({r.command for r in during})
            if (times := [r.latency * 1000 for r in during if r.command == command and r.latency])
        },
        "telegram_all_msg_per_s": _rate(all_tg),
        "flood_errors": deliveries.flood_errors,
        "spec_violations": deliveries.violations,
        "statuses": statuses,
        "targets": targets,
        "met": all(targets.values()),
    }


def _seconds(times: list[float]) -> float | None:
    span = _span(times)
    return None if span is None else round(span[1] - span[0], 2)


def mixed_burst(root: Path, reminders: int, staff: int, timeout: float) -> dict[str, Any]:
    """Set up ``reminders`` patients and ``staff`` coordinators in ``root``, run the burst."""
    url = f"sqlite:///{root / 'mixed.db'}"
    due = setup_due_patients(url, [DUE_AFTER] * reminders, join=half_and_half)
    users = list(range(FIRST_STAFF_USER, FIRST_STAFF_USER + staff))
    add_coordinators(url, users)
    channels = {chat: "wechat" if chat.startswith("o") else "telegram" for chat in due}
    return asyncio.run(_run(url, root, channels, users, timeout))


def _commands(index: int, patients: int) -> list[str]:
    """A coordinator's commands in turn: the overview, then an adverse event for a patient."""
    study_id = f"D{(index * 37) % max(1, patients):05d}"
    return ["/status", f"/ae {study_id} lung infection G2"]


async def _run(
    url: str, root: Path, channels: dict[str, str], users: list[int], timeout: float
) -> dict[str, Any]:
    from sqlmodel import col, select

    from bench.mixed_world import TimedBotApi, TimedWechat, staff_member
    from bot.channels.wechat.callback import CALLBACK_PATH
    from bot.demo.process import BotProcess, TrialClock
    from core.protocol import load_protocol
    from core.store.db import make_engine, read_session
    from core.store.models import Reminder
    from local_servers.wechat import (
        DEFAULT_AES_KEY,
        DEFAULT_APP_ID,
        DEFAULT_APP_SECRET,
        DEFAULT_TOKEN,
    )
    from scheduler.outbox import get_setting
    from scheduler.rehearsal import KEY as CLOCK_KEY

    api = TimedBotApi(flood_limits=True)
    wechat = TimedWechat()
    await api.start()
    await wechat.start()
    port = _free_port()
    wechat.pusher.callback_url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    for template in load_protocol().wechat.templates.values():
        wechat.register_template(template.template_id, list(template.fields))
    for chat, channel in channels.items():
        if channel == "telegram":
            api.add_user(int(chat), first_name="Patient", language_code="en")
        else:
            wechat.world.follow(wechat.world.add_user(chat))
    for user in users:
        api.add_user(user, first_name="Coordinator", language_code="en")

    class WechatBot(BotProcess):
        """``python -m bot run`` with WeChat on, against the local WeChat server."""

        def env(self) -> dict[str, str]:
            env = super().env()
            env.update(
                TELEGRAM_BOT_TOKEN=TOKEN,
                WECHAT_APP_ID=DEFAULT_APP_ID,
                WECHAT_APP_SECRET=DEFAULT_APP_SECRET,
                WECHAT_TOKEN=DEFAULT_TOKEN,
                WECHAT_ENCODING_AES_KEY=DEFAULT_AES_KEY,
                WECHAT_API_BASE_URL=wechat.url,
                WEB_HOST="127.0.0.1",
                WEB_PORT=str(port),
                PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            )
            return env

    db = make_engine(url)
    bot = WechatBot(api, url, db, TrialClock(REHEARSAL_START), root / "mixed-bot.log")
    telegram = {chat for chat, channel in channels.items() if channel == "telegram"}
    requests: list[StaffRequest] = []
    try:
        await bot.start("--clock-start", REHEARSAL_START.isoformat())
        await api.wait_until(lambda: api.waiting_polls > 0, 60.0, "the bot polling")
        with read_session(db) as session:
            saved = get_setting(session, CLOCK_KEY)
        assert isinstance(saved, dict)
        burst_at = float(str(saved["origin"])) + DUE_AFTER
        progress(
            f"mixed: the bot is up; {len(channels)} reminders due in {burst_at - time.monotonic():.1f} s"
        )
        done = asyncio.Event()
        staff = [
            asyncio.create_task(
                staff_member(
                    api, user, _commands(i, len(channels)), burst_at, done, random.Random(i)
                )
            )
            for i, user in enumerate(users)
        ]
        reported = 0
        while time.monotonic() < burst_at + timeout:
            bot.check_running()
            reached = {c for c, _ in api.delivered if str(c) in telegram}
            count = len(reached) + len({o for o, _ in wechat.delivered})
            if count >= len(channels):
                break
            if count - reported >= 500:
                reported = count
                progress(f"  {count} of {len(channels)} delivered")
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE)  # anything sent twice would show up now
        done.set()
        for finished in await asyncio.gather(*staff):
            requests.extend(finished)
    finally:
        try:
            await bot.stop()
        finally:
            await api.stop()
            await wechat.stop()
    deliveries = Deliveries(
        telegram=[(str(c), t) for c, t in api.delivered if str(c) in telegram],
        wechat=[(o, t) for o, t in wechat.delivered if o in channels],
        telegram_all=[t for _, t in api.delivered],
        flood_errors=api.flood_errors,
        violations=len(api.violations) + len(wechat.violations),
    )
    with read_session(db) as session:
        due_by = REHEARSAL_START + timedelta(seconds=DUE_AFTER)
        rows = session.exec(select(Reminder.status).where(col(Reminder.due_at) <= due_by)).all()
    db.dispose()
    statuses = dict(Counter(str(status) for status in rows))
    return figures(channels, deliveries, requests, statuses)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
