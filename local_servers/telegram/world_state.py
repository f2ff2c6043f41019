"""The simulated world's state, and its bookkeeping: lookups, the update queue, faults, counts.

:class:`WorldState` holds everything the local Bot API server knows: the
simulated users and chats, the bot's messages, the updates waiting for
``getUpdates``, the faults to inject, what was asked.
:class:`~local_servers.telegram.world.SimulatedWorld` adds what users do and how a test
reads what the bot did.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from local_servers.telegram.flood import FloodLimiter, FloodPolicy
from local_servers.telegram.records import (
    FAULT_KINDS,
    JSON,
    CallbackAnswer,
    ControlError,
    Event,
    Fault,
    RequestRecord,
    SentFile,
    SentMessage,
    SimChat,
    SimUser,
    Violation,
)
from local_servers.telegram.spec import BotApiSchema, load_schema

if TYPE_CHECKING:
    from aiohttp import web

#: Update types Telegram does not deliver when allowed_updates is empty or never set.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class _Signal:
    """Wakes every waiter on :meth:`notify`; callable from synchronous code.

    A waiter checks its condition and calls :meth:`wait` without awaiting in
    between, so a notification cannot slip past it.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        if timeout <= 0:
            return
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            pass


def _count(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


class WorldState:
    """The server's state: simulated users and chats, the bot's messages, faults, what was asked.

    The keyword arguments are :class:`local_servers.telegram.server.LocalBotApi`'s.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        flood_limits: bool = True,
        flood_policy: FloodPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        bot_username: str = "trial_companion_bot",
        bot_first_name: str = "Trial Companion",
        group_privacy: bool = True,
        schema: BotApiSchema | None = None,
    ) -> None:
        self.token = token
        self.flood_limits = flood_limits
        self.flood_policy = flood_policy or FloodPolicy()
        self.clock = clock
        self.wall_clock = wall_clock
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.group_privacy = group_privacy
        self.schema = schema or load_schema()
        self.bot_id = int(token.split(":", 1)[0]) if token else 123456

        self.violations: list[Violation] = []
        self.requests: list[RequestRecord] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.events: list[Event] = []
        self.unimplemented: list[str] = []
        self.faults: list[Fault] = []
        self.fired_faults: list[tuple[str, str]] = []
        self.flood_errors = 0

        self._limiter = FloodLimiter(self.flood_policy, clock)
        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, SimChat] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._user_messages: dict[tuple[int, int], JSON] = {}
        self._next_message_id: dict[int, int] = {}
        self._cursors: dict[int, int] = {}
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._waiting_polls = 0
        self._waiting_readers = 0
        self._callbacks: dict[str, CallbackAnswer] = {}
        self._answered: set[str] = set()
        self._files: dict[str, SentFile] = {}
        self._file_counter = 0
        self._commands: dict[str, list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        self._bot_texts: dict[str, str] = {}
        self._updates_signal = _Signal()
        self._activity = _Signal()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

    def user(self, user_id: int) -> SimUser:
        """The simulated user ``user_id``."""
        try:
            return self._users[user_id]
        except KeyError:
            raise ControlError(f"no user {user_id}; add it with add_user first") from None

    def chat(self, chat_id: int) -> SimChat:
        """The simulated chat ``chat_id``."""
        try:
            return self._chats[chat_id]
        except KeyError:
            raise ControlError(f"no chat {chat_id}") from None

    def _new_message_id(self, chat_id: int) -> int:
        # Telegram numbers a private chat's messages from both sides in one sequence.
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _enqueue(self, kind: str, payload: JSON) -> int:
        allowed = self._allowed_updates
        if allowed is None:
            if kind in _DEFAULT_EXCLUDED_UPDATES:
                return 0
        elif kind not in allowed:
            return 0
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._updates_signal.notify()
        self._activity.notify()
        return update_id

    def _message_json(self, chat_id: int, message_id: int) -> JSON | None:
        sent = self._sent_index.get((chat_id, message_id))
        if sent is not None:
            return None if sent.deleted else sent.as_message()
        return self._user_messages.get((chat_id, message_id))

    def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command list set with ``setMyCommands`` for ``scope`` and ``language_code``."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    def _event(self, kind: str, chat_id: int | None, message_id: int | None, data: JSON) -> None:
        self.events.append(Event(len(self.events) + 1, kind, chat_id, message_id, data))
        self._activity.notify()

    # --- faults and stats ------------------------------------------------------------------

    def inject_fault(self, method: str | None, kind: str, count: int = 1, **params: Any) -> None:
        """Make the next ``count`` calls of ``method`` (None: any sending method) fail.

        Kinds: ``http_500``; ``http_429`` (``retry_after``, default 1);
        ``http_400`` (``description``); ``forbidden`` (``description``);
        ``drop`` (connection closed, no answer); ``timeout_after_delivery``
        (the call takes effect, the answer is held ``delay`` seconds, default 5);
        ``http_500_after_delivery`` / ``http_502_after_delivery`` (the call takes
        effect, then a 500 or 502 answers it, as a proxy in front of Telegram
        may); ``drop_after_delivery`` (the call takes effect, then the
        connection closes with no answer). The kinds without
        ``_after_delivery`` deliver nothing.
        """
        if kind not in FAULT_KINDS:
            raise ControlError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ControlError("count must be at least 1")
        if method is not None:
            canonical = self.schema.canonical_method(method)
            if canonical is None:
                raise ControlError(f"unknown Bot API method {method!r}")
            method = canonical
        self.faults.append(Fault(method, kind, count, dict(params)))

    def clear_faults(self) -> None:
        """Forget faults not yet consumed."""
        self.faults.clear()

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                self.fired_faults.append((method, fault.kind))
                return fault
        return None

    def stats(self) -> JSON:
        """Counts for reports: messages delivered per chat, flood errors, violations..."""
        return {
            "delivered": {
                str(chat_id): sum(1 for m in sent if not m.deleted)
                for chat_id, sent in self._sent.items()
            },
            "delivered_total": sum(len(sent) for sent in self._sent.values()),
            "edits": sum(len(m.edits) for sent in self._sent.values() for m in sent),
            "flood_errors": self.flood_errors,
            "violations": len(self.violations),
            "requests": len(self.requests),
            "requests_by_method": _count(r.method for r in self.requests),
            "pending_updates": len(self._updates),
            "callback_answers": len(self.callback_answers),
            "faults_fired": len(self.fired_faults),
            "unimplemented": sorted(set(self.unimplemented)),
        }

    @staticmethod
    def _commands_key(scope: Mapping[str, Any] | None, language_code: str | None) -> str:
        scope_json = json.dumps(scope or {"type": "default"}, sort_keys=True)
        return f"{scope_json}|{language_code or ''}"
