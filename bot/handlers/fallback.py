"""Everything that is not a command the bot knows: a short answer, no change.

Unknown commands, free text where a button was expected, messages that are
not text, stale buttons and messages in groups each get one localized
sentence; nothing is stored.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot import conversation
from bot.context import STRANGER_TEXT, Ctx, make_ctx, services_of
from bot.i18n import Translator, choose_language

# Free-text steps of multi-step flows register here: (flow, step) -> handler.
TEXT_STEPS: dict[tuple[str, str], Callable[[Ctx, str], Awaitable[None]]] = {}


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = make_ctx(update, context)
    if ctx is None or update.effective_message is None:
        return
    if ctx.person.role is None:
        await ctx.reply(ctx.t._(STRANGER_TEXT))
        return
    word = (update.effective_message.text or "").split()[0][:40]
    await ctx.reply(
        ctx.t._("I do not know the command {command}. /help lists what you can do.", command=word)
    )


async def free_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = make_ctx(update, context)
    message = update.effective_message
    if ctx is None or message is None:
        return
    if ctx.person.role is None:
        await ctx.reply(ctx.t._(STRANGER_TEXT))
        return
    step = conversation.current(ctx.services.engine, ctx.person.telegram_user_id)
    if step is not None:
        handler = TEXT_STEPS.get((step.flow, step.step))
        if handler is not None:
            await handler(ctx, message.text or "")
            return
        await ctx.reply(ctx.t._("Please answer with the buttons above."))
        return
    await ctx.reply(ctx.t._("I can only act on commands and buttons. /help lists what you can do."))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    ctx = make_ctx(update, context)
    if ctx is None:
        return
    await ctx.reply(ctx.t._("I can only read text messages and button presses."))


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot works in private chats only: study data is never shown in a group."""
    chat = update.effective_chat
    if chat is None:
        return
    # The sender's language as everywhere: their stored choice, else Telegram's (reads only).
    ctx = make_ctx(update, context)
    t = (
        ctx.t
        if ctx is not None
        else Translator(choose_language(None, None), services_of(context).zone)
    )
    text = t._("I only work in private chats. Please write to me directly.")
    await context.bot.send_message(chat.id, html.escape(text, quote=False))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button whose action is gone (or never existed): say so, change nothing."""
    query = update.callback_query
    ctx = make_ctx(update, context)
    if query is None or ctx is None:
        return
    await query.answer(ctx.t._("This button is no longer valid."))
