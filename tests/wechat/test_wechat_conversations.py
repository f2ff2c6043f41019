"""A patient's conversations on WeChat, end to end over HTTP through the local WeChat server:
free text offered as a report (Yes files it), the menu's three buttons, the calendar as a
link, unfollowing (unreachable, coordinators told once) and following again.
"""

from __future__ import annotations

import aiohttp
import pytest
from sqlmodel import select

from bot.channels.wechat.menu import MENU_COMMANDS
from core.store.db import read_session
from core.store.models import InviteRole, PatientReport
from tests.support.wechat_world import WechatWorld, labels, shown

LANGS = pytest.mark.parametrize("lang", ["en", "zh"])
TG_LANGUAGE = {"en": "en", "zh": "zh-hans"}
YES = {"en": "Yes", "zh": "是"}
OFFER = {"en": "Send this to the study team?", "zh": "要将此内容发送给研究团队吗？"}
SENT = {
    "en": "Thank you. Your report number {number} has been sent to the study team.",
    "zh": "谢谢。您的报告（编号 {number}）已发送给研究团队。",
}
NEXT_EVENTS = {"en": "Your next study events:", "zh": "您接下来的研究安排："}
RED_FLAG = {"en": "Is any of these happening now?", "zh": "您现在是否正在出现以下任何一种情况？"}
CONTACTS = {
    "en": [
        "Your study team:",
        "Research nurse: +86-25-0000-0001",
        "Investigator on call: +86-25-0000-0002",
        "This bot is not an emergency service: in an emergency call 120 or go to the nearest "
        "emergency department.",
    ],
    "zh": [
        "您的研究团队：",
        "研究护士：+86-25-0000-0001",
        "值班研究医生：+86-25-0000-0002",
        "本机器人不是急救服务：紧急情况请拨打 120 或前往最近的急诊科。",
    ],
}
UNFOLLOWED = {
    "en": "Patient P05 has unfollowed or blocked the study's WeChat account, so reminders "
    "cannot reach them and are stopped, but for one a day to notice when they are back. "
    "Please contact the patient another way.",
    "zh": "受试者 P05 已取消关注或屏蔽本研究的微信公众号，提醒无法送达，已停止发送，"
    "但每天仍试发一条，以便发现其恢复接收。请通过其他方式联系该受试者。",
}
WELCOME_BACK = {
    "en": "Welcome back. /help lists what you can do.",
    "zh": "欢迎回来。/help 列出您可以做的事。",
}


def reports(wx: WechatWorld) -> list[PatientReport]:
    with read_session(wx.services.engine) as session:
        return list(session.exec(select(PatientReport)))


@LANGS
async def test_free_text_is_offered_as_a_report_and_yes_files_it(
    wx: WechatWorld, lang: str
) -> None:
    world = wx.tg
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    world.enroll("P05")
    openid = await wx.join("P05", lang)

    offer = await wx.write(openid, "I have had a headache since yesterday")
    assert len(offer) == 1 and shown(offer[0]).startswith(OFFER[lang])
    assert labels(offer[0]) == [YES[lang], "No" if lang == "en" else "否"]
    assert reports(wx) == []

    thanks = await wx.choose(openid, YES[lang])
    (report,) = reports(wx)
    assert report.free_text == "I have had a headache since yesterday"
    assert shown(thanks[0]).startswith(SENT[lang].format(number=report.id))
    alert = await world.reply(coordinator)
    assert "P05" in alert.shown and "I have had a headache since yesterday" in alert.shown


@pytest.mark.parametrize("fault", ["zero", "omit"])
async def test_a_tap_that_loses_its_option_id_is_found_by_its_label(
    wx: WechatWorld, fault: str
) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    await wx.write(openid, "My ankles are swollen")
    wx.wechat.patients.menu_option_fault = fault
    thanks = await wx.choose(openid, "Yes")
    (report,) = reports(wx)
    assert shown(thanks[0]).startswith(SENT["en"].format(number=report.id))


@LANGS
async def test_each_menu_button_does_what_its_command_does(wx: WechatWorld, lang: str) -> None:
    # Created at start, in the site's language: three click buttons, one per key.
    assert [(b["type"], b["key"], b["name"]) for b in wx.wechat.world.menu] == [
        ("click", "schedule", "我的日程"),
        ("click", "report", "报告症状"),
        ("click", "contacts", "联系团队"),
    ]
    assert set(MENU_COMMANDS) == {b["key"] for b in wx.wechat.world.menu}
    wx.tg.enroll("P05")
    openid = await wx.join("P05", lang)

    schedule = await wx.click(openid, "schedule")
    assert shown(schedule[0]).startswith(NEXT_EVENTS[lang])
    report = await wx.click(openid, "report")
    assert shown(report[0]).startswith(RED_FLAG[lang]) and len(labels(report[0])) == 5
    contacts = await wx.click(openid, "contacts")
    assert shown(contacts[0]).split("\n") == CONTACTS[lang]


async def test_the_calendar_comes_as_a_link_to_the_file(wx: WechatWorld) -> None:
    wx.tg.enroll("P05")
    openid = await wx.join("P05")
    (message,) = await wx.write(openid, "/calendar")
    caption, link = shown(message).rsplit("\n", 1)
    assert caption.startswith("Your study calendar.")
    assert link.startswith(f"{wx.settings.public_base_url}/wechat/files/")
    async with aiohttp.ClientSession() as http, http.get(link) as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        assert (await response.text()).startswith("BEGIN:VCALENDAR")
        async with http.get(link + "x") as renamed:  # the name is only for the phone
            assert renamed.status == 200
        async with http.get(link.replace("/wechat/files/", "/wechat/files/x")) as forged:
            assert forged.status == 404


@LANGS
async def test_unfollowing_makes_the_patient_unreachable_and_coordinators_are_told_once(
    wx: WechatWorld, lang: str
) -> None:
    world = wx.tg
    coordinator = await world.join_staff(InviteRole.COORDINATOR, TG_LANGUAGE[lang])
    world.enroll("P05")
    openid = await wx.join("P05", lang)

    left = await wx.wechat.patients.unfollow(openid)
    await wx.settled()
    assert world.patient("P05").unreachable_since == world.clock.now()
    alert = await world.reply(coordinator)
    assert alert.shown == UNFOLLOWED[lang]
    # WeChat delivers the same push again: nothing more happens.
    await wx.wechat.pusher.push(left.kind, openid, left.xml)
    await wx.settled()
    help_text = await world.say(coordinator, "/help")
    assert help_text.shown.startswith("What you can do:" if lang == "en" else "您可以：")

    # Following again: reachable again, and welcomed back.
    back = await wx.act(openid, wx.wechat.patients.follow(openid))
    assert [shown(m) for m in back] == [WELCOME_BACK[lang]]
    assert world.patient("P05").unreachable_since is None
