"""Staff commands: one message, or a guided flow with buttons when sent bare.

Each command is a :class:`StaffCommand`: its one-message form (``run``, given
the words after the command) and, optionally, the fields a guided flow asks
for one at a time. A guided flow ends by composing the same words and calling
``run``, so both ways share one parser and one set of refusals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import col, select

from bot.context import Buttons, Ctx, Handler
from bot.conversations import flows
from bot.conversations.feature import Feature
from bot.roles import may
from core.entry_syntax import fold_command_text
from core.messages import RuleError
from core.store.db import read_session
from core.store.models import Patient, PatientStatus

GUIDE_FLOW = "guide"
SKIP = "-"
# Buttons per row and at most on one message: Telegram allows 100; a trial of
# 30 patients fits one page.
_PER_ROW = 4
_MAX_BUTTONS = 60

Choices = Callable[[Ctx], Sequence[tuple[str, str]]]


@dataclass(frozen=True, slots=True)
class Field:
    """One answer a guided flow asks for.

    ``prompt`` is a message id. With ``choices`` the answer is a button; else
    it is typed. ``template`` turns the answer into the word(s) of the
    one-message form (``"{value}"``, ``"serious={value}"``); an optional field
    may be skipped.
    """

    name: str
    prompt: str
    choices: Choices | None = None
    template: str = "{value}"
    optional: bool = False


@dataclass(frozen=True, slots=True)
class StaffCommand:
    name: str
    usage: str  # a message id showing the one-message form with an example
    run: Callable[[Ctx, list[str]], Awaitable[None]]
    fields: Sequence[Field] = field(default=())


def staff_command_handler(command: StaffCommand) -> Handler:
    """What serves ``/name``: with words, the one-message form; bare, the guided flow."""

    async def handler(ctx: Ctx) -> None:
        args = ctx.args
        if args:
            await run_refusing(ctx, command, args)
        elif command.fields:
            await start_guide(ctx, command)
        else:
            await command.run(ctx, [])

    return handler


async def run_refusing(ctx: Ctx, command: StaffCommand, args: list[str]) -> None:
    """Run the one-message form; a refusal says why and what was expected."""
    try:
        await command.run(ctx, args)
    except RuleError as exc:
        await ctx.reply(
            ctx.t._(
                "{reason}\nExpected: {usage}", reason=ctx.t.error(exc), usage=ctx.t._(command.usage)
            )
        )


def patient_choices(ctx: Ctx) -> list[tuple[str, str]]:
    """Active patients by study ID (never by name), for a guided flow's first step."""
    with read_session(ctx.services.engine) as session:
        ids = session.exec(
            select(Patient.study_id)
            .where(Patient.status == PatientStatus.ACTIVE)
            .order_by(col(Patient.study_id))
        ).all()
    return [(study_id, study_id) for study_id in ids]


def _keyboard(options: Sequence[tuple[str, str]], optional: bool, ctx: Ctx) -> Buttons:
    shown = list(options[:_MAX_BUTTONS])
    rows = [
        [(label, f"g:{value}"[:64]) for label, value in shown[i : i + _PER_ROW]]
        for i in range(0, len(shown), _PER_ROW)
    ]
    if optional:
        rows.append([(ctx.t._("Skip"), f"g:{SKIP}")])
    return rows


async def start_guide(ctx: Ctx, command: StaffCommand) -> None:
    with ctx.uow() as uow:
        flows.move_to(uow, ctx.person.key, GUIDE_FLOW, command.name, answers=[])
    await _ask(ctx, command, 0)


async def _ask(ctx: Ctx, command: StaffCommand, index: int) -> None:
    question = command.fields[index]
    text = ctx.t._(question.prompt)
    if question.choices is not None:
        options = question.choices(ctx)
        if not options and not question.optional:
            await _end(ctx)
            await ctx.reply(ctx.t._("There is nothing to choose from yet."))
            return
        await ctx.reply(text, _keyboard(options, question.optional, ctx))
    elif question.optional:
        await ctx.reply(text, [[(ctx.t._("Skip"), f"g:{SKIP}")]])
    else:
        await ctx.reply(text)


async def _end(ctx: Ctx) -> None:
    with ctx.uow() as uow:
        flows.finish(uow, ctx.person.key)


async def _answer(ctx: Ctx, value: str) -> None:
    step = flows.current(ctx.services.engine, ctx.person.key)
    commands = ctx.tables.staff_commands
    if step is None or step.flow != GUIDE_FLOW or step.step not in commands:
        await ctx.reply(ctx.t._("This button is no longer valid."))
        return
    command = commands[step.step]
    if not may(ctx.person.role, command.name):
        await _end(ctx)
        return
    answers: list[str] = list(step.data.get("answers", []))
    question = command.fields[len(answers)]
    if value == SKIP and not question.optional:
        await ctx.reply(ctx.t._("Please answer with the buttons above."))
        return
    answers.append(value)
    if len(answers) < len(command.fields):
        with ctx.uow() as uow:
            flows.move_to(uow, ctx.person.key, GUIDE_FLOW, command.name, answers=answers)
        await _ask(ctx, command, len(answers))
        return
    await _end(ctx)
    words: list[str] = []
    for question, answer in zip(command.fields, answers, strict=True):
        if answer != SKIP:
            words.extend(question.template.format(value=answer).split())
    await run_refusing(ctx, command, words)


async def typed_answer(ctx: Ctx, text: str) -> None:
    """A guided flow's question answered by typing (the text step of every staff command)."""
    step = flows.current(ctx.services.engine, ctx.person.key)
    commands = ctx.tables.staff_commands
    if step is None or step.step not in commands:
        return
    answers = step.data.get("answers", [])
    question = commands[step.step].fields[len(answers)]
    # Typed answers become words of the command: read as the command's words are.
    text = fold_command_text(text)
    if question.choices is not None:
        # A typed answer is fine when it is one of the buttons (a study ID, say).
        values = {value.casefold(): value for _, value in question.choices(ctx)}
        if text.strip().casefold() in values:
            await _answer(ctx, values[text.strip().casefold()])
        else:
            await ctx.reply(ctx.t._("Please answer with the buttons above."))
        return
    if not text.strip() or len(text) > 500:
        await ctx.reply(ctx.t._("Please type a short answer (up to 500 characters)."))
        return
    await _answer(ctx, text.strip())


async def guide_pressed(ctx: Ctx) -> None:
    """A guided-flow button (``g:<value>``)."""
    await ctx.toast()
    await _answer(ctx, (ctx.inbound.token or "").removeprefix("g:"))


FEATURE = Feature("guided flows", options=[(r"^g:", guide_pressed)])
