"""The Bot API methods the local server simulates, answered from the simulated world.

Each method takes the request's parameters, already checked against the Bot
API schema and coerced (:mod:`local_servers.telegram.spec`), and returns the
``result`` or raises :class:`~local_servers.telegram.records.ApiError` with
Telegram's own status and description. ``getUpdates`` long-polls and a
second poll ends a waiting one (409); sends are subject to the flood limits
(:mod:`local_servers.telegram.flood`) and to a user having blocked the bot (403).
"""

from __future__ import annotations

import asyncio
import mimetypes
import secrets
import struct
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any

from local_servers.telegram.html import ParsedText, plain_text
from local_servers.telegram.records import (
    BLOCKED_DESCRIPTION,
    CONFLICT_DESCRIPTION,
    JSON,
    NOT_MODIFIED_DESCRIPTION,
    QUERY_INVALID_DESCRIPTION,
    ApiError,
    CallbackAnswer,
    SentFile,
    SentMessage,
    SimChat,
    file_path,
)
from local_servers.telegram.spec import UploadedFile
from local_servers.telegram.world import SimulatedWorld

__all__ = ["ApiMethod", "BotApiMethods"]

ApiMethod = Callable[[JSON], Awaitable[Any]]


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG image; (1, 1) when not recognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 1, 1


def _normal_markup(markup: Any) -> Any:
    """Reply markup for comparison: an empty inline keyboard is no keyboard."""
    if isinstance(markup, dict) and markup.get("inline_keyboard") == []:
        return None
    return markup


class BotApiMethods(SimulatedWorld):
    """The Bot API methods, by their canonical names (:attr:`_methods`)."""

    @cached_property
    def _methods(self) -> dict[str, ApiMethod]:
        """Canonical method name to its handler; a method not here is answered 501."""
        return {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._set_bot_text("description"),
            "getMyDescription": self._get_bot_text("description"),
            "setMyShortDescription": self._set_bot_text("short_description"),
            "getMyShortDescription": self._get_bot_text("short_description"),
            "setMyName": self._set_bot_text("name"),
            "getMyName": self._get_bot_text("name"),
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }

    # --- Bot API methods -----------------------------------------------------------------

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": not self.group_privacy,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = max(int(params.get("timeout", 0)), 0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            # Telegram keeps the last allowed_updates; an empty list means the default set.
            self._allowed_updates = frozenset(allowed) if allowed else None
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # a waiting older poll now sees it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiting_polls += 1
        self._activity.notify()
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, CONFLICT_DESCRIPTION)
                if self._updates or self._closing.is_set():
                    return self._updates[:limit]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._updates_signal.wait(remaining)
        finally:
            self._waiting_polls -= 1

    async def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _resolve_chat(self, chat_id: Any) -> SimChat:
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
            if chat is not None:
                return chat
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == chat_id[1:].lower():
                    return chat
        raise ApiError(400, "Bad Request: chat not found")

    def _writable_chat(self, params: JSON) -> SimChat:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._resolve_chat(params["chat_id"])
        if not chat.is_group and self._users[chat.id].blocked:
            raise ApiError(403, BLOCKED_DESCRIPTION)
        return chat

    def _check_flood(self, chat: SimChat) -> None:
        if not self.flood_limits:
            return
        retry_after = self._limiter.acquire(chat.id, group=chat.is_group)
        if retry_after:
            self.flood_errors += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _reply_target(self, chat: SimChat, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = chat.id
        if "chat_id" in reply:
            target_chat = self._resolve_chat(reply["chat_id"]).id
        original = self._message_json(target_chat, reply["message_id"])
        if original is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return original

    def _new_sent(
        self, chat: SimChat, method: str, params: JSON, reply_to: JSON | None
    ) -> SentMessage:
        return SentMessage(
            chat_id=chat.id,
            message_id=self._new_message_id(chat.id),
            method=method,
            date=int(self.wall_clock()),
            chat=chat.to_dict(),
            sender=self._bot_user(),
            reply_markup=params.get("reply_markup"),
            reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            request=dict(params),
        )

    def _deliver(self, sent: SentMessage, reply_to: JSON | None) -> JSON:
        self._sent.setdefault(sent.chat_id, []).append(sent)
        self._sent_index[(sent.chat_id, sent.message_id)] = sent
        self._event("sent", sent.chat_id, sent.message_id, sent.as_message())
        return sent.as_message(reply_to)

    @staticmethod
    def _parsed(text: str, parse_mode: str | None, entities: list[JSON] | None) -> ParsedText:
        if entities is not None and parse_mode is None:
            return ParsedText(text.strip(" \t\r\n\v\f"), ())
        return plain_text(text, parse_mode)

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params)
        reply_to = self._reply_target(chat, params)
        parsed = self._parsed(params["text"], params.get("parse_mode"), params.get("entities"))
        self._check_flood(chat)
        sent = self._new_sent(chat, "sendMessage", params, reply_to)
        sent.text = params["text"]
        sent.parse_mode = params.get("parse_mode")
        sent.visible_text = parsed.text
        sent.entities = params.get("entities") or [e.to_dict() for e in parsed.entities]
        return self._deliver(sent, reply_to)

    def _file(self, value: Any, kind: str) -> SentFile:
        if isinstance(value, UploadedFile):
            self._file_counter += 1
            name = value.filename
            mime = (mimetypes.guess_type(name)[0] if name else None) or value.content_type
            if kind == "photo":
                name = None
            sent_file = SentFile(
                file_id=f"{kind[:2].upper()}AC{self._file_counter:04d}{secrets.token_hex(12)}",
                file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}",
                file_name=name,
                mime_type=None if kind == "photo" else (mime or "application/octet-stream"),
                data=value.data,
            )
            if kind == "photo":
                sent_file.width, sent_file.height = _image_size(value.data)
            self._files[sent_file.file_id] = sent_file
            return sent_file
        text = str(value)
        if text in self._files:
            return self._files[text]
        if text.startswith(("http://", "https://")):
            self._file_counter += 1
            name = text.rsplit("/", 1)[-1] or None
            sent_file = SentFile(
                file_id=f"URL{self._file_counter:04d}{secrets.token_hex(12)}",
                file_unique_id=f"AgAD{self._file_counter:04d}{secrets.token_hex(4)}",
                file_name=name if kind != "photo" else None,
                url=text,
                width=1 if kind == "photo" else 0,
                height=1 if kind == "photo" else 0,
            )
            self._files[sent_file.file_id] = sent_file
            return sent_file
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _send_file(self, params: JSON, method: str, kind: str) -> JSON:
        chat = self._writable_chat(params)
        reply_to = self._reply_target(chat, params)
        caption = params.get("caption")
        parsed = (
            self._parsed(caption, params.get("parse_mode"), params.get("caption_entities"))
            if caption is not None
            else None
        )
        sent_file = self._file(params[kind], kind)
        self._check_flood(chat)
        sent = self._new_sent(chat, method, params, reply_to)
        if kind == "photo":
            sent.photo = sent_file
        else:
            sent.document = sent_file
        if parsed is not None:
            sent.caption = caption
            sent.parse_mode = params.get("parse_mode")
            sent.visible_caption = parsed.text
            sent.caption_entities = params.get("caption_entities") or [
                e.to_dict() for e in parsed.entities
            ]
        return self._deliver(sent, reply_to)

    async def _send_document(self, params: JSON) -> JSON:
        return await self._send_file(params, "sendDocument", "document")

    async def _send_photo(self, params: JSON) -> JSON:
        return await self._send_file(params, "sendPhoto", "photo")

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params)
        return True

    def _editable(self, params: JSON) -> tuple[SimChat, SentMessage]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._writable_chat(params)
        if "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        sent = self._sent_index.get((chat.id, params["message_id"]))
        if sent is None or sent.deleted:
            if (chat.id, params["message_id"]) in self._user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, sent

    def _apply_edit(self, sent: SentMessage, params: JSON) -> JSON:
        sent.reply_markup = params.get("reply_markup")
        sent.edits.append(dict(params))
        sent.edit_date = int(self.wall_clock())
        self._event("edited", sent.chat_id, sent.message_id, sent.as_message())
        return sent.as_message()

    async def _edit_message_text(self, params: JSON) -> JSON:
        if "rich_message" in params:
            self.unimplemented.append("editMessageText(rich_message)")
            raise ApiError(501, "Not Implemented: rich messages are not simulated")
        chat, sent = self._editable(params)
        if "text" not in params:
            raise ApiError(400, "Bad Request: message text is empty")
        if sent.visible_text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = self._parsed(params["text"], params.get("parse_mode"), params.get("entities"))
        entities = params.get("entities") or [e.to_dict() for e in parsed.entities]
        if (
            parsed.text == sent.visible_text
            and entities == sent.entities
            and _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        sent.text = params["text"]
        sent.parse_mode = params.get("parse_mode")
        sent.visible_text = parsed.text
        sent.entities = entities
        return self._apply_edit(sent, params)

    async def _edit_message_caption(self, params: JSON) -> JSON:
        chat, sent = self._editable(params)
        if sent.document is None and sent.photo is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption = params.get("caption", "")
        parsed = self._parsed(caption, params.get("parse_mode"), params.get("caption_entities"))
        entities = params.get("caption_entities") or [e.to_dict() for e in parsed.entities]
        if (
            parsed.text == (sent.visible_caption or "")
            and entities == sent.caption_entities
            and _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup)
        ):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        sent.caption = caption
        sent.parse_mode = params.get("parse_mode")
        sent.visible_caption = parsed.text
        sent.caption_entities = entities
        return self._apply_edit(sent, params)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, sent = self._editable(params)
        if _normal_markup(params.get("reply_markup")) == _normal_markup(sent.reply_markup):
            raise ApiError(400, NOT_MODIFIED_DESCRIPTION)
        self._check_flood(chat)
        return self._apply_edit(sent, params)

    def _delete_one(self, chat: SimChat, message_id: int) -> bool:
        sent = self._sent_index.get((chat.id, message_id))
        if sent is not None and not sent.deleted:
            sent.deleted = True
            self._event("deleted", chat.id, message_id, {})
            return True
        if self._user_messages.pop((chat.id, message_id), None) is not None:
            self._event("deleted", chat.id, message_id, {})
            return True
        return False

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        if not self._delete_one(chat, params["message_id"]):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _delete_messages(self, params: JSON) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        for message_id in params["message_ids"]:
            self._delete_one(chat, message_id)
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = params["callback_query_id"]
        press = self._callbacks.get(query_id)
        if press is None or query_id in self._answered:
            raise ApiError(400, QUERY_INVALID_DESCRIPTION)
        self._answered.add(query_id)
        answer = CallbackAnswer(
            query_id,
            press.user_id,
            press.chat_id,
            press.message_id,
            press.data,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self.callback_answers.append(answer)
        self._event("callback_answer", press.chat_id, press.message_id, answer.to_json())
        return True

    async def _set_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = list(params["commands"])
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        self._menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._resolve_chat(chat_id).id
        default = self._menu_buttons.get(None, {"type": "commands"})
        return self._menu_buttons.get(chat_id, default)

    def _set_bot_text(self, key: str) -> Callable[[JSON], Awaitable[Any]]:
        async def setter(params: JSON) -> bool:
            self._bot_texts[f"{key}|{params.get('language_code', '')}"] = params.get(key, "")
            return True

        return setter

    def _get_bot_text(self, key: str) -> Callable[[JSON], Awaitable[Any]]:
        async def getter(params: JSON) -> JSON:
            value = self._bot_texts.get(f"{key}|{params.get('language_code', '')}", "")
            if key == "name" and not value:
                value = self.bot_first_name
            return {key: value}

        return getter

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._resolve_chat(params["chat_id"])
        return chat.to_dict() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _get_file(self, params: JSON) -> JSON:
        sent_file = self._files.get(params["file_id"])
        if sent_file is None or sent_file.data is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": sent_file.file_id,
            "file_unique_id": sent_file.file_unique_id,
            "file_size": sent_file.size,
            "file_path": file_path(sent_file),
        }
