"""The conversation layer's one entry: an inbound event in, replies out.

:meth:`Conversations.handle` is all a channel adapter calls. It finds the
person, checks the authorization table, and passes the event to the
feature that answers it: a command to its handler, an option to the handler
whose pattern matches its token, free text to the step of the person's flow
or, outside any flow, to what their role's free text means (a patient's is
offered to the study team as a report). Everything else gets one localized
sentence and changes nothing.

An edited command replaces the previews the first version made: their
Confirm no longer stores anything, and the edited command is answered anew.
Every reply passes the guard of :mod:`bot.conversations.guard`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from bot.context import Ctx, Handler, Services, make_ctx
from bot.conversations import flows
from bot.conversations.events import Inbound, InboundKind, Replies
from bot.conversations.feature import Feature
from bot.conversations.guard import GuardedReplies, ReplyTooLong
from bot.conversations.tables import Tables
from bot.roles import may
from bot.views.outsider import outsider_text
from core.messages import N_
from core.store.audit import patient_actor
from core.store.db import read_session
from core.store.identities import patient_by_account
from core.store.models import Patient
from core.store.pending_actions import replace_previews_from
from core.store.uow import UnitOfWork
from scheduler.ports import SendOutcome

log = logging.getLogger(__name__)

NOT_VALID = N_("This button is no longer valid.")
NOT_TEXT = N_("I can only read text messages and button presses.")
TOO_LONG = N_(
    "That reply would be {length} characters long, more than the {limit} one message can "
    "hold, so it was not sent. Please shorten what you typed and send it again."
)
EDITED_AFTER_CONFIRM = N_(
    "The first version of this message was already confirmed and stays stored; confirming "
    "an edited version would store it again."
)


class Conversations:
    """Every feature's conversations, for any channel."""

    def __init__(self, services: Services, features: Sequence[Feature]) -> None:
        self.services = services
        self.tables = Tables.build(features)

    def context(self, inbound: Inbound, out: Replies) -> Ctx:
        """The handling context of one event (the person identified once), its replies
        kept within the channel's limits."""
        return make_ctx(self.services, inbound, GuardedReplies(out), self.tables)

    async def handle(self, inbound: Inbound, out: Replies) -> None:
        """Answer one thing a person did, through ``out``.

        A failure anywhere is logged without personal data and the person is
        told that nothing was half-done: every write is one transaction. How
        long it took is told to the services' observer (the handler latency).
        """
        started = time.perf_counter()
        try:
            await self._handle(inbound, out)
        finally:
            self.services.observer.handled(inbound.channel, time.perf_counter() - started)

    async def _handle(self, inbound: Inbound, out: Replies) -> None:
        await self._reachable_again(inbound)
        ctx = self.context(inbound, out)
        try:
            await self._dispatch(ctx)
        except ReplyTooLong as refused:
            # Logged by the guard, without the text; the person learns why nothing came.
            text = ctx.t._(TOO_LONG, length=refused.length, limit=refused.limit)
            try:
                await ctx.reply(text)
            except SendOutcome as failure:
                log.warning("refusal not delivered: %s", type(failure).__name__)
        except Exception as error:
            log.error("update failed: %s", type(error).__name__, exc_info=error)
            text = ctx.t._(
                "Something went wrong on our side, and nothing was saved. Please try again."
            )
            try:
                await ctx.reply(text)
            except SendOutcome as failure:
                log.warning("error notice not delivered: %s", type(failure).__name__)

    async def _dispatch(self, ctx: Ctx) -> None:
        inbound = ctx.inbound
        if not inbound.private:
            # Study data is never shown in a group.
            await ctx.reply(ctx.t._("I only work in private chats. Please write to me directly."))
            return
        match inbound.kind:
            case InboundKind.COMMAND:
                if inbound.edited:
                    await _replace_previews(ctx)
                handler = self.tables.commands.get(inbound.command or "")
                if handler is None:
                    await _unknown_command(ctx)
                else:
                    await _guarded(ctx, inbound.command or "", handler)
            case InboundKind.OPTION:
                await self._option(ctx)
            case InboundKind.TEXT:
                await _free_text(ctx)
            case _:
                await ctx.reply(ctx.t._(NOT_TEXT))

    async def _option(self, ctx: Ctx) -> None:
        """An option chosen: only people with a role reach a feature's buttons.

        Every option the bot shows acts for someone with a role. Someone without
        one (a stranger, a withdrawn patient, deactivated staff, all still
        holding old buttons) is told the button is no longer valid, and nothing
        changes: not even the cleanup of a flow they left half-way.
        """
        handler = self.tables.option_handler(ctx.inbound.token or "")
        if handler is None or ctx.person.role is None:
            await ctx.toast(ctx.t._(NOT_VALID))
            return
        await handler(ctx)

    async def _reachable_again(self, inbound: Inbound) -> None:
        """A patient marked unreachable who does anything has come back: reach them again.

        A channel delivers nothing from a person while they block the bot (or
        have unfollowed the account), so any event from such a patient means
        they are back. Not one from a page: a link opens in any browser, so a
        patient who unfollowed the account can still answer there, and the
        channel still does not reach them.
        """
        if inbound.via_page:
            return
        services = self.services
        with read_session(services.engine) as session:
            patient = patient_by_account(session, inbound.channel, inbound.account)
        if patient is None or patient.unreachable_since is None:
            return
        actor = patient_actor(patient.study_id)
        with UnitOfWork(
            services.engine, actor, services.clock.now(), "wrote to the bot again"
        ) as uow:
            row = uow.session.get(Patient, patient.id)
            if row is not None and row.unreachable_since is not None:
                uow.update(row, "patient.reachable", unreachable_since=None)
        log.info("patient %s is reachable again", patient.study_id)


# What a patient who left the study may still use (bot.handlers.calendar).
WITHDRAWN_MAY = frozenset({"calendar"})


async def _guarded(ctx: Ctx, command: str, handler: Handler) -> None:
    """Run ``handler`` only for people the authorization table lets use ``command``.

    Everyone else gets a polite, localized refusal, and the attempt is
    audit-logged; nothing else changes. A withdrawn patient may still ask for
    their calendar: it is the file that cancels their study appointments on
    their phone.
    """
    if ctx.person.withdrawn and command in WITHDRAWN_MAY:
        await handler(ctx)
        return
    if not may(ctx.person.role, command):
        ctx.refuse_and_log(f"/{command}")
        if ctx.person.role is None:
            # A stranger learns how to join; a withdrawn patient, whom to contact.
            await ctx.reply(outsider_text(ctx))
        else:
            await ctx.reply(
                ctx.t._(
                    "/{command} is not available to you. /help lists what you can do.",
                    command=command,
                )
            )
        return
    await handler(ctx)


async def _unknown_command(ctx: Ctx) -> None:
    if ctx.person.role is None:
        await ctx.reply(outsider_text(ctx))
        return
    word = (ctx.inbound.text.split() or [""])[0][:40]
    await ctx.reply(
        ctx.t._("I do not know the command {command}. /help lists what you can do.", command=word)
    )


async def _replace_previews(ctx: Ctx) -> None:
    """The person edited a command: the previews its first version made can no longer
    be confirmed (their buttons say they were replaced). If one was confirmed
    already, the person is told that it stays stored before the new preview."""
    sent = ctx.inbound.sent
    if sent is None or ctx.person.role is None:
        return
    with ctx.uow("the command was edited") as uow:
        replaced = replace_previews_from(uow, ctx.person.key, sent.key)
    if replaced.confirmed:
        await ctx.reply(ctx.t._(EDITED_AFTER_CONFIRM))


async def _free_text(ctx: Ctx) -> None:
    """Text that is not a command (or a file with its caption): the answer to the
    person's current flow step, if any; else what their role's free text means.

    A file is read only from people whose free text means something; to
    everyone else it is a message the bot cannot read.
    """
    role = ctx.person.role
    if role is None:
        await ctx.reply(outsider_text(ctx))
        return
    outside_flow = ctx.tables.free_text.get(role)
    if ctx.inbound.file is not None and outside_flow is None:
        await ctx.reply(ctx.t._(NOT_TEXT))
        return
    step = flows.current(ctx.services.engine, ctx.person.key)
    if step is not None:
        handler = ctx.tables.text_steps.get((step.flow, step.step))
        if handler is not None:
            await handler(ctx, ctx.inbound.text)
            return
        await ctx.reply(ctx.t._("Please answer with the buttons above."))
        return
    if outside_flow is not None:
        await outside_flow(ctx, ctx.inbound.text)
        return
    await ctx.reply(ctx.t._("I can only act on commands and buttons. /help lists what you can do."))
