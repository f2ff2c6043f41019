"""The small words of staff commands: weeks, dates, grades, key=value, yes/no, relatedness."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.entry_syntax import (
    Relatedness,
    fold_command_text,
    fold_command_words,
    parse_date,
    parse_entry_date,
    parse_grade_token,
    parse_options,
    parse_relatedness,
    parse_week,
    parse_yes_no,
)
from core.messages import RuleError

TODAY = date(2026, 12, 21)


@pytest.mark.parametrize(
    ("text", "week"),
    [
        ("w24", 24),
        ("W24", 24),
        ("w0", 0),
        ("wk4", 4),
        ("week12", 12),
        ("第24周", 24),
        ("24周", 24),
        ("ｗ２４", 24),  # full-width, from a Chinese keyboard
    ],
)
def test_weeks_are_read_in_either_language(text: str, week: int) -> None:
    assert parse_week(text, last_week=24) == week


@pytest.mark.parametrize("text", ["24", "w", "x24", "w-1", "w2.5", "week 24", "P01", ""])
def test_what_is_not_a_week_is_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_week(text, last_week=24)
    assert "w24" in str(caught.value)


def test_a_week_after_the_last_is_refused_and_the_last_is_accepted() -> None:
    assert parse_week("w24", last_week=24) == 24
    with pytest.raises(RuleError) as caught:
        parse_week("w25", last_week=24)
    assert caught.value.params == {"week": 25, "last": 24}


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-20", date(2026, 12, 20)),
        ("2026/12/20", date(2026, 12, 20)),
        ("2026.1.5", date(2026, 1, 5)),
        ("２０２６－１２－２１", TODAY),  # today itself is allowed
    ],
)
def test_dates(text: str, day: date) -> None:
    assert parse_entry_date(text, today=TODAY) == day


def test_a_future_date_is_refused_naming_today() -> None:
    with pytest.raises(RuleError) as caught:
        parse_entry_date("2026-12-22", today=TODAY)
    assert caught.value.params == {"date": "2026-12-22", "today": "2026-12-21"}


@pytest.mark.parametrize("text", ["2026-02-30", "20261220", "Dec 20", "2026-13-01", ""])
def test_impossible_or_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_entry_date(text, today=TODAY)


@pytest.mark.parametrize(
    ("word", "grade"),
    [("G3", 3), ("g1", 1), ("grade5", 5), ("3级", 3), ("Ｇ２", 2), ("G7", 7), ("G0", 0)],
)
def test_grade_tokens(word: str, grade: int) -> None:
    assert parse_grade_token(word) == grade


@pytest.mark.parametrize("word", ["G", "infection", "3", "G3a", "GG3", "level3"])
def test_words_that_are_not_grade_tokens(word: str) -> None:
    assert parse_grade_token(word) is None


KEYS = {"serious": "serious", "严重": "serious", "onset": "onset", "scr": "scr", "肌酐": "scr"}


def test_options_in_either_language_with_repeats_and_commas() -> None:
    words = ["serious=hospitalization", "严重=死亡,life-threatening", "onset=2026-12-20"]
    found = parse_options(words, KEYS, repeatable=frozenset({"serious"}))
    assert found == {
        "serious": ("hospitalization", "死亡", "life-threatening"),
        "onset": ("2026-12-20",),
    }


def test_a_value_typed_with_a_space_is_kept_whole() -> None:
    found = parse_options(["scr=69", "umol/L", "ONSET＝2026-12-20"], KEYS)
    assert found == {"scr": ("69 umol/L",), "onset": ("2026-12-20",)}


@pytest.mark.parametrize(
    ("words", "needle"),
    [
        (["hospitalization"], "key=value"),
        (["colour=red"], "not a known field"),
        (["scr="], "no value"),
        (["scr=69umol/L", "肌酐=70umol/L"], "given twice"),
    ],
)
def test_option_refusals_say_what_is_accepted(words: list[str], needle: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_options(words, KEYS)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("text", "value"), [("yes", True), ("是", True), ("NO", False), ("否", False)]
)
def test_yes_no(text: str, value: bool) -> None:
    assert parse_yes_no(text) is value


def test_yes_no_refuses_anything_else() -> None:
    with pytest.raises(RuleError):
        parse_yes_no("maybe")


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("unrelated", Relatedness.UNRELATED),
        ("not related", Relatedness.UNRELATED),
        ("Not_Related", Relatedness.UNRELATED),
        ("无关", Relatedness.UNRELATED),
        ("unlikely", Relatedness.UNLIKELY),
        ("不太可能", Relatedness.UNLIKELY),
        ("可能无关", Relatedness.UNLIKELY),
        ("possible", Relatedness.POSSIBLE),
        ("possibly related", Relatedness.POSSIBLE),
        ("可能", Relatedness.POSSIBLE),
        ("可能相关", Relatedness.POSSIBLE),
        ("probable", Relatedness.PROBABLE),
        ("Probably-related", Relatedness.PROBABLE),
        ("很可能", Relatedness.PROBABLE),
        ("很可能相关", Relatedness.PROBABLE),
        ("definite", Relatedness.DEFINITE),
        ("certain", Relatedness.DEFINITE),
        ("肯定", Relatedness.DEFINITE),
        ("肯定相关", Relatedness.DEFINITE),
    ],
)
def test_relatedness_has_five_levels_in_both_languages(text: str, level: Relatedness) -> None:
    assert parse_relatedness(text) is level


def test_the_scale_runs_from_unrelated_to_definite_and_is_stored_as_named() -> None:
    assert [r.value for r in Relatedness] == [
        "unrelated",
        "unlikely",
        "possible",
        "probable",
        "definite",
    ]
    for level in Relatedness:
        assert parse_relatedness(level.value) is level


@pytest.mark.parametrize("text", ["perhaps", "related", "yes", "相关", "有关", "maybe related"])
def test_a_word_that_is_not_a_level_is_refused_with_the_scale(text: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_relatedness(text)
    assert str(caught.value) == (
        f'"{text}" is not a relatedness. Use one of: unrelated/无关, unlikely/不太可能, '
        "possible/可能, probable/很可能, definite/肯定."
    )


@given(st.integers(min_value=0, max_value=104), st.integers(min_value=0, max_value=104))
def test_any_week_up_to_the_last_round_trips(week: int, last: int) -> None:
    if week <= last:
        assert parse_week(f"w{week}", last_week=last) == week
    else:
        with pytest.raises(RuleError):
            parse_week(f"w{week}", last_week=last)


@pytest.mark.parametrize(
    ("words", "folded"),
    [
        (
            ["Ｐ０１", "肺部感染", "Ｇ３", "serious＝hospitalization"],
            ["P01", "肺部感染", "G3", "serious=hospitalization"],
        ),
        (["p01，61.5kg"], ["p01", "61.5kg"]),
        (["P01，w24，protein＝0.25g/24h"], ["P01", "w24", "protein=0.25g/24h"]),
        (["serious＝hospitalization，death"], ["serious=hospitalization,death"]),
        (["serious＝住院，死亡"], ["serious=住院，死亡"]),  # parse_options lists both
        (["R3", "关闭", "电话随访，已好转"], ["R3", "关闭", "电话随访，已好转"]),
        (["备注：已好转", "P01：G3"], ["备注：已好转", "P01:G3"]),
        (["肺部感染，G3"], ["肺部感染", "G3"]),
        (["serious=住院，onset＝2026-12-01"], ["serious=住院", "onset=2026-12-01"]),
        (["P01\u3000infusion"], ["P01", "infusion"]),
        (["ｔｉｍｅ：08"], ["time:08"]),
        (["P01，"], ["P01"]),
        (["ＡＢＣ", "腹泻", "恶心"], ["ABC", "腹泻", "恶心"]),
    ],
)
def test_full_width_forms_read_as_ascii(words: list[str], folded: list[str]) -> None:
    assert fold_command_words(words) == folded


def test_chinese_characters_and_other_compatibility_forms_are_kept() -> None:
    # CJK compatibility ideographs and circled digits are not full-width ASCII.
    assert fold_command_words(["\uf900", "①", "肺部感染"]) == ["\uf900", "①", "肺部感染"]


def test_a_full_width_comma_lists_values_for_parse_options() -> None:
    found = parse_options(
        fold_command_words(["serious＝住院，死亡"]),
        {"serious": "serious"},
        repeatable=frozenset({"serious"}),
    )
    assert found == {"serious": ("住院", "死亡")}


def test_a_typed_answer_is_folded_like_command_words() -> None:
    assert fold_command_text(" ２０２６／１２／１８ ") == "2026/12/18"
    assert fold_command_text("P01，G3") == "P01 G3"


@given(st.lists(st.text(min_size=1, max_size=12), max_size=6))
def test_folding_twice_changes_nothing(words: list[str]) -> None:
    once = fold_command_words(words)
    assert fold_command_words(once) == once


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("2026/12/1", date(2026, 12, 1)),
        ("2026.12.1", date(2026, 12, 1)),
        ("2027-01-03", date(2027, 1, 3)),  # the future too: the caller's rule
        ("12-01", date(2026, 12, 1)),
        ("12/1", date(2026, 12, 1)),
        ("1/3", date(2027, 1, 3)),  # 13 days ahead is nearer than 352 days back
        ("6/1", date(2027, 6, 1)),  # 162 days ahead is nearer than 203 days back
        ("11/1", date(2026, 11, 1)),
        ("12.21", TODAY),
    ],
)
def test_every_command_reads_the_same_dates(text: str, day: date) -> None:
    assert parse_date(text, today=TODAY) == day


def test_a_month_and_day_mean_the_nearest_such_date_ties_to_the_past() -> None:
    today = date(2027, 12, 1)  # 2027-06-01 and 2028-06-01 (a leap year between): 183 days
    assert (today - date(2027, 6, 1)).days == (date(2028, 6, 1) - today).days == 183
    assert parse_date("6/1", today=today) == date(2027, 6, 1)
    assert parse_date("6/2", today=today) == date(2027, 6, 2)
    assert parse_date("5/31", today=today) == date(2028, 5, 31)
    assert parse_date("12-31", today=today) == date(2027, 12, 31)


def test_february_29_far_from_a_leap_year_is_not_in_the_calendar() -> None:
    with pytest.raises(RuleError, match="not a date in the calendar"):
        parse_date("2/29", today=date(2026, 12, 21))
    assert parse_date("2/29", today=date(2027, 12, 21)) == date(2028, 2, 29)


@pytest.mark.parametrize("text", ["2026-02-30", "13/01", "2026-13-01"])
def test_dates_that_do_not_exist_get_one_refusal(text: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_date(text, today=TODAY)
    assert caught.value.msgid == "{text} is not a date in the calendar: write it as YYYY-MM-DD."


@pytest.mark.parametrize("text", ["20261220", "Dec 20", "1.12.2026", "12", ""])
def test_unreadable_dates_get_one_refusal(text: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_date(text, today=TODAY)
    assert caught.value.msgid == (
        '"{text}" is not a date. Write it as YYYY-MM-DD, for example {example}.'
    )


def test_a_short_date_ahead_of_today_is_refused_where_dates_must_have_happened() -> None:
    with pytest.raises(RuleError) as caught:
        parse_entry_date("12/22", today=TODAY)
    assert caught.value.params == {"date": "2026-12-22", "today": "2026-12-21"}
