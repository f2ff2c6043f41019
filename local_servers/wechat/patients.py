"""The people on the other side: what a test or a rehearsal makes a patient do in WeChat.

Each action changes the world as WeChat would and pushes the message or
event of docs/wechat-oa/callbacks.md §5 to the bot (§6 is the checklist):

* scanning an invitation's QR code follows the account with ``subscribe``
  and ``qrscene_<scene>`` plus the ``Ticket``, or, for a follower, sends
  ``SCAN`` with the bare scene; both open a 3-message, 1-minute window;
* writing sends a ``text`` message and opens a 5-message, 48-hour window;
* tapping an option of a menu message sends its label as text with
  ``bizmsgmenuid`` (which WeChat sometimes omits or sends as 0: a
  configurable fault), a 3-message, 1-minute window;
* tapping a custom-menu button sends ``CLICK`` with its key (a 3-message,
  1-minute window) or ``VIEW`` with its URL (no window);
* unfollowing sends ``unsubscribe``;
* every accepted template message gets its ``TEMPLATESENDJOBFINISH``
  receipt: ``failed:user block`` for a person who blocked the account,
  ``failed: system failed`` at the configured rate, else ``success``.
"""

from __future__ import annotations

import asyncio
import random

from local_servers.wechat.methods import SentMessage
from local_servers.wechat.pushes import Pusher, PushRecord, push_xml
from local_servers.wechat.world import ControlError, World, WxUser

__all__ = ["MENU_OPTION_FAULTS", "RECEIPT_STATUSES", "Patients"]

RECEIPT_STATUSES = ("success", "failed:user block", "failed: system failed")
#: How a menu-option tap may lose its id (callbacks.md §5.1): omitted, or sent as 0.
MENU_OPTION_FAULTS = frozenset({"omit", "zero"})


class Patients:
    """Patient actions on ``world``, pushed through ``pusher``; receipts for template messages."""

    def __init__(
        self,
        world: World,
        pusher: Pusher,
        *,
        receipt_failure_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.world = world
        self.pusher = pusher
        self.receipt_failure_rate = receipt_failure_rate
        self.menu_option_fault: str | None = None
        self._random = random.Random(seed)
        self._tasks: set[asyncio.Task[PushRecord]] = set()
        self._msg_ids = world.next_msgid

    def _head(self, user: WxUser, msg_type: str) -> list[tuple[str, str | int]]:
        return [
            ("ToUserName", self.world.account),
            ("FromUserName", user.openid),
            ("CreateTime", int(self.world.now())),
            ("MsgType", msg_type),
        ]

    def _event(self, user: WxUser, event: str, *extra: tuple[str, str | int]) -> str:
        return push_xml([*self._head(user, "event"), ("Event", event), *extra])

    def _follower(self, openid: str) -> WxUser:
        user = self.world.user(openid)
        if not user.following:
            raise ControlError(f"{openid} does not follow the account")
        return user

    async def scan(
        self, openid: str, *, ticket: str | None = None, scene: str | None = None
    ) -> PushRecord:
        """``openid`` scans a QR code (by ticket, or the latest with ``scene``); a new person
        is created for an unknown openid, as anyone with WeChat can scan."""
        code = self.world.qr_code(ticket=ticket, scene=scene)
        user = self.world.users.get(openid) or self.world.add_user(openid)
        if user.following:
            xml = self._event(user, "SCAN", ("EventKey", code.scene), ("Ticket", code.ticket))
            kind = "SCAN"
        else:
            self.world.follow(user, code.scene)
            key = "qrscene_" + code.scene
            xml = self._event(user, "subscribe", ("EventKey", key), ("Ticket", code.ticket))
            kind = "subscribe"
        self.world.open_window(user, "scan")
        return await self.pusher.push(kind, openid, xml)

    async def follow(self, openid: str) -> PushRecord:
        """A follow without a QR code (search, a shared card)."""
        user = self.world.users.get(openid) or self.world.add_user(openid)
        if user.following:
            raise ControlError(f"{openid} follows the account already")
        self.world.follow(user)
        self.world.open_window(user, "follow")
        return await self.pusher.push("subscribe", openid, self._event(user, "subscribe"))

    async def unfollow(self, openid: str) -> PushRecord:
        user = self._follower(openid)
        self.world.unfollow(user)
        return await self.pusher.push("unsubscribe", openid, self._event(user, "unsubscribe"))

    async def write(self, openid: str, content: str) -> PushRecord:
        """``openid`` writes ``content`` to the account."""
        user = self._follower(openid)
        self.world.open_window(user, "message")
        xml = push_xml(
            [*self._head(user, "text"), ("Content", content), ("MsgId", self._msg_ids())]
        )
        return await self.pusher.push("text", openid, xml)

    async def choose(self, openid: str, label: str) -> PushRecord:
        """``openid`` taps the option labelled ``label`` of the last menu message sent to them."""
        user = self._follower(openid)
        menu = user.last_menu
        options = [] if menu is None else menu.get("list", [])
        chosen = next((o for o in options if o.get("content") == label), None)
        if chosen is None:
            labels = [o.get("content") for o in options]
            raise ControlError(f"no option {label!r} in the last menu message: {labels}")
        self.world.open_window(user, "menu")
        elements = [*self._head(user, "text"), ("Content", label)]
        elements.append(("MsgId", self._msg_ids()))
        if self.menu_option_fault != "omit":
            option = 0 if self.menu_option_fault == "zero" else int(chosen["id"])
            elements.append(("bizmsgmenuid", option))
        return await self.pusher.push("text", openid, push_xml(elements))

    def _button(self, field: str, value: str) -> None:
        if not any(b.get(field) == value for b in self.world.menu_buttons()):
            raise ControlError(f"the account's menu has no button with {field} {value!r}")

    async def click(self, openid: str, key: str) -> PushRecord:
        """``openid`` taps the menu button whose key is ``key``."""
        user = self._follower(openid)
        self._button("key", key)
        self.world.open_window(user, "menu")
        return await self.pusher.push(
            "CLICK", openid, self._event(user, "CLICK", ("EventKey", key))
        )

    async def view(self, openid: str, url: str) -> PushRecord:
        """``openid`` taps the menu link to ``url``."""
        user = self._follower(openid)
        self._button("url", url)
        menu_id = str(self.world.next_menu_id())
        xml = self._event(user, "VIEW", ("EventKey", url), ("MenuId", menu_id))
        return await self.pusher.push("VIEW", openid, xml)

    def block(self, openid: str, blocked: bool = True) -> None:
        """``openid`` refuses (or accepts again) the account's template messages."""
        self.world.user(openid).blocked = blocked

    # --- template receipts ----------------------------------------------------------------

    def receipt_for(self, sent: SentMessage) -> None:
        """Schedule the delivery receipt of an accepted template message."""
        user = self.world.user(sent.touser)
        if user.blocked:
            status = "failed:user block"
        elif self._random.random() < self.receipt_failure_rate:
            status = "failed: system failed"
        else:
            status = "success"
        sent.receipt = status
        assert sent.msgid is not None
        xml = self._event(user, "TEMPLATESENDJOBFINISH", ("MsgID", sent.msgid), ("Status", status))
        task = asyncio.get_running_loop().create_task(
            self.pusher.push("TEMPLATESENDJOBFINISH", user.openid, xml)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel receipts not yet delivered."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
