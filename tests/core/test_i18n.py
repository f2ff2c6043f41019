"""Languages: who reads which language, and Babel's formatting in the trial's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator, choose_language, parse_language
from core.entry_calendar import REASON_LATE
from core.messages import N_, RuleError
from tools import catalogs

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("code", "lang"),
    [
        ("zh", "zh_Hans"),
        ("zh-hans", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh_Hans", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-hant", None),
        ("zh-TW", None),
        ("zh-HK", None),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("fr", None),
        ("", None),
        (None, None),
    ],
)
def test_language_codes(code: str | None, lang: str | None) -> None:
    assert parse_language(code) == lang


@pytest.mark.parametrize(
    ("stored", "telegram", "lang"),
    [
        ("en", "zh-CN", "en"),  # the person's own choice wins
        (None, "en-US", "en"),
        (None, "zh-CN", "zh_Hans"),
        (None, "ru", "zh_Hans"),  # else Chinese
        (None, None, "zh_Hans"),
    ],
)
def test_choose_language(stored: str | None, telegram: str | None, lang: str) -> None:
    assert choose_language(stored, telegram) == lang


def test_dates_and_times_follow_the_reader_and_the_trial_zone() -> None:
    instant = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    en, zh = Translator("en", SHANGHAI), Translator("zh_Hans", SHANGHAI)
    assert en.datetime(instant) == "Tue, Dec 1, 2026, 20:00"
    assert zh.datetime(instant) == "2026年12月1日周二 20:00"
    assert zh.date(date(2027, 5, 18)) == "2027年5月18日周二"
    # The same instant written in another offset reads the same.
    assert en.datetime(instant.astimezone(timezone(timedelta(hours=-5)))) == en.datetime(instant)
    with pytest.raises(ValueError, match="naive"):
        en.datetime(datetime(2026, 12, 1, 12, 0))
    assert en.number(Decimal("1234.50")) == "1,234.50"


def test_rule_errors_are_translated() -> None:
    error = RuleError(N_("Unknown arm {arm}; expected one of: {arms}."), arm="x", arms="a, b")
    assert Translator("en", SHANGHAI).error(error) == "Unknown arm x; expected one of: a, b."
    chinese = Translator("zh_Hans", SHANGHAI).error(error)
    assert "x" in chinese and "a, b" in chinese and chinese != str(error)


def test_a_counted_refusal_takes_the_plural_form_of_its_count() -> None:
    """Each language words the count its own way (English: 1 day, 2 days)."""
    window = {"start": date(2026, 12, 26), "end": date(2027, 1, 1)}
    en, zh = Translator("en", SHANGHAI), Translator("zh_Hans", SHANGHAI)
    one = RuleError.counted(REASON_LATE, 1, date=date(2027, 1, 2), **window)
    two = RuleError.counted(REASON_LATE, 2, date=date(2027, 1, 3), **window)
    assert en.error(one).startswith(
        "Sat, Jan 2, 2027 is 1 day after the window (Sat, Dec 26, 2026 to Fri, Jan 1, 2027)"
    )
    assert en.error(two).startswith("Sun, Jan 3, 2027 is 2 days after the window")
    assert str(two).startswith("2027-01-03 is 2 days after")
    assert zh.error(two).startswith(
        "2027年1月3日周日 晚于时间窗（2026年12月26日周六 至 2027年1月1日周五）2 天"
    )


def test_catalogs_are_complete_and_in_step_with_the_code() -> None:
    """Fails when a sentence is missing, untranslated, fuzzy or has other placeholders."""
    assert catalogs.problems() == []
