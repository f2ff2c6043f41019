"""Tests for core.adverse_events: CTCAE v5.0 coding, grades, seriousness, SAE clock."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.adverse_events import (
    CTCAE_VERSION,
    GENERAL_GRADES,
    MAX_TERM_LENGTH,
    ONSET_WEEKS_BEFORE_DAY0,
    TERMS,
    MatchKind,
    Seriousness,
    check_grade,
    code_event,
    grade_text,
    hours_left,
    is_overdue,
    match_term,
    normalise,
    onset_before_day0,
    parse_seriousness,
    reporting_deadline,
    term_by_key,
    time_left,
)
from core.messages import RuleError

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")
CJK = re.compile(r"[\u4e00-\u9fff]")

# The terms of docs/clinical-facts.md §6 with the grades CTCAE v5.0 defines for each,
# typed here independently of core.ctcae_terms.
EXPECTED_GRADES: dict[str, tuple[int, ...]] = {
    "Lung infection": (2, 3, 4, 5),
    "Upper respiratory infection": (2, 3, 4, 5),
    "Urinary tract infection": (2, 3, 4, 5),
    "Shingles": (1, 2, 3),
    "Infusion related reaction": (1, 2, 3, 4, 5),
    "Allergic reaction": (1, 2, 3, 4, 5),
    "Anaphylaxis": (3, 4, 5),
    "Diarrhea": (1, 2, 3, 4, 5),
    "Nausea": (1, 2, 3),
    "Hyperglycemia": (1, 2, 3, 4, 5),
    "Hypertension": (1, 2, 3, 4, 5),
    "Tremor": (1, 2, 3),
    "Creatinine increased": (1, 2, 3, 4),
    "White blood cell decreased": (1, 2, 3, 4),
    "Neutrophil count decreased": (1, 2, 3, 4),
    "Hyperkalemia": (1, 2, 3, 4, 5),
    "Fever": (1, 2, 3, 4, 5),
    "Depression": (1, 2, 3, 4, 5),
    "Insomnia": (1, 2, 3),
    "Headache": (1, 2, 3),
    "Dyspnea": (1, 2, 3, 4, 5),
    "Vomiting": (1, 2, 3, 4, 5),
    "Sepsis": (3, 4, 5),
    "Anemia": (1, 2, 3, 4, 5),
    "Lymphocyte count decreased": (1, 2, 3, 4),
    "Hypokalemia": (1, 2, 3, 4, 5),
    # Unverified (docs/clinical-facts.md §6): the general grades until checked.
    "Cytomegalovirus infection reactivation": (1, 2, 3, 4, 5),
    "Edema limbs": (1, 2, 3),
    "Rash maculo-papular": (1, 2, 3),
    "Alopecia": (1, 2),
    "Suicidal ideation": (1, 2, 3, 4),
    "Alanine aminotransferase increased": (1, 2, 3, 4),
    "Fatigue": (1, 2, 3),
}

# Terms whose own CTCAE v5.0 grade cells are not verified: they show the general grades.
GENERAL_WORDING = {"Cytomegalovirus infection reactivation"}

EXPECTED_CHINESE = {
    "Lung infection": "肺部感染",
    "Upper respiratory infection": "上呼吸道感染",
    "Urinary tract infection": "尿路感染",
    "Shingles": "带状疱疹",
    "Infusion related reaction": "输液相关反应",
    "Allergic reaction": "过敏反应",
    "Anaphylaxis": "严重过敏反应",
    "Diarrhea": "腹泻",
    "Nausea": "恶心",
    "Hyperglycemia": "高血糖",
    "Hypertension": "高血压",
    "Tremor": "震颤",
    "Creatinine increased": "肌酐升高",
    "White blood cell decreased": "白细胞减少",
    "Neutrophil count decreased": "中性粒细胞计数降低",
    "Hyperkalemia": "高钾血症",
    "Fever": "发热",
    "Depression": "抑郁",
    "Insomnia": "失眠",
    "Headache": "头痛",
    "Dyspnea": "呼吸困难",
    "Vomiting": "呕吐",
    "Sepsis": "脓毒症",
    "Anemia": "贫血",
    "Lymphocyte count decreased": "淋巴细胞计数降低",
    "Hypokalemia": "低钾血症",
    "Cytomegalovirus infection reactivation": "巨细胞病毒感染再激活",
    "Edema limbs": "肢体水肿",
    "Rash maculo-papular": "斑丘疹",
    "Alopecia": "脱发",
    "Suicidal ideation": "自杀意念",
    "Alanine aminotransferase increased": "丙氨酸氨基转移酶升高",
    "Fatigue": "乏力",
}

# MedDRA SOC names as CTCAE v5.0 prints them.
CTCAE_SOCS = {
    "Infections and infestations",
    "Injury, poisoning and procedural complications",
    "Immune system disorders",
    "Gastrointestinal disorders",
    "Metabolism and nutrition disorders",
    "Vascular disorders",
    "Nervous system disorders",
    "Investigations",
    "General disorders and administration site conditions",
    "Psychiatric disorders",
    "Respiratory, thoracic and mediastinal disorders",
    "Blood and lymphatic system disorders",
    "Skin and subcutaneous tissue disorders",
}


# Latin-letter tokens allowed inside Chinese grade texts (units, lab abbreviations).
ZH_LATIN_OK = {"ULN", "LLN", "mm", "mmHg", "mmol", "TPN", "dL"}


def _term(name: str):
    matches = [t for t in TERMS if t.term_en == name]
    assert len(matches) == 1, name
    return matches[0]


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("pneumonia", "Lung infection", MatchKind.SYNONYM_EN),
        ("Pneumonia", "Lung infection", MatchKind.SYNONYM_EN),
        ("肺炎", "Lung infection", MatchKind.SYNONYM_ZH),
        ("herpes zoster", "Shingles", MatchKind.SYNONYM_EN),
        ("Zoster", "Shingles", MatchKind.SYNONYM_EN),
        ("带状疱疹", "Shingles", MatchKind.CHINESE_NAME),
        ("UTI", "Urinary tract infection", MatchKind.SYNONYM_EN),
        ("uti", "Urinary tract infection", MatchKind.SYNONYM_EN),
        ("尿感", "Urinary tract infection", MatchKind.SYNONYM_ZH),
        ("URI", "Upper respiratory infection", MatchKind.SYNONYM_EN),
        ("感冒", "Upper respiratory infection", MatchKind.SYNONYM_ZH),
        ("high blood pressure", "Hypertension", MatchKind.SYNONYM_EN),
        ("血压升高", "Hypertension", MatchKind.SYNONYM_ZH),
        ("leukopenia", "White blood cell decreased", MatchKind.SYNONYM_EN),
        ("leucopenia", "White blood cell decreased", MatchKind.SYNONYM_EN),
        ("白细胞降低", "White blood cell decreased", MatchKind.SYNONYM_ZH),
        ("neutropenia", "Neutrophil count decreased", MatchKind.SYNONYM_EN),
        ("中性粒细胞减少", "Neutrophil count decreased", MatchKind.SYNONYM_ZH),
        ("pyrexia", "Fever", MatchKind.SYNONYM_EN),
        ("发烧", "Fever", MatchKind.SYNONYM_ZH),
        ("hyperkalaemia", "Hyperkalemia", MatchKind.SYNONYM_EN),
        ("高血钾", "Hyperkalemia", MatchKind.SYNONYM_ZH),
        ("diarrhoea", "Diarrhea", MatchKind.SYNONYM_EN),
        ("拉肚子", "Diarrhea", MatchKind.SYNONYM_ZH),
        ("hyperglycaemia", "Hyperglycemia", MatchKind.SYNONYM_EN),
        ("血糖升高", "Hyperglycemia", MatchKind.SYNONYM_ZH),
        ("infusion reaction", "Infusion related reaction", MatchKind.SYNONYM_EN),
        ("输液反应", "Infusion related reaction", MatchKind.SYNONYM_ZH),
        ("allergy", "Allergic reaction", MatchKind.SYNONYM_EN),
        ("过敏", "Allergic reaction", MatchKind.SYNONYM_ZH),
        ("anaphylactic shock", "Anaphylaxis", MatchKind.SYNONYM_EN),
        ("过敏性休克", "Anaphylaxis", MatchKind.SYNONYM_ZH),
        ("elevated creatinine", "Creatinine increased", MatchKind.SYNONYM_EN),
        ("血肌酐升高", "Creatinine increased", MatchKind.SYNONYM_ZH),
        ("手抖", "Tremor", MatchKind.SYNONYM_ZH),
        ("头疼", "Headache", MatchKind.SYNONYM_ZH),
        ("抑郁症", "Depression", MatchKind.SYNONYM_ZH),
        ("睡不着", "Insomnia", MatchKind.SYNONYM_ZH),
        ("想吐", "Nausea", MatchKind.SYNONYM_ZH),
        # The adverse events a lupus nephritis trial on these drugs sees, with the
        # synonyms docs/clinical-facts.md §6 names.
        ("shortness of breath", "Dyspnea", MatchKind.SYNONYM_EN),
        ("dyspnoea", "Dyspnea", MatchKind.SYNONYM_EN),
        ("呼吸困难", "Dyspnea", MatchKind.CHINESE_NAME),
        ("气促", "Dyspnea", MatchKind.SYNONYM_ZH),
        ("emesis", "Vomiting", MatchKind.SYNONYM_EN),
        ("呕吐", "Vomiting", MatchKind.CHINESE_NAME),
        ("septicaemia", "Sepsis", MatchKind.SYNONYM_EN),
        ("败血症", "Sepsis", MatchKind.SYNONYM_ZH),
        ("脓毒症", "Sepsis", MatchKind.CHINESE_NAME),
        ("anaemia", "Anemia", MatchKind.SYNONYM_EN),
        ("血红蛋白降低", "Anemia", MatchKind.SYNONYM_ZH),
        ("lymphopenia", "Lymphocyte count decreased", MatchKind.SYNONYM_EN),
        ("淋巴细胞减少", "Lymphocyte count decreased", MatchKind.SYNONYM_ZH),
        ("low potassium", "Hypokalemia", MatchKind.SYNONYM_EN),
        ("低血钾", "Hypokalemia", MatchKind.SYNONYM_ZH),
        ("CMV infection", "Cytomegalovirus infection reactivation", MatchKind.SYNONYM_EN),
        (
            "cytomegalovirus infection",
            "Cytomegalovirus infection reactivation",
            MatchKind.SYNONYM_EN,
        ),
        ("巨细胞病毒感染", "Cytomegalovirus infection reactivation", MatchKind.SYNONYM_ZH),
        ("leg swelling", "Edema limbs", MatchKind.SYNONYM_EN),
        ("下肢水肿", "Edema limbs", MatchKind.SYNONYM_ZH),
        ("maculopapular rash", "Rash maculo-papular", MatchKind.SYNONYM_EN),
        ("斑丘疹样皮疹", "Rash maculo-papular", MatchKind.SYNONYM_ZH),
        ("hair loss", "Alopecia", MatchKind.SYNONYM_EN),
        ("掉头发", "Alopecia", MatchKind.SYNONYM_ZH),
        ("suicidal thoughts", "Suicidal ideation", MatchKind.SYNONYM_EN),
        ("自杀念头", "Suicidal ideation", MatchKind.SYNONYM_ZH),
        ("ALT increased", "Alanine aminotransferase increased", MatchKind.SYNONYM_EN),
        ("谷丙转氨酶升高", "Alanine aminotransferase increased", MatchKind.SYNONYM_ZH),
        ("ALT升高", "Alanine aminotransferase increased", MatchKind.SYNONYM_ZH),
        ("tiredness", "Fatigue", MatchKind.SYNONYM_EN),
        ("疲劳", "Fatigue", MatchKind.SYNONYM_ZH),
    ],
)
def test_synonyms_resolve_to_their_term(text: str, expected: str, kind: MatchKind) -> None:
    match = match_term(text)
    assert match is not None
    assert match.term.term_en == expected
    assert match.kind is kind
    assert match.kind.is_synonym is (kind in (MatchKind.SYNONYM_EN, MatchKind.SYNONYM_ZH))


@pytest.mark.parametrize("name", sorted(EXPECTED_GRADES))
def test_english_and_chinese_names_round_trip(name: str) -> None:
    by_en = match_term(name)
    assert by_en is not None
    assert by_en.term.term_en == name
    assert by_en.kind is MatchKind.TERM
    assert not by_en.kind.is_synonym
    by_zh = match_term(EXPECTED_CHINESE[name])
    assert by_zh is not None
    assert by_zh.term is by_en.term
    assert by_zh.kind is MatchKind.CHINESE_NAME
    assert by_zh.term.term_zh == EXPECTED_CHINESE[name]
    assert term_by_key(by_en.term.key) is by_en.term


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  LUNG   infection ", "Lung infection"),
        ("Lung-infection.", "Lung infection"),
        ("lung_infection", "Lung infection"),  # the stored key reads back
        ("ＵＴＩ", "Urinary tract infection"),  # full-width letters
        ("肺部 感染", "Lung infection"),
        ("肺炎。", "Lung infection"),
        ("(Herpes zoster)", "Shingles"),
        ("White blood cell decreased!", "White blood cell decreased"),
        ("Infusion-related reaction", "Infusion related reaction"),
        ("HIGH BLOOD PRESSURE", "Hypertension"),
    ],
)
def test_case_whitespace_and_punctuation_do_not_matter(text: str, expected: str) -> None:
    match = match_term(text)
    assert match is not None
    assert match.term.term_en == expected


@pytest.mark.parametrize(
    "text",
    [
        "lung infectoin",  # typo: kept verbatim as uncoded, never guessed
        "lung infection grade 3",
        "pneumonitis",  # a different CTCAE term
        "bladder infection",  # a different CTCAE term
        "herpes simplex",
        "cold",  # ambiguous: chills or a common cold
        "chest infection",
        "infection",
        "rash",
        "fevr",
        "肺部感染加重",
        "",
        "   ",
        "...",
    ],
)
def test_text_that_is_not_a_listed_form_does_not_match(text: str) -> None:
    assert match_term(text) is None


def test_match_reports_the_listed_form_that_matched() -> None:
    match = match_term("  Pneumonia. ")
    assert match is not None
    assert match.matched == "pneumonia"
    assert match.term.term_en == "Lung infection"


def _all_forms() -> list[tuple[str, str]]:
    return [
        (form, t.key)
        for t in TERMS
        for form in (t.term_en, t.term_zh, *t.synonyms_en, *t.synonyms_zh)
    ]


@given(
    pair=st.sampled_from(_all_forms()),
    noise=st.lists(st.sampled_from([" ", "-", ".", ",", "，", "。", "\t", "(", ")"]), max_size=4),
    position=st.integers(min_value=0, max_value=50),
    upper=st.booleans(),
)
def test_noise_around_any_listed_form_still_matches(
    pair: tuple[str, str], noise: list[str], position: int, upper: bool
) -> None:
    form, key = pair
    text = form.upper() if upper else form
    cut = position % (len(text) + 1)
    noisy = text[:cut] + "".join(noise) + text[cut:]
    match = match_term(noisy)
    assert match is not None
    assert match.term.key == key


@given(st.text(max_size=40))
def test_match_term_never_raises_and_only_returns_exact_normalised_forms(text: str) -> None:
    match = match_term(text)
    if match is not None:
        assert normalise(match.matched) == normalise(text)


# --------------------------------------------------------------------------- grades


@pytest.mark.parametrize(
    ("name", "grade"),
    [(name, grade) for name in sorted(EXPECTED_GRADES) for grade in range(1, 6)],
)
def test_each_term_accepts_exactly_its_ctcae_grades(name: str, grade: int) -> None:
    term = _term(name)
    if grade in EXPECTED_GRADES[name]:
        assert check_grade(term, grade) == grade
    else:
        with pytest.raises(RuleError) as err:
            check_grade(term, grade)
        assert err.value.params["term"] == name
        assert err.value.params["grade"] == grade
        assert err.value.params["term_zh"] == EXPECTED_CHINESE[name]
        first, last = EXPECTED_GRADES[name][0], EXPECTED_GRADES[name][-1]
        assert err.value.params["grades"] == f"{first}-{last}"


def test_missing_grade_message_names_term_and_its_grades() -> None:
    with pytest.raises(RuleError) as err:
        check_grade(_term("Shingles"), 4)
    assert str(err.value) == "Shingles has no grade 4; CTCAE v5.0 grades it 1-3 only."
    assert "{term}" in err.value.msgid
    assert "{grade}" in err.value.msgid
    assert "{grades}" in err.value.msgid


def test_anaphylaxis_grade_2_is_refused() -> None:
    with pytest.raises(RuleError, match="Anaphylaxis has no grade 2"):
        check_grade(_term("Anaphylaxis"), 2)


@pytest.mark.parametrize("grade", [0, 6, -1, 10])
@pytest.mark.parametrize("name", [None, "Fever", "Shingles"])
def test_grades_outside_1_to_5_are_refused(name: str | None, grade: int) -> None:
    term = None if name is None else _term(name)
    with pytest.raises(RuleError) as err:
        check_grade(term, grade)
    assert err.value.params == {"grade": str(grade)}


@pytest.mark.parametrize("bad", [True, False, 2.0, "2"])
def test_non_integer_grades_are_refused(bad: object) -> None:
    with pytest.raises(RuleError):
        check_grade(None, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_uncoded_events_take_the_general_grades(grade: int) -> None:
    assert check_grade(None, grade) == grade
    text = grade_text(None, grade)
    assert text.grade == grade


@pytest.mark.parametrize(
    ("grade", "en_word", "zh_word"),
    [
        (1, "Mild", "轻度"),
        (2, "instrumental ADL", "工具性日常生活活动"),
        (3, "hospitalization", "住院"),
        (3, "self-care ADL", "自理性日常生活活动"),
        (4, "Life-threatening", "危及生命"),
        (5, "Death", "死亡"),
    ],
)
def test_general_grade_texts_follow_clinical_facts(grade: int, en_word: str, zh_word: str) -> None:
    text = grade_text(None, grade)
    assert en_word in text.en
    assert zh_word in text.zh


def test_term_grade_text_is_the_terms_own_wording() -> None:
    text = grade_text(_term("Fever"), 2)
    assert "39.0" in text.en
    assert "39.0" in text.zh
    assert text.en != GENERAL_GRADES[1].en
    with pytest.raises(RuleError):
        grade_text(_term("Lung infection"), 1)


def test_code_event_codes_synonym_and_records_version() -> None:
    event = code_event(" Pneumonia ", 3)
    assert event.coded
    assert event.term is not None
    assert event.term.key == "lung_infection"
    assert event.match is not None
    assert event.match.kind is MatchKind.SYNONYM_EN
    assert event.verbatim == "Pneumonia"
    assert event.grade == 3
    assert "IV" in event.grade_text.en
    assert event.ctcae_version == "5.0"


def test_code_event_keeps_unknown_text_uncoded_with_general_grades() -> None:
    event = code_event("lung infectoin", 2)
    assert not event.coded
    assert event.term is None
    assert event.verbatim == "lung infectoin"
    assert event.grade_text == GENERAL_GRADES[1]
    assert event.ctcae_version == CTCAE_VERSION == "5.0"


def test_code_event_refuses_missing_grade_and_empty_text() -> None:
    with pytest.raises(RuleError, match="Lung infection has no grade 1"):
        code_event("pneumonia", 1)
    with pytest.raises(RuleError):
        code_event("   ", 2)


# --------------------------------------------------------------------------- data integrity


def _terms_in_clinical_facts() -> list[str]:
    text = (Path(__file__).parents[2] / "docs" / "clinical-facts.md").read_text(encoding="utf-8")
    found = re.search(r"Terms likely here: (.*?)\. Ship", text, re.DOTALL)
    assert found is not None
    return [" ".join(name.split()) for name in found.group(1).split(",")]


def test_term_list_is_exactly_clinical_facts_section_6() -> None:
    assert sorted(t.term_en for t in TERMS) == sorted(EXPECTED_GRADES)
    assert sorted(t.term_en.lower() for t in TERMS) == sorted(_terms_in_clinical_facts())
    assert len({t.key for t in TERMS}) == len(TERMS)


@pytest.mark.parametrize("term", TERMS, ids=lambda t: t.key)
def test_every_term_is_complete_and_bilingual(term) -> None:
    assert term.term_zh == EXPECTED_CHINESE[term.term_en]
    assert CJK.search(term.term_zh)
    assert term.soc_en in CTCAE_SOCS
    assert term.key == re.sub(r"[^a-z0-9]+", "_", term.term_en.lower())
    # Grades present are exactly those CTCAE defines, ascending, each once.
    assert term.grade_numbers == EXPECTED_GRADES[term.term_en]
    for g in term.grades:
        assert g.en.strip()
        assert g.zh.strip()
        assert not CJK.search(g.en), (term.key, g.grade)
        # Chinese text is a translation: no English words beyond units and
        # abbreviations Chinese clinicians write in Latin letters.
        assert g.zh != g.en
        assert set(re.findall(r"[A-Za-z]{2,}", g.zh)) <= ZH_LATIN_OK, (term.key, g.grade)
        if g.grade == 5 and term.term_en not in GENERAL_WORDING:
            assert g.en == "Death"
            assert g.zh == "死亡"
    if term.term_en in GENERAL_WORDING:
        assert term.grades == GENERAL_GRADES
    for g in range(1, 6):
        assert (term.grade_text(g) is not None) is (g in EXPECTED_GRADES[term.term_en])
    for s in term.synonyms_en:
        assert not CJK.search(s), s
    for s in term.synonyms_zh:
        assert CJK.search(s), s


def test_no_spelling_points_at_two_terms() -> None:
    seen: dict[str, str] = {}
    for form, key in _all_forms():
        norm = normalise(form)
        assert norm, form
        assert seen.setdefault(norm, key) == key, form


def test_general_grades_cover_1_to_5_in_both_languages() -> None:
    assert [g.grade for g in GENERAL_GRADES] == [1, 2, 3, 4, 5]
    for g in GENERAL_GRADES:
        assert g.en
        assert not CJK.search(g.en)
        assert CJK.search(g.zh)


# --------------------------------------------------------------------------- seriousness


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("death", Seriousness.DEATH),
        ("Death", Seriousness.DEATH),
        ("died", Seriousness.DEATH),
        ("死亡", Seriousness.DEATH),
        ("life-threatening", Seriousness.LIFE_THREATENING),
        ("Life threatening", Seriousness.LIFE_THREATENING),
        ("life_threatening", Seriousness.LIFE_THREATENING),
        ("危及生命", Seriousness.LIFE_THREATENING),
        ("hospitalization", Seriousness.HOSPITALIZATION),
        ("hospitalisation", Seriousness.HOSPITALIZATION),
        ("hospital", Seriousness.HOSPITALIZATION),
        ("Prolonged hospitalisation", Seriousness.HOSPITALIZATION),
        ("住院", Seriousness.HOSPITALIZATION),
        ("延长住院", Seriousness.HOSPITALIZATION),
        ("disability", Seriousness.DISABILITY),
        ("残疾", Seriousness.DISABILITY),
        ("致残", Seriousness.DISABILITY),
        ("congenital", Seriousness.CONGENITAL_ANOMALY),
        ("congenital anomaly", Seriousness.CONGENITAL_ANOMALY),
        ("先天畸形", Seriousness.CONGENITAL_ANOMALY),
        ("important", Seriousness.IMPORTANT_MEDICAL_EVENT),
        ("IME", Seriousness.IMPORTANT_MEDICAL_EVENT),
        ("important medical event", Seriousness.IMPORTANT_MEDICAL_EVENT),
        ("重要医学事件", Seriousness.IMPORTANT_MEDICAL_EVENT),
        ("  住院。", Seriousness.HOSPITALIZATION),
    ],
)
def test_seriousness_words_in_both_languages(text: str, expected: Seriousness) -> None:
    assert parse_seriousness(text) is expected


@pytest.mark.parametrize("criterion", list(Seriousness))
def test_every_criterion_reads_back_from_its_value_and_names(criterion: Seriousness) -> None:
    assert parse_seriousness(criterion.value) is criterion
    assert criterion.name_en
    assert CJK.search(criterion.name_zh)
    for word in criterion.accepted_words:
        assert parse_seriousness(word) is criterion


def test_there_are_six_ich_e2a_criteria() -> None:
    assert {c.value for c in Seriousness} == {
        "death",
        "life_threatening",
        "hospitalization",
        "disability",
        "congenital_anomaly",
        "important_medical_event",
    }


@pytest.mark.parametrize("text", ["severe", "Severe", "重度", "严重", "grade 3"])
def test_severe_is_not_serious(text: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_seriousness(text)
    assert "intense" in err.value.msgid
    assert "hospitalization/住院" in err.value.params["accepted"]  # type: ignore[operator]


@pytest.mark.parametrize("text", ["", "bad", "hospitalizaton", "serious", "ICU", "发烧"])
def test_unknown_seriousness_word_lists_the_accepted_words(text: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_seriousness(text)
    accepted = str(err.value.params["accepted"])
    for word in ("death", "死亡", "life-threatening", "危及生命", "hospitalization", "住院"):
        assert word in accepted
    for word in ("disability", "残疾", "congenital", "先天畸形", "important", "重要医学事件"):
        assert word in accepted
    assert "not a seriousness criterion" in str(err.value)


# --------------------------------------------------------------------------- reporting clock


def test_deadline_is_24_hours_after_awareness_in_shanghai() -> None:
    aware = datetime(2024, 3, 10, 22, 15, tzinfo=SHANGHAI)
    deadline = reporting_deadline(aware)
    assert deadline == datetime(2024, 3, 11, 22, 15, tzinfo=SHANGHAI)
    assert deadline.tzinfo is SHANGHAI
    assert deadline.utcoffset() == timedelta(hours=8)


def test_deadline_window_is_a_parameter() -> None:
    aware = datetime(2024, 3, 10, 9, 0, tzinfo=SHANGHAI)
    assert reporting_deadline(aware, hours=48) == datetime(2024, 3, 12, 9, 0, tzinfo=SHANGHAI)


def test_deadline_counts_elapsed_hours_across_a_dst_change() -> None:
    # Clocks in London go forward at 01:00 on 31 March 2024: 24 elapsed hours
    # after noon on 30 March is 13:00 local on 31 March.
    aware = datetime(2024, 3, 30, 12, 0, tzinfo=LONDON)
    deadline = reporting_deadline(aware)
    assert deadline == datetime(2024, 3, 31, 13, 0, tzinfo=LONDON)
    assert deadline.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=24)


def test_naive_awareness_time_is_refused() -> None:
    with pytest.raises(RuleError):
        reporting_deadline(datetime(2024, 3, 10, 22, 15))
    with pytest.raises(ValueError, match="time zone"):
        reporting_deadline(datetime(2024, 3, 10, 22, 15))


@pytest.mark.parametrize("hours", [0, -24, True])
def test_reporting_window_must_be_positive_hours(hours: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        reporting_deadline(datetime(2024, 3, 10, 22, 15, tzinfo=SHANGHAI), hours=hours)


@given(
    aware=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2090, 1, 1),
        timezones=st.sampled_from([SHANGHAI, LONDON, ZoneInfo("America/New_York"), UTC]),
    ),
    hours=st.integers(min_value=1, max_value=24 * 14),
)
def test_deadline_is_always_exactly_the_window_later(aware: datetime, hours: int) -> None:
    deadline = reporting_deadline(aware, hours)
    assert deadline.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=hours)
    assert deadline.tzinfo is aware.tzinfo
    assert time_left(deadline, aware) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("elapsed", "left_hours", "overdue"),
    [
        (timedelta(0), Decimal(24), False),
        (timedelta(hours=22, minutes=30), Decimal("1.5"), False),
        (timedelta(hours=24), Decimal(0), False),
        (timedelta(hours=24, seconds=1), Decimal(-1) / Decimal(3600), True),
        (timedelta(hours=30), Decimal(-6), True),
    ],
)
def test_hours_left_and_overdue(elapsed: timedelta, left_hours: Decimal, overdue: bool) -> None:
    aware = datetime(2024, 3, 10, 22, 15, tzinfo=SHANGHAI)
    deadline = reporting_deadline(aware)
    now = aware + elapsed
    assert hours_left(deadline, now) == left_hours
    assert time_left(deadline, now) == timedelta(hours=24) - elapsed
    assert is_overdue(deadline, now) is overdue


def test_time_left_ignores_the_zone_now_is_written_in() -> None:
    deadline = reporting_deadline(datetime(2024, 3, 10, 22, 15, tzinfo=SHANGHAI))
    now_utc = datetime(2024, 3, 11, 12, 15, tzinfo=UTC)  # 20:15 in Shanghai
    assert hours_left(deadline, now_utc) == Decimal(2)
    assert hours_left(deadline, now_utc.astimezone(LONDON)) == Decimal(2)


def test_time_left_refuses_naive_times() -> None:
    deadline = reporting_deadline(datetime(2024, 3, 10, 22, 15, tzinfo=SHANGHAI))
    with pytest.raises(RuleError):
        hours_left(deadline, datetime(2024, 3, 11, 12, 15))


# --------------------------------------------------------------------------- term length, onset


def test_a_term_of_200_characters_is_kept_and_201_is_refused() -> None:
    assert MAX_TERM_LENGTH == 200
    assert code_event("x" * 200, 2).verbatim == "x" * 200
    with pytest.raises(RuleError) as refused:
        code_event("x" * 201, 2)
    assert refused.value.params == {"length": 201, "limit": 200}


def test_onset_limit_is_the_enrollment_day0_limit() -> None:
    assert ONSET_WEEKS_BEFORE_DAY0 == 26


@pytest.mark.parametrize(
    ("onset", "before"),
    [
        (date(2026, 12, 1), False),
        (date(2026, 12, 20), False),
        (date(2026, 11, 30), True),
        (date(2026, 6, 2), True),  # exactly 26 weeks before day 0
    ],
)
def test_onset_before_day0_is_accepted_and_flagged(onset: date, before: bool) -> None:
    assert onset_before_day0(onset, date(2026, 12, 1)) is before


def test_onset_more_than_26_weeks_before_day0_is_refused() -> None:
    with pytest.raises(RuleError) as refused:
        onset_before_day0(date(2026, 6, 1), date(2026, 12, 1))
    assert refused.value.params == {"onset": "2026-06-01", "weeks": 26, "day0": "2026-12-01"}
