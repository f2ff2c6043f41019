"""The protocol file: the bundled one encodes the registry, a wrong one says what is wrong."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from bot.settings import Settings
from core.protocol import BUNDLED_PROTOCOL, Protocol, ProtocolError, load_protocol, parse_protocol
from core.response import MissingWeek0, WbcCastsWithUti

BUNDLED = BUNDLED_PROTOCOL.read_text(encoding="utf-8")


def test_bundled_protocol_follows_the_registry(protocol: Protocol) -> None:
    # Registry: "10mg per kilogram at weeks 2, 4, and 6, and every 4 weeks for 24 weeks".
    assert protocol.belimumab.weeks() == [2, 4, 6, 10, 14, 18, 22]
    assert protocol.belimumab.mg_per_kg == Decimal(10)
    assert (protocol.mp_pulse.total_mg_min, protocol.mp_pulse.total_mg_max) == (
        Decimal(1500),
        Decimal(3000),
    )
    assert protocol.medication.mmf_g_per_day_min == Decimal("1.0")
    assert protocol.medication.mmf_g_per_day_max == Decimal("1.5")
    assert protocol.medication.tacrolimus_mg_per_day_min == Decimal(2)
    assert protocol.medication.tacrolimus_mg_per_day_max == Decimal(4)
    assert protocol.response.cr_protein_below_g_24h == Decimal("0.4")
    assert protocol.response.cr_albumin_above_g_dl == Decimal("3.5")
    assert protocol.trial.induction_weeks == 24
    assert protocol.gets_belimumab("belimumab_mt") and not protocol.gets_belimumab("mt_only")


def test_week_0_has_the_baseline_window_before_the_first_pulse(protocol: Protocol) -> None:
    # docs/clinical-facts.md §1-§2: the baseline is taken before day 0's pulse; other
    # assessments have +/- 3 days.
    assert protocol.assessment_window(0) == (3, 0)
    assert protocol.assessment_window(4) == protocol.assessment_window(24) == (3, 3)
    site = parse_protocol(
        BUNDLED.replace(
            "window_days_before = 3              # choice: from",
            "window_days_before = 5  # from",
            1,
        )
    )
    assert site.assessment_window(0) == (5, 0)


def test_published_variant_is_expressible_without_code() -> None:
    # A results paper gave belimumab at baseline, weeks 2 and 4: only the file changes.
    text = BUNDLED.replace("initial_weeks = [2, 4, 6]", "initial_weeks = [0, 2, 4]").replace(
        "then_every_weeks = 4", "then_every_weeks = 0"
    )
    assert parse_protocol(text).belimumab.weeks() == [0, 2, 4]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "initial_weeks = [2, 4, 6]",
            'initial_weeks = [2, "four", 6]',
            ["belimumab.initial_weeks.1", "'four'", "valid integer"],
        ),
        (
            'out_of_range = "flag"',
            'out_of_range = "warn"',
            ["medication.out_of_range", "'warn'", "'flag' or 'refuse'"],
        ),
        ("mg_per_kg = 10", "mg_per_kg = -10", ["belimumab.mg_per_kg", "-10", "greater than 0"]),
        (
            "min_days_between_infusions = 7",
            "min_days_between_infusions = 15",
            ["belimumab", "at least min_days_between_infusions apart"],
        ),
        (
            "min_days_between_infusions = 7",
            "min_days_between_infusions = 0",
            ["belimumab.min_days_between_infusions", "greater than or equal to 1"],
        ),
        (
            '[quiet_hours]\nstart = "22:00"',
            '[quiet_hours]\nstart = "19:00"',
            ["reminders.evening_before", "quiet hours 19:00-07:00"],
        ),
        (
            'infusion_morning = "07:00"',
            'infusion_morning = "09:30"',
            ["infusion_morning", "earlier than belimumab.time"],
        ),
        (
            "weeks = [0, 4, 8, 12, 16, 20, 24]",
            "weeks = [0, 4, 8, 12, 16, 20, 28]",
            ["renal_assessment.weeks", "induction_weeks (24)"],
        ),
        ("weeks = [0, 12, 24]", "weeks = [12, 0, 24]", ["sledai", "increasing"]),
        (
            "window_days_after = 0",
            "window_days_after = -1",
            ["baseline.window_days_after", "-1", "greater than or equal to 0"],
        ),
        (
            'emergency_number = "120"',
            'emergency_number = "call us"',
            ["site.emergency_number", "'call us'"],
        ),
        ("F = 73", "F = 73\nX = 80", ["reference_ranges.creatinine_uln_umol_l.X", "unknown key"]),
        (
            'time = "08:00"',
            'tme = "08:00"',
            ["renal_assessment.time: missing", "renal_assessment.tme: unknown key"],
        ),
        (
            'cumulative = "any_assessment"',
            'cumulative = "week24_only"',
            ["response.cumulative", "'week24_only'", "'any_assessment'"],
        ),
        (
            'baseline_when_week0_missing = "screening"',
            'baseline_when_week0_missing = "week -1"',
            ["response.baseline_when_week0_missing", "'screening' or 'none'"],
        ),
        (
            'wbc_casts_with_uti = "count"',
            'wbc_casts_with_uti = "no"',
            ["response.wbc_casts_with_uti", "'count' or 'ignore'"],
        ),
        (
            "overdue_in_digests = 3",
            "overdue_in_digests = 0",
            ["escalation.overdue_in_digests", "greater than or equal to 1"],
        ),
        ("link_days = 7", "link_days = 0", ["pages.link_days", "greater than or equal to 1"]),
        (
            "age_at_day0_min = 18",
            "age_at_day0_min = 101",
            ["enrollment", "age_at_day0_min must not be above age_at_day0_max"],
        ),
        (
            'creatinine_uln_source = "WS/T 404.5-2015"',
            'creatinine_uln_source = ""',
            ["reference_ranges.creatinine_uln_source", "at least 1 character"],
        ),
    ],
)
def test_a_wrong_file_names_key_value_and_expectation(
    old: str, new: str, expected: list[str]
) -> None:
    assert old in BUNDLED
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(BUNDLED.replace(old, new, 1), "site.toml")
    message = str(caught.value)
    assert message.startswith("site.toml: the protocol file is not valid")
    for part in expected:
        assert part in message


# `key = "value"  # choice: "a" or "b"`, with any comment lines continuing it.
_OFFERED = re.compile(r'^(\w+) = "[^"]*"[ \t]*(#.*(?:\n[ \t]+#.*)*)', re.MULTILINE)


def _offered_values() -> list[tuple[str, str]]:
    found = []
    for match in _OFFERED.finditer(BUNDLED):
        key, comment = match.group(1), match.group(2)
        found += [(key, value) for value in re.findall(r'"([a-z0-9_]+)"', comment)]
    return found


def test_the_file_offers_in_its_comments_only_values_that_work() -> None:
    offered = _offered_values()
    assert ("wbc_casts_with_uti", "ignore") in offered
    assert ("out_of_range", "refuse") in offered
    for key, value in offered:
        text = re.sub(rf'^{key} = "[^"]*"', f'{key} = "{value}"', BUNDLED, flags=re.MULTILINE)
        assert f'\n{key} = "{value}"' in text
        parse_protocol(text, f"{key} = {value}")  # raises if the validator refuses it


def test_the_new_choices_reach_the_rules() -> None:
    options = parse_protocol(
        BUNDLED.replace(
            'baseline_when_week0_missing = "screening"', 'baseline_when_week0_missing = "none"'
        ).replace('wbc_casts_with_uti = "count"', 'wbc_casts_with_uti = "ignore"')
    ).response_options()
    assert options.baseline_when_week0_missing is MissingWeek0.NONE
    assert options.wbc_casts_with_uti is WbcCastsWithUti.IGNORE
    bundled = parse_protocol(BUNDLED)
    assert bundled.response_options().baseline_when_week0_missing is MissingWeek0.SCREENING
    assert bundled.response_options().wbc_casts_with_uti is WbcCastsWithUti.COUNT
    assert bundled.escalation.overdue_in_digests == 3
    assert bundled.reference_ranges.creatinine_uln_source == "WS/T 404.5-2015"


def test_not_toml_and_missing_file_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="not valid TOML"):
        parse_protocol("arms = [", "broken.toml")
    with pytest.raises(ProtocolError, match="cannot read the protocol file"):
        load_protocol(tmp_path / "nowhere.toml")


def test_protocol_file_variable_points_to_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        BUNDLED.replace('evening_before = "20:00"', 'evening_before = "19:30"'), encoding="utf-8"
    )
    monkeypatch.setenv("PROTOCOL_FILE", str(site))
    assert Settings().protocol().reminders.evening_before == time(19, 30)
    monkeypatch.delenv("PROTOCOL_FILE")
    assert Settings().protocol().reminders.evening_before == time(20, 0)


@pytest.mark.parametrize(
    ("start", "end", "wall", "quiet"),
    [
        ("22:00", "07:00", "21:59", False),
        ("22:00", "07:00", "22:00", True),
        ("22:00", "07:00", "03:00", True),
        ("22:00", "07:00", "06:59", True),
        ("22:00", "07:00", "07:00", False),
        ("01:00", "05:00", "00:59", False),
        ("01:00", "05:00", "01:00", True),
        ("01:00", "05:00", "05:00", False),
    ],
)
def test_quiet_hours_are_half_open_and_may_wrap_midnight(
    start: str, end: str, wall: str, quiet: bool
) -> None:
    text = BUNDLED.replace(
        '[quiet_hours]\nstart = "22:00"\nend = "07:00"',
        f'[quiet_hours]\nstart = "{start}"\nend = "{end}"',
    )
    hours = parse_protocol(text).quiet_hours
    assert hours.contains(time.fromisoformat(wall)) is quiet
