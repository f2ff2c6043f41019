"""/reports and /triage end to end over HTTP, in both languages.

Reports are stored as ``/report`` stores them (tests.support.status_seed.open_report);
the clock stands on Wednesday 2026-12-16, 10:00 in Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from core.store.db import read_session
from core.store.models import AdverseEvent, InviteRole, PatientReport, TriageStatus
from core.store.uow import UnitOfWork
from tests.support.bot_harness import World
from tests.support.db_state import Snapshot, audit_since, changed_tables, last_audit_seq, snapshot
from tests.support.status_seed import NOW, open_report, wait_for_page

TELEGRAM_LIMIT = 4096
CLINICAL = frozenset({"adverse_event", "patient_report"})


def setup(world: World) -> None:
    world.clock.set(NOW)
    world.enroll("P01", day0=date(2026, 12, 1))
    world.enroll("P02", day0=date(2026, 12, 3))


def report_row(world: World, number: int) -> PatientReport:
    with read_session(world.services.engine) as session:
        row = session.get(PatientReport, number)
    assert row is not None
    return row


def events(world: World) -> list[AdverseEvent]:
    with read_session(world.services.engine) as session:
        return list(session.exec(select(AdverseEvent)).all())


def clinical(world: World) -> Snapshot:
    return {k: v for k, v in snapshot(world.services.engine).items() if k in CLINICAL}


def visible(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- /reports ---------------------------------------------------------------------------


async def test_reports_lists_open_reports_red_flags_first(world: World) -> None:
    setup(world)
    fever = open_report(world, "P01", created=NOW - timedelta(hours=3))
    red = open_report(
        world,
        "P02",
        category="chest_pain",
        severity="not_asked",
        onset="now",
        text=None,
        red_flag=True,
        created=NOW - timedelta(hours=1),
    )
    long_words = "My ankles are swollen " * 30
    swelling = open_report(
        world, "P02", category="swelling_urine", severity="mild", onset="days_2_3", text=long_words
    )
    closed = open_report(world, "P01", created=NOW - timedelta(hours=5))
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    with_closed = report_row(world, closed)
    with UnitOfWork(world.services.engine, "system", NOW) as uow:
        row = uow.session.get(PatientReport, with_closed.id)
        assert row is not None
        uow.update(row, "patient_report.closed", triage_status=TriageStatus.CLOSED)

    lines = (await world.say(nurse, "/reports")).shown.splitlines()
    assert lines[0].startswith("Open patient reports: 3.")
    assert lines[1] == f"R{red} P02 RED FLAG: chest pain; reported Wed, Dec 16, 2026, 09:00"
    assert lines[2] == (
        f"R{fever} P01: Fever or signs of infection; moderate (limits some activities); "
        "started: Yesterday; reported Wed, Dec 16, 2026, 07:00"
    )
    assert lines[3] == "  In the patient's words: Fever 38.5 since last night"
    assert lines[4].startswith(f"R{swelling} P02: Swelling or less urine; mild")
    assert "started: 2-3 days ago" in lines[4]
    # The patient's long text is shortened for the list, never cut mid-message.
    assert lines[5].startswith("  In the patient's words: My ankles are swollen")
    assert lines[5].endswith("…")
    assert len(lines[5]) < 160
    assert f"R{closed} " not in "\n".join(lines)

    investigator = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    lines = (await world.say(investigator, "/reports")).shown.splitlines()
    assert lines[0].startswith("待处理的受试者报告：3 份。")
    assert lines[1] == f"R{red} P02 危险信号：胸痛；报告时间 2026年12月16日周三 09:00"
    assert lines[2].startswith(
        f"R{fever} P01：发热或感染迹象；中度（部分活动受限）；开始时间：昨天"
    )
    assert lines[3] == "  受试者原话：Fever 38.5 since last night"


async def test_no_reports(world: World) -> None:
    setup(world)
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    assert (await world.say(coordinator, "/reports")).shown == (
        "No patient reports are waiting for triage."
    )


async def test_sixty_reports_page_with_buttons(world: World) -> None:
    setup(world)
    numbers = [
        open_report(
            world,
            "P01" if n % 2 else "P02",
            text=f"Report {n}: " + "tired and feverish, " * 6,
            created=NOW - timedelta(minutes=60 - n),
        )
        for n in range(60)
    ]
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    first = await world.say(nurse, "/reports")
    assert "Page 1 of" in first.shown
    pages = int(first.shown.rsplit(" of ", 1)[1])
    assert pages >= 2
    assert [b.text for b in first.buttons()] == ["Next ›"]
    shown = [first.shown]
    for page in range(2, pages + 1):
        await world.press(nurse, world.api.message(nurse, first.message_id), "Next ›")
        shown.append(await wait_for_page(world, nurse, first.message_id, page, pages))
    last = world.api.message(nurse, first.message_id)
    assert [b.text for b in last.buttons()] == ["‹ Previous"]
    await world.press(nurse, last, "‹ Previous")
    assert await wait_for_page(world, nurse, first.message_id, pages - 1, pages) == shown[-2]
    # Each report once, oldest first, and no message over Telegram's limit.
    text = "\n".join(shown)
    positions = [text.index(f"R{n} P0") for n in numbers]
    assert positions == sorted(positions)
    assert all(text.count(f"R{n} P0") == 1 for n in numbers)
    every = [m.shown for m in world.api.messages_to(nurse)] + shown
    assert all(visible(m) <= TELEGRAM_LIMIT for m in every)
    # Only one message was sent for the whole list: the rest were edits.
    assert sum("Page 1 of" in m.shown for m in world.api.messages_to(nurse)) <= 1


# --- /triage to an adverse event ---------------------------------------------------------


async def test_triage_to_adverse_event_needs_confirm(world: World) -> None:
    setup(world)
    created = NOW - timedelta(hours=2)
    number = open_report(world, "P01", onset="yesterday", created=created)
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    before = clinical(world)

    summary = await world.say(nurse, f"/triage R{number} ae G2 headache")
    lines = summary.shown.splitlines()
    assert lines[0] == (
        f"Report R{number} from P01 (Fever or signs of infection) becomes an adverse event:"
    )
    assert "Term: Headache (CTCAE v5.0)." in lines
    assert "Grade 2: Moderate pain; limiting instrumental ADL" in lines
    assert "Not serious (no seriousness criterion given)." in lines
    # Reported on 16 December, started "yesterday": onset 15 December.
    assert "Onset: Tue, Dec 15, 2026 (the patient answered: Yesterday)." in lines
    assert "The site became aware when the patient reported: Wed, Dec 16, 2026, 08:00." in lines
    assert [b.text for b in summary.buttons()] == ["Confirm", "Cancel"]
    assert clinical(world) == before  # nothing stored before Confirm

    world.clock.advance(timedelta(minutes=3))
    await world.press(nurse, summary, "Confirm")
    done = await world.reply(nurse, contains="Adverse event AE")
    [event] = events(world)
    assert done.shown == f"Adverse event AE{event.id} is recorded for P01."
    assert (event.term, event.coded, event.verbatim, event.grade) == (
        "headache",
        True,
        "headache",
        2,
    )
    assert event.ctcae_version == "5.0"
    assert not event.serious
    assert event.onset_date == date(2026, 12, 15)
    assert event.awareness_at == created  # the site knew when the patient reported
    staff_actor = event.reported_by
    assert staff_actor.startswith("staff:")
    row = report_row(world, number)
    assert row.triage_status == TriageStatus.CONVERTED
    assert row.linked_ae_id == event.id
    assert row.triaged_by == staff_actor
    assert row.triaged_at == NOW + timedelta(minutes=3)
    # The buttons are gone: it cannot be confirmed twice.
    assert world.api.message(nurse, summary.message_id).buttons() == []


async def test_triage_to_adverse_event_in_chinese(world: World) -> None:
    setup(world)
    number = open_report(world, "P02", onset="more_than_3_days")
    investigator = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    summary = await world.say(investigator, f"/triage R{number} ae G2 头痛")
    assert "名称：头痛（CTCAE v5.0）。" in summary.shown
    # "More than 3 days ago" on 16 December: onset 12 December.
    assert "发生日期：2026年12月12日周六（受试者的回答：" in summary.shown
    await world.press(investigator, summary, "确认")
    done = await world.reply(investigator, contains="不良事件")
    [event] = events(world)
    assert done.shown == f"已为 P02 记录不良事件 AE{event.id}。"
    assert (event.term, event.onset_date) == ("headache", date(2026, 12, 12))
    assert report_row(world, number).triage_status == TriageStatus.CONVERTED


async def test_uncoded_term_is_kept_verbatim(world: World) -> None:
    setup(world)
    number = open_report(world, "P01", onset="today")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    summary = await world.say(nurse, f"/triage R{number} ae G1 itchy eyes after the drip")
    assert 'Term: "itchy eyes after the drip" is not on the CTCAE term list' in summary.shown
    await world.press(nurse, summary, "Confirm")
    await world.reply(nurse, contains="Adverse event AE")
    [event] = events(world)
    assert (event.term, event.coded, event.verbatim) == (None, False, "itchy eyes after the drip")
    assert event.onset_date == date(2026, 12, 16)


async def test_serious_triage_alerts_coordinators_with_the_clock_from_the_report(
    world: World,
) -> None:
    setup(world)
    # The patient reported 5 hours ago: the 24-hour clock has 19 hours left.
    number = open_report(world, "P01", created=NOW - timedelta(hours=5))
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    summary = await world.say(
        nurse, f"/triage R{number} ae G3 lung infection serious=hospitalization"
    )
    assert "Serious: requires or prolongs hospitalisation." in summary.shown
    assert "On Confirm every coordinator is alerted" in summary.shown
    await world.press(nurse, summary, "Confirm")
    alert = await world.reply(coordinator, contains="SERIOUS ADVERSE EVENT")
    [event] = events(world)
    assert f"SERIOUS ADVERSE EVENT AE{event.id}, patient P01: Lung infection, grade 3." in (
        alert.shown
    )
    assert "(19 h left)" in alert.shown
    assert event.hospitalization and event.serious
    assert event.awareness_at == NOW - timedelta(hours=5)
    # The overview shows the same clock.
    status = await world.say(coordinator, "/status")
    assert f"AE{event.id} P01: 19 h left to report" in status.shown


async def test_red_flag_report_onset_is_the_report_day(world: World) -> None:
    setup(world)
    number = open_report(
        world, "P02", category="breathing", severity="not_asked", onset="now", red_flag=True
    )
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    summary = await world.say(nurse, f"/triage R{number} ae G3 dyspnoea")
    assert "(trouble breathing) becomes an adverse event" in summary.shown
    assert "Onset: Wed, Dec 16, 2026 (the patient answered: happening now (red flag))." in (
        summary.shown
    )


async def test_cancel_stores_nothing(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    before = clinical(world)
    summary = await world.say(nurse, f"/triage R{number} ae G2 headache")
    await world.press(nurse, summary, "Cancel")
    assert (await world.reply(nurse)).shown == "Cancelled. Nothing was stored."
    assert clinical(world) == before
    assert report_row(world, number).triage_status == TriageStatus.OPEN


# --- /triage close ------------------------------------------------------------------------


async def test_close_with_a_note(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    summary = await world.say(coordinator, f"/triage R{number} close seen at the visit, no event")
    assert summary.shown.splitlines() == [
        f"Close report R{number} from P01 (Fever or signs of infection) with the note:",
        "seen at the visit, no event",
    ]
    assert report_row(world, number).triage_status == TriageStatus.OPEN
    await world.press(coordinator, summary, "Confirm")
    assert (await world.reply(coordinator)).shown == f"Report R{number} from P01 is closed."
    row = report_row(world, number)
    assert row.triage_status == TriageStatus.CLOSED
    assert row.triage_note == "seen at the visit, no event"
    assert row.triaged_by is not None and row.triaged_by.startswith("staff:")
    assert row.triaged_at == NOW
    assert events(world) == []
    # It left the list.
    assert (await world.say(coordinator, "/reports")).shown == (
        "No patient reports are waiting for triage."
    )


async def test_close_in_chinese(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="zh-hans")
    summary = await world.say(nurse, f"/triage R{number} 关闭 电话随访，已好转")
    assert summary.shown.startswith(f"关闭 P01 的报告 R{number}（发热或感染迹象），备注：")
    await world.press(nurse, summary, "确认")
    assert (await world.reply(nurse)).shown == f"P01 的报告 R{number} 已关闭。"
    assert report_row(world, number).triage_note == "电话随访，已好转"


# --- refusals ---------------------------------------------------------------------------


async def test_refusals_say_why_and_store_nothing(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    converted = open_report(world, "P01")
    closed = open_report(world, "P02")
    with UnitOfWork(world.services.engine, "system", NOW) as uow:
        row = uow.session.get(PatientReport, closed)
        assert row is not None
        uow.update(row, "patient_report.closed", triage_status=TriageStatus.CLOSED)
        row = uow.session.get(PatientReport, converted)
        assert row is not None
        uow.update(row, "patient_report.converted", triage_status=TriageStatus.CONVERTED)
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    before = snapshot(world.services.engine)
    cases = {
        "/triage R999 ae G2 headache": "There is no patient report R999.",
        f"/triage R{converted} ae G2 headache": (
            f"Report R{converted} was already triaged: it became adverse event AE?."
        ),
        f"/triage R{closed} close again": f"Report R{closed} was already triaged: it is closed.",
        f"/triage R{number} ae G1 lung infection": (
            "Lung infection has no grade 1; CTCAE v5.0 grades it 2-5 only."
        ),
        f"/triage R{number} ae headache": (
            "Give the CTCAE grade as G1 to G5, for example: ae G2 headache."
        ),
        f"/triage R{number} ae G2": "Describe the adverse event in a few words.",
        f"/triage R{number} close": "Write a note saying why the report is closed.",
        f"/triage R{number} delete it": 'After the report number write "ae" or "close", not "delete".',
        f"/triage R{number}": 'After the report number write "ae" (adverse event) or "close".',
        "/triage seven ae G2 headache": "Name the report by its number, for example R7.",
        f"/triage R{number} ae G2 headache serious=severe": (
            '"severe" describes how intense the event is, not why it is serious.'
        ),
    }
    for text, reason in cases.items():
        shown = (await world.say(nurse, text)).shown
        assert shown.startswith(reason), (text, shown)
        assert "\nExpected: /triage R<number> ae G<grade> <term>" in shown, text
    assert changed_tables(before, snapshot(world.services.engine)) == {}

    zh = await world.join_staff(InviteRole.NURSE, language_code="zh-hans")
    shown = (await world.say(zh, "/triage R999 ae G2 头痛")).shown
    assert shown.startswith("没有编号为 R999 的受试者报告。\n正确格式：/triage R<编号>")


async def test_confirm_after_someone_else_triaged_it_stores_nothing(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    investigator = await world.join_staff(InviteRole.INVESTIGATOR, language_code="en")
    first = await world.say(nurse, f"/triage R{number} ae G2 headache")
    second = await world.say(investigator, f"/triage R{number} close duplicate")
    await world.press(investigator, second, "Confirm")
    await world.reply(investigator, contains="is closed")
    await world.press(nurse, first, "Confirm")
    refused = await world.reply(nurse, contains="Nothing was stored")
    assert f"Report R{number} was already triaged: it is closed." in refused.shown
    assert events(world) == []


async def test_patients_and_strangers_cannot_see_or_triage_reports(world: World) -> None:
    setup(world)
    number = open_report(world, "P01")
    patient = await world.join_patient("P01")
    stranger = world.new_user("en")
    engine = world.services.engine
    for user, expected in ((patient, "is not available to you"), (stranger, "invitation link")):
        for command in ("reports", f"triage R{number} close no"):
            seq = last_audit_seq(engine)
            shown = (await world.say(user, f"/{command}")).shown
            assert expected in shown
            assert "Fever" not in shown
            name = command.split()[0]
            assert [(r.action, r.entity_key) for r in audit_since(engine, seq)] == [
                ("access.refused", f"/{name}")
            ]
    assert report_row(world, number).triage_status == TriageStatus.OPEN


# --- the guided flow ----------------------------------------------------------------------


async def test_bare_triage_guides_with_buttons(world: World) -> None:
    setup(world)
    first = open_report(world, "P01", created=NOW - timedelta(hours=1))
    second = open_report(world, "P02", onset="today")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    ask = await world.say(nurse, "/triage")
    assert ask.shown == "Which report?"
    assert [b.text for b in ask.buttons()] == [f"R{first} P01", f"R{second} P02"]
    await world.press(nurse, ask, f"R{second} P02")
    action = await world.reply(nurse)
    assert action.shown == "Make it an adverse event, or close it?"
    await world.press(nurse, action, "Make it an adverse event")
    prompt = await world.reply(nurse)
    assert prompt.shown.startswith("For an adverse event type the grade and the term")
    summary = await world.say(nurse, "G2 headache")
    assert summary.shown.startswith(f"Report R{second} from P02")
    await world.press(nurse, summary, "Confirm")
    await world.reply(nurse, contains="Adverse event AE")
    assert report_row(world, second).triage_status == TriageStatus.CONVERTED
    assert report_row(world, first).triage_status == TriageStatus.OPEN

    zh = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    ask = await world.say(zh, "/triage")
    assert ask.shown == "哪一份报告？"
    await world.press(zh, ask, f"R{first} P01")
    action = await world.reply(zh)
    await world.press(zh, action, "关闭")
    await world.reply(zh)
    summary = await world.say(zh, "重复报告")
    await world.press(zh, summary, "确认")
    await world.reply(zh, contains="已关闭")
    assert report_row(world, first).triage_note == "重复报告"
