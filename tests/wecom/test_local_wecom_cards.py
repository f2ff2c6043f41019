"""Button cards on the local WeCom server: api.json's template_card rules, a click's single-use
ResponseCode, and the card's new state after ``update_template_card``."""

from __future__ import annotations

from typing import Any

import pytest

from local_servers.common.control import ControlError
from local_servers.wecom import DEFAULT_AGENT_ID, LocalWecom
from tests.support.wall_clock import FakeClock
from tests.wecom.conftest import DOCTOR, NURSE, SEND, UPDATE, Raw, Receiver, card, errcode

pytestmark = pytest.mark.e2e

TASK = "ae-P01-0001"
CONFIRM = f"ae:confirm:{TASK}"


def update(code: str, userids: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "userids": [NURSE] if userids is None else userids,
        "agentid": DEFAULT_AGENT_ID,
        "response_code": code,
        "button": {"replace_name": "已确认 Confirmed"},
    }
    body.update(changes)
    return body


def response_code(xml: str) -> str:
    return xml.split("<ResponseCode><![CDATA[")[1].split("]]>")[0]


async def test_a_card_is_kept_by_task_id_with_a_response_code(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    answer = await raw.post(SEND, card())
    assert (errcode(answer), answer["invaliduser"]) == (0, "")
    assert isinstance(answer["response_code"], str)
    sent = wecom.cards[TASK]
    assert (sent.recipients, sent.msgid, sent.card["task_id"]) == ([NURSE], answer["msgid"], TASK)
    assert wecom.sent[0].task_id == TASK
    assert wecom.violations == []
    assert wecom.methods.warnings == []


def _without(key: str) -> dict[str, Any]:
    body = card()
    del body["template_card"][key]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (card(card_type="text_notice"), "template_card.card_type"),
        (_without("main_title"), "template_card.main_title"),
        (_without("button_list"), "template_card.button_list"),
        (_without("task_id"), "template_card.task_id"),
        (
            card(button_list=[{"text": str(n), "key": f"k{n}"} for n in range(7)]),
            "template_card.button_list",
        ),
        (card(button_list=[]), "template_card.button_list"),
        (card(button_list=[{"text": "确认"}]), "template_card.button_list[0].key"),
        (card(button_list=[{"text": "打开", "type": 1}]), "template_card.button_list[0].url"),
        (
            card(button_list=[{"text": "a", "key": "same"}, {"text": "b", "key": "same"}]),
            "template_card.button_list[1].key",
        ),
        (card(button_list=[{"text": "a", "key": "k" * 1025}]), "template_card.button_list[0].key"),
        (
            card(button_list=[{"text": "a", "key": "k", "style": 5}]),
            "template_card.button_list[0].style",
        ),
        (
            card(button_list=[{"text": "a", "key": "k", "type": 2}]),
            "template_card.button_list[0].type",
        ),
        (
            card(button_list=[{"text": "a", "key": "k", "colour": "red"}]),
            "template_card.button_list[0].colour",
        ),
        (card(task_id="ae P01"), "template_card.task_id"),
        (card(task_id="t" * 129), "template_card.task_id"),
        (
            card(horizontal_content_list=[{"keyname": str(n)} for n in range(7)]),
            "template_card.horizontal_content_list",
        ),
        (
            card(horizontal_content_list=[{"keyname": "链接", "type": 1}]),
            "template_card.horizontal_content_list[0].url",
        ),
        (
            card(horizontal_content_list=[{"value": "3"}]),
            "template_card.horizontal_content_list[0].keyname",
        ),
        (card(source={"desc": "试验", "desc_color": 4}), "template_card.source.desc_color"),
        (card(main_title="确认"), "template_card.main_title"),
        (card(subtitle="x"), "template_card.subtitle"),
        (
            card(action_menu={"action_list": [{"text": "a", "key": "k"}] * 2}),
            "template_card.action_menu.action_list[1].key",
        ),
        (card(action_menu={"action_list": []}), "template_card.action_menu.action_list"),
    ],
    ids=[
        "not-button-interaction",
        "no-main-title",
        "no-buttons",
        "no-task-id",
        "seven-buttons",
        "empty-buttons",
        "callback-button-without-key",
        "link-button-without-url",
        "keys-not-unique",
        "key-over-1024-bytes",
        "style-5",
        "type-2",
        "unknown-button-field",
        "task-id-characters",
        "task-id-over-128",
        "seven-rows",
        "link-row-without-url",
        "row-without-keyname",
        "desc-color-4",
        "main-title-not-an-object",
        "unknown-card-field",
        "menu-keys-not-unique",
        "empty-menu",
    ],
)
async def test_template_card_refusals(
    wecom: LocalWecom, raw: Raw, receiver: Receiver, body: dict[str, Any], field: str
) -> None:
    assert errcode(await raw.post(SEND, body)) == 40058
    assert [(v.errcode, v.field) for v in wecom.violations] == [(40058, field)]
    assert wecom.cards == {}


async def test_a_task_id_is_used_once(wecom: LocalWecom, raw: Raw, receiver: Receiver) -> None:
    assert errcode(await raw.post(SEND, card())) == 0
    assert errcode(await raw.post(SEND, card())) == 40058
    assert [v.field for v in wecom.violations] == ["template_card.task_id"]


async def test_an_app_without_a_callback_url_cannot_send_button_cards(
    wecom: LocalWecom, raw: Raw
) -> None:
    assert errcode(await raw.post(SEND, card())) == 40058
    assert (wecom.cards, wecom.violations) == ({}, [])


async def test_texts_longer_than_suggested_are_warnings(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    long_button = [{"text": "确认并保存这条不良事件记录", "key": "k"}]
    assert errcode(await raw.post(SEND, card(button_list=long_button))) == 0
    assert wecom.methods.warnings == [
        "template_card.button_list[0].text: 13 characters, api.json suggests at most 10"
    ]


async def test_a_click_gives_a_response_code_that_updates_the_card_once(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    await raw.post(SEND, card())
    push = await wecom.staff.click(NURSE, TASK, key=CONFIRM)
    assert push.acked
    code = response_code(push.xml)
    assert errcode(await raw.post(UPDATE, update(code))) == 0
    state = wecom.cards[TASK].states[NURSE]
    assert (state.replace_name, state.card) == ("已确认 Confirmed", None)
    (change,) = wecom.cards[TASK].updates
    assert (change["from"], change["userids"], change["response_code"]) == ("click", [NURSE], code)
    again = await raw.post(UPDATE, update(code, button={"replace_name": "已取消 Cancelled"}))
    assert errcode(again) == 60140
    assert wecom.cards[TASK].states[NURSE].replace_name == "已确认 Confirmed"
    assert wecom.violations == []
    # Greyed out: the buttons take no more clicks.
    with pytest.raises(ControlError, match="greyed out"):
        await wecom.staff.click(NURSE, TASK, key=CONFIRM)


async def test_a_response_code_expires_after_72_hours(
    wecom: LocalWecom, raw: Raw, receiver: Receiver, clock: FakeClock
) -> None:
    await raw.post(SEND, card())
    code = response_code((await wecom.staff.click(NURSE, TASK, index=1)).xml)
    clock.advance(72 * 3600)
    raw.refresh()
    assert errcode(await raw.post(UPDATE, update(code))) == 60140
    assert NURSE not in wecom.cards[TASK].states
    assert wecom.violations == []


async def test_a_click_may_come_with_an_expired_code(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    await raw.post(SEND, card())
    code = response_code((await wecom.staff.click(NURSE, TASK, key=CONFIRM, expired=True)).xml)
    assert errcode(await raw.post(UPDATE, update(code))) == 60140


async def test_two_clicks_before_the_update_give_two_codes(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    await raw.post(SEND, card())
    first = response_code((await wecom.staff.click(NURSE, TASK, index=0)).xml)
    second = response_code((await wecom.staff.click(NURSE, TASK, index=1)).xml)
    assert first != second
    assert [c["key"] for c in wecom.cards[TASK].clicks] == [CONFIRM, f"ae:cancel:{TASK}"]
    assert errcode(await raw.post(UPDATE, update(first))) == 0
    assert errcode(await raw.post(UPDATE, update(second))) == 0


async def test_the_sends_response_code_also_updates_once(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    code = (await raw.post(SEND, card()))["response_code"]
    assert errcode(await raw.post(UPDATE, update(code, userids=[], atall=1))) == 0
    assert wecom.cards[TASK].updates[0]["from"] == "send"
    assert errcode(await raw.post(UPDATE, update(code, userids=[], atall=1))) == 60140


async def test_an_update_may_replace_the_card(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    await raw.post(SEND, card())
    code = response_code((await wecom.staff.click(NURSE, TASK, key=CONFIRM)).xml)
    new_card = {
        "card_type": "text_notice",
        "main_title": {"title": "已记录 Recorded", "desc": "AE12"},
        "card_action": {"type": 1, "url": "https://example.org/ae/12"},
        "task_id": TASK,
    }
    body = update(code, template_card=new_card)
    del body["button"]
    answer = await raw.post(UPDATE, body | {"userids": [NURSE, DOCTOR]})
    assert (errcode(answer), answer["invaliduser"]) == (0, [DOCTOR])
    assert wecom.cards[TASK].current(NURSE) == new_card
    with pytest.raises(ControlError, match="no such button"):
        await wecom.staff.click(NURSE, TASK, key=CONFIRM)
    assert wecom.violations == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"template_card": {"card_type": "text_notice", "task_id": TASK}}, "button"),
        ({"button": None}, "button"),
        ({"userids": []}, "userids"),
        ({"button": {}}, "button.replace_name"),
        ({"template_card": {"card_type": "poster"}, "button": None}, "template_card.card_type"),
        ({"response_code": None}, "response_code"),
    ],
    ids=[
        "button-and-card",
        "neither",
        "no-recipients",
        "no-replace-name",
        "unknown-card-type",
        "no-code",
    ],
)
async def test_update_refusals(
    wecom: LocalWecom, raw: Raw, receiver: Receiver, changes: dict[str, Any], field: str
) -> None:
    code = (await raw.post(SEND, card()))["response_code"]
    body = {k: v for k, v in (update(code) | changes).items() if v is not None}
    assert errcode(await raw.post(UPDATE, body)) in (40058,)
    assert [v.field for v in wecom.violations] == [field]
    # The code was not spent on a refused update.
    assert errcode(await raw.post(UPDATE, update(code))) == 0


async def test_an_update_from_another_app_is_301002(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    code = (await raw.post(SEND, card()))["response_code"]
    assert errcode(await raw.post(UPDATE, update(code, agentid=1000003))) == 301002


async def test_clicks_on_cards_the_member_never_got_are_refused(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    await raw.post(SEND, card())
    with pytest.raises(ControlError, match="no card with task_id 'ae-P99'"):
        await wecom.staff.click(NURSE, "ae-P99", key=CONFIRM)
    with pytest.raises(ControlError, match=f"not sent to {DOCTOR}"):
        await wecom.staff.click(DOCTOR, TASK, key=CONFIRM)
    with pytest.raises(ControlError, match="no such button"):
        await wecom.staff.click(NURSE, TASK, key="ae:delete")
    wecom.world.member(NURSE).visible = False
    with pytest.raises(ControlError, match="outside the app's visible range"):
        await wecom.staff.click(NURSE, TASK, key=CONFIRM)
    assert wecom.cards[TASK].clicks == []
    assert receiver.xml == []


async def test_a_link_button_sends_nothing_back(
    wecom: LocalWecom, raw: Raw, receiver: Receiver
) -> None:
    links = [{"text": "打开", "type": 1, "url": "https://example.org/ae"}]
    await raw.post(SEND, card(button_list=links))
    with pytest.raises(ControlError, match="link button"):
        await wecom.staff.click(NURSE, TASK, index=0)
