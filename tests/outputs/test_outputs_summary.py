"""/summary and the Monday digest: the seeded trial's endpoints against numbers worked out
by hand (see :mod:`tests.support.outputs_seed` for the table), in both languages, end to end.

By hand, at week 24 (today 2026-11-30), completers only (the sensitivity analysis):

- belimumab_mt (P01 PR with CR at w12, P02 CR, P03 NR, P07 withdrawn): n = 3;
  cumulative CR 2/3 (P01, P02); CR 1/3; PR 1/3; NR 1/3; ORR 2/3.
- mt_only (P04 PR, P05 incomplete, P06 not yet at week 24): n = 1; cumulative CR
  0/1; CR 0/1; PR 1/1; NR 0/1; ORR 1/1.
- overall: n = 4; cumulative CR 2/4; CR 1/4; PR 2/4; NR 1/4; ORR 3/4.

By intention to treat (every enrolled patient): belimumab_mt cumulative CR 2/4, CR 1/4,
PR 1/4, ORR 2/4; mt_only 0/3, 0/3, 1/3, 1/3 (interim: P06); overall 2/7, 1/7, 2/7, 3/7.
The tests with withdrawals after a CR and missing week-24 panels are in
tests/outputs/test_intention_to_treat.py.
- SLEDAI-2K change (w24 - w0): P01 -8 (renal -8), P02 -14 (-12), P03 0 (0), P04 -8 (-4).
  belimumab_mt sorted -14, -8, 0: median -8, Q1 = -14 + 0.5 x 6 = -11, Q3 = -8 + 0.5 x 8 = -4.
  overall -14, -8, -8, 0: Q1 = -14 + 0.75 x 6 = -9.5, median -8, Q3 = -8 + 0.25 x 8 = -6.
- CD20 (/µL): P01 -145, P02 -190, P04 -20; P03 changed unit (missing), P05 none.
- Adverse events: P01 G3 serious + G1, P04 G2, P07 G4 serious.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from bot.outputs.followup import progress_lines
from bot.outputs.summary import send_weekly_digest, summary_blocks
from bot.pagination import split_pages, utf16_len
from core.intention_to_treat import MissingReason
from core.protocol import Protocol
from core.statistics import Proportion
from core.store.db import read_session
from core.store.models import InviteRole
from core.store.trial_data import load_trial_data
from core.tables.lab_file import derive_trial_endpoints
from core.trial_records import PatientRecord, TrialData
from core.trial_summary import TrialSummary, patient_progress, summarize
from tests.support.bot_harness import World
from tests.support.outputs_seed import SHANGHAI, TODAY, seed_trial, seeded_engine
from tests.support.pages import read_all_pages

TELEGRAM_LIMIT = 4096


def by_hand_interval(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson worked out independently: float bisection on the binomial tails."""

    def tail_at_most(x: int, p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(x + 1))

    def root(f: object, rising: bool) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if (f(mid) > 0.025) == rising:  # type: ignore[operator]
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    low = 0.0 if k == 0 else root(lambda p: 1 - tail_at_most(k - 1, p), rising=True)
    high = 1.0 if k == n else root(lambda p: tail_at_most(k, p), rising=False)
    return low, high


def check(p: Proportion, k: int, n: int) -> None:
    assert (p.count, p.n) == (k, n)
    assert p.percent() == (Decimal(100 * k) / n).quantize(Decimal("0.1"))
    low, high = by_hand_interval(k, n)
    assert p.interval is not None
    assert abs(float(p.interval.low) - low) < 1e-6
    assert abs(float(p.interval.high) - high) < 1e-6


@pytest.fixture(scope="module")
def trial(
    tmp_path_factory: pytest.TempPathFactory, protocol: Protocol
) -> tuple[TrialData, TrialSummary]:
    engine = seeded_engine(tmp_path_factory.mktemp("summary") / "trial.db", protocol)
    with read_session(engine) as session:
        data = load_trial_data(session, SHANGHAI)
    engine.dispose()
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    return data, summarize(data, endpoints, list(protocol.arms), TODAY)


# arm -> completers only: (enrolled, n, cumulative CR, CR, PR, NR, ORR) as (count, n) pairs
RESPONSES = {
    "belimumab_mt": (4, 3, (2, 3), (1, 3), (1, 3), (1, 3), (2, 3)),
    "mt_only": (3, 1, (0, 1), (0, 1), (1, 1), (0, 1), (1, 1)),
    None: (7, 4, (2, 4), (1, 4), (2, 4), (1, 4), (3, 4)),
}
# arm -> intention to treat: cumulative CR, CR, PR, ORR, non-responders as (count, n) pairs
ITT = {
    "belimumab_mt": ((2, 4), (1, 4), (1, 4), (2, 4), (2, 4)),
    "mt_only": ((0, 3), (0, 3), (1, 3), (1, 3), (2, 3)),
    None: ((2, 7), (1, 7), (2, 7), (3, 7), (4, 7)),
}
MISSING = {
    "belimumab_mt": {MissingReason.WITHDRAWN_UNASSESSED: ("P07",)},
    "mt_only": {MissingReason.NOT_YET: ("P06",), MissingReason.INCOMPLETE: ("P05",)},
    None: {
        MissingReason.WITHDRAWN_UNASSESSED: ("P07",),
        MissingReason.NOT_YET: ("P06",),
        MissingReason.INCOMPLETE: ("P05",),
    },
}
# arm -> SLEDAI (total median, q1, q3), (renal median, q1, q3), missing
SLEDAI = {
    "belimumab_mt": ((-8, -11, -4), (-8, -10, -4), ()),
    "mt_only": ((-8, -8, -8), (-4, -4, -4), ("P05",)),
    None: ((-8, "-9.5", -6), (-6, -9, -3), ("P05",)),
}
# arm -> CD20 /uL (median, q1, q3), missing
CD20 = {
    "belimumab_mt": (("-167.5", "-178.75", "-156.25"), ("P03",)),
    "mt_only": ((-20, -20, -20), ("P05",)),
    None: ((-145, "-167.5", "-82.5"), ("P03", "P05")),
}
# arm -> events, by grade, serious, not serious, patients with any (k, n), with serious (k, n)
AES = {
    "belimumab_mt": (3, (1, 0, 1, 1, 0), 2, 1, (2, 4), (2, 4)),
    "mt_only": (1, (0, 1, 0, 0, 0), 0, 1, (1, 3), (0, 3)),
    None: (4, (1, 1, 1, 1, 0), 2, 2, (3, 7), (2, 7)),
}


@pytest.mark.parametrize("arm", ["belimumab_mt", "mt_only", None])
def test_summary_numbers_equal_the_hand_computation(
    trial: tuple[TrialData, TrialSummary], arm: str | None
) -> None:
    _, summary = trial
    assert [g.arm for g in summary.groups] == ["belimumab_mt", "mt_only", None]
    group = next(g for g in summary.groups if g.arm == arm)
    enrolled, n, cumulative, cr, pr, nr, orr = RESPONSES[arm]
    r = group.completers
    assert (group.enrolled, r.n) == (enrolled, n)
    for proportion, (k, d) in zip(
        (r.cumulative_cr, r.cr, r.pr, r.nr, r.orr), (cumulative, cr, pr, nr, orr), strict=True
    ):
        check(proportion, k, d)
    itt = group.itt
    assert itt.enrolled == enrolled
    for proportion, (k, d) in zip(
        (itt.cumulative_cr, itt.cr, itt.pr, itt.orr, itt.non_responders), ITT[arm], strict=True
    ):
        check(proportion, k, d)
    assert {m.reason: m.study_ids for m in itt.missing} == MISSING[arm]
    assert itt.not_yet == (0 if arm == "belimumab_mt" else 1)

    total, renal, sledai_missing = SLEDAI[arm]
    s = group.sledai
    assert (s.total.median, s.total.q1, s.total.q3) == tuple(Decimal(str(v)) for v in total)
    assert (s.renal.median, s.renal.q1, s.renal.q3) == tuple(Decimal(str(v)) for v in renal)
    assert s.missing == sledai_missing

    cd20, cd20_missing = CD20[arm]
    ((unit, values),) = group.cd20.by_unit
    assert unit == "/uL"
    assert (values.median, values.q1, values.q3) == tuple(Decimal(str(v)) for v in cd20)
    assert group.cd20.missing == cd20_missing

    events, grades, serious, not_serious, with_any, with_serious = AES[arm]
    ae = group.adverse_events
    assert (ae.events, ae.by_grade, ae.serious, ae.non_serious) == (
        events,
        grades,
        serious,
        not_serious,
    )
    check(ae.patients_any, *with_any)
    check(ae.patients_serious, *with_serious)


def test_summary_text_in_english(trial: tuple[TrialData, TrialSummary]) -> None:
    _, summary = trial
    text = "\n".join(summary_blocks(Translator("en", SHANGHAI), summary, TODAY))
    lines = text.splitlines()
    assert "Belimumab plus multi-target therapy (belimumab_mt): 4 enrolled." in lines
    at = lines.index("Belimumab plus multi-target therapy (belimumab_mt): 4 enrolled.")
    assert lines[at + 1 : at + 3] == [
        "Intention to treat (all 4 enrolled; no week-24 class counts as non-response):",
        "  Cumulative CR by week 24: 2/4 (50.0%; 95% CI 6.8%–93.2%)",
    ]
    assert "Sensitivity analysis (completers only: the 3 patients with a week-24 class):" in lines
    assert "  Cumulative CR by week 24: 2/3 (66.7%; 95% CI 9.4%–99.2%)" in lines
    assert "  ORR (CR + PR) at week 24: 3/4 (75.0%; 95% CI 19.4%–99.4%)" in lines
    assert "  ORR (CR + PR) at week 24: 3/7 (42.9%; 95% CI 9.9%–81.6%)" in lines
    assert "    Not yet at week 24 (non-responders so far): P06." in lines
    assert "    Withdrawn before any assessment: P07." in lines
    assert "    Week-24 panel incomplete: P05." in lines
    assert (
        "SLEDAI-2K change from baseline to week 24 (n = 4): median -8, IQR -9.5 to -6; "
        "renal subset: median -6, IQR -9 to -3."
    ) in lines
    assert (
        "CD20 change from baseline to week 24 (n = 3, /µL): median -145, IQR -167.5 to -82.5."
        in lines
    )
    assert "CD20 at week 24 missing: P03 and P05." in lines
    assert (
        "Adverse events: 4 (grade 1: 1, grade 2: 1, grade 3: 1, grade 4: 1, grade 5: 0); "
        "serious 2, not serious 2."
    ) in lines


def test_summary_text_in_chinese(trial: tuple[TrialData, TrialSummary]) -> None:
    _, summary = trial
    text = "\n".join(summary_blocks(Translator("zh_Hans", SHANGHAI), summary, TODAY))
    lines = text.splitlines()
    assert "贝利尤单抗联合多靶点治疗（belimumab_mt）：入组 4 例。" in lines
    assert "  至第 24 周累计完全缓解（CR）：2/3（66.7%；95% 置信区间 9.4%–99.2%）" in lines
    assert "  至第 24 周累计完全缓解（CR）：2/4（50.0%；95% 置信区间 6.8%–93.2%）" in lines
    assert "    尚未到第 24 周（暂按未缓解计）：P06。" in lines
    assert "缺少第 24 周 CD20：P03 和 P05。" in lines
    assert "2026年11月30日" in text


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_long_summary_is_paged_within_telegrams_limit(lang: str) -> None:
    # 400 patients not yet at week 24: the lists of study IDs are long, nobody is dropped.
    patients = tuple(
        PatientRecord(i, f"S{i:04d}", "belimumab_mt", date(2026, 11, 1), "F", "60", "en", "active")
        for i in range(1, 401)
    )
    data = TrialData(patients=patients)
    summary = summarize(data, {}, ["belimumab_mt", "mt_only"], TODAY)
    pages = split_pages(summary_blocks(Translator(lang, SHANGHAI), summary, TODAY))  # type: ignore[arg-type]
    assert len(pages) > 1
    assert all(utf16_len(page) <= TELEGRAM_LIMIT for page in pages)
    everything = "\n".join(pages)
    assert all(p.study_id in everything for p in patients)


@pytest.mark.parametrize(
    ("study_id", "week", "expected"),
    [
        (
            "P01",
            24,
            [
                "Cumulative status of P01 up to week 24: complete response (CR), first reached at week 12.",
                "Cumulative complete response by week 24: reached.",
                "P01 has completed week 24; the week-24 class is partial response (PR).",
                "Every week-24 value is in.",
            ],
        ),
        (
            "P03",
            24,
            [
                "Cumulative status of P03 up to week 24: no response (NR), first reached at week 24.",
                "Cumulative complete response by week 24: not reached.",
                "P03 has completed week 24; the week-24 class is no response (NR).",
                "Every week-24 value is in.",
            ],
        ),
        (
            "P05",
            24,
            [
                "Cumulative status of P05 up to week 24: not evaluable (data missing).",
                "Cumulative complete response by week 24: cannot be decided yet, an assessment has data missing.",
                "P05 has completed week 24; the week-24 class is not evaluable (data missing).",
                "Week-24 values still missing: Urine RBC, Urine WBC, Cellular casts, Serum albumin, "
                "Serum creatinine, SLEDAI-2K, and CD20 B cells.",
            ],
        ),
        (
            "P05",
            12,
            [
                "Cumulative status of P05 up to week 12: no response (NR), first reached at week 12.",
                "Cumulative complete response by week 24: not reached so far.",
            ],
        ),
        ("P06", 0, ["Cumulative status of P06: no assessment after baseline yet."]),
    ],
)
def test_followup_after_an_assessment(
    trial: tuple[TrialData, TrialSummary],
    protocol: Protocol,
    study_id: str,
    week: int,
    expected: list[str],
) -> None:
    data, _ = trial
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    progress = patient_progress(
        data, endpoints, study_id, week, options=protocol.response_options()
    )
    assert progress_lines(Translator("en", SHANGHAI), progress) == expected


def test_followup_in_chinese(trial: tuple[TrialData, TrialSummary], protocol: Protocol) -> None:
    data, _ = trial
    endpoints = derive_trial_endpoints(data, protocol.response_options())
    progress = patient_progress(data, endpoints, "P05", 24, options=protocol.response_options())
    lines = progress_lines(Translator("zh_Hans", SHANGHAI), progress)
    assert lines[2].startswith("P05 已完成第 24 周")
    assert lines[3].startswith("第 24 周仍缺少：")
    assert "SLEDAI-2K" in lines[3]


# --- end to end over HTTP --------------------------------------------------------------


async def test_summary_command_in_english(world: World, protocol: Protocol) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    first = await world.say(user, "/summary")
    text = await read_all_pages(world, user, first)
    assert "Cumulative CR by week 24: 2/3 (66.7%; 95% CI 9.4%–99.2%)" in text
    assert "PR at week 24: 2/4 (50.0%; 95% CI 6.8%–93.2%)" in text
    assert "Week-24 panel incomplete: P05." in text
    assert "Patients with at least one adverse event: 3/7 (42.9%; 95% CI 9.9%–81.6%)" in text
    for sent in world.api.messages_to(user):
        assert utf16_len(sent.shown) <= TELEGRAM_LIMIT


async def test_summary_command_in_chinese_and_for_investigators(
    world: World, protocol: Protocol
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    user = await world.join_staff(InviteRole.INVESTIGATOR, language_code="zh-hans")
    first = await world.say(user, "/summary")
    text = await read_all_pages(world, user, first)
    assert "至第 24 周累计完全缓解（CR）：2/3（66.7%；95% 置信区间 9.4%–99.2%）" in text
    assert "在任何评估之前已退出：P07。" in text


async def test_summary_is_refused_to_nurses_and_takes_no_arguments(
    world: World, protocol: Protocol
) -> None:
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    refused = await world.say(nurse, "/summary")
    assert "/summary is not available to you" in refused.shown
    coordinator = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    extra = await world.say(coordinator, "/summary P01")
    assert "/summary takes no arguments." in extra.shown


async def test_monday_digest_goes_to_coordinators_in_their_language(
    world: World, protocol: Protocol
) -> None:
    seed_trial(world.services.engine, protocol, world.clock.now())
    english = await world.join_staff(InviteRole.COORDINATOR, language_code="en")
    chinese = await world.join_staff(InviteRole.COORDINATOR, language_code="zh-hans")
    nurse = await world.join_staff(InviteRole.NURSE, language_code="en")
    before = {u: len(world.api.messages_to(u)) for u in (english, chinese, nurse)}
    assert world.app is not None
    monday = world.clock.now() + timedelta(days=7)
    assert world.services.router is not None
    reached = await send_weekly_digest(world.services.router, world.services, monday)
    assert reached == 2
    en_text = "\n".join(m.shown for m in world.api.messages_to(english)[before[english] :])
    zh_text = "\n".join(m.shown for m in world.api.messages_to(chinese)[before[chinese] :])
    assert "Trial summary on Mon, Dec 7, 2026" in en_text
    assert "ORR (CR + PR) at week 24: 3/4 (75.0%; 95% CI 19.4%–99.4%)" in en_text
    assert "第 24 周总缓解率（ORR，CR + PR）：3/4（75.0%；95% 置信区间 19.4%–99.4%）" in zh_text
    assert len(world.api.messages_to(nurse)) == before[nurse]
    assert ZoneInfo("Asia/Shanghai") == SHANGHAI
