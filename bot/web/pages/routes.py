"""The patients' pages over HTTP: ``/r/<token>`` and the pages below it.

| method and path                | what it does                                          |
|--------------------------------|-------------------------------------------------------|
| GET  /r/<token>                | the reminder in full with its choices (or the links)  |
| POST /r/<token>                | a choice, recorded as the chat button records it      |
| GET  /r/<token>/schedule       | the patient's next study events (``/schedule``)       |
| GET  /r/<token>/calendar.ics   | their calendar file (``/calendar``)                   |
| GET  /r/<token>/report         | "Is any of these happening now?" (the red flags)      |
| POST /r/<token>/report         | a red flag: 120 and the contacts at once, staff alerted |
| GET  /r/<token>/report-details | the report's other questions                           |
| POST /r/<token>/report-details | the report, filed as ``/report`` files it              |

The token (:mod:`bot.web.page_tokens`) is the only credential: no login,
no cookie. A POST must carry it in its form as well as in its address, so a
request made up elsewhere without the link does nothing; the pages set no
cookie (nothing for SameSite to guard), refuse to be framed and never send
the address on as a Referer (:data:`bot.web.pages.html.HEADERS`). A token
that fails (forged, expired, another patient's, malformed) gets a page
saying so and changes nothing.

A report form carries a one-time value: the same form sent twice (a double
tap, a reload) files one report, and the second answer says so. Those
values are kept in memory, the last :data:`REMEMBERED_FORMS` of them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.context import Services
from bot.handlers.report import Category, Onset, RedFlag, Severity
from bot.i18n import Translator, choose_language
from bot.views.reminder import (
    SLOT_CHOICES,
    Choice,
    callback_data,
    choice_label,
    render_reminder,
    urine_steps,
)
from bot.web.page_tokens import ExpiredToken, PageToken, PageTokenError, verify
from bot.web.pages import views
from bot.web.pages.acting import PageActions, PageReplies, Visitor, visitor
from bot.web.pages.html import HEADERS
from bot.web.server import Handler, WebRoute
from core.schedule import Slot
from core.store.db import read_session
from core.store.models import PlannedEventRow, Reminder

log = logging.getLogger(__name__)

# Report forms answered, remembered so that the same form sent again files nothing.
REMEMBERED_FORMS = 1000

_URINE_SLOTS = (Slot.URINE_START, Slot.URINE_END)


@dataclass(frozen=True, slots=True)
class Visit:
    """One request for a patient's page: the token as given, what it grants, for whom."""

    token: str
    grant: PageToken
    who: Visitor
    t: Translator


PageHandler = Callable[[web.Request, Visit], Awaitable[web.Response]]


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


class Pages:
    """The patients' pages for one bot: its services, conversation layer and page key."""

    def __init__(self, services: Services, actions: PageActions, secret: bytes) -> None:
        self.services = services
        self.actions = actions
        self.secret = secret
        self._answered: OrderedDict[tuple[int, str], tuple[PageReplies, bool]] = OrderedDict()
        self._locks: dict[int, asyncio.Lock] = {}

    def routes(self) -> list[WebRoute]:
        """Every page's route, for :func:`bot.runner.web_routes`."""
        pages: list[tuple[str, str, PageHandler]] = [
            ("GET", "", self.reminder),
            ("POST", "", self.choose),
            ("GET", "/schedule", self.schedule),
            ("GET", "/calendar.ics", self.calendar),
            ("GET", "/report", self.report),
            ("POST", "/report", self.red_flag),
            ("GET", "/report-details", self.details),
            ("POST", "/report-details", self.file_report),
        ]
        return [
            WebRoute(method, "/r/{token}" + path, self._opened(handler, post=method == "POST"))
            for method, path, handler in pages
        ]

    # --- opening a page ---------------------------------------------------------------

    def _stranger(self, request: web.Request) -> Translator:
        """The translator for someone the token does not name: their browser's language."""
        hint = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
        return Translator(choose_language(None, hint or None), self.services.zone)

    def _refused(self, request: web.Request, *, expired: bool = False) -> web.Response:
        page = views.not_open_page(self._stranger(request), self.services.protocol, expired=expired)
        return _html(page, status=410 if expired else 404)

    def _opened(self, handler: PageHandler, *, post: bool) -> Handler:
        """``handler`` behind the token's checks: signed by this bot, not expired, for a
        patient who has an account and is still in the study; a POST carries the token
        in its form too."""

        async def opened(request: web.Request) -> web.Response:
            token = request.match_info["token"]
            try:
                grant = verify(self.secret, token, self.services.clock.now())
            except ExpiredToken:
                return self._refused(request, expired=True)
            except PageTokenError as error:
                log.info("page link refused: %s", type(error).__name__)
                return self._refused(request)
            if post:
                form = await request.post()
                if form.get("token") != token:
                    log.info("page form without its token refused")
                    return self._refused(request)
            who = visitor(self.services, grant.patient_id)
            if who is None:
                return self._refused(request)
            t = Translator(who.person.lang, self.services.zone)
            if not who.active:
                return _html(views.withdrawn_page(t, self.services.protocol), status=410)
            return await handler(request, Visit(token, grant, who, t))

        return opened

    def _lock(self, patient_id: int) -> asyncio.Lock:
        # One page action at a time per patient: a double tap cannot interleave a flow.
        return self._locks.setdefault(patient_id, asyncio.Lock())

    # --- the reminder ---------------------------------------------------------------------

    def _reminder(self, visit: Visit) -> tuple[Reminder, PlannedEventRow] | None:
        if visit.grant.reminder_id is None:
            return None
        with read_session(self.services.engine) as session:
            reminder = session.get(Reminder, visit.grant.reminder_id)
            if reminder is None or reminder.patient_id != visit.grant.patient_id:
                return None
            event = session.get(PlannedEventRow, reminder.event_id)
        return None if event is None else (reminder, event)

    async def reminder(self, request: web.Request, visit: Visit) -> web.Response:
        """The reminder in full with its choices; a link without one shows the links."""
        t, protocol = visit.t, self.services.protocol
        if visit.grant.reminder_id is None:
            return _html(views.home_page(t, protocol, visit.token))
        found = self._reminder(visit)
        if found is None:
            return self._refused(request)
        reminder, event = found
        text, _ = render_reminder(t, protocol, reminder, event)
        choices = [(c.value, choice_label(t, c.value)) for c in SLOT_CHOICES[reminder.slot]]
        answered = None if reminder.response is None else choice_label(t, reminder.response)
        steps = urine_steps(t, protocol, event) if reminder.slot in _URINE_SLOTS else []
        page = views.reminder_page(
            t, protocol, visit.token, text=text, steps=steps, choices=choices, answered=answered
        )
        return _html(page)

    async def choose(self, request: web.Request, visit: Visit) -> web.Response:
        """A choice: the chat button's own option token, through the conversation layer."""
        form = await request.post()
        reminder_id = visit.grant.reminder_id
        try:
            choice = Choice(str(form.get("choice", "")))
        except ValueError:
            return self._refused(request)
        if reminder_id is None:
            return self._refused(request)
        async with self._lock(visit.grant.patient_id):
            out = await self.actions.choose(visit.who, callback_data(reminder_id, choice))
        page = views.answered_page(visit.t, self.services.protocol, visit.token, out, reminder=True)
        return _html(page)

    # --- schedule and calendar ------------------------------------------------------------

    async def schedule(self, request: web.Request, visit: Visit) -> web.Response:
        out = await self.actions.command(visit.who, "schedule")
        reminder = visit.grant.reminder_id is not None
        page = views.schedule_page(
            visit.t, self.services.protocol, visit.token, out, reminder=reminder
        )
        return _html(page)

    async def calendar(self, request: web.Request, visit: Visit) -> web.Response:
        out = await self.actions.command(visit.who, "calendar")
        files = out.attachments()
        if not files:
            return self._refused(request)
        (file,) = files
        return web.Response(
            body=file.data,
            content_type="text/calendar",
            charset="utf-8",
            headers={
                **HEADERS,
                "Content-Disposition": f'attachment; filename="{file.filename}"',
            },
        )

    # --- reporting a symptom --------------------------------------------------------------

    async def report(self, request: web.Request, visit: Visit) -> web.Response:
        once = secrets.token_urlsafe(12)
        return _html(views.red_flag_form(visit.t, self.services.protocol, visit.token, once))

    async def details(self, request: web.Request, visit: Visit) -> web.Response:
        once = secrets.token_urlsafe(12)
        return _html(views.details_form(visit.t, self.services.protocol, visit.token, once))

    async def red_flag(self, request: web.Request, visit: Visit) -> web.Response:
        """A red flag pressed: ``/report`` then that flag's option, as in the chat."""
        form = await request.post()
        try:
            flag = RedFlag(str(form.get("flag", "")))
        except ValueError:
            return self._refused(request)
        return await self._file(visit, str(form.get("once", "")), [f"rep:flag:{flag.value}"])

    async def file_report(self, request: web.Request, visit: Visit) -> web.Response:
        """The other questions answered: ``/report``, "None of these", each answer, then
        the patient's words (or Skip), as in the chat."""
        form = await request.post()
        once = str(form.get("once", ""))
        try:
            category = Category(str(form.get("category", "")))
            severity = Severity(str(form.get("severity", "")))
            onset = Onset(str(form.get("onset", "")))
        except ValueError:
            page = views.details_form(
                visit.t, self.services.protocol, visit.token, once, incomplete=True
            )
            return _html(page, status=422)
        tokens = [
            "rep:flag:none",
            f"rep:cat:{category.value}",
            f"rep:sev:{severity.value}",
            f"rep:on:{onset.value}",
        ]
        # A browser sends a typed line break as CR LF but counts it as one character
        # against the field's maxlength; the chat's limit counts it as one too.
        details = str(form.get("details", "")).replace("\r\n", "\n").strip()
        if not details:
            tokens.append("rep:skip")
        return await self._file(visit, once, tokens, details or None)

    async def _file(
        self, visit: Visit, once: str, tokens: list[str], details: str | None = None
    ) -> web.Response:
        if not once:
            return _html(views.not_open_page(visit.t, self.services.protocol, expired=False), 400)
        key = (visit.grant.patient_id, once)
        async with self._lock(visit.grant.patient_id):
            again = key in self._answered
            if again:
                out, urgent = self._answered[key]
            else:
                out = await self.actions.flow(visit.who, "report", tokens, details)
                urgent = tokens[0] != "rep:flag:none"
                self._answered[key] = (out, urgent)
                while len(self._answered) > REMEMBERED_FORMS:
                    self._answered.popitem(last=False)
        page = views.report_sent_page(
            visit.t, self.services.protocol, visit.token, out, urgent=urgent, again=again
        )
        return _html(page)
