"""A WeChat patient's pages over HTTP: each choice recorded once as the chat records it,
the schedule and calendar, the symptom report with and without a red flag, and links
that open nothing for anyone else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlmodel import col, func, select

from bot.web.pages.html import HEADERS
from core.protocol import load_protocol
from core.schedule import Slot
from core.store.db import read_session
from core.store.models import (
    AuditRecord,
    Channel,
    DoseAdministration,
    Patient,
    PatientReport,
    PatientStatus,
    Reminder,
)
from core.store.uow import UnitOfWork
from tests.support.patient_pages import (
    SECRET,
    PagesSite,
    bind,
    enroll,
    visible_text,
)

# What the patient reads, in each language (the chat's own sentences).
TEXTS = {
    "en": {
        "yes": "I'll be there",
        "later": "I need another day",
        "started": "Started",
        "finished": "Finished",
        "problem": "Something went wrong",
        "taken": "Taken",
        "recorded": "Thank you, recorded.",
        "already": "Already recorded: {answer}.",
        "not valid": "This button is no longer valid.",
        "later reply": (
            "Thank you. The study team has been told and will contact you to agree on another day."
        ),
        "problem reply": "Please tell the study team what went wrong.",
        "will you": "Will you be there?",
        "steps": "How to do the 24-hour urine collection",
        "schedule": "Your next study events:",
        "calendar": "Add your study appointments to your phone's calendar (.ics file)",
        "breathing": "Trouble breathing",
        "emergency": (
            "If this is happening now, call 120 at once or go to the nearest emergency department."
        ),
        "contact": "Research nurse: +86-25-0000-0001",
        "report sent": "Thank you. Your report number {number} has been sent to the study team.",
        "sent again": "This form was already sent. It was not sent again.",
        "incomplete": "Please answer every question.",
        "invalid": (
            "This link is not valid. Please open the link in the latest message from the "
            "study team, or contact them:"
        ),
        "expired": (
            "This link has expired. Please open the link in the latest message from the "
            "study team, or contact them:"
        ),
        "withdrawn": "You have left the study. If you need anything, contact the study team:",
    },
    "zh_Hans": {
        "yes": "我会到",
        "later": "我需要改天",
        "started": "已开始",
        "finished": "已完成",
        "problem": "出了问题",
        "taken": "已服用",
        "recorded": "谢谢，已记录。",
        "already": "已记录过：{answer}。",
        "not valid": "此按钮已失效。",
        "later reply": "谢谢。已通知研究团队，他们会联系您另约时间。",
        "problem reply": "请告诉研究团队出了什么问题。",
        "will you": "您能按时到吗？",
        "steps": "如何留取 24 小时尿液",
        "schedule": "您接下来的研究安排：",
        "calendar": "把研究预约加入手机日历（.ics 文件）",
        "breathing": "呼吸困难",
        "emergency": "如果这种情况正在发生，请立即拨打 120 或前往最近的急诊科。",
        "contact": "研究护士：+86-25-0000-0001",
        "report sent": "谢谢。您的报告（编号 {number}）已发送给研究团队。",
        "sent again": "此表已经发送过，没有重复发送。",
        "incomplete": "请回答每一个问题。",
        "invalid": "此链接无效。请打开研究团队最新消息中的链接，或联系研究团队：",
        "expired": "此链接已过期。请打开研究团队最新消息中的链接，或联系研究团队：",
        "withdrawn": "您已退出本研究。如有需要，请联系研究团队：",
    },
}

# Each choice of each kind of reminder, and what the chat button stores.
CHOICES = [
    (Slot.INFUSION_EVENING_BEFORE, "yes"),
    (Slot.INFUSION_MORNING, "later"),
    (Slot.URINE_START, "started"),
    (Slot.URINE_START, "problem"),
    (Slot.URINE_END, "finished"),
    (Slot.VISIT_EVENING_BEFORE, "yes"),
    (Slot.DOSE_1, "taken"),
]
PAGE_LIMIT = 30 * 1024


def language(site: PagesSite) -> str:
    with read_session(site.services.engine) as session:
        patient = session.get(Patient, site.patient_id)
    assert patient is not None
    return patient.language.value


def stored(site: PagesSite, reminder_id: int) -> tuple[str | None, int, int]:
    """The reminder's answer, the doses linked to it and the audited answers."""
    with read_session(site.services.engine) as session:
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        doses = session.exec(
            select(func.count())
            .select_from(DoseAdministration)
            .where(DoseAdministration.reminder_id == reminder_id)
        ).one()
        answers = session.exec(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "reminder.answered")
        ).one()
    return reminder.response, doses, answers


def reports(site: PagesSite) -> list[PatientReport]:
    with read_session(site.services.engine) as session:
        return list(session.exec(select(PatientReport).order_by(col(PatientReport.id))).all())


def token_of(link: str) -> str:
    return link.rsplit("/r/", 1)[1]


@pytest.mark.parametrize(("slot", "choice"), CHOICES, ids=[f"{s}-{c}" for s, c in CHOICES])
async def test_a_choice_is_recorded_once_as_the_chat_button_records_it(
    pages_site: PagesSite, slot: Slot, choice: str
) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    reminder_id = site.sent_reminder(slot)
    link = site.link(reminder_id)

    status, page = await site.get(link)
    assert status == 200
    shown = visible_text(page)
    assert texts[choice] in shown
    assert len(page.encode()) <= PAGE_LIMIT

    status, page = await site.post(link, {"token": token_of(link), "choice": choice})
    assert status == 200
    shown = visible_text(page)
    assert shown[0] == texts["recorded"]
    response, doses, answers = stored(site, reminder_id)
    assert (response, doses, answers) == (choice, 2 if choice == "taken" else 0, 1)
    alerts = site.alerts()
    if choice == "later":
        assert texts["later reply"] in shown
        assert alerts[-1].startswith("Patient P01 needs another day for Belimumab infusion 1")
    elif choice == "problem":
        assert texts["problem reply"] in shown
        assert alerts[-1].startswith("Patient P01 reports that something went wrong with")
    else:
        assert len(alerts) == 1  # the coordinator's welcome only

    # Pressed again (or another choice): the first answer stays, nothing more is stored.
    status, page = await site.post(link, {"token": token_of(link), "choice": choice})
    assert visible_text(page)[0] == texts["already"].format(answer=texts[choice])
    assert stored(site, reminder_id) == (response, doses, answers)
    assert site.alerts() == alerts

    # The reminder page now shows the answer instead of the choices.
    _, page = await site.get(link)
    shown = visible_text(page)
    assert texts["already"].format(answer=texts[choice]) in shown
    assert texts[choice] not in shown


async def test_the_reminder_page_shows_the_reminder_in_full(pages_site: PagesSite) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    infusion = site.link(site.sent_reminder(Slot.INFUSION_EVENING_BEFORE))
    _, page = await site.get(infusion)
    shown = visible_text(page)
    assert texts["will you"] in shown
    assert [texts["yes"], texts["later"]] == [
        s for s in shown if s in (texts["yes"], texts["later"])
    ]
    assert texts["contact"] in shown
    # A start reminder shows every step of the collection, not only "start now".
    urine = site.link(site.sent_reminder(Slot.URINE_START))
    _, page = await site.get(urine)
    shown = visible_text(page)
    assert texts["steps"] in shown
    step_three = [s for s in shown if s.startswith("3.")]
    assert len(step_three) == 1
    assert page.count("<script") == 0


async def test_pages_are_plain_small_and_guarded(pages_site: PagesSite) -> None:
    site = pages_site
    link = site.link(site.sent_reminder(Slot.URINE_END))
    for path in ("", "/schedule", "/report", "/report-details"):
        async with site.http.get(link + path) as response:
            page = await response.text()
            assert response.status == 200, path
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            for name, value in HEADERS.items():
                assert response.headers[name] == value
            assert "Set-Cookie" not in response.headers
        assert len(page.encode()) <= PAGE_LIMIT, path
        # Nothing runs and nothing is fetched from anywhere: no script, no asset, no address.
        assert "<script" not in page and "src=" not in page and "://" not in page, path
    home = site.link(None)
    _, page = await site.get(home)
    assert TEXTS[language(site)]["calendar"] in visible_text(page)


async def test_the_schedule_and_the_calendar_file(pages_site: PagesSite) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    link = site.link(None)
    _, page = await site.get(link + "/schedule")
    shown = visible_text(page)
    assert texts["schedule"] in shown
    assert texts["calendar"] in shown
    assert 'href="calendar.ics"' in page and 'href="schedule"' not in page
    async with site.http.get(link + "/calendar.ics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="trial-calendar.ics"'
        )
        data = await response.read()
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    assert len(events) >= 7  # the infusions alone
    domain = load_protocol().site.calendar_domain
    assert all(str(event["UID"]).endswith("@" + domain) for event in events)
    assert "P01" not in data.decode()


async def test_a_red_flag_shows_120_and_the_contacts_at_once_and_alerts_staff(
    pages_site: PagesSite,
) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    link = site.link(None)
    _, page = await site.get(link + "/report")
    assert texts["breathing"] in visible_text(page)
    once = page.split('name="once" value="', 1)[1].split('"', 1)[0]
    form = {"token": token_of(link), "once": once, "flag": "breathing"}
    status, page = await site.post(link + "/report", form)
    assert status == 200
    shown = visible_text(page)
    assert shown[0] == texts["emergency"]
    assert texts["contact"] in shown
    assert 'class="urgent"' in page
    (report,) = reports(site)
    assert (report.red_flag, report.category, report.patient_id) == (
        True,
        "breathing",
        site.patient_id,
    )
    assert site.alerts()[-1].startswith("URGENT: patient P01 reports trouble breathing")

    # The same form again (a double tap): nothing filed, nobody alerted twice.
    alerts = site.alerts()
    _, page = await site.post(link + "/report", form)
    assert visible_text(page)[0] == texts["sent again"]
    assert texts["emergency"] in visible_text(page)
    assert len(reports(site)) == 1
    assert site.alerts() == alerts


async def test_a_report_without_a_red_flag_is_filed_as_report_files_it(
    pages_site: PagesSite,
) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    link = site.link(None)
    _, page = await site.get(link + "/report-details")
    once = page.split('name="once" value="', 1)[1].split('"', 1)[0]
    form = {
        "token": token_of(link),
        "once": once,
        "category": "fever_infection",
        "severity": "moderate",
        "onset": "yesterday",
        "details": "38.5 since last night\r\nand a cough",
    }
    # An answer missing: asked again, nothing filed.
    status, page = await site.post(link + "/report-details", {**form, "onset": ""})
    assert status == 422
    assert visible_text(page)[0] == texts["incomplete"]
    assert reports(site) == []

    status, page = await site.post(link + "/report-details", form)
    assert status == 200
    (report,) = reports(site)
    assert (report.category, report.severity, report.onset, report.free_text) == (
        "fever_infection",
        "moderate",
        "yesterday",
        "38.5 since last night\nand a cough",  # a browser's CR LF is one line break
    )
    assert report.red_flag is False
    assert visible_text(page)[0] == texts["report sent"].format(number=report.id)
    alert = site.alerts()[-1]
    assert alert.startswith(f"New patient report {report.id} from P01")
    assert "In the patient's words: 38.5 since last night" in alert

    _, page = await site.post(link + "/report-details", form)
    assert visible_text(page)[0] == texts["sent again"]
    assert len(reports(site)) == 1

    # Without words it is filed as Skip files it.
    form = {**form, "once": "another-form", "details": "  "}
    await site.post(link + "/report-details", form)
    assert reports(site)[-1].free_text is None
    assert site.alerts()[-1].endswith("The patient gave no description.")


# --- links that open nothing ---------------------------------------------------------------


def everything_stored(site: PagesSite) -> tuple[int, int]:
    with read_session(site.services.engine) as session:
        audit = session.exec(select(func.count()).select_from(AuditRecord)).one()
        answered = session.exec(
            select(func.count()).select_from(Reminder).where(col(Reminder.response).is_not(None))
        ).one()
    return audit, answered


async def test_expired_forged_and_other_patients_links_are_refused_and_store_nothing(
    pages_site: PagesSite,
) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    reminder_id = site.sent_reminder(Slot.INFUSION_EVENING_BEFORE)
    good = site.link(reminder_id)
    # Another patient, with their own reminder and link.
    other = enroll(site.services, "P02", "en")
    assert other.id is not None
    bind(site.services, other, Channel.WECHAT, "oP02-openid")
    their_reminder = site.sent_reminder(Slot.INFUSION_EVENING_BEFORE, other.id)
    theirs = site.link(their_reminder, other.id)
    before = everything_stored(site)
    later = site.clock.now() + timedelta(days=1)
    forged = site.forged(reminder_id, secret=b"x" * 32, expires=later)
    # This patient's token with another reminder's number in it (the MAC no longer fits).
    swapped = site.forged(their_reminder, secret=b"x" * 32, expires=later)
    swapped = swapped[: -len(token_of(good)) + 23] + token_of(good)[23:]
    expired = site.forged(reminder_id, secret=SECRET, expires=site.clock.now())
    lang = "zh-CN" if language(site) == "zh_Hans" else "en-GB"
    for link, status, words in [
        (forged, 404, texts["invalid"]),
        (swapped, 404, texts["invalid"]),
        (good[:-1] + ("A" if good[-1] != "A" else "B"), 404, texts["invalid"]),
        (site.base + "/r/not-a-token", 404, texts["invalid"]),
        (expired, 410, texts["expired"]),
    ]:
        got, page = await site.get(link, lang)
        assert (got, visible_text(page)[0]) == (status, words), link
        got, page = await site.post(link, {"token": token_of(link), "choice": "yes"})
        assert got == status
        got, page = await site.post(
            link + "/report", {"token": token_of(link), "once": "x", "flag": "breathing"}
        )
        assert got == status
    # A form whose token is not the address's: refused (a request made up elsewhere).
    got, _ = await site.post(good, {"token": token_of(theirs), "choice": "yes"})
    assert got == 404
    got, _ = await site.post(good, {"choice": "yes"})
    assert got == 404
    # The other patient's link answers only their reminder, as them.
    got, page = await site.post(theirs, {"token": token_of(theirs), "choice": "later"})
    assert visible_text(page)[0] == "Thank you, recorded."
    assert stored(site, reminder_id)[0] is None
    assert stored(site, their_reminder)[0] == "later"
    assert reports(site) == []
    _, answered = everything_stored(site)
    assert answered == before[1] + 1


async def test_a_withdrawn_patient_and_a_reminder_not_yet_sent(pages_site: PagesSite) -> None:
    site = pages_site
    texts = TEXTS[language(site)]
    with read_session(site.services.engine) as session:
        pending = session.exec(
            select(Reminder)
            .where(Reminder.patient_id == site.patient_id)
            .where(Reminder.slot == Slot.VISIT_EVENING_BEFORE)
        ).first()
    assert pending is not None and pending.id is not None
    link = site.link(pending.id)
    _, page = await site.post(link, {"token": token_of(link), "choice": "yes"})
    assert visible_text(page)[0] == texts["not valid"]
    assert stored(site, pending.id)[0] is None

    with UnitOfWork(site.services.engine, "system", site.clock.now()) as uow:
        row = uow.session.get(Patient, site.patient_id)
        assert row is not None
        uow.update(row, "patient.withdrawn", status=PatientStatus.WITHDRAWN)
    got, page = await site.get(link)
    assert (got, visible_text(page)[0]) == (410, texts["withdrawn"])
    got, page = await site.post(link, {"token": token_of(link), "choice": "yes"})
    assert got == 410
    assert stored(site, pending.id)[0] is None


async def test_an_unreachable_patient_answering_on_a_page_stays_unreachable(
    pages_site: PagesSite,
) -> None:
    """A link opens in any browser: answering there says nothing about WeChat reaching them."""
    site = pages_site
    gone = site.clock.now() - timedelta(hours=1)
    with UnitOfWork(site.services.engine, "system", site.clock.now()) as uow:
        row = uow.session.get(Patient, site.patient_id)
        assert row is not None
        uow.update(row, "patient.unreachable", unreachable_since=gone)
    link = site.link(site.sent_reminder(Slot.INFUSION_EVENING_BEFORE))
    await site.post(link, {"token": token_of(link), "choice": "yes"})
    with read_session(site.services.engine) as session:
        patient = session.get(Patient, site.patient_id)
    assert patient is not None and patient.unreachable_since is not None
