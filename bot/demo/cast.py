"""The demo's cast and script: who takes part, what they type, and when the trial runs.

A coordinator on Telegram and a nurse on the hospital's WeCom; four patients on Telegram, two per arm, two in
Chinese and two in English, and a fifth (P05, in Chinese) on the hospital's
WeChat Official Account, all in Shanghai. Trial time starts a few days before day 0; the
script stops after week 0's infusion and again a few hours after the last
renal assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.demo.transcript import Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
DAY0 = date(2026, 12, 1)


@dataclass(frozen=True, slots=True)
class Script:
    """What the demo plays; ``short`` (the test) stops after week 4 instead of week 24."""

    short: bool = False

    @property
    def last_week(self) -> int:
        return 4 if self.short else 24

    @property
    def last_infusion_week(self) -> int:
        """The last belimumab infusion the nurse records at the final stop (week 4 or 22:
        registry weeks 2, 4, 6, then every 4 weeks through week 24)."""
        return 4 if self.short else 22

    @property
    def first_stop(self) -> datetime:
        """The end of the first fast stretch: week 0 done, the first infusion passed."""
        return datetime(2026, 12, 21, 12, 0, tzinfo=SHANGHAI)

    @property
    def final_stop(self) -> datetime:
        """A few hours after the last renal assessment (08:00 on its day)."""
        return datetime.combine(
            DAY0 + timedelta(weeks=self.last_week), datetime.min.time(), SHANGHAI
        ) + timedelta(hours=12)


COORDINATOR = Person("coordinator", 101, "zh_Hans", staff=True)
# On WeCom: the hospital's staff app; the local WeCom server knows her by this userid.
NURSE = Person("nurse", 0, "en", staff=True, userid="li.na")
P01 = Person("P01", 201, "zh_Hans", staff=False)
P02 = Person("P02", 202, "en", staff=False)
P03 = Person("P03", 203, "zh_Hans", staff=False)
P04 = Person("P04", 204, "en", staff=False)
# On WeChat: no Telegram chat; the local WeChat server knows them by this openid.
P05 = Person("P05", 0, "zh_Hans", staff=False, openid="o_demo_P05_" + "x" * 17)
PEOPLE = (COORDINATOR, P01, P02, P03, P04)  # on Telegram
TELEGRAM_PATIENTS = (P01, P02, P03, P04)
# Study ID -> (arm, sex, weight, language word, year of birth typed in /enroll)
ENROLMENT = {
    P01: ("belimumab_mt", "F", "62kg", "zh", 1984),
    P02: ("belimumab_mt", "F", "55kg", "en", 1991),
    P03: ("mt_only", "M", "70kg", "zh", 1979),
    P04: ("mt_only", "F", "58kg", "en", 1996),
    P05: ("belimumab_mt", "F", "55kg", "zh", 1988),
}
# Every demo patient signed the informed consent on the demo's first day.
CONSENT = T0.date()
# The belimumab arm: the nurse records each one's infusions with /dose (the first at week 2).
BELIMUMAB_PATIENTS = (P01, P02, P05)
FIRST_INFUSION = DAY0 + timedelta(weeks=2)
# Labs: docs/clinical-facts.md §3's example (P01 reaches CR) and a partial response (P03).
BASELINE_LABS = {
    P01: "protein=4.2g/24h rbc=40/hpf wbc=12/hpf casts=rbc alb=2.4g/dL scr=0.90mg/dL",
    P03: "protein=3.0g/24h rbc=30/hpf wbc=8/hpf casts=none alb=2.8g/dL scr=0.85mg/dL",
}
FINAL_LABS = {
    P01: "protein=0.25g/24h rbc=2/hpf wbc=3/hpf casts=none alb=3.9g/dL scr=0.78mg/dL",
    P03: "protein=1.2g/24h rbc=10/hpf wbc=4/hpf casts=none alb=3.2g/dL scr=0.90mg/dL",
}
