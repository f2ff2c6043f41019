"""WeChat's delivery receipts: a reminder becomes ``delivered``, or what its failure means.

WeChat answers a template message with its ``msgid`` (the reminder is
``sent``) and later pushes a TEMPLATESENDJOBFINISH event naming that
``MsgID`` with a status (docs/wechat-oa/callbacks.md §5). The WeChat
callback hands each one to :meth:`ReceiptHandler.on_receipt`
(:func:`receipt_handler` builds it from the services):

=============================  =============================================
``Status``                     what happens
=============================  =============================================
``success``                    ``sent -> delivered`` (``/status`` counts it);
                               a patient marked unreachable is reachable
                               again (their daily trial reminder arrived)
                               and coordinators are told
``failed:user block``          ``sent -> failed``; the patient refuses the
                               account's messages: marked unreachable (their
                               later reminders are skipped) and coordinators
                               are told once, as for a block found by a send
``failed: system failed``,     ``sent -> uncertain``: the engine's uncertain
any other ``failed:...``       policy sends it once more, marked as a repeat
                               (a repeat is never repeated)
=============================  =============================================

A receipt can overtake the recording of the send it reports on: the
scheduler stores the ``msgid`` once the send's answer has arrived, and
WeChat (or the local stand-in) may push the receipt as soon as it has
delivered. So a receipt whose message is not yet a reminder of the patient's
is looked for again, a few times over about six seconds, before it is
dropped with a warning. A receipt for a reminder that is no longer ``sent``
(a receipt pushed twice) changes nothing; one from an account that is no
patient's is ignored.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.channels.push_queue import Settled
from bot.channels.wechat.xml import DeliveryStatus, TemplateSendJobFinishEvent
from bot.context import Services
from core.store.audit import SYSTEM
from core.store.delivery import Receipt, record_receipt, reminder_by_message
from core.store.identities import patient_by_account
from core.store.models import Channel
from core.store.uow import UnitOfWork
from scheduler import outbox
from scheduler.ports import PatientReachable, PatientUnreachable

log = logging.getLogger(__name__)

RECEIPTS: dict[DeliveryStatus, Receipt] = {
    DeliveryStatus.SUCCESS: Receipt.DELIVERED,
    DeliveryStatus.USER_BLOCK: Receipt.REFUSED,
    DeliveryStatus.SYSTEM_FAILED: Receipt.FAILED,
    DeliveryStatus.OTHER_FAILURE: Receipt.FAILED,
}
# Real seconds between looks for the reminder a receipt names (6.3 s in all).
LOOK_AGAIN_AFTER = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2)
REASON = "WeChat delivery receipt"

OnReceipt = Callable[[TemplateSendJobFinishEvent], Awaitable[None]]
SettleReceipt = Callable[[UnitOfWork, TemplateSendJobFinishEvent], Settled | None]


class _Found(enum.Enum):
    NOT_YET = "not yet"  # no reminder of the patient's went out as this message (yet)
    DONE = "done"  # recorded, or nothing to record
    UNREACHABLE = "unreachable"  # recorded, and the patient has just become unreachable
    REACHABLE = "reachable"  # recorded, and the patient has just become reachable again


class ReceiptHandler:
    """Records each receipt against its reminder; tells coordinators of a new block."""

    def __init__(
        self,
        services: Services,
        *,
        look_again_after: Sequence[float] = LOOK_AGAIN_AFTER,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.services = services
        self.look_again_after = tuple(look_again_after)
        self.sleep = sleep

    async def on_receipt(self, event: TemplateSendJobFinishEvent) -> None:
        """Record one TEMPLATESENDJOBFINISH (see the module's table)."""
        receipt = RECEIPTS[event.status]
        found, study_id = self._record(event, receipt)
        for delay in self.look_again_after:
            if found is not _Found.NOT_YET:
                break
            await self.sleep(delay)
            found, study_id = self._record(event, receipt)
        if found is _Found.NOT_YET:
            log.warning("WeChat receipt for message %d: no reminder went out as it", event.msg_id)
        elif found is _Found.UNREACHABLE and study_id is not None:
            await self._alert(PatientUnreachable(study_id))
        elif found is _Found.REACHABLE and study_id is not None:
            await self._alert(PatientReachable(study_id))

    def settle(self, uow: UnitOfWork, event: TemplateSendJobFinishEvent) -> Settled | None:
        """Record the receipt in the transaction storing its push; None if not yet possible.

        Most receipts name a reminder already ``sent``: recorded here, the
        push is stored handled at once (one transaction, not three). One that
        overtook its send's recording is left to :meth:`on_receipt`, which
        looks again. A patient who has just become unreachable (or reachable again) is alerted once
        the transaction has committed.
        """
        with uow.acting_as(SYSTEM, REASON):
            found, study_id = self._apply(uow, event, RECEIPTS[event.status])
        if found is _Found.NOT_YET:
            return None
        if found is _Found.UNREACHABLE and study_id is not None:
            gone = PatientUnreachable(study_id)
            return Settled(then=lambda: self._alert(gone))
        if found is _Found.REACHABLE and study_id is not None:
            back = PatientReachable(study_id)
            return Settled(then=lambda: self._alert(back))
        return Settled()

    async def _alert(self, alert: PatientUnreachable | PatientReachable) -> None:
        assert self.services.router is not None
        await self.services.router.alert(alert)

    def _record(
        self, event: TemplateSendJobFinishEvent, receipt: Receipt
    ) -> tuple[_Found, str | None]:
        services = self.services
        with UnitOfWork(services.engine, SYSTEM, services.clock.now(), REASON) as uow:
            return self._apply(uow, event, receipt)

    def _apply(
        self, uow: UnitOfWork, event: TemplateSendJobFinishEvent, receipt: Receipt
    ) -> tuple[_Found, str | None]:
        patient = patient_by_account(uow.session, Channel.WECHAT, event.from_user)
        if patient is None or patient.id is None:
            log.info("WeChat receipt for message %d from no patient's account", event.msg_id)
            return _Found.DONE, None
        reminder = reminder_by_message(uow.session, patient.id, event.msg_id, for_update=True)
        if reminder is None:
            return _Found.NOT_YET, patient.study_id
        if not record_receipt(uow, reminder, receipt, event.raw_status):
            return _Found.DONE, patient.study_id
        log.info(
            "reminder %s for %s: %s (WeChat: %s)",
            reminder.id,
            patient.study_id,
            receipt.value,
            event.raw_status,
        )
        if receipt is Receipt.REFUSED and outbox.mark_unreachable(uow, patient.id):
            log.warning("patient %s refuses the account's messages", patient.study_id)
            return _Found.UNREACHABLE, patient.study_id
        if receipt is Receipt.DELIVERED and outbox.mark_reachable(uow, patient.id):
            log.info("patient %s gets the account's messages again", patient.study_id)
            return _Found.REACHABLE, patient.study_id
        return _Found.DONE, patient.study_id


def receipt_handler(services: Services) -> tuple[OnReceipt, SettleReceipt]:
    """What the WeChat callback calls with each TEMPLATESENDJOBFINISH event: ``settle``
    as it stores the push, ``on_receipt`` afterwards if that could not record it."""
    handler = ReceiptHandler(services)
    return handler.on_receipt, handler.settle
