"""core.ae_outcomes: outcome and action words in both languages, which events are open, and
whether one was open at week 24."""

from __future__ import annotations

from datetime import date

import pytest

from core.ae_outcomes import (
    Action,
    Outcome,
    is_open,
    open_at_week,
    parse_action,
    parse_outcome,
)
from core.messages import RuleError


@pytest.mark.parametrize(
    ("typed", "outcome"),
    [
        ("recovered", Outcome.RECOVERED),
        ("RECOVERED/RESOLVED", Outcome.RECOVERED),
        ("痊愈", Outcome.RECOVERED),
        ("恢复中", Outcome.RECOVERING),
        ("not_recovered", Outcome.NOT_RECOVERED),
        ("未恢复", Outcome.NOT_RECOVERED),
        ("Recovered with sequelae", Outcome.RECOVERED_WITH_SEQUELAE),
        ("痊愈伴后遗症", Outcome.RECOVERED_WITH_SEQUELAE),
        ("死亡", Outcome.FATAL),
        ("未知", Outcome.UNKNOWN),
    ],
)
def test_outcome_words(typed: str, outcome: Outcome) -> None:
    assert parse_outcome(typed) is outcome


@pytest.mark.parametrize(
    ("typed", "action"),
    [
        ("dose_not_changed", Action.DOSE_NOT_CHANGED),
        ("剂量不变", Action.DOSE_NOT_CHANGED),
        ("减量", Action.DOSE_REDUCED),
        ("DRUG INTERRUPTED", Action.DRUG_INTERRUPTED),
        ("暂停用药", Action.DRUG_INTERRUPTED),
        ("停药", Action.DRUG_WITHDRAWN),
        ("不适用", Action.NOT_APPLICABLE),
        ("unknown", Action.UNKNOWN),
    ],
)
def test_action_words(typed: str, action: Action) -> None:
    assert parse_action(typed) is action


def test_other_words_are_refused_with_the_accepted_ones() -> None:
    with pytest.raises(RuleError) as outcome:
        parse_outcome("better")
    assert "痊愈伴后遗症" in str(outcome.value.params)
    with pytest.raises(RuleError):
        parse_action("dose increased")


def test_open_means_no_outcome_or_one_that_goes_on() -> None:
    assert is_open(None) and is_open("recovering") and is_open("not_recovered")
    assert not any(is_open(o) for o in ("recovered", "recovered_with_sequelae", "fatal", "unknown"))


def test_open_at_week_24_is_judged_on_day_168() -> None:
    day0, cut_off = date(2026, 6, 1), date(2026, 12, 31)  # week 24 is 2026-11-16
    assert open_at_week(date(2026, 11, 1), None, day0, 24, cut_off) is True
    assert open_at_week(date(2026, 11, 1), date(2026, 11, 17), day0, 24, cut_off) is True
    assert open_at_week(date(2026, 11, 1), date(2026, 11, 16), day0, 24, cut_off) is False
    assert open_at_week(date(2026, 11, 17), None, day0, 24, cut_off) is False
    assert open_at_week(date(2026, 11, 1), None, day0, 24, date(2026, 11, 15)) is None
