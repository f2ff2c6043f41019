"""The CTCAE term list, the nearest terms suggested, and the relatedness scale, end to end over
HTTP in both languages.

- The adverse events of this trial code from their English or Chinese names and synonyms
  (气促 -> Dyspnea, 败血症 -> Sepsis), graded on the term's own CTCAE v5.0 grades; a grade
  the term does not have is refused, naming the grades it has.
- A term not on the list but near listed terms asks "did you mean ...?" with up to three
  terms and "Store as typed (uncoded)" as buttons, before anything can be confirmed.
- Relatedness is one five-level scale in both languages, stored as the level typed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.store.models import (
    ActionStatus,
    AdverseEvent,
    PatientReport,
    PendingAction,
    TriageStatus,
)
from local_servers.telegram.server import SentMessage
from tests.support.bot_harness import World
from tests.support.clinical_world import (
    NOW,
    assert_refusals,
    button_labels,
    confirm,
    member,
    rows,
    team,
)
from tests.support.status_seed import open_report

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
CONFIRM_CANCEL = {"en": ["Confirm", "Cancel"], "zh": ["确认", "取消"]}

TEXT = {
    "en": {
        "header": "Adverse event for P01:",
        "invalid": "This button is no longer valid.",
        "recorded": "Adverse event AE1 is recorded for P01.",
        "typed": "Store as typed (uncoded)",
        "question_lt": "Was this event life-threatening (serious)?",
        "life_threatening": "Serious: life-threatening.",
    },
    "zh": {
        "header": "P01 的不良事件：",
        "invalid": "此按钮已失效。",
        "recorded": "已为 P01 记录不良事件 AE1。",
        "typed": "按原文保存（未编码）",
        "question_lt": "该事件是否危及生命（严重）？",
        "life_threatening": "严重：危及生命。",
    },
}


async def settled(world: World, user: int) -> None:
    """Wait until the bot has handled everything ``user`` sent (updates run in order)."""
    await world.say(user, "/help")


async def press_button(world: World, user: int, message: SentMessage, label: str) -> None:
    await world.api.user_presses(user, message.message_id, message.data_for(label))


# --- the term list ----------------------------------------------------------------------

CODED = {
    "en": [
        (
            "/ae P01 shortness of breath G2",
            "dyspnea",
            'Term: Dyspnea (CTCAE v5.0), matched from "shortness of breath".',
            "Grade 2: Shortness of breath with minimal exertion; limiting instrumental ADL",
        ),
        (
            "/ae P01 sepsis G3 serious=hospitalization",
            "sepsis",
            "Term: Sepsis (CTCAE v5.0).",
            "Grade 3: Blood culture positive with signs or symptoms; treatment indicated",
        ),
        (
            "/ae P01 hair loss G2",
            "alopecia",
            'Term: Alopecia (CTCAE v5.0), matched from "hair loss".',
            "Grade 2: Hair loss of >=50% normal for that individual that is readily apparent",
        ),
        (
            "/ae P01 CMV infection G2",
            "cytomegalovirus_infection_reactivation",
            "Term: Cytomegalovirus infection reactivation (CTCAE v5.0), matched from "
            '"CMV infection".',
            # Unverified term wording: the general grade definition.
            "Grade 2: Moderate; minimal, local or noninvasive intervention indicated;",
        ),
    ],
    "zh": [
        (
            "/ae P01 气促 G2",
            "dyspnea",
            "名称：呼吸困难（CTCAE v5.0），由“气促”匹配。",
            "2 级：轻微活动即气促；工具性日常生活活动受限",
        ),
        (
            "/ae P01 败血症 G3 serious=住院",
            "sepsis",
            "名称：脓毒症（CTCAE v5.0），由“败血症”匹配。",
            "3 级：血培养阳性且有症状或体征；需要治疗",
        ),
        (
            "/ae P01 掉头发 G2",
            "alopecia",
            "名称：脱发（CTCAE v5.0），由“掉头发”匹配。",
            "2 级：脱发量≥本人正常发量的50%，他人容易看出",
        ),
        (
            "/ae P01 谷丙转氨酶升高 G3",
            "alanine_aminotransferase_increased",
            "名称：丙氨酸氨基转移酶升高（CTCAE v5.0），由“谷丙转氨酶升高”匹配。",
            "3 级：基线正常者>5.0至20.0倍ULN；基线异常者>5.0至20.0倍基线值",
        ),
    ],
}


@LANGS
async def test_the_trials_adverse_events_code_from_either_language(world: World, lang: str) -> None:
    world.enroll("P01")
    await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    for typed, key, term_line, grade_line in CODED[lang]:
        summary = await world.say(nurse, typed)
        lines = summary.shown.splitlines()
        assert term_line in lines, summary.shown
        assert any(line.startswith(grade_line) for line in lines), summary.shown
        assert button_labels(summary) == CONFIRM_CANCEL[lang]
        await confirm(world, nurse, summary)
        event = rows(world, AdverseEvent)[-1]
        assert (event.term, event.coded) == (key, True)
        if "serious=" in typed:
            await world.reply(nurse)  # coordinators alerted
    assert len(rows(world, AdverseEvent)) == len(CODED[lang])


async def test_a_grade_the_term_does_not_have_is_refused_naming_its_grades(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    await assert_refusals(
        world,
        [
            (
                "/ae P01 alopecia G3",
                "en",
                "Alopecia has no grade 3; CTCAE v5.0 grades it 1-2 only.",
            ),
            ("/ae P01 脱发 G3", "zh", "CTCAE v5.0 中 Alopecia 没有 3 级；该术语仅分 1-2 级。"),
            ("/ae P01 sepsis G2", "en", "Sepsis has no grade 2; CTCAE v5.0 grades it 3-5 only."),
            ("/ae P01 脓毒症 G1", "zh", "CTCAE v5.0 中 Sepsis 没有 1 级；该术语仅分 3-5 级。"),
            (
                "/ae P01 suicidal thoughts G5",
                "en",
                "Suicidal ideation has no grade 5; CTCAE v5.0 grades it 1-4 only.",
            ),
            ("/ae P01 乏力 G4", "zh", "CTCAE v5.0 中 Fatigue 没有 4 级；该术语仅分 1-3 级。"),
        ],
    )


# --- the nearest terms suggested -----------------------------------------------------------

SUGGESTED = {
    "en": (
        "lung infectoin",
        "/ae P01 lung infectoin G3 serious=hospitalization",
        '"lung infectoin" is not on the CTCAE term list. Did you mean Lung infection, Urinary '
        "tract infection, or Cytomegalovirus infection reactivation? Press a term to code the "
        "event with it, or store it as typed (uncoded).",
        [
            "Lung infection",
            "Urinary tract infection",
            "Cytomegalovirus infection reactivation",
            "Store as typed (uncoded)",
        ],
        "Lung infection",
        'Term: Lung infection (CTCAE v5.0), chosen for "lung infectoin".',
    ),
    "zh": (
        "肺部感冒",
        "/ae P01 肺部感冒 G3 serious=住院",
        "“肺部感冒”不在 CTCAE 术语表中。您要找的是否为肺部感染或上呼吸道感染？点击术语即按该术语编码，"
        "也可按原文保存（未编码）。",
        ["肺部感染", "上呼吸道感染", "按原文保存（未编码）"],
        "肺部感染",
        "名称：肺部感染（CTCAE v5.0），根据“肺部感冒”选定。",
    ),
}


@LANGS
async def test_a_term_near_the_list_asks_did_you_mean_and_codes_the_one_pressed(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    coordinators = await team(world)
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    verbatim, typed, question_text, labels, choice, term_line = SUGGESTED[lang]

    question = await world.say(nurse, typed)
    assert question.shown.splitlines() == [TEXT[lang]["header"], question_text]
    assert button_labels(question) == labels
    assert rows(world, AdverseEvent) == []

    await press_button(world, nurse, question, choice)
    summary = await world.reply(nurse)
    assert term_line in summary.shown.splitlines()
    assert button_labels(summary) == CONFIRM_CANCEL[lang]
    assert world.api.message(nurse, question.message_id).buttons() == []
    assert rows(world, AdverseEvent) == []  # still nothing before Confirm

    assert (await confirm(world, nurse, summary)).shown == TEXT[lang]["recorded"]
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.coded, event.verbatim, event.grade, event.hospitalization) == (
        "lung_infection",
        True,
        verbatim,
        3,
        True,
    )
    alert = await world.reply(coordinators.coordinator_en)
    assert "SERIOUS ADVERSE EVENT AE1, patient P01: Lung infection, grade 3." in alert.shown


UNCODED_LINE = {
    "en": 'Term: "feverr" is not on the CTCAE term list: it is kept as typed and marked uncoded.',
    "zh": "名称：“feverr”不在 CTCAE 术语表中：按原文保存，并标记为未编码。",
}
FEVER = {"en": "Fever", "zh": "发热"}


@LANGS
async def test_store_as_typed_keeps_the_words_uncoded(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    question = await world.say(nurse, "/ae P01 feverr G2")
    assert button_labels(question) == [FEVER[lang], TEXT[lang]["typed"]]

    await press_button(world, nurse, question, TEXT[lang]["typed"])
    summary = await world.reply(nurse)
    assert UNCODED_LINE[lang] in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.coded, event.verbatim) == (None, False, "feverr")


@LANGS
async def test_text_near_no_term_is_proposed_uncoded_at_once(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    summary = await world.say(nurse, "/ae P01 funny feeling in toes G2")
    assert button_labels(summary) == CONFIRM_CANCEL[lang]


REFUSED_CHOICE = {
    "en": "Nothing was stored: Lung infection has no grade 1; CTCAE v5.0 grades it 2-5 only.",
    "zh": "未保存任何内容：CTCAE v5.0 中 Lung infection 没有 1 级；该术语仅分 2-5 级。",
}


@LANGS
async def test_a_chosen_term_without_the_grade_typed_is_refused_and_an_old_press_does_nothing(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    question = await world.say(nurse, "/ae P01 lung infectoin G1")
    term = question.data_for("Lung infection" if lang == "en" else "肺部感染")
    typed = question.data_for(TEXT[lang]["typed"])
    # Both pressed before the buttons went: the first one counts, once.
    await world.api.user_presses(nurse, question.message_id, term)
    await world.api.user_presses(nurse, question.message_id, typed)
    refused = await world.reply(nurse)
    assert refused.shown == REFUSED_CHOICE[lang]
    assert refused.buttons() == []
    await settled(world, nurse)
    assert world.api.callback_answers[-1].text == TEXT[lang]["invalid"]
    assert rows(world, AdverseEvent) == []
    (asked,) = rows(world, PendingAction)
    assert asked.status == ActionStatus.CONFIRMED  # answered once

    # Nor does an answer after the question expired.
    late = await world.say(nurse, "/ae P01 lung infectoin G2")
    world.clock.advance(timedelta(hours=3))
    await press_button(world, nurse, late, TEXT[lang]["typed"])
    await settled(world, nurse)
    assert world.api.callback_answers[-1].text == TEXT[lang]["invalid"]
    assert rows(world, PendingAction)[-1].status == ActionStatus.EXPIRED
    assert rows(world, AdverseEvent) == []


@LANGS
async def test_a_chosen_term_at_grade_4_is_then_asked_whether_life_threatening(
    world: World, lang: str
) -> None:
    world.enroll("P01")
    nurse = await member(world, "investigator", lang)
    world.clock.set(NOW)
    question = await world.say(nurse, "/ae P01 lung infectoin G4")
    await press_button(world, nurse, question, "Lung infection" if lang == "en" else "肺部感染")
    asked = await world.reply(nurse)
    assert TEXT[lang]["question_lt"] in asked.shown
    data = next(d for d in asked.callback_data() if d.endswith(":yes"))
    await world.api.user_presses(nurse, asked.message_id, data)
    summary = await world.reply(nurse)
    assert TEXT[lang]["life_threatening"] in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.grade, event.life_threatening) == ("lung_infection", 4, True)


TRIAGE_CHOSEN = {
    "en": ("Headache", 'Term: Headache (CTCAE v5.0), chosen for "headach".'),
    "zh": ("头痛", "名称：头痛（CTCAE v5.0），根据“headach”选定。"),
}


@LANGS
async def test_triage_suggests_the_nearest_terms_too(world: World, lang: str) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01", created=NOW - timedelta(hours=1))
    nurse = await member(world, "nurse", lang)
    question = await world.say(nurse, f"/triage R{number} ae G2 headach")
    label, term_line = TRIAGE_CHOSEN[lang]
    assert button_labels(question) == [label, TEXT[lang]["typed"]]
    await press_button(world, nurse, question, label)
    summary = await world.reply(nurse)
    assert term_line in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    (event,) = rows(world, AdverseEvent)
    assert (event.term, event.verbatim) == ("headache", "headach")
    (report,) = rows(world, PatientReport)
    assert (report.triage_status, report.linked_ae_id) == (TriageStatus.CONVERTED, event.id)


# --- relatedness ----------------------------------------------------------------------------

RELATED = {
    "en": [
        ("related=probable", "Relatedness to the study treatment: probably related.", "probable"),
        ("related=unlikely", "Relatedness to the study treatment: unlikely related.", "unlikely"),
        ("related=definite", "Relatedness to the study treatment: definitely related.", "definite"),
    ],
    "zh": [
        ("相关性=很可能", "与研究治疗的相关性：很可能相关。", "probable"),
        ("相关性=不太可能", "与研究治疗的相关性：不太可能相关。", "unlikely"),
        ("相关性=无关", "与研究治疗的相关性：无关。", "unrelated"),
    ],
}


@LANGS
async def test_relatedness_is_one_scale_stored_as_typed(world: World, lang: str) -> None:
    world.enroll("P01")
    nurse = await member(world, "nurse", lang)
    world.clock.set(NOW)
    term = "headache" if lang == "en" else "头痛"
    for option, line, stored in RELATED[lang]:
        summary = await world.say(nurse, f"/ae P01 {term} G1 {option}")
        assert line in summary.shown.splitlines()
        await confirm(world, nurse, summary)
        assert rows(world, AdverseEvent)[-1].relatedness == stored


RELATED_TRIAGE = {
    "en": ("related=possible", "Relatedness to the study treatment: possibly related."),
    "zh": ("相关性=可能", "与研究治疗的相关性：可能相关。"),
}


@LANGS
async def test_triage_reads_relatedness_on_the_same_scale(world: World, lang: str) -> None:
    world.clock.set(NOW)
    world.enroll("P01")
    number = open_report(world, "P01")
    nurse = await member(world, "nurse", lang)
    option, line = RELATED_TRIAGE[lang]
    summary = await world.say(nurse, f"/triage R{number} ae G2 headache {option}")
    assert line in summary.shown.splitlines()
    await confirm(world, nurse, summary)
    assert rows(world, AdverseEvent)[-1].relatedness == "possible"


async def test_a_word_not_on_the_scale_is_refused_with_the_scale(world: World) -> None:
    world.enroll("P01")
    world.clock.set(NOW)
    scale = "unrelated/无关, unlikely/不太可能, possible/可能, probable/很可能, definite/肯定"
    await assert_refusals(
        world,
        [
            (
                "/ae P01 headache G1 related=yes",
                "en",
                f'"yes" is not a relatedness. Use one of: {scale}.',
            ),
            (
                "/ae P01 头痛 G1 相关性=相关",
                "zh",
                f"“相关”不是相关性判断。请使用以下之一：{scale}。",
            ),
            (
                "/ae P01 headache G1 related=related",
                "en",
                f'"related" is not a relatedness. Use one of: {scale}.',
            ),
        ],
    )
