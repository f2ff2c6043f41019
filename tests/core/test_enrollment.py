"""The words of /enroll: study ID, arm, day 0 and its limits, sex, weight, language, year of
birth and informed-consent date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.enrollment import (
    AgeRange,
    Day0Limits,
    age_at_day0,
    check_consent_date,
    check_day0,
    check_study_id,
    parse_arm,
    parse_birth_year,
    parse_language,
    parse_sex,
    parse_weight,
    parse_yes_no,
)
from core.entry_syntax import parse_date
from core.messages import RuleError
from core.protocol import load_protocol

TODAY = date(2026, 11, 30)
ARMS = ("belimumab_mt", "mt_only")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P01", "P01"),
        ("NJ-P01", "NJ-P01"),
        ("p_01", "p_01"),
        ("A" * 16, "A" * 16),
        ("Ｐ０１", "P01"),  # typed on a Chinese keyboard in full width
        (" P01 ", "P01"),
    ],
)
def test_study_ids_accepted(text: str, expected: str) -> None:
    assert check_study_id(text) == expected


@pytest.mark.parametrize("text", ["", "P 01", "P01!", "A" * 17, "张三", "P01;", "P.01"])
def test_study_ids_refused_name_the_pattern(text: str) -> None:
    with pytest.raises(RuleError) as refused:
        check_study_id(text)
    assert "1 to 16 letters, digits, _ or -" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-12-01", date(2026, 12, 1)), ("２０２６-１２-０１", date(2026, 12, 1))],
)
def test_dates(text: str, expected: date) -> None:
    # Day 0 is read by the one date reader of every command (core.entry_syntax).
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize("text", ["1.12.2026", "20261201", "tomorrow"])
def test_dates_in_another_form_are_refused(text: str) -> None:
    with pytest.raises(RuleError, match="YYYY-MM-DD"):
        parse_date(text, today=TODAY)


def test_a_date_not_in_the_calendar_is_refused() -> None:
    with pytest.raises(RuleError, match="not a date in the calendar"):
        parse_date("2026-02-30", today=TODAY)


@pytest.mark.parametrize(
    ("day0", "accepted"),
    [
        (TODAY, True),
        (TODAY - timedelta(weeks=26), True),  # exactly 26 weeks back: allowed
        (TODAY - timedelta(weeks=26, days=1), False),
        (TODAY - timedelta(weeks=30), False),
        (TODAY + timedelta(weeks=8), True),  # exactly 8 weeks ahead: allowed
        (TODAY + timedelta(weeks=8, days=1), False),
        (TODAY + timedelta(weeks=9), False),
        (TODAY - timedelta(weeks=10), True),
    ],
)
def test_day0_limits(day0: date, accepted: bool) -> None:
    if accepted:
        assert check_day0(day0, TODAY) == day0
    else:
        with pytest.raises(RuleError, match="likely a typo") as refused:
            check_day0(day0, TODAY)
        assert refused.value.params["earliest"] == "2026-06-01"
        assert refused.value.params["latest"] == "2027-01-25"


def test_day0_limits_are_options() -> None:
    limits = Day0Limits(max_weeks_back=1, max_weeks_ahead=0)
    assert check_day0(TODAY - timedelta(days=7), TODAY, limits)
    with pytest.raises(RuleError):
        check_day0(TODAY + timedelta(days=1), TODAY, limits)


@given(st.integers(min_value=-400, max_value=400))
def test_day0_is_refused_exactly_outside_26_weeks_back_and_8_ahead(offset: int) -> None:
    day0 = TODAY + timedelta(days=offset)
    inside = -26 * 7 <= offset <= 8 * 7
    try:
        check_day0(day0, TODAY)
    except RuleError:
        assert not inside
    else:
        assert inside


@pytest.mark.parametrize(
    ("text", "expected"), [("belimumab_mt", "belimumab_mt"), ("MT_ONLY", "mt_only")]
)
def test_arms(text: str, expected: str) -> None:
    assert parse_arm(text, ARMS) == expected


def test_an_unknown_arm_lists_the_arms() -> None:
    with pytest.raises(RuleError) as refused:
        parse_arm("belimumab", ARMS)
    assert "belimumab_mt, mt_only" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("F", "F"), ("f", "F"), ("女", "F"), ("female", "F"), ("M", "M"), ("男", "M")],
)
def test_sex(text: str, expected: str) -> None:
    assert parse_sex(text) == expected


@pytest.mark.parametrize("text", ["X", "", "woman", "FM"])
def test_sex_refused(text: str) -> None:
    with pytest.raises(RuleError, match="F or M"):
        parse_sex(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("zh", "zh_Hans"), ("中文", "zh_Hans"), ("ZH", "zh_Hans"), ("en", "en"), ("English", "en")],
)
def test_language(text: str, expected: str) -> None:
    assert parse_language(text) == expected


@pytest.mark.parametrize("text", ["fr", "zh-Hant", "", "cn-tw"])
def test_language_refused(text: str) -> None:
    with pytest.raises(RuleError, match="zh"):
        parse_language(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("62kg", Decimal("62")),
        ("62", Decimal("62")),
        ("61.5公斤", Decimal("61.5")),
        ("62 KG", Decimal("62")),
        ("25", Decimal("25")),  # the range's bounds are inclusive
        ("250kg", Decimal("250")),
        ("62.0", Decimal("62.0")),
    ],
)
def test_weights(text: str, expected: Decimal) -> None:
    weight = parse_weight(text)
    assert weight == expected
    assert str(weight) == str(expected)  # the digits as typed


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("300kg", ("25", "250")),
        ("24.9", ("25", "250")),
        ("0", ("25", "250")),
        ("-5kg", ("25", "250")),
        ("62lb", ("kg",)),
        ("1,5", ("comma",)),
        ("heavy", ("number",)),
    ],
)
def test_weights_refused_name_what_was_expected(text: str, names: tuple[str, ...]) -> None:
    with pytest.raises(RuleError) as refused:
        parse_weight(text)
    for name in names:
        assert name in str(refused.value)


@pytest.mark.parametrize(
    ("text", "expected"), [("yes", True), ("是", True), ("YES", True), ("no", False), ("否", False)]
)
def test_yes_no(text: str, expected: bool) -> None:
    assert parse_yes_no(text) is expected


def test_yes_no_refused() -> None:
    with pytest.raises(RuleError, match="yes or no"):
        parse_yes_no("maybe")


DAY0 = date(2026, 12, 1)
# The shipped protocol file's range (a choice: the registry states none).
AGES = AgeRange.from_protocol(load_protocol())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1984", 1984), ("１９８４", 1984), (" 2008 ", 2008), ("1926", 1926)],
)
def test_birth_years(text: str, expected: int) -> None:
    assert parse_birth_year(text, DAY0, AGES) == expected


@pytest.mark.parametrize("text", ["84", "19840", "1984年", "198x", "", "-1984", "1984.0"])
def test_a_birth_year_that_is_not_four_digits_is_refused(text: str) -> None:
    with pytest.raises(RuleError) as refused:
        parse_birth_year(text, DAY0, AGES)
    assert refused.value.msgid.startswith("{text} is not a year of birth")


@pytest.mark.parametrize(
    ("year", "accepted"), [(2008, True), (2009, False), (1926, True), (1925, False)]
)
def test_the_age_at_day0_is_18_to_100_inclusive(year: int, accepted: bool) -> None:
    """The age is day 0's year minus the year of birth: 2026 - 2008 = 18, 2026 - 1926 = 100."""
    assert (AGES.youngest, AGES.oldest) == (18, 100)
    if accepted:
        assert parse_birth_year(str(year), DAY0, AGES) == year
    else:
        with pytest.raises(RuleError) as refused:
            parse_birth_year(str(year), DAY0, AGES)
        assert refused.value.params["age"] == age_at_day0(year, DAY0)
        assert (refused.value.params["youngest"], refused.value.params["oldest"]) == (18, 100)


def test_the_age_range_is_the_protocol_files() -> None:
    """A site with a stated range sets it in the protocol file's [enrollment] section."""
    assert parse_birth_year("2012", DAY0, AgeRange(youngest=12, oldest=80)) == 2012
    with pytest.raises(RuleError):
        parse_birth_year("2012", DAY0, AGES)


@pytest.mark.parametrize(
    ("consent", "today", "accepted"),
    [
        (date(2026, 11, 28), TODAY, True),
        (TODAY, TODAY, True),  # consent today, day 0 tomorrow
        (DAY0, DAY0, True),  # consent on day 0 itself
        (date(2026, 12, 2), date(2026, 12, 5), False),  # after day 0
        (DAY0, TODAY, False),  # on day 0, but day 0 is tomorrow: not yet obtained
    ],
)
def test_the_consent_date_is_on_or_before_day0_and_today(
    consent: date, today: date, accepted: bool
) -> None:
    if accepted:
        assert check_consent_date(consent, DAY0, today) == consent
    else:
        with pytest.raises(RuleError):
            check_consent_date(consent, DAY0, today)


def test_a_consent_after_day0_says_so_before_the_future() -> None:
    with pytest.raises(RuleError) as refused:
        check_consent_date(date(2026, 12, 3), DAY0, TODAY)
    assert "after day 0" in refused.value.msgid
