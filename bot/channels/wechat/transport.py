"""Delivering to a WeChat patient, and what WeChat's errors mean for the scheduler.

:class:`WechatTransport` is the WeChat channel's :class:`~bot.routing.Transport`.

A reminder (:class:`~bot.conversations.events.ReminderText`) goes out as a
template message (docs/wechat-oa/api.json, ``sendTemplateMessage``): the
template the protocol file's ``[wechat]`` table gives its kind
(:mod:`core.reminder_templates`), each field filled from the reminder in
short (study ID, event, time, and a note that says when it is the one
repeat), in the patient's language, and a link to the patient's page for the
reminder, ``{PUBLIC_BASE_URL}/r/{token}`` (:mod:`bot.web.pages.links`),
where the reminder is in full with its choices. The values are checked
against their field types before anything leaves. The answer's ``msgid`` is
the message id the scheduler stores; WeChat's delivery receipt names it
(:mod:`bot.channels.wechat.receipts`).

Any other message the bot starts to a WeChat patient (today only the nudge
about a urine collection not yet started) is a customer-service text, which
WeChat delivers only within 48 hours of the patient's last message
(api.json ``sendCustomMessage``, ``window_rules``). Outside it nothing is
sent (``Undeliverable``: the caller logs it and goes on; the patient still
has the reminder itself). Options are not shown on such a text: the choices
are on the page the reminder links to. Files are never sent to a patient on
WeChat. Staff are not on WeChat.

What WeChat answered (:class:`~bot.channels.wechat.outcomes.Outcome`)
becomes the scheduler's outcome:

=========================================  ================================
WeChat / the network                       outcome
=========================================  ================================
``RETRY_LATER``: -1, 45009 / 45011, HTTP   ``NotDelivered``
5xx or 429, connection refused or
dropped, connect timeout
``UNCERTAIN``: no answer in time after     ``MaybeDelivered`` (one marked
the request left                           repeat)
``UNREACHABLE``: 43004, 43101, 40003       ``Blocked``
``REJECTED``: 47003, 40037, any other      ``Rejected``, the reason naming
code, a value its field type refuses       the field
``OUTSIDE_WINDOW``: 45015, 45047           ``Undeliverable``
``MISCONFIGURED``: credentials, IP         ``NotDelivered``, logged as an
whitelist, permissions                     error: the message is not at
                                           fault and goes once a person
                                           fixes the account
=========================================  ================================

Pacing (:data:`WECHAT_PACE`): api.json limits template messages per day
(100,000 an account; ``sendTemplateMessage`` rules, ``limits.template``), not
per second, so the engine gives WeChat no overall rate of its own and a burst
to WeChat patients is not held to Telegram's 28 a second; only the spacing of
one person's messages is kept, as on Telegram. A day's quota spent is 45009,
retried later like any ``RETRY_LATER``.

The access token and its one refresh on 40001/42001 are the API client's
(:mod:`bot.channels.wechat.api`). ``client_msg_id`` is not sent: what WeChat
answers a repeated one is unverified (api.json), and a refusal would fail a
reminder that was delivered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import tzinfo

from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.outcomes import Outcome, WechatApiError
from bot.conversations.events import MessageRef, ReminderFacts, ReminderText, Reply, Text
from bot.web.pages.links import page_url
from core.protocol import Protocol
from core.reminder_templates import Placeholder, Wechat
from core.schedule import REMINDER_KINDS
from core.template_fields import time_value
from scheduler.clock import Clock
from scheduler.pacing import PaceLimits
from scheduler.ports import (
    Blocked,
    MaybeDelivered,
    NotDelivered,
    Rejected,
    SendOutcome,
    Undeliverable,
)

log = logging.getLogger(__name__)

# No overall rate (see the module's docstring); a person still gets at most one message a
# second, two at once.
WECHAT_PACE = PaceLimits(global_rate=None)

# WeChat's request id at the end of an errmsg: for WeChat's support, not for an alert.
_RID = re.compile(r"\s*rid:\s*\S+\s*$")


def classify(error: WechatApiError) -> SendOutcome:
    """The scheduler outcome for a failed call (see the module's table)."""
    reason = _RID.sub("", error.reason)
    match error.outcome:
        case Outcome.RETRY_LATER:
            return NotDelivered(reason)
        case Outcome.UNCERTAIN:
            return MaybeDelivered(reason)
        case Outcome.UNREACHABLE:
            return Blocked(reason)
        case Outcome.OUTSIDE_WINDOW:
            return Undeliverable(f"outside the customer-service window: {reason}")
        case Outcome.MISCONFIGURED:
            log.error("the WeChat account needs a person: %s", error)
            return NotDelivered(reason)
        case Outcome.REJECTED:
            if error.field is not None and error.field not in reason:
                reason = f"{error.field}: {reason}"
            return Rejected(reason)


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Links to a patient's page for a reminder, signed for them and that reminder only.

    Made when the reminder is sent (``clock``: the trial's), so they open the
    page for the protocol file's ``pages.link_days`` from then
    (:func:`bot.web.pages.links.page_url`).
    """

    public_base_url: str
    key: bytes
    protocol: Protocol
    clock: Clock

    def reminder(self, facts: ReminderFacts) -> str:
        return page_url(
            self.public_base_url,
            self.key,
            self.protocol,
            patient_id=facts.patient_id,
            reminder_id=facts.reminder_id,
            now=self.clock.now(),
        )


class WechatTransport:
    """Sends to WeChat patients (chat = openid) with one API client; errors classified."""

    def __init__(self, api: WechatApi, templates: Wechat, links: PageLinks, zone: tzinfo) -> None:
        self.api = api
        self.templates = templates
        self.links = links
        self.zone = zone

    async def deliver(self, chat: str, reply: Reply) -> MessageRef:
        try:
            if isinstance(reply, ReminderText):
                msgid = await self._reminder(chat, reply.facts)
                return MessageRef(chat, str(msgid))
            if isinstance(reply, Text):
                await self.api.send_text(chat, reply.text)
                return MessageRef(chat, "")  # a customer-service message has no id
        except WechatApiError as error:
            log.warning("WeChat %s failed: %s", error.method, error)
            raise classify(error) from error
        raise Undeliverable("files are not sent to patients on WeChat")

    def template_data(self, facts: ReminderFacts) -> tuple[str, dict[str, str]]:
        """The template id and the value of each field for one reminder."""
        template = self.templates.template(REMINDER_KINDS[facts.slot])
        filled = {
            Placeholder.STUDY_ID: facts.study_id,
            Placeholder.EVENT: facts.event,
            Placeholder.TIME: time_value(facts.at, self.zone),
            Placeholder.NOTE: facts.note,
        }
        return template.template_id, template.values(filled, facts.language)

    async def _reminder(self, openid: str, facts: ReminderFacts) -> int:
        template_id, data = self.template_data(facts)
        return await self.api.send_template(
            openid, template_id, data, url=self.links.reminder(facts)
        )
