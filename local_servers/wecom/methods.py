"""The stand-in's API methods: what each does once its request has passed api.json's field check.

One handler per method of docs/wecom/api.json. Each takes the query and the
body and returns WeCom's answer, or raises a
:class:`~local_servers.wecom.spec.Refusal` with WeCom's code:

* ``getToken``: 40013 for another corp, 40001 for a wrong secret;
* every ``message/send`` (text, markdown, image, file, template card):
  301002 for another app's ``agentid``; 82001 with no recipient at all;
  ``@all`` (never sent by this project) and malformed userids (40058 over 64
  bytes, 40003 for other characters) refused as violations; unknown members
  and members outside the app's visible range come back in ``invaliduser``
  (lower-cased), and when no one is left, 81013. Then, per member, the
  app-message limits: a message over them is dropped while the call answers 0
  (api.json's stand-in default), or, configurably, the call is refused with
  45009. ``enable_duplicate_check`` holds back an identical request within
  its interval.
* images and files: a ``media_id`` never uploaded, or of another type, is
  40007 (a violation); one older than 3 days 40007 too (not one);
* template cards: :mod:`local_servers.wecom.cards`; a ``task_id`` used
  before and a card from an app without a callback URL are refused (codes
  unverified, configurable); the answer carries a response code;
* ``updateTemplateCard``: exactly one of ``button``/``template_card``,
  recipients by ``userids``/``atall`` (none: a configurable code), then the
  response code: unknown, used or past 72 h, 60140. The recipients' copies
  of the card change: greyed buttons showing ``replace_name``, or a new card;
* ``uploadMedia``: :mod:`local_servers.wecom.uploads`;
* ``getUser``: 60111 for an unknown userid, 60011 outside the visible range;
* ``recallMessage``: 40058 for a msgid never sent, 42052 after 24 hours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from local_servers.common.records import Journal
from local_servers.common.server import Handler
from local_servers.wecom.cards import card_problem, card_warnings
from local_servers.wecom.spec import Refusal, WecomSpec
from local_servers.wecom.uploads import Part, upload_problem
from local_servers.wecom.world import (
    INTERACTIVE_CARDS,
    RECALL_WINDOW_S,
    Card,
    CardState,
    Member,
    SentMessage,
    World,
)

__all__ = ["Settings", "WecomMethods"]

JSON = dict[str, Any]
OK: JSON = {"errcode": 0, "errmsg": "ok"}
_USERID = re.compile(r"[A-Za-z0-9_.@-]+")
_MAX_USERID_BYTES = 64
_MEDIA_MESSAGES = {"image": "image", "file": "file"}


@dataclass(slots=True)
class Settings:
    """api.json's unverified points, configurable.

    ``rate_limit_errcode``: None answers 0 and drops a message over the
    app-message limits (api.json's stand-in default); 45009 refuses it.
    ``task_id_reused_errcode``, ``no_callback_errcode``,
    ``no_recipients_errcode``: the codes for a reused ``task_id``, a card from
    an app without a callback URL, an update that selects no one.
    """

    rate_limit_errcode: int | None = None
    task_id_reused_errcode: int = 40058
    no_callback_errcode: int = 40058
    no_recipients_errcode: int = 40058


def _truncate(text: str, max_bytes: int) -> str:
    return text.encode()[:max_bytes].decode(errors="ignore")


class WecomMethods:
    """The handlers, by api.json method name (:attr:`handlers`).

    ``callback_configured`` says whether the app has a callback URL (cards
    with buttons need one); ``warnings`` collects the card texts longer than
    api.json suggests.
    """

    def __init__(
        self,
        world: World,
        spec: WecomSpec,
        settings: Settings,
        callback_configured: Callable[[], bool],
    ) -> None:
        self.world = world
        self.spec = spec
        self.settings = settings
        self._callback_configured = callback_configured
        self._sent: Journal[SentMessage] = Journal()
        self.warnings: list[str] = []
        self.handlers: dict[str, Handler] = {
            "getToken": self.get_token,
            "sendText": self.send_text,
            "sendMarkdown": self.send_markdown,
            "sendImage": self.send_media,
            "sendFile": self.send_media,
            "sendTemplateCard": self.send_template_card,
            "updateTemplateCard": self.update_template_card,
            "uploadMedia": self.upload_media,
            "getUser": self.get_user,
            "recallMessage": self.recall_message,
        }

    # --- what was sent ------------------------------------------------------------------

    @property
    def sent(self) -> list[SentMessage]:
        """Every accepted ``message/send``, in order."""
        return self._sent.items

    def sent_to(self, userid: str | None = None) -> list[SentMessage]:
        """What reached ``userid`` (everything accepted, when None), in order."""
        return self._sent.matching(self._to(userid))

    async def wait_sent(
        self, after: int, timeout: float, userid: str | None = None
    ) -> list[SentMessage]:
        """The messages that reached ``userid`` after the first ``after``, waiting up to
        ``timeout`` seconds for one."""
        return await self._sent.wait(after, timeout, self._to(userid))

    @staticmethod
    def _to(userid: str | None) -> Callable[[SentMessage], bool] | None:
        if userid is None:
            return None
        key = userid.lower()
        return lambda sent: key in sent.delivered

    def _refuse(
        self,
        errcode: int,
        field: str | None = None,
        violation: bool = False,
        why: str | None = None,
    ) -> Refusal:
        return self.spec.refusal(errcode, field=field, violation=violation, why=why)

    # --- the token ----------------------------------------------------------------------

    async def get_token(self, query: dict[str, str], body: Any) -> JSON:
        if query["corpid"] != self.world.corp_id:
            raise self._refuse(40013)
        if query["corpsecret"] != self.world.secret:
            raise self._refuse(40001)
        token, expires_in = self.world.token()
        return OK | {"access_token": token, "expires_in": expires_in}

    # --- message/send -------------------------------------------------------------------

    def _agent(self, body: JSON) -> None:
        if body["agentid"] != self.world.agent_id:
            raise self._refuse(301002, why=f"the token is agentid {self.world.agent_id}'s")

    def _recipients(self, body: JSON) -> tuple[list[Member], list[str]]:
        """The visible members ``touser`` names, and the invalid userids (lower-cased)."""
        touser = body.get("touser") or ""
        if not touser and not body.get("toparty") and not body.get("totag"):
            raise self._refuse(82001, violation=True)
        if touser == "@all":
            raise self._refuse(40058, "touser", True, "@all is never sent by this project")
        members: list[Member] = []
        invalid: list[str] = []
        for userid in touser.split("|") if touser else []:
            if len(userid.encode()) > _MAX_USERID_BYTES:
                raise self._refuse(40058, "touser", True, "a userid over 64 bytes")
            if _USERID.fullmatch(userid) is None:
                raise self._refuse(40003, "touser", True, f"{userid!r} is no userid")
            member = self.world.members.get(userid.lower())
            if member is None or not member.visible:
                invalid.append(userid.lower())
            elif member not in members:
                members.append(member)
        if not members:
            raise self._refuse(81013)
        return members, invalid

    def _send(self, method: str, body: JSON, **extra: Any) -> tuple[SentMessage, JSON]:
        """Deliver an accepted message to its recipients (see the module docstring)."""
        members, invalid = self._recipients(body)
        msgtype = body["msgtype"]
        sent = SentMessage(
            method,
            msgtype,
            body.get("touser") or "",
            body,
            self.world.new_msgid(),
            self.world.now(),
            invaliduser=invalid,
            **extra,
        )
        if body.get("enable_duplicate_check") == 1:
            interval = body.get("duplicate_check_interval", 1800)
            if self.world.duplicate(json.dumps(body, sort_keys=True), interval):
                sent.duplicate = True
        over = [m.key for m in members if self.world.over_limit(m.key) is not None]
        if over and self.settings.rate_limit_errcode is not None and not sent.duplicate:
            raise self._refuse(self.settings.rate_limit_errcode, why=f"over the limits: {over}")
        if not sent.duplicate:
            for member in members:
                if member.key in over:
                    sent.dropped.append(member.key)
                else:
                    sent.delivered.append(member.key)
                    self.world.count_delivery(member.key)
        self.world.messages[sent.msgid] = sent
        self._sent.append(sent)
        answer = OK | {"invaliduser": "|".join(invalid), "msgid": sent.msgid}
        if body.get("toparty"):
            answer["invalidparty"] = body["toparty"]  # the stand-in's corp has no departments
        if body.get("totag"):
            answer["invalidtag"] = body["totag"]  # nor tags
        return sent, answer

    async def send_text(self, query: dict[str, str], body: Any) -> JSON:
        self._agent(body)
        limit = int(self.spec.limits["text_content_max_bytes"]["value"])
        body["text"]["content"] = _truncate(body["text"]["content"], limit)
        return self._send("sendText", body)[1]

    async def send_markdown(self, query: dict[str, str], body: Any) -> JSON:
        self._agent(body)
        limit = int(self.spec.limits["text_content_max_bytes"]["value"])
        body["markdown"]["content"] = _truncate(body["markdown"]["content"], limit)
        return self._send("sendMarkdown", body)[1]

    async def send_media(self, query: dict[str, str], body: Any) -> JSON:
        self._agent(body)
        msgtype = body["msgtype"]
        field = f"{msgtype}.media_id"
        media = self.world.media.get(body[msgtype]["media_id"])
        if media is None:
            raise self._refuse(40007, field, True, "never uploaded")
        if media.type != _MEDIA_MESSAGES[msgtype]:
            raise self._refuse(40007, field, True, f"a {media.type}, not a {msgtype}")
        if self.world.media_expired(media):
            raise self._refuse(40007, field, why="older than 3 days")
        method = "sendImage" if msgtype == "image" else "sendFile"
        return self._send(method, body, media=media.to_json())[1]

    # --- template cards -----------------------------------------------------------------

    def _check_card(self, prefix: str, card: JSON, own_task_id: str | None = None) -> None:
        """A button_interaction card: its table, its rules, and a task_id not used before
        (``own_task_id``: the card being updated may keep its own)."""
        self.spec.check_fields(prefix, card, self.spec.button_interaction)
        problem = card_problem(card)
        if problem is not None:
            raise self._refuse(40058, prefix + problem, True)
        task_id = card["task_id"]
        if task_id != own_task_id and task_id in self.world.cards:
            code = self.settings.task_id_reused_errcode
            raise self._refuse(code, prefix + "task_id", True, "used before")
        self.warnings.extend(prefix + warning for warning in card_warnings(card))

    async def send_template_card(self, query: dict[str, str], body: Any) -> JSON:
        self._agent(body)
        card: JSON = body["template_card"]
        self._check_card("template_card.", card)
        if not self._callback_configured():
            why = "an app without a callback URL cannot send button cards"
            raise self._refuse(self.settings.no_callback_errcode, why=why)
        task_id = card["task_id"]
        sent, answer = self._send("sendTemplateCard", body, task_id=task_id)
        self.world.cards[task_id] = Card(
            task_id, card, sent.msgid, list(sent.delivered), sent.sent_at
        )
        sent.response_code = answer["response_code"] = self.world.issue_code(task_id, None)
        return answer

    def _update_targets(self, body: JSON, card: Card) -> tuple[list[str], list[str]]:
        if body.get("atall") == 1:
            return list(card.recipients), []
        targets: list[str] = []
        invalid: list[str] = []
        for userid in body.get("userids") or []:
            key = userid.lower()
            (targets if key in card.recipients else invalid).append(key)
        return targets, invalid

    async def update_template_card(self, query: dict[str, str], body: Any) -> JSON:
        self._agent(body)
        if ("button" in body) == ("template_card" in body):
            raise self._refuse(40058, "button", True, "exactly one of button or template_card")
        chosen = body.get("userids") or body.get("partyids") or body.get("tagids")
        if not chosen and body.get("atall") != 1:
            errcode = self.settings.no_recipients_errcode
            raise self._refuse(errcode, "userids", True, "no userids, partyids, tagids or atall")
        # Everything that refuses the request is checked before the code is spent.
        found = self.world.codes.get(body["response_code"])
        card = None if found is None else self.world.cards.get(found.task_id)
        if card is None:
            raise self._refuse(60140, why="no such response_code")
        new_card: JSON | None = body.get("template_card")
        if new_card is not None:
            self._check_new_card(new_card, card.task_id)
        targets, invalid = self._update_targets(body, card)
        for key in targets:
            if new_card is None and card.current(key).get("card_type") not in INTERACTIVE_CARDS:
                raise self._refuse(40058, "button", True, "that card has no buttons to grey")
        used = self.world.use_code(body["response_code"])
        if used is None:
            raise self._refuse(60140, why="used already or past its lifetime")
        for key in targets:
            state = card.states.setdefault(key, CardState())
            if new_card is None:
                state.replace_name = body["button"]["replace_name"]
            else:
                state.card, state.replace_name = new_card, None
        card.updates.append(
            {
                "response_code": used.code,
                "from": "click" if used.userid is not None else "send",
                "userids": targets,
                "button": body.get("button"),
                "template_card": new_card,
                "at": self.world.now(),
            }
        )
        return OK | ({"invaliduser": invalid} if invalid else {})

    def _check_new_card(self, card: JSON, own_task_id: str | None) -> None:
        """A card an update replaces one with: any type (api.json); only button_interaction
        has a table in api.json to check it against."""
        if card.get("card_type") not in self.spec.card_types:
            raise self._refuse(40058, "template_card.card_type", True)
        if card["card_type"] == "button_interaction":
            self._check_card("template_card.", card, own_task_id)

    # --- media, members, recall ---------------------------------------------------------

    async def upload_media(self, query: dict[str, str], body: Any) -> JSON:
        part: Part = body["media"]
        kind = query["type"]
        problem = upload_problem(kind, part.data)
        if problem is not None:
            raise self._refuse(problem, "media", True, f"{len(part.data)} bytes as {kind}")
        media = self.world.store_media(kind, part.data, part.filename or "media", part.content_type)
        # The official example answers errmsg "" and created_at as a string.
        return {
            "errcode": 0,
            "errmsg": "",
            "type": kind,
            "media_id": media.media_id,
            "created_at": str(media.created_at),
        }

    async def get_user(self, query: dict[str, str], body: Any) -> JSON:
        userid = query["userid"]
        if len(userid.encode()) > _MAX_USERID_BYTES or _USERID.fullmatch(userid) is None:
            raise self._refuse(40003, "userid", True)
        member = self.world.members.get(userid.lower())
        if member is None:
            raise self._refuse(60111)
        if not member.visible:
            raise self._refuse(60011)
        # Since 2022 a new self-built app gets no avatar, gender, mobile, email or address.
        return OK | {
            "userid": member.userid,
            "name": member.name,
            "department": member.department,
            "main_department": member.department[0],
            "position": "",
        }

    async def recall_message(self, query: dict[str, str], body: Any) -> JSON:
        sent = self.world.messages.get(body["msgid"])
        if sent is None:
            raise self._refuse(40058, "msgid", True, "never sent")
        if self.world.now() - sent.sent_at > RECALL_WINDOW_S:
            raise self._refuse(42052)
        if sent.recalled_at is None:
            sent.recalled_at = self.world.now()
        return dict(OK)


def summary(body: Mapping[str, Any]) -> JSON:
    """What the request log keeps of an upload: the part's name, type and size, not its bytes."""
    return {
        name: {"filename": part.filename, "content_type": part.content_type, "size": len(part.data)}
        if isinstance(part, Part)
        else part
        for name, part in body.items()
    }
