"""The patients' pages in a real browser with JavaScript off, as an old phone opens them.

Debian's chromium (``/usr/bin/chromium``) driven by playwright, never a
downloaded browser. Without it the tests are skipped with the reason, unless
``REQUIRE_BROWSER=1`` (CI installs chromium and sets it): then they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlmodel import select

from core.schedule import Slot
from core.store.db import read_session
from core.store.models import Patient, PatientReport, Reminder
from tests.support.patient_pages import PagesSite

CHROMIUM = Path("/usr/bin/chromium")

if not CHROMIUM.exists():
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError(
            f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)"
        )
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium); REQUIRE_BROWSER=1 makes this fail",
        allow_module_level=True,
    )

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The exact words the patient sees, per language.
SEEN = {
    "en": {
        "title": "Your reminder",
        "yes": "I'll be there",
        "recorded": "Thank you, recorded.",
        "report": "Report a symptom or side effect",
        "none": "None of these",
        "fever": "Fever or signs of infection",
        "moderate": "Moderate: it limits some activities",
        "today": "Today",
        "send": "Send to the study team",
        "sent": "Thank you. Your report number {number} has been sent to the study team.",
        "breathing": "Trouble breathing",
        "emergency": (
            "If this is happening now, call 120 at once or go to the nearest emergency department."
        ),
    },
    "zh_Hans": {
        "title": "您的提醒",
        "yes": "我会到",
        "recorded": "谢谢，已记录。",
        "report": "报告症状或不良反应",
        "none": "以上都没有",
        "fever": "发热或感染迹象",
        "moderate": "中度：部分活动受到限制",
        "today": "今天",
        "send": "发送给研究团队",
        "sent": "谢谢。您的报告（编号 {number}）已发送给研究团队。",
        "breathing": "呼吸困难",
        "emergency": "如果这种情况正在发生，请立即拨打 120 或前往最近的急诊科。",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Root in a container has no user namespace for chromium's sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=args
        )
        try:
            yield launched
        finally:
            await launched.close()


async def phone(browser: Browser, language: str) -> Page:
    """A small screen with JavaScript off, reading the patient's language."""
    context = await browser.new_context(
        java_script_enabled=False,
        viewport={"width": 360, "height": 640},
        locale="zh-CN" if language == "zh_Hans" else "en-GB",
    )
    context.set_default_timeout(10_000)
    return await context.new_page()


def patient_language(site: PagesSite) -> str:
    with read_session(site.services.engine) as session:
        patient = session.get(Patient, site.patient_id)
    assert patient is not None
    return patient.language.value


async def test_a_patient_opens_a_reminder_and_presses_a_choice(
    pages_site: PagesSite, browser: Browser
) -> None:
    site = pages_site
    language = patient_language(site)
    seen = SEEN[language]
    reminder_id = site.sent_reminder(Slot.INFUSION_EVENING_BEFORE)
    page = await phone(browser, language)
    await page.goto(site.link(reminder_id))
    assert await page.title() == seen["title"]
    assert await page.locator("script").count() == 0
    await page.get_by_role("button", name=seen["yes"]).click()
    await page.wait_for_load_state()
    assert await page.locator(".notice").first.inner_text() == seen["recorded"]
    with read_session(site.services.engine) as session:
        reminder = session.get(Reminder, reminder_id)
    assert reminder is not None and reminder.response == "yes"


async def test_a_patient_fills_the_report_form(pages_site: PagesSite, browser: Browser) -> None:
    site = pages_site
    language = patient_language(site)
    seen = SEEN[language]
    page = await phone(browser, language)
    await page.goto(site.link(None))
    await page.get_by_role("link", name=seen["report"]).click()
    await page.get_by_role("button", name=seen["none"]).click()
    await page.get_by_label(seen["fever"]).check()
    await page.get_by_label(seen["moderate"]).check()
    await page.get_by_label(seen["today"], exact=True).check()
    await page.locator("textarea").fill("咳嗽两天 / cough for two days")
    await page.get_by_role("button", name=seen["send"]).click()
    await page.wait_for_load_state()
    with read_session(site.services.engine) as session:
        (report,) = session.exec(select(PatientReport)).all()
    assert (report.category, report.severity, report.onset, report.free_text) == (
        "fever_infection",
        "moderate",
        "today",
        "咳嗽两天 / cough for two days",
    )
    assert await page.locator("p").first.inner_text() == seen["sent"].format(number=report.id)


async def test_a_red_flag_pressed_in_the_browser_shows_120_at_once(
    pages_site: PagesSite, browser: Browser
) -> None:
    site = pages_site
    language = patient_language(site)
    seen = SEEN[language]
    page = await phone(browser, language)
    await page.goto(site.link(None) + "/report")
    await page.get_by_role("button", name=seen["breathing"]).click()
    await page.wait_for_load_state()
    assert await page.locator(".urgent p").first.inner_text() == seen["emergency"]
    assert site.alerts()[-1].startswith("URGENT: patient P01 reports trouble breathing")
