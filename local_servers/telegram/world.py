"""The simulated world behind the local Bot API server: its users and chats, what the bot did.

:class:`SimulatedWorld` holds the server's state (kept by
:class:`~local_servers.telegram.world_state.WorldState`). Tests, the demo and the
benchmark act through its methods (users send text, press buttons, block the
bot, send a photo with or without a caption, edit a message they sent), read
what the bot sent (waiting without polling: every change wakes the waiters),
inject faults and read counts. :mod:`local_servers.telegram.methods` answers
the bot's Bot API calls from the same state; :mod:`local_servers.telegram.control`
serves these methods over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import secrets
from collections.abc import Callable, Iterable

from local_servers.telegram.records import (
    JSON,
    CallbackAnswer,
    ControlError,
    SentFile,
    SentMessage,
    SimChat,
    SimUser,
)
from local_servers.telegram.world_state import WorldState

__all__ = ["SimulatedWorld"]

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
#: A 1x1 PNG: the photo a simulated user sends unless a test gives its own bytes.
ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)
#: Telegram's limit on a photo's caption, as a client enforces it.
CAPTION_LIMIT = 1024


class SimulatedWorld(WorldState):
    """The simulated world: what users do, and what the bot did as a test reads it."""

    # --- simulated users and chats ------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> SimUser:
        """Create (or replace) a user; their private chat with the bot has id ``user_id``."""
        if user_id <= 0:
            raise ControlError("user ids are positive")
        user = SimUser(user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        self._chats[user_id] = SimChat(
            user_id, "private", first_name=first_name, last_name=last_name, username=username
        )
        return user

    def add_group(
        self, chat_id: int, title: str = "Test group", member_ids: Iterable[int] = ()
    ) -> SimChat:
        """Create a group chat (negative id) the bot is a member of."""
        if chat_id >= 0:
            raise ControlError("group chat ids are negative")
        chat = SimChat(chat_id, "group", title=title, members=set(member_ids))
        self._chats[chat_id] = chat
        return chat

    async def user_sends(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """User ``user_id`` sends ``text`` (privately, or in group ``chat_id``); returns message_id.

        Like Telegram, a leading ``/command`` gets a ``bot_command`` entity. In
        a group with privacy mode on, only commands and replies to the bot's
        messages reach the bot. A user who blocked the bot cannot write to it.
        """
        user, chat = self._writer(user_id, chat_id)
        target = chat.id
        if chat.is_group:
            chat.members.add(user_id)
        if not text:
            raise ControlError("Telegram clients do not send empty messages")
        message_id = self._new_message_id(target)
        message: JSON = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": int(self.wall_clock()),
            "text": text,
        }
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group(0))}
            ]
        if reply_to is not None:
            original = self._message_json(target, reply_to)
            if original is None:
                raise ControlError(f"no message {reply_to} in chat {target} to reply to")
            message["reply_to_message"] = original
        self._user_messages[(target, message_id)] = message
        if self._reaches_bot(chat, command=command is not None, reply_to=reply_to):
            self._enqueue("message", message)
        return message_id

    def _reaches_bot(self, chat: SimChat, command: bool, reply_to: int | None = None) -> bool:
        """Whether a user's message in ``chat`` is delivered to the bot (privacy mode)."""
        replied_to_bot = reply_to is not None and (chat.id, reply_to) in self._sent_index
        return not (chat.is_group and self.group_privacy and not command and not replied_to_bot)

    def _writer(self, user_id: int, chat_id: int | None) -> tuple[SimUser, SimChat]:
        user = self.user(user_id)
        chat = self.chat(user_id if chat_id is None else chat_id)
        if user.blocked and not chat.is_group:
            raise ControlError(f"user {user_id} has blocked the bot; unblock first")
        return user, chat

    def _new_photo(self, data: bytes) -> list[JSON]:
        """The sizes Telegram makes of an uploaded photo: a thumbnail, then the photo.

        Both are kept as files, so the bot can send either again by its file_id.
        """
        sizes: list[JSON] = []
        for width in (90, 800):
            self._file_counter += 1
            photo = SentFile(
                file_id=f"PHAC{self._file_counter:04d}{secrets.token_hex(12)}",
                file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}",
                data=data,
                width=width,
                height=width,
            )
            self._files[photo.file_id] = photo
            sizes.append(
                {
                    "file_id": photo.file_id,
                    "file_unique_id": photo.file_unique_id,
                    "width": width,
                    "height": width,
                    "file_size": len(data),
                }
            )
        return sizes

    async def user_sends_photo(
        self,
        user_id: int,
        caption: str | None = None,
        *,
        data: bytes = ONE_PIXEL_PNG,
        chat_id: int | None = None,
    ) -> int:
        """User ``user_id`` sends a photo, with ``caption`` if given; returns message_id.

        The message carries the sizes Telegram makes (a thumbnail, then the
        photo itself, largest last); a leading ``/command`` in the caption
        gets a ``bot_command`` caption entity, as Telegram marks it.
        """
        user, chat = self._writer(user_id, chat_id)
        if caption is not None and len(caption.encode("utf-16-le")) // 2 > CAPTION_LIMIT:
            raise ControlError(f"Telegram clients do not send captions over {CAPTION_LIMIT}")
        if chat.is_group:
            chat.members.add(user_id)
        message_id = self._new_message_id(chat.id)
        message: JSON = {
            "message_id": message_id,
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": int(self.wall_clock()),
            "photo": self._new_photo(data),
        }
        command = _COMMAND.match(caption) if caption else None
        if caption:
            message["caption"] = caption
        if command:
            message["caption_entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group(0))}
            ]
        self._user_messages[(chat.id, message_id)] = message
        if self._reaches_bot(chat, command=False):
            self._enqueue("message", message)
        return message_id

    async def user_edits(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> None:
        """User ``user_id`` edits the text of message ``message_id`` they sent.

        Like Telegram, the bot gets an ``edited_message`` update: the same
        message_id, the new text (its ``bot_command`` entity recomputed) and
        an ``edit_date``. Only a text message of the user's own can be edited.
        """
        _user, chat = self._writer(user_id, chat_id)
        original = self._user_messages.get((chat.id, message_id))
        if original is None or original["from"]["id"] != user_id:
            raise ControlError(f"user {user_id} sent no message {message_id} in chat {chat.id}")
        if "text" not in original:
            raise ControlError(f"message {message_id} has no text to edit")
        if not text:
            raise ControlError("Telegram clients do not send empty messages")
        if text == original["text"]:
            raise ControlError("the edited text is the same: Telegram sends no update")
        edited: JSON = {k: v for k, v in original.items() if k != "entities"}
        edited["text"] = text
        edited["edit_date"] = int(self.wall_clock())
        command = _COMMAND.match(text)
        if command:
            edited["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(command.group(0))}
            ]
        self._user_messages[(chat.id, message_id)] = edited
        replied = edited.get("reply_to_message")
        reply_to = replied.get("message_id") if isinstance(replied, dict) else None
        if self._reaches_bot(chat, command=command is not None, reply_to=reply_to):
            self._enqueue("edited_message", edited)

    async def user_presses(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """User ``user_id`` presses the inline button with ``data`` on the bot's message.

        Refused (:class:`ControlError`) unless that message is the bot's, still
        exists and carries a button with exactly this ``callback_data``: a user
        cannot press a button that is not there. Returns the callback query id.
        """
        user = self.user(user_id)
        target = user_id if chat_id is None else chat_id
        if user.blocked and not self.chat(target).is_group:
            raise ControlError(f"user {user_id} has blocked the bot; unblock first")
        sent = self._sent_index.get((target, message_id))
        if sent is None or sent.deleted:
            raise ControlError(f"the bot has no message {message_id} in chat {target}")
        if data not in sent.callback_data():
            raise ControlError(
                f"message {message_id} has no button with callback_data {data!r}; "
                f"its buttons: {[(b.text, b.callback_data) for b in sent.buttons()]}"
            )
        query_id = str(secrets.randbits(62))
        while query_id in self._callbacks:
            query_id = str(secrets.randbits(62))
        self._callbacks[query_id] = CallbackAnswer(query_id, user_id, target, message_id, data)
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": sent.as_message(),
                "chat_instance": str((target * 2654435761 + self.bot_id) % (1 << 62)),
                "data": data,
            },
        )
        return query_id

    def _member_update(self, user: SimUser, old: str, new: str) -> None:
        bot = self._bot_user()
        self._enqueue(
            "my_chat_member",
            {
                "chat": self._chats[user.id].to_dict(),
                "from": user.to_dict(),
                "date": int(self.wall_clock()),
                "old_chat_member": {"status": old, "user": bot}
                | ({"until_date": 0} if old == "kicked" else {}),
                "new_chat_member": {"status": new, "user": bot}
                | ({"until_date": 0} if new == "kicked" else {}),
            },
        )

    def block(self, user_id: int) -> None:
        """User ``user_id`` blocks the bot: sends to them get 403; their updates stop.

        Telegram tells the bot with a ``my_chat_member`` update (member -> kicked).
        """
        user = self.user(user_id)
        if not user.blocked:
            user.blocked = True
            self._member_update(user, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        """User ``user_id`` unblocks the bot (``my_chat_member`` kicked -> member)."""
        user = self.user(user_id)
        if user.blocked:
            user.blocked = False
            self._member_update(user, "kicked", "member")

    # --- reading what the bot did ---------------------------------------------------------

    def user_message(self, chat_id: int, message_id: int) -> JSON:
        """A message a user sent in ``chat_id``, as the bot received it (edits applied)."""
        try:
            return self._user_messages[(chat_id, message_id)]
        except KeyError:
            raise ControlError(f"no user message {message_id} in chat {chat_id}") from None

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to ``chat_id``, oldest first (deleted ones flagged)."""
        return list(self._sent.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """The bot's message ``message_id`` in ``chat_id``."""
        try:
            return self._sent_index[(chat_id, message_id)]
        except KeyError:
            raise ControlError(f"the bot has no message {message_id} in chat {chat_id}") from None

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a ``getUpdates`` offset."""
        return list(self._updates)

    @property
    def waiting_polls(self) -> int:
        """How many ``getUpdates`` calls are waiting for an update right now."""
        return self._waiting_polls

    def send_allowance(self, chat_id: int) -> float:
        """How many messages the bot could send ``chat_id`` right now without a 429.

        For scripted users who act at a human pace (the demo): waiting until
        the bot may answer in full, rather than provoking flood errors no
        person typing at a keyboard would. Unlimited without flood limits.
        """
        if not self.flood_limits:
            return math.inf
        return self._limiter.allowance(chat_id)

    @property
    def waiting_readers(self) -> int:
        """How many :meth:`wait_for_message` calls (local or over HTTP) are waiting right now."""
        return self._waiting_readers

    def _dump(self, chat_id: int, after: int) -> str:
        lines = [f"messages the bot sent to chat {chat_id} (cursor after message_id {after}):"]
        for sent in self._sent.get(chat_id, []):
            lines.append(f"  #{sent.message_id} {sent.method}: {sent.shown[:200]!r}")
        if len(lines) == 1:
            lines.append("  (none)")
        failures = [r for r in self.requests if r.status not in (None, 200)][-5:]
        if failures:
            lines.append("last failed requests:")
            lines.extend(f"  {r.method} -> {r.status} {r.description}" for r in failures)
        if self.violations:
            lines.append("spec violations:")
            lines.extend(f"  {v.method}: {v.description} ({v.reason})" for v in self.violations)
        return "\n".join(lines)

    def _find_message(
        self,
        chat_id: int,
        after: int,
        predicate: Callable[[SentMessage], bool] | None,
        contains: str | None = None,
    ) -> SentMessage | None:
        for sent in self._sent.get(chat_id, []):
            if sent.message_id <= after or sent.deleted:
                continue
            if contains is not None and contains not in sent.shown:
                continue
            if predicate is None or predicate(sent):
                return sent
        return None

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        after: int | None = None,
        contains: str | None = None,
    ) -> SentMessage:
        """The first message to ``chat_id`` after the cursor that matches; waits for one.

        The cursor is ``after`` (a message_id) or, by default, the last message
        this method returned for the chat, so successive calls walk through the
        conversation. Woken by every send and edit (no polling). Raises
        :class:`TimeoutError` listing what the chat did receive.
        """
        cursor = self._cursors.get(chat_id, 0) if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting_readers += 1
        self._activity.notify()
        try:
            while True:
                found = self._find_message(chat_id, cursor, predicate, contains)
                if found is not None:
                    self._cursors[chat_id] = found.message_id
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing.is_set():
                    raise TimeoutError(
                        f"no matching message to chat {chat_id} within {timeout} s\n"
                        + self._dump(chat_id, cursor)
                    )
                await self._activity.wait(remaining)
        finally:
            self._waiting_readers -= 1

    async def wait_until(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait until ``condition()`` holds; re-checked whenever the server's state changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what} not reached within {timeout} s")
            await self._activity.wait(remaining)
