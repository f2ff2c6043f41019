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
    # Numbers read without trailing zeros, in the reader's locale, never in E notation.
    assert en.number(Decimal("1234.50")) == "1,234.5"
    assert en.number(Decimal("483.0")) == "483"
    assert en.number(Decimal("1E+3")) == "1,000"
    assert en.number(Decimal("0.0625")) == "0.0625"
    assert zh.number(Decimal("1.50")) == "1.5"


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


# Values that start with Latin letters or digits ("P02", "2026年12月1日") and values that
# end with them (those, and event names such as "肾脏评估 1").
_LATIN_START = ("study_id", "when", "date", "day", "time", "number", "count", "id")
_LATIN_END = (*_LATIN_START, "event")
_CJK = "\u4e00-\u9fff"


def _chinese_sentences() -> list[str]:
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(catalogs.__file__).parents[1] / "locales/zh_Hans/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    found: list[str] = []
    for message in catalog:
        if message.id:
            string = message.string
            found.extend([string] if isinstance(string, str) else [str(s) for s in string or ()])
    return found


def test_chinese_puts_a_space_between_chinese_and_latin_or_digits() -> None:
    """`P02 和 P04`, `肾脏评估 1 前来`: Chinese typesetting spaces mixed scripts.

    The SLEDAI-2K word a nurse types (抗dsDNA抗体升高) is one word and stays whole.
    """
    import re

    typed_words = re.compile(r"抗dsDNA抗体升高")
    glued = re.compile(rf"[{_CJK}][A-Za-z0-9]|[A-Za-z0-9][{_CJK}]")
    glued_placeholder = re.compile(
        rf"[{_CJK}]\{{(?:{'|'.join(_LATIN_START)})\}}|\{{(?:{'|'.join(_LATIN_END)})\}}[{_CJK}]"
    )
    offending = [
        s
        for s in _chinese_sentences()
        if glued.search(typed_words.sub("", s)) or glued_placeholder.search(s)
    ]
    assert offending == []


def test_chinese_staff_messages_use_one_word_for_the_patient() -> None:
    """受试者 throughout (a trial participant), never 患者 beside it."""
    assert [s for s in _chinese_sentences() if "患者" in s] == []


def test_lists_read_naturally_and_space_chinese_from_latin() -> None:
    en, zh = Translator("en", SHANGHAI), Translator("zh_Hans", SHANGHAI)
    assert zh.join(["P02", "P04"]) == "P02 和 P04"
    assert zh.join(["P01", "P02", "P04"]) == "P01、P02 和 P04"
    assert zh.join(["SLEDAI-2K", "CD20 B 细胞"]) == "SLEDAI-2K 和 CD20 B 细胞"
    assert zh.join(["血尿", "蛋白尿"]) == "血尿和蛋白尿"
    assert en.join(["P02", "P04"]) == "P02 and P04"
    assert en.join(["P01"]) == "P01" and en.join([]) == ""


def test_doses_read_without_trailing_zeros_in_both_languages() -> None:
    from bot.staff.belimumab_plan import current_plan, plan_lines
    from core.protocol import load_protocol

    plan = current_plan(load_protocol(), "48.30")
    english = plan_lines(Translator("en", SHANGHAI), plan)
    chinese = plan_lines(Translator("zh_Hans", SHANGHAI), plan)
    assert english[0] == "Dose: 483 mg = 10 mg/kg × 48.3 kg (latest weight)."
    assert chinese[0].startswith("剂量：483 mg = 10 mg/kg × 48.3 kg")


def test_percentages_of_proportions_keep_one_decimal() -> None:
    en, zh = Translator("en", SHANGHAI), Translator("zh_Hans", SHANGHAI)
    assert en.percent(Decimal("60")) == "60.0" and zh.percent(Decimal("14.7")) == "14.7"


def test_chinese_drops_the_placeholder_space_between_two_chinese_words() -> None:
    zh, en = Translator("zh_Hans", SHANGHAI), Translator("en", SHANGHAI)
    done = N_("{event} is marked done.")
    assert zh._(done, event="贝利尤单抗输注 1") == "贝利尤单抗输注 1 已标记为完成。"
    assert zh._(done, event="甲泼尼龙冲击，第 2 天") == "甲泼尼龙冲击，第 2 天已标记为完成。"
    assert en._(done, event="Infusion 1") == "Infusion 1 is marked done."
