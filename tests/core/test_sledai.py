"""SLEDAI-2K descriptors, parser and score (docs/clinical-facts.md §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import sledai
from core.messages import RuleError
from core.sledai import (
    ITEMS,
    ITEMS_BY_KEY,
    Cause,
    Direction,
    RecordedItem,
    change_from_baseline,
    parse_items,
    score,
    split_tokens,
)

# The weights as printed on the SLEDAI-2K form (Gladman 2002), written out here
# independently of the module's table.
FORM_WEIGHTS = {
    "seizure": 8,
    "psychosis": 8,
    "organic_brain_syndrome": 8,
    "visual_disturbance": 8,
    "cranial_nerve_disorder": 8,
    "lupus_headache": 8,
    "cva": 8,
    "vasculitis": 8,
    "arthritis": 4,
    "myositis": 4,
    "urinary_casts": 4,
    "haematuria": 4,
    "proteinuria": 4,
    "pyuria": 4,
    "rash": 2,
    "alopecia": 2,
    "mucosal_ulcers": 2,
    "pleurisy": 2,
    "pericarditis": 2,
    "low_complement": 2,
    "dsdna": 2,
    "fever": 1,
    "thrombocytopenia": 1,
    "leukopenia": 1,
}

FORM_CHINESE = {
    "seizure": "癫痫发作",
    "psychosis": "精神病",
    "organic_brain_syndrome": "器质性脑病综合征",
    "visual_disturbance": "视觉障碍",
    "cranial_nerve_disorder": "脑神经病变",
    "lupus_headache": "狼疮性头痛",
    "cva": "脑血管意外",
    "vasculitis": "血管炎",
    "arthritis": "关节炎",
    "myositis": "肌炎",
    "urinary_casts": "管型尿",
    "haematuria": "血尿",
    "proteinuria": "蛋白尿",
    "pyuria": "脓尿",
    "rash": "皮疹",
    "alopecia": "脱发",
    "mucosal_ulcers": "黏膜溃疡",
    "pleurisy": "胸膜炎",
    "pericarditis": "心包炎",
    "low_complement": "低补体",
    "dsdna": "抗dsDNA抗体升高",
    "fever": "发热",
    "thrombocytopenia": "血小板减少",
    "leukopenia": "白细胞减少",
}

# "Exclude ..." clauses of the SLEDAI-2K definitions.
FORM_EXCLUSIONS = {
    "seizure": {"metabolic", "infection", "drug"},
    "psychosis": {"uremia", "drug"},
    "organic_brain_syndrome": {"metabolic", "infection", "drug"},
    "visual_disturbance": {"hypertension", "infection", "drug"},
    "cva": {"arteriosclerosis"},
    "haematuria": {"stone", "infection", "other"},
    "pyuria": {"infection"},
    "fever": {"infection"},
    "thrombocytopenia": {"drug"},
    "leukopenia": {"drug"},
}

RENAL = {"urinary_casts", "haematuria", "proteinuria", "pyuria"}


def keys(recorded: tuple[RecordedItem, ...]) -> list[tuple[str, Cause | None]]:
    return [(entry.item.key, entry.attribution) for entry in recorded]


def score_of(*tokens: str) -> sledai.SledaiScore:
    return score(parse_items(tokens))


# ------------------------------------------------------------------ the table


def test_table_matches_the_form() -> None:
    assert {item.key: item.weight for item in ITEMS} == FORM_WEIGHTS
    assert {item.key: item.name_zh for item in ITEMS} == FORM_CHINESE
    assert {item.key for item in ITEMS if item.renal} == RENAL
    assert {
        item.key: {cause.value for cause in item.exclusions} for item in ITEMS if item.exclusions
    } == FORM_EXCLUSIONS


def test_every_item_has_both_definitions() -> None:
    for item in ITEMS:
        assert item.definition_en.strip(), item.key
        assert item.definition_zh.strip(), item.key
        assert item.name_en.strip(), item.key


@pytest.mark.parametrize(
    ("key", "threshold_en", "threshold_zh"),
    [
        ("haematuria", ">5 RBC/hpf", ">5"),
        ("proteinuria", ">0.5 g/24 h", ">0.5 g"),
        ("pyuria", ">5 WBC/hpf", ">5"),
        ("fever", ">38 °C", ">38 °C"),
        ("thrombocytopenia", "<100 x 10^9/L", "<100×10^9/L"),
        ("leukopenia", "<3 x 10^9/L", "<3×10^9/L"),
        ("arthritis", "2 joints", "2 个关节"),
    ],
)
def test_definitions_keep_thresholds(key: str, threshold_en: str, threshold_zh: str) -> None:
    item = ITEMS_BY_KEY[key]
    assert threshold_en in item.definition_en
    assert threshold_zh in item.definition_zh


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("haematuria", ("stone", "infection", "other")),
        ("pyuria", ("infection",)),
        ("fever", ("infectious",)),
        ("leukopenia", ("drug",)),
        ("thrombocytopenia", ("drug",)),
        ("cva", ("arteriosclerosis",)),
    ],
)
def test_definition_text_states_its_exclusions(key: str, words: tuple[str, ...]) -> None:
    text = ITEMS_BY_KEY[key].definition_en.lower()
    assert "exclude" in text
    for word in words:
        assert word in text


def test_all_present_scores_105_and_renal_16() -> None:
    result = score(RecordedItem(item) for item in ITEMS)
    assert result.total == 105
    assert result.renal == 16
    assert len(result.lines) == 24


# ---------------------------------------------------------------- the example


def test_issue_example() -> None:
    result = score_of("haematuria", "proteinuria", "low_complement", "dsdna")
    assert result.total == 4 + 4 + 2 + 2
    assert result.renal == 4 + 4
    assert [line.item.key for line in result.lines] == [
        "haematuria",
        "proteinuria",
        "low_complement",
        "dsdna",
    ]
    assert all(line.scored and line.reason is None for line in result.lines)


def test_issue_example_as_one_line() -> None:
    assert score(parse_items("haematuria proteinuria low_complement dsdna")).total == 12


def test_drug_leukopenia_is_listed_but_scores_zero() -> None:
    result = score_of("leukopenia:drug")
    assert result.total == 0
    assert result.renal == 0
    (line,) = result.lines
    assert line.item.key == "leukopenia"
    assert line.weight == 1
    assert not line.scored
    assert line.points == 0
    assert line.attribution is Cause.DRUG
    assert line.reason == "Not scored: attributed to a drug."


def test_attributed_item_leaves_the_others_scoring() -> None:
    result = score_of("haematuria:stone", "proteinuria", "leukopenia", "fever:infection")
    assert result.total == 4 + 1
    assert result.renal == 4
    assert {line.item.key for line in result.not_scored} == {"haematuria", "fever"}
    assert {item.key for item in result.scored_items} == {"proteinuria", "leukopenia"}


def test_lines_follow_form_order_not_input_order() -> None:
    result = score_of("leukopenia", "seizure", "proteinuria")
    assert [line.item.key for line in result.lines] == ["seizure", "proteinuria", "leukopenia"]


@pytest.mark.parametrize("token", ["none", "NONE", "无"])
def test_none_records_an_empty_visit(token: str) -> None:
    assert parse_items([token]) == ()
    assert score(parse_items([token])).total == 0


def test_empty_visit_scores_zero() -> None:
    assert score(parse_items([])).total == 0


# --------------------------------------------------------- names and aliases


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        (
            ["haematuria", "proteinuria", "low_complement", "dsdna"],
            ["血尿", "蛋白尿", "低补体", "抗dsDNA抗体升高"],
        ),
        (["leukopenia:drug"], ["白细胞减少:药物"]),
        (["leukopenia:drug"], ["白细胞减少：药物"]),
        (["thrombocytopenia:drug", "fever:infection"], ["血小板减少:药物", "发热:感染"]),
        (["haematuria:stone"], ["血尿:结石"]),
        (["haematuria:other"], ["血尿:其他"]),
        (["pyuria:infection"], ["脓尿:感染"]),
        (["cva:arteriosclerosis"], ["脑血管意外:动脉硬化"]),
        (["psychosis:uremia"], ["精神病:尿毒症"]),
        (["visual_disturbance:hypertension"], ["视觉障碍:高血压"]),
        (["seizure:metabolic"], ["癫痫发作:代谢"]),
    ],
)
def test_chinese_tokens_equal_english(english: list[str], chinese: list[str]) -> None:
    assert keys(parse_items(chinese)) == keys(parse_items(english))
    assert score(parse_items(chinese)) == score(parse_items(english))


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("hematuria", "haematuria"),
        ("Haematuria", "haematuria"),
        ("dna", "dsdna"),
        ("dsDNA", "dsdna"),
        ("anti-dsdna", "dsdna"),
        ("anti-dsDNA", "dsdna"),
        ("ＤＮＡ", "dsdna"),
        ("低补体血症", "low_complement"),
        ("Low complement", "low_complement"),
        ("low-complement", "low_complement"),
        ("casts", "urinary_casts"),
        ("arthritis", "arthritis"),
        ("obs", "organic_brain_syndrome"),
        ("organic brain syndrome", "organic_brain_syndrome"),
        ("stroke", "cva"),
        ("Cerebrovascular accident", "cva"),
        ("leucopenia", "leukopenia"),
        ("粘膜溃疡", "mucosal_ulcers"),
        ("口腔溃疡", "mucosal_ulcers"),
    ],
)
def test_aliases(token: str, key: str) -> None:
    assert keys(parse_items([token])) == [(key, None)]


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: item.key)
def test_every_name_of_an_item_parses_to_it(item: sledai.SledaiItem) -> None:
    for name in (item.key, item.name_en, item.name_zh, *item.aliases):
        assert keys(parse_items([name])) == [(item.key, None)], name


@pytest.mark.parametrize(
    ("token", "cause"),
    [
        ("leukopenia:Drug", Cause.DRUG),
        ("leukopenia:药", Cause.DRUG),
        ("pyuria:uti", Cause.INFECTION),
        ("haematuria: stone", Cause.STONE),
        ("血尿:其它", Cause.OTHER),
    ],
)
def test_cause_words(token: str, cause: Cause) -> None:
    (entry,) = parse_items([token])
    assert entry.attribution is cause


def test_split_tokens_handles_chinese_punctuation() -> None:
    assert split_tokens("血尿，蛋白尿、低补体; dsdna  白细胞减少：药物") == (
        "血尿",
        "蛋白尿",
        "低补体",
        "dsdna",
        "白细胞减少:药物",
    )


# ------------------------------------------------------------------ refusals


def refusal(tokens: list[str]) -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse_items(tokens)
    return caught.value


@pytest.mark.parametrize("token", ["haematurea", "kidney", "血尿尿", ":drug"])
def test_unknown_item(token: str) -> None:
    error = refusal(["proteinuria", token])
    assert error.msgid == sledai.UNKNOWN_ITEM
    assert error.params["token"] == token
    assert token in str(error)
    assert "item list" in str(error)
    # Points to the list instead of dumping all 24 names into the message.
    assert "proteinuria" not in str(error)


@pytest.mark.parametrize(
    ("token", "accepted"),
    [
        ("leukopenia:sunburn", ["drug/药物"]),
        ("haematuria:kidney", ["stone/结石", "infection/感染", "other/其他"]),
        ("白细胞减少:晒伤", ["drug/药物"]),
    ],
)
def test_unknown_cause_names_accepted_causes(token: str, accepted: list[str]) -> None:
    error = refusal([token])
    assert error.msgid == sledai.UNKNOWN_CAUSE
    assert error.params["cause"] == token.partition(":")[2]
    for cause in accepted:
        assert cause in str(error)


@pytest.mark.parametrize(
    ("token", "accepted"),
    [
        ("leukopenia:infection", "drug/药物"),
        ("pyuria:drug", "infection/感染"),
        ("fever:drug", "infection/感染"),
        ("haematuria:drug", "stone/结石"),
        ("白细胞减少:感染", "drug/药物"),
    ],
)
def test_cause_not_excluded_by_definition(token: str, accepted: str) -> None:
    error = refusal([token])
    assert error.msgid == sledai.CAUSE_NOT_EXCLUDED
    assert accepted in str(error)


@pytest.mark.parametrize("token", ["proteinuria:drug", "low_complement:drug", "arthritis:其他"])
def test_attribution_on_item_without_exclusion(token: str) -> None:
    error = refusal([token])
    assert error.msgid == sledai.NO_EXCLUSION
    assert error.params["item"] == token.partition(":")[0]


def test_missing_cause_after_colon() -> None:
    error = refusal(["leukopenia:"])
    assert error.msgid == sledai.MISSING_CAUSE
    assert "drug/药物" in str(error)


@pytest.mark.parametrize(
    "tokens",
    [
        ["haematuria", "haematuria"],
        ["haematuria", "hematuria"],
        ["haematuria", "血尿"],
        ["leukopenia", "leukopenia:drug"],
        ["dna", "dsdna"],
    ],
)
def test_duplicate_item(tokens: list[str]) -> None:
    error = refusal(tokens)
    assert error.msgid == sledai.DUPLICATE_TOKEN
    assert error.params["first"] == tokens[0]
    assert error.params["second"] == tokens[1]


def test_none_with_items_refused() -> None:
    error = refusal(["none", "haematuria"])
    assert error.msgid == sledai.NONE_WITH_ITEMS


def test_score_refuses_duplicates_built_directly() -> None:
    item = ITEMS_BY_KEY["proteinuria"]
    with pytest.raises(RuleError) as caught:
        score([RecordedItem(item), RecordedItem(item)])
    assert caught.value.msgid == sledai.DUPLICATE_ITEM


def test_recorded_item_refuses_wrong_attribution_built_directly() -> None:
    with pytest.raises(RuleError) as caught:
        RecordedItem(ITEMS_BY_KEY["leukopenia"], Cause.INFECTION)
    assert caught.value.msgid == sledai.CAUSE_NOT_EXCLUDED
    with pytest.raises(RuleError) as caught:
        RecordedItem(ITEMS_BY_KEY["proteinuria"], Cause.DRUG)
    assert caught.value.msgid == sledai.NO_EXCLUSION


# ---------------------------------------------------------- change from baseline


@pytest.mark.parametrize(
    ("baseline", "later", "total_change", "renal_change", "direction"),
    [
        (
            ["haematuria", "proteinuria", "low_complement", "dsdna"],
            ["proteinuria"],
            -8,
            -4,
            Direction.IMPROVED,
        ),
        (["proteinuria"], ["proteinuria"], 0, 0, Direction.UNCHANGED),
        (["proteinuria"], ["proteinuria", "arthritis"], 4, 0, Direction.WORSENED),
        # MMF leukopenia arising after baseline does not count against the patient.
        (["proteinuria"], ["proteinuria", "leukopenia:drug"], 0, 0, Direction.UNCHANGED),
    ],
)
def test_change_from_baseline(
    baseline: list[str],
    later: list[str],
    total_change: int,
    renal_change: int,
    direction: Direction,
) -> None:
    change = change_from_baseline(score_of(*baseline), score_of(*later))
    assert change.total_change == total_change
    assert change.renal_change == renal_change
    assert change.direction is direction
    assert change.later_total - change.baseline_total == total_change


def test_renal_direction_can_differ_from_total() -> None:
    change = change_from_baseline(score_of("arthritis", "rash"), score_of("pyuria"))
    assert change.total_change == -2
    assert change.direction is Direction.IMPROVED
    assert change.renal_change == 4
    assert change.renal_direction is Direction.WORSENED


# ------------------------------------------------------------------ properties


@st.composite
def visits(draw: st.DrawFn) -> list[RecordedItem]:
    chosen = draw(st.lists(st.sampled_from(ITEMS), unique_by=lambda item: item.key))
    recorded = []
    for item in chosen:
        cause = draw(st.none() | st.sampled_from(item.exclusions)) if item.exclusions else None
        recorded.append(RecordedItem(item, cause))
    return draw(st.permutations(recorded))


@given(visits())
def test_total_is_sum_of_scored_weights(visit: list[RecordedItem]) -> None:
    result = score(visit)
    expected = sum(FORM_WEIGHTS[e.item.key] for e in visit if e.attribution is None)
    expected_renal = sum(
        FORM_WEIGHTS[e.item.key] for e in visit if e.attribution is None and e.item.key in RENAL
    )
    assert result.total == expected
    assert result.renal == expected_renal
    assert 0 <= result.renal <= result.total <= 105
    assert result.renal <= 16
    assert len(result.lines) == len(visit)


@given(visits())
def test_parse_round_trips_through_chinese_and_english(visit: list[RecordedItem]) -> None:
    english = [
        e.item.key if e.attribution is None else f"{e.item.key}:{e.attribution.value}"
        for e in visit
    ]
    chinese = [
        e.item.name_zh if e.attribution is None else f"{e.item.name_zh}:{e.attribution.name_zh}"
        for e in visit
    ]
    assert list(parse_items(english)) == visit
    assert list(parse_items(chinese)) == visit
