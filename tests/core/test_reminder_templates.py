"""The protocol file's [wechat] table: a template WeChat would refuse stops the bot at start-up,
naming the key; a good one fills each field for a reminder in the patient's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from core.protocol import BUNDLED_PROTOCOL, Protocol, ProtocolError, parse_protocol
from core.reminder_templates import Placeholder, ReminderKind
from core.schedule import REMINDER_KINDS, Slot
from core.template_fields import check_template_data
from core.vocabulary import Language

BUNDLED = BUNDLED_PROTOCOL.read_text(encoding="utf-8")
INFUSION_FIELDS = (
    'fields = { character_string1 = "{study_id}", thing2 = "{event}", time3 = "{time}", '
    'thing4 = "{note}" }'
)
INFUSION = f'template_id = "REPLACE_with_the_sites_infusion_template"\n{INFUSION_FIELDS}'
FILLED = {
    Placeholder.STUDY_ID: "P05",
    Placeholder.EVENT: "Infusion 3",
    Placeholder.TIME: "2026年12月15日 09:00",
    Placeholder.NOTE: "Tap for details",
}


def _with_infusion_fields(fields: str) -> str:
    assert INFUSION in BUNDLED
    return BUNDLED.replace(INFUSION_FIELDS, f"fields = {{ {fields} }}", 1)


def test_every_slot_has_a_kind_and_the_bundled_file_a_template_for_each(
    protocol: Protocol,
) -> None:
    assert set(REMINDER_KINDS) == set(Slot)
    assert set(protocol.wechat.templates) == set(ReminderKind)
    for kind in ReminderKind:
        template = protocol.wechat.template(kind)
        assert template.template_id.startswith("REPLACE_")  # the site's own before go-live
        assert set(template.placeholders().values()) == set(Placeholder)
        check_template_data(template.values(FILLED, Language.EN))


def test_fixed_text_is_the_same_in_both_languages_or_given_in_each() -> None:
    text = _with_infusion_fields(
        'character_string1 = "{study_id}", thing2 = "{event}", time3 = "{time}", '
        'thing4 = "{note}", thing5 = { en = "Infusion unit", zh_Hans = "输注中心" }, '
        'phrase6 = "请准时"'
    )
    template = parse_protocol(text).wechat.template(ReminderKind.INFUSION)
    english = template.values(FILLED, Language.EN)
    chinese = template.values(FILLED, Language.ZH_HANS)
    assert english == {
        "character_string1": "P05",
        "thing2": "Infusion 3",
        "time3": "2026年12月15日 09:00",
        "thing4": "Tap for details",
        "thing5": "Infusion unit",
        "phrase6": "请准时",
    }
    assert chinese["thing5"] == "输注中心"
    assert chinese["phrase6"] == "请准时"


# A field list with all four placeholders, to which one more field is added.
ALL = 'character_string1 = "{study_id}", thing2 = "{event}", time3 = "{time}", thing4 = "{note}"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            BUNDLED.replace("[wechat.templates.visit]", "[wechat.templates.visits]"),
            ["wechat.templates.visits", "'infusion', 'urine_instructions'"],
            id="unknown kind",
        ),
        pytest.param(
            BUNDLED[: BUNDLED.index("[wechat.templates.medication]")],
            ["  - wechat: templates: no template for medication"],
            id="a kind without a template",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, keyword5 = "Infusion unit"'),
            [
                "wechat.templates.infusion: fields.keyword5: the key names no template field type",
                "type one of amount, car_number, character_string",
            ],
            id="unknown field type",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, thing5 = "Please come to the infusion unit early"'),
            [
                "wechat.templates.infusion: fields.thing5: 'Please come to the infusion unit "
                "early' is more than 20 characters for a thing field"
            ],
            id="fixed text over a thing's 20 characters",
        ),
        pytest.param(
            _with_infusion_fields(
                f'{ALL}, thing5 = {{ en = "Infusion unit", '
                'zh_Hans = "请提前到达输注中心并带好您正在服用的全部药物" }'
            ),
            [
                "fields.thing5: '请提前到达输注中心并带好您正在服用的全部药物' (zh_Hans) is more than 20"
            ],
            id="fixed Chinese text over the limit",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, phrase5 = "Now"'),
            ["fields.phrase5: 'Now' is not Chinese characters only for a phrase field"],
            id="fixed text its type does not allow",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, thing5 = {{ en = "Infusion unit" }}'),
            ["fields.thing5: fixed text is given in zh_Hans and en, or once for both"],
            id="fixed text in one language only",
        ),
        pytest.param(
            _with_infusion_fields(
                'character_string1 = "{study_id}", thing2 = "{event}", thing3 = "{time}", '
                'thing4 = "{note}"'
            ),
            ["fields.thing3: {time} does not fit a thing field (it goes in date or time)"],
            id="a placeholder in a field it does not fit",
        ),
        pytest.param(
            _with_infusion_fields(
                'thing1 = "{study_id}", character_string2 = "{event}", time3 = "{time}", '
                'thing4 = "{note}"'
            ),
            ["fields.character_string2: {event} does not fit a character_string field"],
            id="the event in a field without Chinese",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, thing5 = "{{drug}}"'),
            ["fields.thing5: unknown placeholder {drug}; the placeholders are {study_id}"],
            id="unknown placeholder",
        ),
        pytest.param(
            _with_infusion_fields(f'{ALL}, thing5 = "At {{time}}"'),
            ["fields.thing5: 'At {time}': a value is one placeholder or fixed text, not both"],
            id="placeholder inside text",
        ),
        pytest.param(
            _with_infusion_fields(
                'character_string1 = "{study_id}", thing2 = "{event}", time3 = "{time}"'
            ),
            ["wechat.templates.infusion: fields: {note} missing"],
            id="a placeholder left out",
        ),
        pytest.param(
            BUNDLED.replace(
                '"REPLACE_with_the_sites_infusion_template"', '"the infusion template"', 1
            ),
            ["wechat.templates.infusion.template_id", "'the infusion template'"],
            id="template id",
        ),
    ],
)
def test_a_wrong_wechat_table_names_the_key(text: str, expected: list[str]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "site.toml")
    message = str(caught.value)
    assert message.startswith("site.toml: the protocol file is not valid")
    for part in expected:
        assert part in message


def test_the_bot_does_not_start_with_a_wrong_wechat_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(_with_infusion_fields(f'{ALL}, keyword5 = "x"'), encoding="utf-8")
    monkeypatch.setenv("PROTOCOL_FILE", str(site))
    with pytest.raises(ProtocolError, match=r"wechat\.templates\.infusion: fields\.keyword5"):
        Settings().protocol()
