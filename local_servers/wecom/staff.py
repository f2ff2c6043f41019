"""The people on the other side: what a test or a rehearsal makes a member of staff do in WeCom.

Each action changes the world as WeCom would and pushes the message or event
of docs/wecom/callbacks.md §7 to the bot (§8.3 is the checklist). Every
plaintext carries ``ToUserName`` (the CorpID), ``FromUserName`` (the userid),
``CreateTime`` and ``AgentID``:

* typing sends ``text`` (§7.1) with a new 64-bit ``MsgId``;
* sending a picture sends ``image`` (§7.2): its bytes are kept as media, and
  ``PicUrl`` serves them from the control interface;
* opening the app sends ``enter_agent`` (§7.4) with an empty ``EventKey``;
* an admin adding a member to the app's visible range, or removing one,
  sends ``subscribe`` or ``unsubscribe`` (§7.3);
* a tap on a menu button sends ``click`` with its key (§7.6);
* a tap on a card's button sends ``template_card_event`` (§7.5) with the
  button's key, the card's ``TaskId`` and ``CardType``, and a fresh
  ``ResponseCode`` good for one update within 72 hours. A card never sent,
  or sent to someone else, cannot be tapped; nor can a button an update
  greyed out, or a link button (it opens its URL, nothing comes back).

Only a member inside the visible range can use the app.
"""

from __future__ import annotations

from collections.abc import Callable

from local_servers.common.control import ControlError
from local_servers.common.delivery import push_xml
from local_servers.wecom.pushes import Pusher, PushRecord
from local_servers.wecom.world import Member, World

__all__ = ["TINY_PNG", "Staff"]

#: A 1x1 PNG, the picture a member sends when a test gives none.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082"
)


class Staff:
    """Member actions on ``world``, pushed through ``pusher``.

    ``media_url`` gives the URL a picture's ``PicUrl`` points at, by media id.
    """

    def __init__(self, world: World, pusher: Pusher, media_url: Callable[[str], str]) -> None:
        self.world = world
        self.pusher = pusher
        self._media_url = media_url

    def _head(self, member: Member, msg_type: str) -> list[tuple[str, str | int]]:
        return [
            ("ToUserName", self.world.corp_id),
            ("FromUserName", member.userid),
            ("CreateTime", int(self.world.now())),
            ("MsgType", msg_type),
        ]

    def _event(self, member: Member, event: str, *extra: tuple[str, str | int]) -> str:
        agent = ("AgentID", self.world.agent_id)
        return push_xml([*self._head(member, "event"), ("Event", event), *extra, agent])

    async def text(self, userid: str, content: str) -> PushRecord:
        """``userid`` types ``content`` to the app."""
        member = self.world.visible_member(userid)
        xml = push_xml(
            [
                *self._head(member, "text"),
                ("Content", content),
                ("MsgId", self.world.next_msgid()),
                ("AgentID", self.world.agent_id),
            ]
        )
        return await self.pusher.push("text", member.userid, xml)

    async def image(
        self, userid: str, data: bytes = TINY_PNG, filename: str = "photo.png"
    ) -> PushRecord:
        """``userid`` sends a picture (a 1x1 PNG unless given)."""
        member = self.world.visible_member(userid)
        media = self.world.store_media("image", data, filename, "image/png")
        xml = push_xml(
            [
                *self._head(member, "image"),
                ("PicUrl", self._media_url(media.media_id)),
                ("MediaId", media.media_id),
                ("MsgId", self.world.next_msgid()),
                ("AgentID", self.world.agent_id),
            ]
        )
        return await self.pusher.push("image", member.userid, xml)

    async def enter(self, userid: str) -> PushRecord:
        """``userid`` opens the app's chat."""
        member = self.world.visible_member(userid)
        xml = self._event(member, "enter_agent", ("EventKey", ""))
        return await self.pusher.push("enter_agent", member.userid, xml)

    async def subscribe(self, userid: str) -> PushRecord:
        """An admin adds ``userid`` (a new member if unknown) to the app's visible range."""
        member = self.world.members.get(userid.lower()) or self.world.add_member(
            userid, visible=False
        )
        if member.visible:
            raise ControlError(f"{userid} is inside the app's visible range already")
        member.visible = True
        return await self.pusher.push("subscribe", member.userid, self._event(member, "subscribe"))

    async def unsubscribe(self, userid: str) -> PushRecord:
        """An admin removes ``userid`` from the app's visible range."""
        member = self.world.visible_member(userid)
        member.visible = False
        xml = self._event(member, "unsubscribe")
        return await self.pusher.push("unsubscribe", member.userid, xml)

    async def menu(self, userid: str, key: str) -> PushRecord:
        """``userid`` taps the app-menu button whose key is ``key``."""
        member = self.world.visible_member(userid)
        if not key:
            raise ControlError("a menu button has a key")
        xml = self._event(member, "click", ("EventKey", key))
        return await self.pusher.push("click", member.userid, xml)

    async def click(
        self,
        userid: str,
        task_id: str,
        *,
        key: str | None = None,
        index: int | None = None,
        expired: bool = False,
    ) -> PushRecord:
        """``userid`` taps a button (by ``key``, or its ``index`` from 0) of the card
        ``task_id``; ``expired``: its ResponseCode is already past its lifetime (a click
        whose update must get 60140)."""
        member = self.world.visible_member(userid)
        card = self.world.cards.get(task_id)
        if card is None:
            raise ControlError(f"no card with task_id {task_id!r} was sent")
        if member.key not in card.recipients:
            raise ControlError(f"the card {task_id!r} was not sent to {userid}")
        greyed = card.greyed(member.key)
        if greyed is not None:
            raise ControlError(f"the buttons of card {task_id!r} are greyed out ({greyed!r})")
        current = card.current(member.key)
        buttons = current.get("button_list") or []
        if key is not None:
            found = [b for b in buttons if b.get("key") == key]
        elif index is not None and 0 <= index < len(buttons):
            found = [buttons[index]]
        else:
            found = []
        if not found:
            keys = [b.get("key") for b in buttons]
            raise ControlError(f"the card {task_id!r} has no such button: its keys are {keys}")
        (button,) = found
        if button.get("type", 0) != 0:
            raise ControlError("a link button opens its URL; nothing comes back to the app")
        code = self.world.issue_code(task_id, member.userid, expired=expired)
        card.clicks.append(
            {"userid": member.userid, "key": button["key"], "response_code": code}
            | {"at": self.world.now()}
        )
        xml = self._event(
            member,
            "template_card_event",
            ("EventKey", button["key"]),
            ("TaskId", task_id),
            ("CardType", str(current.get("card_type", ""))),
            ("ResponseCode", code),
        )
        return await self.pusher.push("template_card_event", member.userid, xml)
