"""Coordinator commands end to end over HTTP: /enroll, /invite, /withdraw, /reschedule, /ack.

The coordinators' commands: every example as written, in an English and in a
Chinese coordinator's chat; Confirm / Cancel before anything is stored;
every refusal says why and stores nothing; the join links work.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel, col, select

from bot.roles import Role
from core.schedule import EventKind, Slot
from core.store.db import read_session
from core.store.models import (
    AdverseEvent,
    AuditRecord,
    EventStatus,
    Invite,
    InviteRole,
    Patient,
    PatientStatus,
    PendingAction,
    PlannedEventRow,
    Reminder,
    ReminderStatus,
    Staff,
)
from core.store.uow import UnitOfWork
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import START, World, is_telegram_staff
from tests.support.db_state import (
    AUDIT_TABLES,
    audit_since,
    changed_tables,
    last_audit_seq,
    snapshot,
)

M = TypeVar("M", bound=SQLModel)
SHANGHAI = ZoneInfo("Asia/Shanghai")
EN, ZH = "en", "zh-hans"
LANGS = pytest.mark.parametrize("lang", [EN, ZH])
LINK = re.compile(r"https://t\.me/trial_companion_bot\?start=([A-Za-z0-9_-]+)")
STRANGER_MARK = {EN: "open the invitation link", ZH: "邀请链接"}

# The protocol's plan for one belimumab-arm patient, counted from docs/registry-record.txt
# and docs/clinical-facts.md: 7 infusions (weeks 2, 4, 6, 10, 14, 18, 22), 7 renal
# assessments with their 7 urine collections, 3 SLEDAI-2K and 4 CD20 on renal
# visit days -> 28 visits and infusions (the 3 pulse days are not counted).
# Reminders: 2 per infusion, 3 per collection, 1 per visit day -> 42.
BELIMUMAB_APPOINTMENTS = 28
BELIMUMAB_REMINDERS = 42
ENROLL_EXAMPLE = "/enroll P01 belimumab_mt 2026-12-01 F 62kg zh born=1984 consent=2026-11-28"
ENROLL_EXAMPLE_ZH = (
    "/enroll P01 belimumab_mt 2026-12-01 女 62公斤 中文 出生年=1984 知情同意=2026-11-28"
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the trial zone as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def coordinator(world: World, lang: str) -> int:
    return await world.join_staff(InviteRole.COORDINATOR, language_code=lang)


async def choose(world: World, user: int, message: SentMessage, suffix: str) -> None:
    """Press the button whose callback data ends with ``suffix`` (language-independent)."""
    data = next(d for d in message.callback_data() if d.endswith(suffix))
    await world.api.user_presses(user, message.message_id, data)


async def confirm(world: World, user: int, message: SentMessage) -> SentMessage:
    await choose(world, user, message, ":ok")
    return await world.reply(user)


def rows(world: World, model: type[M], *where: Any) -> list[M]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(model).where(*where)).all())


def patient_or_none(world: World, study_id: str) -> Patient | None:
    found = rows(world, Patient, Patient.study_id == study_id)
    return found[0] if found else None


def event(world: World, patient: Patient, kind: EventKind, number: int) -> PlannedEventRow:
    (row,) = rows(
        world,
        PlannedEventRow,
        PlannedEventRow.patient_id == patient.id,
        PlannedEventRow.kind == kind,
        PlannedEventRow.number == number,
    )
    return row


def reminders_of(world: World, row: PlannedEventRow) -> dict[Slot, Reminder]:
    found = rows(world, Reminder, Reminder.event_id == row.id)
    return {r.slot: r for r in sorted(found, key=lambda r: r.revision)}  # latest revision wins


class Unchanged:
    """Asserts that nothing but the audit trail (and ``also``) changed while in the block."""

    def __init__(self, world: World, also: frozenset[str] = frozenset()) -> None:
        self.world = world
        self.skip = AUDIT_TABLES | also

    def __enter__(self) -> Unchanged:
        self.before = snapshot(self.world.services.engine, skip=self.skip)
        return self

    def __exit__(self, *exc: object) -> None:
        after = snapshot(self.world.services.engine, skip=self.skip)
        assert changed_tables(self.before, after) == {}


async def settled(world: World, user: int) -> None:
    """Wait until the bot has handled everything ``user`` sent (updates run in order)."""
    await world.say(user, "/help")


# --- /enroll ------------------------------------------------------------------------------


@LANGS
async def test_enroll_example_stores_only_on_confirm_and_its_link_joins(
    world: World, lang: str
) -> None:
    coord = await coordinator(world, lang)
    with Unchanged(world, also=frozenset({"pending_action"})):
        summary = await world.say(coord, ENROLL_EXAMPLE)
    text = summary.shown
    assert text.startswith("Enroll P01?" if lang == EN else "确认为 P01 办理入组？")
    if lang == EN:
        assert "Belimumab plus multi-target therapy" in text
        assert "Tue, Dec 1, 2026" in text
        assert "female" in text
        assert f"{BELIMUMAB_APPOINTMENTS} study visits and infusions" in text
        assert f"{BELIMUMAB_REMINDERS} reminders" in text
        assert "Born: 1984 (age 42 at day 0)" in text
        assert "Informed consent: Sat, Nov 28, 2026" in text
    else:
        assert "贝利尤单抗联合多靶点治疗" in text
        assert "2026年12月1日" in text
        assert "女" in text
        assert f"{BELIMUMAB_APPOINTMENTS} 次研究访视和输注" in text
        assert f"{BELIMUMAB_REMINDERS} 条提醒" in text
        assert "出生年份：1984（第 0 天时 42 岁）" in text
        assert "知情同意：2026年11月28日" in text
    # 10 mg/kg x 62 kg = 620 mg: 400 + 120 + 120 mg, 7.75 mL at 80 mg/mL.
    assert "620" in text and "400 mg + 120 mg + 120 mg" in text and "7.75" in text
    assert patient_or_none(world, "P01") is None

    done = await confirm(world, coord, summary)
    link_message = await world.reply(coord)
    patient = patient_or_none(world, "P01")
    assert patient is not None
    assert (patient.arm, patient.day0, patient.sex.value) == (
        "belimumab_mt",
        date(2026, 12, 1),
        "F",
    )
    assert (patient.weight_kg, patient.language.value) == ("62", "zh_Hans")
    assert patient.timezone == "Asia/Shanghai"
    assert patient.daily_dose_reminders is False
    assert (patient.birth_year, patient.consent_date) == (1984, date(2026, 11, 28))
    (enrolled,) = rows(world, AuditRecord, AuditRecord.action == "patient.enrolled")
    assert '"birth_year":1984' in (enrolled.after or "")
    assert '"consent_date":"2026-11-28"' in (enrolled.after or "")
    events = rows(world, PlannedEventRow, PlannedEventRow.patient_id == patient.id)
    reminders = rows(world, Reminder, Reminder.patient_id == patient.id)
    assert len(reminders) == BELIMUMAB_REMINDERS
    assert len([e for e in events if e.kind != EventKind.MP_PULSE]) == BELIMUMAB_APPOINTMENTS
    # Day 0 is tomorrow: the first urine collection started this morning at 07:00
    # and its instructions were due last evening: both past, never sent late.
    now = world.clock.now()
    past = [r for r in reminders if r.due_at < now]
    assert len(past) == 2
    assert {r.status for r in past} == {ReminderStatus.MISSED}
    assert {r.status for r in reminders if r.due_at >= now} == {ReminderStatus.PENDING}
    assert "P01" in done.shown
    # The plan summary names the next events, dated in the reader's language.
    assert ("Renal assessment 1" if lang == EN else "肾脏评估 1") in done.shown

    match = LINK.search(link_message.shown)
    assert match is not None, link_message.shown
    token = match.group(1)
    # Only the hash is stored: the token appears nowhere in the database or the trail.
    everything = repr(snapshot(world.services.engine, skip=frozenset()))
    assert token not in everything
    (invite,) = rows(world, Invite, Invite.patient_id == patient.id)
    assert invite.role == InviteRole.PATIENT and invite.used_at is None

    newcomer = world.new_user("zh-hans")
    ask = await world.say(newcomer, f"/start {token}")
    assert "请选择语言" in ask.shown
    joined = patient_or_none(world, "P01")
    assert joined is not None and world.telegram_user_of(joined) == newcomer


@LANGS
@pytest.mark.parametrize(
    "command",
    [
        ENROLL_EXAMPLE_ZH,
        "/enroll P01 belimumab_mt 2026-12-01 F 62kg zh 出生=1984 同意=2026-11-28",
        "/enroll P01 belimumab_mt 2026-12-01 F 62kg zh ＢＯＲＮ＝１９８４ Consent=11-28",
    ],
)
async def test_enroll_reads_the_year_of_birth_and_consent_date_under_chinese_keys(
    world: World, lang: str, command: str
) -> None:
    coord = await coordinator(world, lang)
    summary = await world.say(coord, command)
    assert (
        "Born: 1984 (age 42 at day 0)" if lang == EN else "出生年份：1984（第 0 天时 42 岁）"
    ) in summary.shown, summary.shown
    await confirm(world, coord, summary)
    patient = patient_or_none(world, "P01")
    assert patient is not None
    assert (patient.birth_year, patient.consent_date) == (1984, date(2026, 11, 28))


@LANGS
async def test_enroll_cancel_stores_nothing_and_late_presses_change_nothing(
    world: World, lang: str
) -> None:
    coord = await coordinator(world, lang)
    summary = await world.say(coord, ENROLL_EXAMPLE)
    with Unchanged(world, also=frozenset({"pending_action"})):
        # Cancel, then an old Confirm pressed before the buttons were removed.
        await choose(world, coord, summary, ":no")
        await choose(world, coord, summary, ":ok")
        await world.reply(coord)  # "Cancelled"
        await settled(world, coord)
    assert patient_or_none(world, "P01") is None
    assert [a.status.value for a in rows(world, PendingAction)] == ["cancelled"]
    late = world.api.callback_answers[-1]
    assert late.data.endswith(":ok")
    assert late.text == ("Cancelled earlier." if lang == EN else "此前已取消。")

    # Confirm pressed twice in a row stores one patient once.
    again = await world.say(coord, ENROLL_EXAMPLE)
    await choose(world, coord, again, ":ok")
    await choose(world, coord, again, ":ok")
    await world.reply(coord)
    await world.reply(coord)
    await settled(world, coord)
    assert len(rows(world, Patient)) == 1
    assert len(rows(world, Invite, Invite.role == InviteRole.PATIENT)) == 1
    assert world.api.callback_answers[-1].text == (
        "Already stored." if lang == EN else "已保存过。"
    )


@LANGS
async def test_a_past_day0_records_the_past_reminders_as_missed(world: World, lang: str) -> None:
    coord = await coordinator(world, lang)
    day0 = START.astimezone(SHANGHAI).date() - timedelta(weeks=10)
    summary = await world.say(
        coord, f"/enroll P02 mt_only {day0.isoformat()} M 70 kg en born=1970 consent={day0}"
    )
    done = await confirm(world, coord, summary)
    await world.reply(coord)  # the link
    patient = patient_or_none(world, "P02")
    assert patient is not None and patient.language.value == "en"
    reminders = rows(world, Reminder, Reminder.patient_id == patient.id)
    now = world.clock.now()
    missed = [r for r in reminders if r.status == ReminderStatus.MISSED]
    assert missed and all(r.due_at < now for r in missed)
    assert all(r.due_at >= now for r in reminders if r.status == ReminderStatus.PENDING)
    assert len(missed) == len([r for r in reminders if r.due_at < now])
    for shown in (summary.shown, done.shown):
        assert re.search(rf"\b{len(missed)}\b", shown), shown
    assert ("never sent late" if lang == EN else "不会补发") in done.shown


BORN_CONSENT = "born=1984 consent=2026-11-28"
ENROLL_REFUSALS = [
    # (words, what the English refusal names, what the Chinese one names)
    ("P01 belimumab_mt 2026-12-01 F 62kg zh", "already enrolled", "已经入组"),
    ("P02 belimumab 2026-12-01 F 62kg zh", "belimumab_mt, mt_only", "belimumab_mt, mt_only"),
    ("P02 belimumab_mt 2026-12-01 F 300kg zh", "250", "250"),
    ("P02 belimumab_mt 2026-04-27 F 62kg zh", "26 weeks ago", "26 周"),
    ("P02 belimumab_mt 2027-02-01 F 62kg zh", "8 weeks ahead", "8 周"),
    ("P-01! belimumab_mt 2026-12-01 F 62kg zh", "1 to 16 letters, digits", "1 到 16 个字母"),
    ("P02 belimumab_mt 2026-12-01 X 62kg zh", "F or M", "F 或 M"),
    ("P02 belimumab_mt 2026-12-01 F 62kg fr", "zh (中文) or en", "zh（中文）或 en"),
    ("P02 belimumab_mt 2026-12-01 F 62kg", "six words", "六项"),
    ("P02 belimumab_mt 01.12.2026 F 62kg zh", "YYYY-MM-DD", "YYYY-MM-DD"),
]
# The year of birth and the consent date: missing, unreadable, implausible, too late.
# The day 0 is 2026-12-01 and today is 2026-11-30 (Shanghai).
BORN_CONSENT_REFUSALS = [
    (
        "",
        "needs the year of birth (born=) and the informed-consent date (consent=)",
        "需要出生年份（born= 或 出生=）和知情同意日期（consent= 或 知情同意=）",
    ),
    ("consent=2026-11-28", "needs the year of birth (born=)", "需要出生年份（born= 或 出生=）"),
    ("出生=1984", "needs the informed-consent date (consent=)", "需要知情同意日期"),
    ("born=84 consent=2026-11-28", "84 is not a year of birth", "84 不是出生年份"),
    ("born=198x consent=2026-11-28", "four digits", "四位数字"),
    (
        "born=2010 consent=2026-11-28",
        "the patient would be 16 at day 0; the age at day 0 must be between 18 and 100",
        "受试者在第 0 天时为 16 岁；第 0 天时的年龄须在 18 到 100 岁之间",
    ),
    ("born=1920 consent=2026-11-28", "would be 106 at day 0", "第 0 天时为 106 岁"),
    ("born=1984 consent=2026-11-31", "not a date in the calendar", "不是日历上存在的日期"),
    ("born=1984 consent=soon", '"soon" is not a date', "“soon”不是日期"),
    (
        "born=1984 consent=2026-12-02",
        "The consent date 2026-12-02 is after day 0 (2026-12-01)",
        "知情同意日期 2026-12-02 晚于第 0 天（2026-12-01）",
    ),
    ("born=1984 consent=2026-12-01", "in the future", "在将来"),
    ("born=1984 consent=2026-11-28 age=42", '"age" is not a known field', "age"),
]


@LANGS
async def test_enroll_refusals_say_what_was_expected_and_store_nothing(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    coord = await coordinator(world, lang)
    for words, english, chinese in ENROLL_REFUSALS:
        with Unchanged(world):
            answer = await world.say(coord, f"/enroll {words} {BORN_CONSENT}")
        assert (english if lang == EN else chinese) in answer.shown, (words, answer.shown)
        assert "/enroll P01 belimumab_mt 2026-12-01 F 62kg zh" in answer.shown  # the usage
        assert not answer.buttons()
    assert len(rows(world, Patient)) == 1


@LANGS
async def test_enroll_refuses_a_missing_or_bad_year_of_birth_or_consent_date(
    world: World, lang: str
) -> None:
    coord = await coordinator(world, lang)
    for words, english, chinese in BORN_CONSENT_REFUSALS:
        with Unchanged(world):
            answer = await world.say(
                coord, f"/enroll P02 belimumab_mt 2026-12-01 F 62kg zh {words}"
            )
        assert (english if lang == EN else chinese) in answer.shown, (words, answer.shown)
        # The usage names both and shows them in its example.
        assert "born=1984 consent=2026-11-28" in answer.shown
        assert not answer.buttons()
    assert rows(world, Patient) == []


async def test_day0_limits_are_inclusive(world: World) -> None:
    coord = await coordinator(world, EN)
    today = START.astimezone(SHANGHAI).date()
    for study_id, day0, consent in (
        ("B26", today - timedelta(weeks=26), today - timedelta(weeks=26)),
        ("A8", today + timedelta(weeks=8), today),
    ):
        summary = await world.say(
            coord, f"/enroll {study_id} mt_only {day0} M 70kg en born=1970 consent={consent}"
        )
        assert summary.buttons(), summary.shown


@LANGS
async def test_enroll_guided_flow_with_buttons(world: World, lang: str) -> None:
    coord = await coordinator(world, lang)
    ask = await world.say(coord, "/enroll")
    ask = await world.say(coord, "P07")
    await choose(world, coord, ask, ":belimumab_mt")
    ask = await world.reply(coord)
    ask = await world.say(coord, "2026-12-03")
    await choose(world, coord, ask, ":F")
    ask = await world.reply(coord)
    ask = await world.say(coord, "58.5公斤")
    await choose(world, coord, ask, ":zh")
    ask = await world.reply(coord)
    assert ("year of birth" if lang == EN else "出生年份") in ask.shown
    ask = await world.say(coord, "1990")
    assert ("informed consent" if lang == EN else "知情同意") in ask.shown
    ask = await world.say(coord, "2026-11-29")
    await choose(world, coord, ask, ":yes")
    summary = await world.reply(coord)
    assert "P07" in summary.shown and "58.5" in summary.shown
    assert ("Born: 1990 (age 36 at day 0)" if lang == EN else "1990（第 0 天时 36 岁）") in (
        summary.shown
    )
    await confirm(world, coord, summary)
    patient = patient_or_none(world, "P07")
    assert patient is not None
    assert (patient.weight_kg, patient.daily_dose_reminders) == ("58.5", True)
    assert patient.day0 == date(2026, 12, 3)
    assert (patient.birth_year, patient.consent_date) == (1990, date(2026, 11, 29))


# --- /invite ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "command", "role", "heading"),
    [
        (EN, "/invite nurse", "nurse", "One-time join link for a nurse, valid until"),
        (ZH, "/invite nurse", "nurse", "护士的一次性加入链接，有效期至"),
        (ZH, "/invite 护士", "nurse", "护士的一次性加入链接，有效期至"),
        (EN, "/invite investigator", "investigator", "One-time join link for an investigator,"),
        (ZH, "/invite 协调员", "coordinator", "协调员的一次性加入链接，有效期至"),
    ],
)
async def test_invite_gives_a_one_time_staff_link(
    world: World, lang: str, command: str, role: str, heading: str
) -> None:
    coord = await coordinator(world, lang)
    answer = await world.say(coord, command)
    assert answer.shown.startswith(heading)
    assert not answer.buttons()  # no clinical data: no Confirm
    match = LINK.search(answer.shown)
    assert match is not None, answer.shown
    token = match.group(1)
    assert token not in repr(snapshot(world.services.engine, skip=frozenset()))
    (invite,) = rows(world, Invite, Invite.role == InviteRole(role), Invite.created_by != "system")
    assert invite.expires_at == world.clock.now() + timedelta(days=7)
    # Valid for 7 days from now (30 Nov 2026, 09:00 in Shanghai).
    assert ("Dec 7, 2026, 09:00" if lang == EN else "2026年12月7日周一 09:00") in answer.shown

    newcomer = world.new_user(lang)
    await world.say(newcomer, f"/start {token}")
    (staff,) = rows(world, Staff, is_telegram_staff(newcomer))
    assert staff.role.value == role
    other = world.new_user(lang)
    used = await world.say(other, f"/start {token}")
    assert rows(world, Staff, is_telegram_staff(other)) == []
    assert ("already been used" if lang == EN else "已被使用") in used.shown


async def test_invite_refuses_an_unknown_role_and_guides_with_buttons(world: World) -> None:
    coord = await coordinator(world, ZH)
    with Unchanged(world):
        answer = await world.say(coord, "/invite doctor")
    assert "护士" in answer.shown and "/invite nurse" in answer.shown
    with Unchanged(world):
        answer = await world.say(coord, "/invite patient")
    assert "/enroll" in answer.shown
    ask = await world.say(coord, "/invite")
    await choose(world, coord, ask, ":investigator")
    link = await world.reply(coord)
    assert LINK.search(link.shown)
    assert rows(world, Invite, Invite.role == InviteRole.INVESTIGATOR)


@LANGS
async def test_invite_on_wecom_is_refused_while_wecom_is_not_set_up(
    world: World, lang: str
) -> None:
    coord = await coordinator(world, lang)
    with Unchanged(world):
        off = await world.say(coord, "/invite nurse wecom")
        unknown = await world.say(coord, "/invite nurse fax")
    assert off.shown.startswith(
        "WeCom is not set up for this bot (the WECOM_ settings)"
        if lang == EN
        else "本机器人尚未设置企业微信（WECOM_ 系列设置）"
    )
    assert unknown.shown.startswith(
        "fax is not a channel for staff: write telegram or wecom (企业微信)."
        if lang == EN
        else "fax 不是研究团队可用的渠道：请填写 telegram 或 wecom（企业微信）。"
    )
    # Telegram named as the channel is the plain invitation.
    link = await world.say(coord, "/invite nurse telegram")
    assert LINK.search(link.shown)


# --- /withdraw ----------------------------------------------------------------------------


@LANGS
async def test_withdraw_cancels_every_pending_reminder_in_one_transaction(
    world: World, lang: str
) -> None:
    world.enroll("P01", daily_doses=True)
    patient_user = await world.join_patient("P01")
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    before = {r.id: r.status for r in rows(world, Reminder, Reminder.patient_id == patient.id)}
    pending = {i for i, s in before.items() if s == ReminderStatus.PENDING}
    assert len(pending) > 300  # daily doses: hundreds of reminders

    summary = await world.say(coord, "/withdraw P01 moved to another city")
    assert str(len(pending)) in summary.shown
    assert world.patient("P01").status == PatientStatus.ACTIVE
    seq = last_audit_seq(world.services.engine)
    done = await confirm(world, coord, summary)
    assert "P01" in done.shown and str(len(pending)) in done.shown

    withdrawn = world.patient("P01")
    assert withdrawn.status == PatientStatus.WITHDRAWN
    assert withdrawn.withdrawn_reason == "moved to another city"
    after = {r.id: r for r in rows(world, Reminder, Reminder.patient_id == patient.id)}
    assert set(after) == set(before)
    for reminder_id, status in before.items():
        expected = ReminderStatus.CANCELLED if reminder_id in pending else status
        assert after[reminder_id].status == expected
    assert all("moved to another city" in (after[i].last_error or "") for i in pending)
    # The records stay: every planned event is still there, still planned.
    events = rows(world, PlannedEventRow, PlannedEventRow.patient_id == patient.id)
    assert events and {e.status for e in events} == {EventStatus.PLANNED}
    # One transaction: both changes carry the same instant, one after the other.
    records = [r for r in audit_since(world.services.engine, seq) if r.entity != "pending_action"]
    actions = [r.action for r in records]
    assert actions[:2] == ["patient.withdrawn", "reminder.cancelled"]
    assert records[0].at == records[1].at and records[1].seq == records[0].seq + 1
    assert records[0].reason == "moved to another city"

    # The patient is no longer a patient for the bot, but is told whom to contact.
    answer = await world.say(patient_user, "/schedule")
    assert STRANGER_MARK[EN] not in answer.shown
    assert "You have left the study" in answer.shown and "+86-25-0000-0001" in answer.shown


@LANGS
async def test_withdraw_refusals(world: World, lang: str) -> None:
    world.enroll("P01")
    coord = await coordinator(world, lang)
    cases = [
        ("/withdraw P01", "reason is required", "必须填写原因"),
        ("/withdraw P99 lost to follow-up", "no patient P99", "没有受试者 P99"),
    ]
    for command, english, chinese in cases:
        with Unchanged(world):
            answer = await world.say(coord, command)
        assert (english if lang == EN else chinese) in answer.shown, answer.shown
    summary = await world.say(coord, "/withdraw P01 consent withdrawn")
    await confirm(world, coord, summary)
    with Unchanged(world):
        again = await world.say(coord, "/withdraw P01 consent withdrawn")
    assert ("withdrawn from the study" if lang == EN else "已退出研究") in again.shown


async def test_withdraw_guided_flow(world: World) -> None:
    world.enroll("P01")
    world.enroll("P02")
    coord = await coordinator(world, EN)
    ask = await world.say(coord, "/withdraw")
    await choose(world, coord, ask, ":P02")
    await world.reply(coord)
    summary = await world.say(coord, "adverse event, investigator decision")
    assert "P02" in summary.shown and "investigator decision" in summary.shown
    await confirm(world, coord, summary)
    assert world.patient("P02").status == PatientStatus.WITHDRAWN
    assert world.patient("P01").status == PatientStatus.ACTIVE


# --- /reschedule --------------------------------------------------------------------------

# Day 0 on 4 Nov 2026 puts infusion 3 (week 6) on 16 Dec 2026, window 13-19 Dec.
INFUSION_DAY0 = date(2026, 11, 4)
# Day 0 on 23 Sep 2026 puts renal assessment 4 (week 12) on 16 Dec 2026.
ASSESSMENT_DAY0 = date(2026, 9, 23)


@pytest.mark.parametrize(
    ("lang", "command"),
    [
        (EN, "/reschedule P01 infusion 3 2026-12-18"),
        (ZH, "/reschedule P01 infusion 3 2026-12-18"),
        (ZH, "/reschedule P01 输注 3 2026-12-18"),
    ],
)
async def test_reschedule_an_infusion_inside_its_window(
    world: World, lang: str, command: str
) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    third = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    fourth_before = event(world, patient, EventKind.BELIMUMAB_INFUSION, 4)
    fourth_reminders = reminders_of(world, fourth_before)
    assert third.target_date == date(2026, 12, 16)

    summary = await world.say(coord, command)
    if lang == EN:
        assert "Dec 13, 2026" in summary.shown and "Dec 19, 2026" in summary.shown
        assert "inside the window" in summary.shown
    else:
        assert "2026年12月13日" in summary.shown and "时间窗内" in summary.shown
    assert (
        event(world, patient, EventKind.BELIMUMAB_INFUSION, 3).scheduled_date == third.target_date
    )
    done = await confirm(world, coord, summary)
    assert "P01" in done.shown

    moved = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    new_day = date(2026, 12, 18)
    assert moved.scheduled_date == new_day and moved.target_date == date(2026, 12, 16)
    assert moved.starts_at == local(new_day, 9)
    assert moved.deviation_reason is None
    reminders = reminders_of(world, moved)
    assert reminders[Slot.INFUSION_EVENING_BEFORE].due_at == local(date(2026, 12, 17), 20)
    assert reminders[Slot.INFUSION_MORNING].due_at == local(new_day, 7)
    assert {r.status for r in reminders.values()} == {ReminderStatus.PENDING}
    assert {r.announces_at for r in reminders.values()} == {moved.starts_at}
    # Later events stay anchored to day 0.
    fourth = event(world, patient, EventKind.BELIMUMAB_INFUSION, 4)
    assert fourth.scheduled_date == fourth_before.scheduled_date == date(2027, 1, 13)
    assert {s: (r.due_at, r.status) for s, r in reminders_of(world, fourth).items()} == {
        s: (r.due_at, r.status) for s, r in fourth_reminders.items()
    }


@LANGS
async def test_reschedule_outside_the_window_needs_a_reason(world: World, lang: str) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    with Unchanged(world):
        refused = await world.say(coord, "/reschedule P01 infusion 3 2026-12-25")
    assert "2026-12-13" in refused.shown and "2026-12-19" in refused.shown
    assert ("reason is required" if lang == EN else "必须填写原因") in refused.shown
    assert not refused.buttons()

    summary = await world.say(
        coord, "/reschedule P01 infusion 3 2026-12-25 reason=patient travelling"
    )
    assert ("protocol deviation" if lang == EN else "方案偏离") in summary.shown
    assert "patient travelling" in summary.shown
    done = await confirm(world, coord, summary)
    assert "patient travelling" in done.shown
    moved = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    assert moved.scheduled_date == date(2026, 12, 25)
    assert moved.deviation_reason == "patient travelling"
    assert reminders_of(world, moved)[Slot.INFUSION_EVENING_BEFORE].due_at == local(
        date(2026, 12, 24), 20
    )
    audit = rows(world, AuditRecord, AuditRecord.action == "event.rescheduled")
    assert [a.reason for a in audit] == ["patient travelling"]


@pytest.mark.parametrize(
    ("lang", "command"),
    [
        (EN, "/reschedule P01 assessment 4 2026-12-17"),
        (ZH, "/reschedule P01 assessment 4 2026-12-17"),
        (ZH, "/reschedule P01 评估 4 2026-12-17"),
    ],
)
async def test_reschedule_an_assessment_moves_its_visit_and_the_lab_day_doses(
    world: World, lang: str, command: str
) -> None:
    world.enroll("P01", day0=ASSESSMENT_DAY0, daily_doses=True)
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    old_day, new_day = date(2026, 12, 16), date(2026, 12, 17)
    assert event(world, patient, EventKind.RENAL_ASSESSMENT, 4).scheduled_date == old_day
    renal_5 = event(world, patient, EventKind.RENAL_ASSESSMENT, 5)

    summary = await world.say(coord, command)
    # The SLEDAI-2K (week 12: the second) and CD20 (week 12: the third) move with it.
    for title in (
        ("SLEDAI-2K assessment 2", "CD20 B-cell count 3", "24-hour urine collection 4")
        if lang == EN
        else ("2", "3", "4")
    ):
        assert title in summary.shown
    await confirm(world, coord, summary)

    for kind, number in (
        (EventKind.RENAL_ASSESSMENT, 4),
        (EventKind.SLEDAI, 2),
        (EventKind.CD20, 3),
    ):
        row = event(world, patient, kind, number)
        assert row.scheduled_date == new_day and row.starts_at == local(new_day, 8)
    urine = event(world, patient, EventKind.URINE_COLLECTION, 4)
    assert urine.starts_at == local(old_day, 7) and urine.ends_at == local(new_day, 7)
    urine_reminders = reminders_of(world, urine)
    assert urine_reminders[Slot.URINE_INSTRUCTIONS].due_at == local(date(2026, 12, 15), 20)
    assert urine_reminders[Slot.URINE_END].due_at == local(new_day, 7)
    visit = reminders_of(world, event(world, patient, EventKind.RENAL_ASSESSMENT, 4))
    assert visit[Slot.VISIT_EVENING_BEFORE].due_at == local(old_day, 20)
    assert reminders_of(world, event(world, patient, EventKind.SLEDAI, 2)) == {}
    # Nothing else moved.
    assert event(world, patient, EventKind.RENAL_ASSESSMENT, 5).starts_at == renal_5.starts_at

    # The morning dose waits for the blood draw on the new lab day, not the old one.
    old_doses = reminders_of(world, event(world, patient, EventKind.ORAL_DOSE, 84))
    new_doses = reminders_of(world, event(world, patient, EventKind.ORAL_DOSE, 85))
    assert old_doses[Slot.DOSE_1].status == ReminderStatus.PENDING
    assert old_doses[Slot.DOSE_1].due_at == local(old_day, 8)
    assert old_doses[Slot.DOSE_AFTER_DRAW].status == ReminderStatus.CANCELLED
    assert new_doses[Slot.DOSE_AFTER_DRAW].status == ReminderStatus.PENDING
    assert new_doses[Slot.DOSE_AFTER_DRAW].due_at == local(new_day, 9)
    assert new_doses[Slot.DOSE_1].status == ReminderStatus.CANCELLED
    for doses in (old_doses, new_doses):
        assert doses[Slot.DOSE_2].status == ReminderStatus.PENDING


async def test_moving_an_assessment_back_reuses_the_cancelled_reminders(world: World) -> None:
    world.enroll("P01", day0=ASSESSMENT_DAY0, daily_doses=True)
    coord = await coordinator(world, EN)
    patient = world.patient("P01")
    original = reminders_of(world, event(world, patient, EventKind.ORAL_DOSE, 84))
    for day in ("2026-12-17", "2026-12-16"):
        summary = await world.say(coord, f"/reschedule P01 assessment 4 {day}")
        await confirm(world, coord, summary)
    back = reminders_of(world, event(world, patient, EventKind.ORAL_DOSE, 84))
    after_draw = back[Slot.DOSE_AFTER_DRAW]
    assert after_draw.id == original[Slot.DOSE_AFTER_DRAW].id
    assert after_draw.status == ReminderStatus.PENDING
    assert after_draw.due_at == original[Slot.DOSE_AFTER_DRAW].due_at
    assert back[Slot.DOSE_1].status == ReminderStatus.CANCELLED
    renal = event(world, patient, EventKind.RENAL_ASSESSMENT, 4)
    assert renal.scheduled_date == renal.target_date


async def test_new_reminders_already_past_are_missed_not_sent_late(world: World) -> None:
    # Day 0 on 11 Nov: infusion 2 (9 Dec) stays 7 or more days after today (30 Nov).
    world.enroll("P01", day0=date(2026, 11, 11))
    coord = await coordinator(world, EN)
    patient = world.patient("P01")
    # Infusion 1 (week 2, 25 Nov) was missed; it is booked again for today.
    today = START.astimezone(SHANGHAI).date()
    summary = await world.say(coord, f"/reschedule P01 infusion 1 {today} reason=missed visit")
    await confirm(world, coord, summary)
    moved = event(world, patient, EventKind.BELIMUMAB_INFUSION, 1)
    assert moved.scheduled_date == today
    reminders = reminders_of(world, moved)
    # Yesterday 20:00 and this morning 07:00 are before 09:00 now.
    assert {r.status for r in reminders.values()} == {ReminderStatus.MISSED}
    assert reminders[Slot.INFUSION_MORNING].due_at == local(today, 7)


async def test_a_reminder_sent_for_the_old_date_is_sent_again_for_the_new_one(world: World) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, EN)
    patient = world.patient("P01")
    third = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    evening = reminders_of(world, third)[Slot.INFUSION_EVENING_BEFORE]
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        row = uow.session.get(Reminder, evening.id)
        assert row is not None
        uow.update(row, "reminder.sent", status=ReminderStatus.SENT, message_id=77)
    summary = await world.say(coord, "/reschedule P01 infusion 3 2026-12-18")
    done = await confirm(world, coord, summary)
    assert "already sent for the old date: 1; they are sent again for the new date" in done.shown
    moved = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    with read_session(world.services.engine) as session:
        evenings = session.exec(
            select(Reminder)
            .where(Reminder.event_id == moved.id, Reminder.slot == Slot.INFUSION_EVENING_BEFORE)
            .order_by(col(Reminder.revision))
        ).all()
    # The one sent stays as it was; the new date has its own, pending.
    assert [(r.revision, r.status, r.message_id) for r in evenings] == [
        (0, ReminderStatus.SENT, 77),
        (1, ReminderStatus.PENDING, None),
    ]
    assert evenings[0].due_at == evening.due_at
    assert evenings[1].due_at == local(date(2026, 12, 17), 20)
    after = reminders_of(world, moved)
    assert after[Slot.INFUSION_MORNING].due_at == local(date(2026, 12, 18), 7)


@LANGS
async def test_reschedule_refusals(world: World, lang: str) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    world.enroll("P05", arm="mt_only", day0=INFUSION_DAY0)
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    with UnitOfWork(world.services.engine, "system", world.clock.now()) as uow:
        second = uow.session.get(
            PlannedEventRow, event(world, patient, EventKind.BELIMUMAB_INFUSION, 2).id
        )
        assert second is not None
        uow.update(second, "event.done", status=EventStatus.DONE)
    cases = [
        ("/reschedule P99 infusion 3 2026-12-18", "no patient P99", "没有受试者 P99"),
        ("/reschedule P01 infusion 9 2026-12-18", "numbered 1 to 7", "序号为 1 至 7"),
        ("/reschedule P01 infusion 3 2026-11-20", "in the past", "已经过去"),
        ("/reschedule P01 infusion 2 2026-12-03", "already recorded as done", "已记录为完成"),
        ("/reschedule P05 infusion 1 2026-12-03", "no belimumab infusions", "没有贝利尤单抗输注"),
        ("/reschedule P01 visit 3 2026-12-18", "infusion (输注) or assessment", "infusion（输注）"),
        ("/reschedule P01 infusion 3", "four words", "四项"),
    ]
    for command, english, chinese in cases:
        with Unchanged(world):
            answer = await world.say(coord, command)
        assert (english if lang == EN else chinese) in answer.shown, (command, answer.shown)
        assert "/reschedule P01" in answer.shown  # the usage


@LANGS
async def test_reschedule_refuses_infusions_too_close_or_out_of_order(
    world: World, lang: str
) -> None:
    # Infusions 2, 3, 4 on 2 Dec, 16 Dec 2026 and 13 Jan 2027.
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, lang)
    cases = [
        (
            "/reschedule P01 infusion 3 2026-12-08 reason=ward closed",
            "Infusion 3 cannot move to Tue, Dec 8, 2026: infusion 2 is on Wed, Dec 2, 2026, "
            "and infusions must stay in order, at least 7 days apart.",
            "输注 3 不能改到 2026年12月8日周二：输注 2 在 2026年12月2日周三，"
            "各次输注须保持顺序，且至少间隔 7 天。",
        ),
        (
            "/reschedule P01 infusion 3 2027-01-20 ward closed",
            "Infusion 3 cannot move to Wed, Jan 20, 2027: infusion 4 is on Wed, Jan 13, 2027, "
            "and infusions must stay in order, at least 7 days apart.",
            "输注 3 不能改到 2027年1月20日周三：输注 4 在 2027年1月13日周三，"
            "各次输注须保持顺序，且至少间隔 7 天。",
        ),
    ]
    for command, english, chinese in cases:
        with Unchanged(world):
            answer = await world.say(coord, command)
        assert (english if lang == EN else chinese) in answer.shown, (command, answer.shown)
        assert not answer.buttons()
    # Exactly 7 days after infusion 2 is allowed (outside the window: with its reason).
    summary = await world.say(coord, "/reschedule P01 infusion 3 2026-12-09 ward closed")
    await confirm(world, coord, summary)
    moved = event(world, world.patient("P01"), EventKind.BELIMUMAB_INFUSION, 3)
    assert moved.scheduled_date == date(2026, 12, 9)


@LANGS
async def test_reschedule_reads_the_words_after_the_date_as_the_reason(
    world: World, lang: str
) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, lang)
    patient = world.patient("P01")
    reason = "patient travelling" if lang == EN else "患者外出旅行"
    with Unchanged(world):
        both = await world.say(
            coord, f"/reschedule P01 infusion 3 2026-12-25 {reason} reason={reason}"
        )
    assert (
        "Give the reason once" if lang == EN else "原因只需写一次"
    ) in both.shown and not both.buttons()

    summary = await world.say(coord, f"/reschedule P01 infusion 3 2026-12-25 {reason}")
    assert ("protocol deviation" if lang == EN else "方案偏离") in summary.shown
    assert reason in summary.shown
    done = await confirm(world, coord, summary)
    assert reason in done.shown
    moved = event(world, patient, EventKind.BELIMUMAB_INFUSION, 3)
    assert moved.scheduled_date == date(2026, 12, 25)
    assert moved.deviation_reason == reason
    audit = rows(world, AuditRecord, AuditRecord.action == "event.rescheduled")
    assert [a.reason for a in audit] == [reason]


async def test_reschedule_guided_flow(world: World) -> None:
    world.enroll("P01", day0=INFUSION_DAY0)
    coord = await coordinator(world, ZH)
    ask = await world.say(coord, "/reschedule")
    await choose(world, coord, ask, ":P01")
    ask = await world.reply(coord)
    await choose(world, coord, ask, ":infusion")
    await world.reply(coord)
    await world.say(coord, "3")
    ask = await world.say(coord, "2026-12-18")
    await choose(world, coord, ask, ":-")  # skip the reason: inside the window
    summary = await world.reply(coord)
    await confirm(world, coord, summary)
    moved = event(world, world.patient("P01"), EventKind.BELIMUMAB_INFUSION, 3)
    assert moved.scheduled_date == date(2026, 12, 18)


# --- /ack ---------------------------------------------------------------------------------


def add_adverse_event(
    world: World, ae_id: int, *, serious: bool, hours_ago: float, term: str = "lung_infection"
) -> None:
    patient = world.patient("P01")
    assert patient.id is not None
    now = world.clock.now()
    with UnitOfWork(world.services.engine, "system", now) as uow:
        uow.add(
            AdverseEvent(
                id=ae_id,
                patient_id=patient.id,
                ctcae_version="5.0",
                term=term,
                verbatim="lung infection",
                coded=True,
                grade=3,
                hospitalization=serious,
                onset_date=date(2026, 11, 28),
                awareness_at=now - timedelta(hours=hours_ago),
                reported_by="system",
                reported_at=now - timedelta(hours=hours_ago),
            ),
            "adverse_event.recorded",
        )


@LANGS
async def test_ack_a_serious_adverse_event(world: World, lang: str) -> None:
    world.enroll("P01")
    add_adverse_event(world, 12, serious=True, hours_ago=5)
    coord = await coordinator(world, lang)
    answer = await world.say(coord, "/ack AE12")
    assert "AE12" in answer.shown and "P01" in answer.shown
    assert ("Lung infection" if lang == EN else "肺部感染") in answer.shown
    # 5 hours after awareness, 19 hours left of the 24-hour clock.
    hours = ("5 h after", "(19 h left)") if lang == EN else ("获知后 5 小时", "剩余 19 小时")
    assert all(part in answer.shown for part in hours), answer.shown
    (ae,) = rows(world, AdverseEvent, AdverseEvent.id == 12)
    (staff,) = rows(world, Staff, is_telegram_staff(coord))
    assert ae.acknowledged_at == world.clock.now()
    assert ae.acknowledged_by == f"staff:{staff.id}"
    (record,) = rows(world, AuditRecord, AuditRecord.action == "adverse_event.acknowledged")
    assert record.entity_key == "12"

    # A second /ack, by another coordinator, says by whom (a role, not a name) and when.
    world.clock.advance(timedelta(hours=1))
    other = await coordinator(world, lang)
    with Unchanged(world):
        again = await world.say(other, "/ack ae12")
    assert ("by a coordinator" if lang == EN else "协调员") in again.shown
    assert "User" not in again.shown  # no names
    assert ("Nov 30, 2026, 09:00" if lang == EN else "2026年11月30日") in again.shown


async def test_ack_after_the_clock_ran_out_says_how_late(world: World) -> None:
    world.enroll("P01")
    add_adverse_event(world, 14, serious=True, hours_ago=30.5)
    coord = await coordinator(world, EN)
    answer = await world.say(coord, "/ack AE14")
    assert "30.5 h after awareness" in answer.shown and "6.5 h past" in answer.shown


@LANGS
async def test_ack_refusals(world: World, lang: str) -> None:
    world.enroll("P01")
    add_adverse_event(world, 13, serious=False, hours_ago=2)
    coord = await coordinator(world, lang)
    cases = [
        ("/ack AE99", "no adverse event AE99", "没有不良事件 AE99"),
        ("/ack AE13", "not a serious adverse event", "不是严重不良事件"),
        ("/ack twelve", "for example AE12", "例如 AE12"),
    ]
    for command, english, chinese in cases:
        with Unchanged(world):
            answer = await world.say(coord, command)
        assert (english if lang == EN else chinese) in answer.shown, (command, answer.shown)
    assert rows(world, AdverseEvent, col(AdverseEvent.acknowledged_at).is_not(None)) == []


async def test_ack_guided_flow_lists_open_serious_events(world: World) -> None:
    world.enroll("P01")
    add_adverse_event(world, 12, serious=True, hours_ago=1)
    add_adverse_event(world, 13, serious=False, hours_ago=1)
    coord = await coordinator(world, EN)
    ask = await world.say(coord, "/ack")
    assert [b.text for b in ask.buttons()] == ["AE12 P01"]
    await choose(world, coord, ask, ":AE12")
    done = await world.reply(coord)
    assert "AE12" in done.shown
    (ae,) = rows(world, AdverseEvent, AdverseEvent.id == 12)
    assert ae.acknowledged_at is not None


# --- only coordinators ------------------------------------------------------------------------

EXAMPLES = {
    "enroll": ENROLL_EXAMPLE.replace("P01", "P09"),
    "invite": "/invite nurse",
    "withdraw": "/withdraw P01 consent withdrawn",
    "reschedule": "/reschedule P01 infusion 1 2026-12-16",
    "ack": "/ack AE12",
}


@pytest.mark.parametrize("command", list(EXAMPLES))
async def test_only_coordinators_may(world: World, command: str) -> None:
    world.enroll("P01")
    add_adverse_event(world, 12, serious=True, hours_ago=1)
    people: dict[Role | None, int] = {
        Role.NURSE: await world.join_staff(InviteRole.NURSE, language_code=ZH),
        Role.INVESTIGATOR: await world.join_staff(InviteRole.INVESTIGATOR, language_code=EN),
        Role.PATIENT: await world.join_patient("P01"),
        None: world.new_user(EN),
    }
    for role, user in people.items():
        seq = last_audit_seq(world.services.engine)
        with Unchanged(world):
            answer = await world.say(user, EXAMPLES[command])
        if role is None:
            assert STRANGER_MARK[EN] in answer.shown
        elif role == Role.NURSE:
            assert f"/{command}" in answer.shown and "/help" in answer.shown
        else:
            assert (
                answer.shown == f"/{command} is not available to you. /help lists what you can do."
            )
        refused = audit_since(world.services.engine, seq)
        assert [(r.action, r.entity_key) for r in refused] == [("access.refused", f"/{command}")]
