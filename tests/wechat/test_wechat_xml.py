"""WeChat's pushes read into typed values, with the samples of docs/wechat-oa/callbacks.md §5."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.channels.wechat.xml import (
    ClickEvent,
    DeliveryStatus,
    ImageMessage,
    MalformedXml,
    ScanEvent,
    SubscribeEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnsubscribeEvent,
    UnsupportedPush,
    ViewEvent,
    XmlRefused,
    parse_envelope,
    parse_push,
    read_fields,
    text_reply,
)

CALLBACKS = Path(__file__).resolve().parents[2] / "docs" / "wechat-oa" / "callbacks.md"
SAMPLES = re.findall(r"```xml\n(.*?)```", CALLBACKS.read_text(encoding="utf-8"), flags=re.DOTALL)


def sample(*needles: str) -> str:
    """The one XML sample of callbacks.md that contains every needle."""
    (found,) = [s for s in SAMPLES if all(n in s for n in needles)]
    return str(found)


def test_every_sample_in_callbacks_md_is_read() -> None:
    assert len(SAMPLES) == 8
    for xml in SAMPLES:
        assert not isinstance(parse_push(xml), UnsupportedPush)


def test_a_text_message() -> None:
    push = parse_push(sample("this is a test"))
    assert push == TextMessage(
        "toUser", "fromUser", 1348831860, "this is a test", 1234567890123456, None
    )
    assert push.dedupe_key == "msg:1234567890123456"


def test_a_menu_option_tap_carries_its_option_id() -> None:
    push = parse_push(sample("bizmsgmenuid"))
    assert isinstance(push, TextMessage)
    assert (push.content, push.menu_option_id) == ("满意", 101)


@pytest.mark.parametrize("element", ["<bizmsgmenuid>0</bizmsgmenuid>", ""])
def test_a_menu_option_id_of_0_or_none_is_no_id(element: str) -> None:
    xml = sample("bizmsgmenuid").replace("<bizmsgmenuid>101</bizmsgmenuid>", element)
    push = parse_push(xml)
    assert isinstance(push, TextMessage) and push.menu_option_id is None


def test_a_tap_without_msgid_is_deduplicated_by_sender_and_time() -> None:
    xml = sample("bizmsgmenuid").replace("<MsgId>1234567890123456</MsgId>", "")
    push = parse_push(xml)
    assert isinstance(push, TextMessage) and push.msg_id is None
    assert push.dedupe_key == "event:FromUser:1500000000"


def test_message_ids_beyond_float_precision_stay_exact() -> None:
    big = 2**63 - 1
    push = parse_push(sample("this is a test").replace("1234567890123456", str(big)))
    assert isinstance(push, TextMessage)
    assert push.msg_id == big and isinstance(push.msg_id, int)
    assert float(big) != big


def test_an_image_message() -> None:
    xml = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>"
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[media_1]]></MediaId>"
        "<MsgId>1234567890123456</MsgId></xml>"
    )
    assert parse_push(xml) == ImageMessage(
        "gh_1", "o1", 1348831860, "http://mmbiz.qpic.cn/x", "media_1", 1234567890123456
    )


def test_a_plain_follow_has_no_scene() -> None:
    push = parse_push(sample("subscribe]]", "</Event>\n</xml>"))
    assert push == SubscribeEvent("toUser", "FromUser", 123456789, None, None)
    assert push.dedupe_key == "event:FromUser:123456789"


def test_a_follow_with_an_empty_event_key_has_no_scene() -> None:
    xml = sample("subscribe]]", "</Event>\n</xml>").replace(
        "</Event>", "</Event><EventKey><![CDATA[]]></EventKey>"
    )
    assert parse_push(xml) == SubscribeEvent("toUser", "FromUser", 123456789, None, None)


def test_a_follow_through_a_qr_code_has_its_scene_without_the_prefix() -> None:
    push = parse_push(sample("qrscene_123123"))
    assert push == SubscribeEvent("toUser", "FromUser", 123456789, "123123", "TICKET")


def test_a_followers_scan_has_the_bare_scene() -> None:
    push = parse_push(sample("SCAN"))
    assert push == ScanEvent("toUser", "FromUser", 123456789, "SCENE_VALUE", "TICKET")


def test_an_unfollow() -> None:
    xml = sample("subscribe]]", "</Event>\n</xml>").replace("subscribe", "unsubscribe")
    assert parse_push(xml) == UnsubscribeEvent("toUser", "FromUser", 123456789)


def test_a_menu_click_and_a_menu_link() -> None:
    assert parse_push(sample("CLICK")) == ClickEvent("toUser", "FromUser", 123456789, "EVENTKEY")
    assert parse_push(sample("VIEW")) == ViewEvent(
        "toUser", "FromUser", 123456789, "www.qq.com", "MENUID"
    )


@pytest.mark.parametrize(
    ("status", "expected", "delivered"),
    [
        ("success", DeliveryStatus.SUCCESS, True),
        ("failed:user block", DeliveryStatus.USER_BLOCK, False),
        ("failed: user block", DeliveryStatus.USER_BLOCK, False),
        ("failed: system failed", DeliveryStatus.SYSTEM_FAILED, False),
        ("failed:freq limit", DeliveryStatus.OTHER_FAILURE, False),
    ],
)
def test_a_template_receipt_and_its_status(
    status: str, expected: DeliveryStatus, delivered: bool
) -> None:
    xml = sample("TEMPLATESENDJOBFINISH").replace("[success]", f"[{status}]")
    push = parse_push(xml)
    assert push == TemplateSendJobFinishEvent(
        "gh_7f083739789a", "oia2TjuEGTNoeX76QEjQNrcURxG8", 1395658920, 200163836, expected, status
    )
    assert push.status.delivered is delivered


def test_other_messages_and_events_are_unsupported_not_errors() -> None:
    voice = sample("this is a test").replace("[text]", "[voice]")
    assert parse_push(voice) == UnsupportedPush("toUser", "fromUser", 1348831860, "voice", None)
    location = sample("CLICK").replace("CLICK", "LOCATION")
    push = parse_push(location)
    assert isinstance(push, UnsupportedPush) and push.event == "LOCATION"


def test_the_safe_mode_envelope() -> None:
    envelope = parse_envelope(
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt>"
        "<AgentID>1</AgentID></xml>"
    )
    assert (envelope.to_user, envelope.encrypt) == ("gh_1", "abc=")
    with pytest.raises(MalformedXml):
        parse_envelope("<xml><ToUserName>gh_1</ToUserName></xml>")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<xml><Content>&lol2;</Content></xml>"
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><Content>&x;</Content></xml>"
)


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, "<!DOCTYPE xml><xml></xml>"])
def test_a_document_type_declaration_is_refused(xml: str) -> None:
    with pytest.raises(XmlRefused):
        parse_push(xml)
    with pytest.raises(XmlRefused):
        parse_envelope(xml.encode())


def test_text_that_only_looks_like_a_declaration_is_read() -> None:
    xml = sample("this is a test").replace("this is a test", "<!DOCTYPE x> &amp; ]]")
    push = parse_push(xml)
    assert isinstance(push, TextMessage) and push.content == "<!DOCTYPE x> &amp; ]]"


@pytest.mark.parametrize(
    "xml",
    [
        "not xml",
        "<root><a>1</a></root>",
        "<xml><Content>&undeclared;</Content></xml>",
        b"<xml><Content>\xff</Content></xml>",
        "<xml><FromUserName>a</FromUserName><FromUserName>b</FromUserName></xml>",
    ],
)
def test_what_is_not_a_flat_xml_document_is_refused(xml: str | bytes) -> None:
    with pytest.raises(MalformedXml):
        read_fields(xml)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<CreateTime>1348831860</CreateTime>", "<CreateTime>1.3e9</CreateTime>"),
        ("<CreateTime>1348831860</CreateTime>", ""),
        ("<MsgId>1234567890123456</MsgId>", "<MsgId>1.2e15</MsgId>"),
        ("<FromUserName><![CDATA[fromUser]]></FromUserName>", ""),
    ],
)
def test_a_push_missing_a_field_or_with_a_non_integer_id_is_refused(old: str, new: str) -> None:
    with pytest.raises(MalformedXml):
        parse_push(sample("this is a test").replace(old, new))


def test_a_scan_without_its_scene_is_refused() -> None:
    with pytest.raises(MalformedXml):
        parse_push(sample("SCAN").replace("SCENE_VALUE", ""))


def test_the_passive_reply_goes_back_to_the_sender_from_the_account() -> None:
    push = parse_push(sample("this is a test"))
    reply = text_reply(push, "收到 ]]> <b>", 1348831861)
    root = ET.fromstring(reply)
    assert {child.tag: child.text for child in root} == {
        "ToUserName": "fromUser",
        "FromUserName": "toUser",
        "CreateTime": "1348831861",
        "MsgType": "text",
        "Content": "收到 ]]> <b>",
    }
