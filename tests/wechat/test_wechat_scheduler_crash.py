"""Crash test with WeChat patients: ``python -m bot run`` killed with SIGKILL mid-burst.

The WeChat counterpart of tests/telegram/test_scheduler_crash.py, on the same
harness (tests/support/crash_runs.py), in one mixed run: forty patients, half
bound to a WeChat openid (reminders as template messages through the local
WeChat server), half on Telegram (the local Bot API server), both servers in
this test's process. A real bot process runs on a rehearsal clock (14400
times real time) with WeChat on; every patient has a reminder at the same
instant several times a night. The process is killed with SIGKILL as soon as
eleven template messages of a run went out, restarted with ``--resume``,
three times; the fourth run is stopped with SIGINT once every reminder due
is handled and every delivery receipt the bot acknowledged is applied.

Then every reminder due is ``sent`` (Telegram) or ``sent``/``delivered``
(WeChat: ``delivered`` exactly when its message's receipt reached the bot;
WeChat gives up on a push after three tries, so a receipt pushed while the
bot was down is lost and its reminder stays ``sent``). The local WeChat
server took each reminder's template message exactly once, except reminders
the uncertain policy repeated: those as one repeat, marked in its note field
("Repeat of a reminder" / "此为重发的提醒"), plus at most the original.
None is lost.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import select

from bot.channels.wechat.callback import CALLBACK_PATH
from bot.channels.wechat.xml import DeliveryStatus, TemplateSendJobFinishEvent, parse_push
from bot.settings import derived_secret
from bot.web.page_tokens import verify
from core.protocol import load_protocol
from core.store.db import make_engine, read_session
from core.store.identities import reach_of
from core.store.migrate import migrate
from core.store.models import Channel, Patient, Reminder, ReminderStatus
from core.store.services import enroll_patient
from core.store.uow import UnitOfWork
from local_servers.telegram.server import LocalBotApi
from local_servers.wechat import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
)
from local_servers.wechat.methods import SentMessage
from tests.support.bot_harness import TOKEN
from tests.support.crash_runs import (
    all_handled,
    check_telegram_messages,
    run_killed_and_resumed,
    trial_seconds,
)
from tests.support.scheduler_fakes import join, join_wechat, reminders
from tests.support.wechat_world import free_port

# A real bot process killed and restarted against both local servers (about 25 s).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PATIENTS = 40  # odd n on WeChat, even n on Telegram
FIRST_CHAT = 7001
ENROLLED_AT = datetime(2026, 11, 1, tzinfo=UTC)
DAY0 = date(2026, 12, 1)
# Ten seconds of trial time before the first burst (every patient's 20:00 reminder).
CLOCK_START = "2026-11-29T19:59:50+08:00"
SPEED = "14400"
# Four bursts: 11-29 20:00, 11-30 07:00, 11-30 20:00, 12-01 07:00 (Shanghai).
CHECK_UNTIL = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
KILLS = 3
# Template messages taken in a run before it is killed: more than one batch holds (ten),
# so a resumed run's first batch, which holds the repeats of the kill before, is done by
# then: a repeat cut short in flight would stay uncertain (a repeat is never repeated).
KILL_AFTER = 11
# The template's note field (protocol.toml: thing4 = "{note}"), as first sent and as the
# one repeat (bot.views.reminder DETAILS_NOTE and SHORT_REPEAT_NOTE).
NOTE = {"en": "Tap for details", "zh_Hans": "点击查看详情"}
REPEAT = {"en": "Repeat of a reminder", "zh_Hans": "此为重发的提醒"}
PAGE_KEY = derived_secret(DEFAULT_APP_SECRET)  # PAGE_SECRET unset: derived from the secret


def _openid(n: int) -> str:
    return f"o_crash_{n:02d}_" + "x" * 17


def _on_wechat(n: int) -> bool:
    return n % 2 == 1


def _prepare(db: DbEngine, wechat: LocalWechat) -> None:
    """Enrol the patients: both channels in both languages and both arms."""
    protocol = load_protocol()
    for n in range(PATIENTS):
        with UnitOfWork(db, "system", ENROLLED_AT) as uow:
            patient = enroll_patient(
                uow,
                protocol,
                study_id=f"C{n:02d}",
                arm="belimumab_mt" if n % 4 in (1, 2) else "mt_only",
                day0=DAY0,
                sex="F",
                weight_kg="60",
                language="zh_Hans" if (n // 2) % 2 else "en",
                timezone="Asia/Shanghai",
                daily_dose_reminders=False,
            )
        assert patient.id is not None
        if _on_wechat(n):
            # A follower without an open customer-service window: the bot may send them
            # template messages only (a nudge would be refused with 45015, never sent).
            wechat.world.follow(wechat.world.add_user(_openid(n)))
            join_wechat(db, patient.id, _openid(n), ENROLLED_AT)
        else:
            join(db, patient.id, FIRST_CHAT + n, ENROLLED_AT)


def _templates(wechat: LocalWechat) -> list[SentMessage]:
    return [s for s in wechat.sent if s.method == "sendTemplateMessage"]


def _receipts_acked(wechat: LocalWechat) -> set[int]:
    """The msgids whose ``success`` receipt the bot acknowledged (so stored, then applied)."""
    acked = set()
    for record in wechat.pusher.records:
        if record.kind == "TEMPLATESENDJOBFINISH" and record.acked:
            event = parse_push(record.xml)
            assert isinstance(event, TemplateSendJobFinishEvent)
            if event.status is DeliveryStatus.SUCCESS:
                acked.add(event.msg_id)
    return acked


def _wechat_due(db: DbEngine, openid_of: dict[int, str]) -> list[Reminder]:
    return [r for r in reminders(db) if r.due_at <= CHECK_UNTIL and r.patient_id in openid_of]


def _receipts_applied(db: DbEngine, wechat: LocalWechat, openid_of: dict[int, str]) -> bool:
    """Every reminder due whose message's receipt reached the bot is ``delivered``."""
    acked = _receipts_acked(wechat)
    return all(
        r.status == ReminderStatus.DELIVERED
        for r in _wechat_due(db, openid_of)
        if r.message_id in acked
    )


def _reminder_of(message: SentMessage) -> tuple[int, int]:
    """(patient id, reminder id) named by the signed link of a template message."""
    url = message.body["url"]
    assert isinstance(url, str) and "/r/" in url, message.body
    granted = verify(PAGE_KEY, url.rsplit("/r/", 1)[1], ENROLLED_AT)
    assert granted.reminder_id is not None
    return granted.patient_id, granted.reminder_id


def _check_wechat_messages(
    wechat: LocalWechat, sent: list[Reminder], openid_of: dict[int, str], language: dict[int, str]
) -> None:
    """Each reminder of ``sent`` taken once, or as one marked repeat plus at most the
    original; no other message to a WeChat patient."""
    assert {s.touser for s in wechat.sent} <= set(openid_of.values())
    assert [s for s in wechat.sent if s.method != "sendTemplateMessage"] == []
    by_reminder: dict[int, list[SentMessage]] = {}
    for message in _templates(wechat):
        patient_id, reminder_id = _reminder_of(message)
        assert message.touser == openid_of[patient_id], message
        by_reminder.setdefault(reminder_id, []).append(message)
    for r in sent:
        assert r.id is not None
        lang = language[r.patient_id]
        messages = by_reminder.pop(r.id, [])
        notes = [m.body["data"]["thing4"]["value"] for m in messages]
        originals = [m for m, note in zip(messages, notes, strict=True) if note == NOTE[lang]]
        repeats = [m for m, note in zip(messages, notes, strict=True) if note == REPEAT[lang]]
        assert len(originals) + len(repeats) == len(messages), (r, notes)
        if r.is_repeat:
            assert (len(repeats), len(originals) <= 1) == (1, True), (r, notes)
            assert r.message_id == repeats[0].msgid, r
        else:
            assert (len(originals), len(repeats)) == (1, 0), (r, notes)
            assert r.message_id == originals[0].msgid, r
        # Original and repeat say the same thing but for the note: whose, what, when.
        shown = {
            tuple((k, v["value"]) for k, v in m.body["data"].items() if k != "thing4")
            for m in messages
        }
        assert len(shown) == 1, shown
    # Every template message taken belongs to a reminder that is sent or delivered.
    assert by_reminder == {}, f"messages of reminders not sent: {sorted(by_reminder)}"


async def test_sigkill_with_wechat_patients_loses_nothing_and_repeats_only_by_the_policy(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'trial.db'}"
    migrate(url)
    db = make_engine(url)
    protocol = load_protocol()
    wechat = LocalWechat()
    for template in protocol.wechat.templates.values():
        wechat.register_template(template.template_id, list(template.fields))
    await wechat.start()
    log = tmp_path / "bot.log"
    seconds = trial_seconds(log, CLOCK_START)
    api = LocalBotApi(flood_limits=True, clock=seconds, wall_clock=seconds)
    await api.start()
    _prepare(db, wechat)
    with read_session(db) as session:
        patients = list(session.exec(select(Patient)).all())
        reach = {p.id: reach_of(session, p) for p in patients if p.id is not None}
    language = {p.id: p.language.value for p in patients if p.id is not None}
    openid_of = {
        pid: r.chat for pid, r in reach.items() if r is not None and r.channel == Channel.WECHAT
    }
    chat_of = {
        pid: int(r.chat)
        for pid, r in reach.items()
        if r is not None and r.channel == Channel.TELEGRAM
    }
    assert len(openid_of) == len(chat_of) == PATIENTS // 2
    for chat in chat_of.values():
        api.add_user(chat, first_name=f"Patient{chat}")
    port = free_port()
    wechat.pusher.callback_url = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "DATABASE_URL": url,
        "WECHAT_APP_ID": DEFAULT_APP_ID,
        "WECHAT_APP_SECRET": DEFAULT_APP_SECRET,
        "WECHAT_TOKEN": DEFAULT_TOKEN,
        "WECHAT_ENCODING_AES_KEY": DEFAULT_AES_KEY,
        "WECHAT_API_BASE_URL": wechat.url,
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    try:
        await run_killed_and_resumed(
            env,
            log,
            clock_start=CLOCK_START,
            speed=SPEED,
            kills=KILLS,
            progress=lambda: len(_templates(wechat)),
            kill_after=KILL_AFTER,
            finished=lambda: (
                all_handled(db, CHECK_UNTIL) and _receipts_applied(db, wechat, openid_of)
            ),
        )

        # Every reminder due went out; none lost, none failed or left uncertain.
        due = [r for r in reminders(db) if r.due_at <= CHECK_UNTIL]
        assert len(due) == 4 * PATIENTS
        on_telegram = [r for r in due if r.patient_id in chat_of]
        assert {r.status for r in on_telegram} == {ReminderStatus.SENT}
        # On WeChat: delivered exactly when the receipt reached the bot, else sent.
        acked = _receipts_acked(wechat)
        on_wechat = _wechat_due(db, openid_of)
        assert len(on_wechat) == 2 * PATIENTS
        for r in on_wechat:
            expected = ReminderStatus.DELIVERED if r.message_id in acked else ReminderStatus.SENT
            assert r.status == expected, r
        statuses = Counter(r.status for r in on_wechat)
        assert statuses[ReminderStatus.DELIVERED] > 0, statuses

        final = {ReminderStatus.SENT, ReminderStatus.DELIVERED}
        sent = [r for r in reminders(db) if r.status in final]
        repeated = [r for r in sent if r.is_repeat]
        assert [r for r in repeated if r.patient_id in openid_of], (
            "no WeChat send was interrupted: the kills came too late to test anything"
        )
        assert len(repeated) <= KILLS * 10  # at most one batch in flight per kill

        # What each server took: once each, or one marked repeat plus at most the original.
        _check_wechat_messages(
            wechat, [r for r in sent if r.patient_id in openid_of], openid_of, language
        )
        check_telegram_messages(db, api, [r for r in sent if r.patient_id in chat_of], chat_of)
        assert wechat.violations == []
        assert not api.violations
        assert api.flood_errors == 0
    finally:
        await api.stop()
        await wechat.stop()
        db.dispose()
