"""The CTCAE term list file (core/data/ctcae_terms.toml), and the nearest terms suggested for
text that matches none (core/term_matching.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.adverse_events import MatchKind, code_entry, code_event, suggest_terms
from core.ctcae_terms import (
    BUNDLED_TERMS,
    GENERAL_GRADES,
    TERMS,
    TermList,
    TermListError,
    load_terms,
)
from core.messages import RuleError
from core.term_matching import MAX_SUGGESTIONS

# --------------------------------------------------------------------------- the file

GOOD = """
ctcae_version = "5.0"

[general.1]
en = "Mild"
zh = "轻度"
[general.2]
en = "Moderate"
zh = "中度"
[general.3]
en = "Severe"
zh = "重度"
[general.4]
en = "Life-threatening"
zh = "危及生命"
[general.5]
en = "Death"
zh = "死亡"

[[terms]]
key = "alopecia"
en = "Alopecia"
zh = "脱发"
soc = "Skin and subcutaneous tissue disorders"
synonyms_en = ["hair loss"]
synonyms_zh = ["掉头发"]

[terms.grades.1]
en = "Hair loss of <50%"
zh = "脱发量<50%"

[terms.grades.2]
en = "Hair loss of >=50%"
zh = "脱发量≥50%"
"""


def _load(tmp_path: Path, text: str) -> TermList:
    path = tmp_path / "terms.toml"
    path.write_text(text, encoding="utf-8")
    return load_terms(path)


def test_the_bundled_file_is_the_list_in_use() -> None:
    bundled = load_terms(BUNDLED_TERMS)
    assert bundled.terms == TERMS
    assert bundled.general == GENERAL_GRADES
    assert bundled.version == "5.0"


def test_a_term_lists_only_its_own_grades(tmp_path: Path) -> None:
    loaded = _load(tmp_path, GOOD)
    (alopecia,) = loaded.terms
    assert alopecia.grade_numbers == (1, 2)
    assert alopecia.grade_text(3) is None
    assert alopecia.synonyms_zh == ("掉头发",)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('key = "alopecia"', 'key = "hair"'), "is not the English term in snake case"),
        (("[terms.grades.2]", "[terms.grades.6]"), "grades [6] are outside 1-5"),
        (('soc = "Skin and subcutaneous tissue disorders"\n', ""), "terms.0.soc: Field required"),
        (('zh = "脱发"', 'zh = "Alopecia"'), "en must be English and zh Chinese"),
        (('synonyms_zh = ["掉头发"]', 'synonyms_zh = ["hair"]'), "has no Chinese character"),
        (('synonyms_en = ["hair loss"]', 'synonyms_en = ["掉发"]'), "has Chinese characters"),
        (('en = "Hair loss of <50%"', 'en = ""'), "at least 1 character"),
        (("[general.5]", "[general.6]"), "general must define grades 1 to 5"),
        (('synonyms_zh = ["掉头发"]', 'synonyms_zh = ["掉头发"]\nscale = "infection"'), "either"),
        (('ctcae_version = "5.0"', 'ctcae_version = "5.0"\nspelling = "x"'), "spelling"),
        (('key = "alopecia"', 'key = "alopecia'), "not valid TOML"),
    ],
    ids=[
        "key",
        "grade-6",
        "missing-soc",
        "english-as-chinese",
        "latin-chinese-synonym",
        "chinese-english-synonym",
        "empty-text",
        "general-incomplete",
        "scale-and-grades",
        "unknown-field",
        "toml",
    ],
)
def test_a_wrong_file_is_refused_naming_the_problem(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(TermListError) as err:
        _load(tmp_path, GOOD.replace(old, new, 1))
    assert named in str(err.value)
    assert str(err.value).startswith("terms.toml:")


def test_a_term_listed_twice_or_naming_an_unknown_scale_is_refused(tmp_path: Path) -> None:
    twice = GOOD + GOOD[GOOD.index("[[terms]]") :]
    with pytest.raises(TermListError, match="term alopecia is listed twice"):
        _load(tmp_path, twice)
    scaled = GOOD[: GOOD.index("[terms.grades.1]")] + 'scale = "infection"\n'
    with pytest.raises(TermListError, match="no scale named 'infection'"):
        _load(tmp_path, scaled)


def test_a_term_on_the_general_scale_takes_the_general_grades(tmp_path: Path) -> None:
    general = GOOD[: GOOD.index("[terms.grades.1]")] + 'scale = "general"\n'
    (term,) = _load(tmp_path, general).terms
    assert term.grade_numbers == (1, 2, 3, 4, 5)
    death = term.grade_text(5)
    assert death is not None
    assert (death.en, death.zh) == ("Death", "死亡")


# --------------------------------------------------------------------------- suggestions


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("lung infectoin", "Lung infection"),  # a typo
        ("Lung-infectoin!", "Lung infection"),  # with noise
        ("pneumonitis", "Lung infection"),  # a neighbouring CTCAE term: suggested, never coded
        ("fevr", "Fever"),
        ("headach", "Headache"),
        ("rash", "Rash maculo-papular"),  # contained in a listed name
        ("severe headache since yesterday", "Headache"),  # contains a listed name
        ("肺部感冒", "Lung infection"),
        ("肺部感染加重", "Lung infection"),
        ("皮疹", "Rash maculo-papular"),
        ("呼吸困", "Dyspnea"),
        ("头痛三天", "Headache"),
    ],
)
def test_text_near_listed_terms_suggests_the_nearest_first(typed: str, first: str) -> None:
    suggested = suggest_terms(typed)
    assert suggested, typed
    assert suggested[0].term_en == first
    assert len(suggested) <= MAX_SUGGESTIONS
    assert len({t.key for t in suggested}) == len(suggested)


def test_at_most_three_terms_each_once() -> None:
    suggested = suggest_terms("infection")
    assert len(suggested) == 3
    assert {t.term_en for t in suggested} <= {
        "Lung infection",
        "Urinary tract infection",
        "Upper respiratory infection",
        "Cytomegalovirus infection reactivation",
    }


@pytest.mark.parametrize(
    "typed",
    [
        "funny feeling in toes",
        "itchy eyes after the drip",
        "health problem",  # "alt" is inside "health", but three letters are too few
        "dizziness",
        "",
        "   ",
        # A listed form is coded, not suggested.
        "lung infection",
        "气促",
        "sepsis",
    ],
)
def test_text_far_from_every_term_or_listed_itself_suggests_nothing(typed: str) -> None:
    assert suggest_terms(typed) == ()


# --------------------------------------------------------------------------- as staff settle it


def test_a_suggested_term_chosen_codes_the_words_typed() -> None:
    event = code_entry("lung infectoin", 3, "lung_infection")
    assert event.coded
    assert event.term is not None and event.term.key == "lung_infection"
    assert event.match is not None and event.match.kind is MatchKind.CHOSEN
    assert event.verbatim == "lung infectoin"
    assert "IV" in event.grade_text.en


def test_the_chosen_term_checks_the_grade() -> None:
    with pytest.raises(RuleError, match="Lung infection has no grade 1"):
        code_entry("lung infectoin", 1, "lung_infection")


def test_a_listed_form_reads_back_as_it_matched() -> None:
    event = code_entry("pneumonia", 2, "lung_infection")
    assert event.match is not None and event.match.kind is MatchKind.SYNONYM_EN
    assert event == code_event("pneumonia", 2)


def test_kept_as_typed_is_uncoded_with_the_general_grades() -> None:
    event = code_entry("lung infectoin", 1, None)
    assert not event.coded
    assert event.grade_text == GENERAL_GRADES[0]
