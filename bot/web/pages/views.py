"""The patients' pages as HTML, in the reader's language.

Each function takes a translator and what the page shows and returns the
whole document. The sentences are the chat's own wherever the chat has
them (the reminder texts, the buttons' labels, the report's questions and
red flags, the contacts); the few here are what only a page needs: its
title, its links and the form's own words.

Links are relative, so the pages work under whatever path the HTTPS proxy
in front of the bot serves them: a page at ``/r/<token>`` links to
``<token>/schedule``, a page at ``/r/<token>/schedule`` to ``report`` and
back to ``../<token>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from bot.handlers.report import (
    ASK_CATEGORY,
    ASK_ONSET,
    ASK_RED_FLAG,
    ASK_SEVERITY,
    CATEGORY_NAMES,
    MAX_DETAILS_CHARS,
    NONE_OF_THESE,
    NOT_EMERGENCY,
    ONSET_NAMES,
    RED_FLAG_BUTTONS,
    SEVERITY_BUTTONS,
)
from bot.i18n import Translator
from bot.views.outsider import WITHDRAWN_TEXT
from bot.views.reminder import contact_entries, contact_lines
from bot.web.pages import html
from bot.web.pages.acting import PageReplies
from core.messages import N_
from core.protocol import Protocol

TITLE_HOME = N_("Your study pages")
TITLE_REMINDER = N_("Your reminder")
TITLE_SCHEDULE = N_("Your study schedule")
TITLE_REPORT = N_("Report a symptom")
TITLE_NOT_OPEN = N_("This link does not open")
LINK_INVALID = N_(
    "This link is not valid. Please open the link in the latest message from the study "
    "team, or contact them:"
)
LINK_EXPIRED = N_(
    "This link has expired. Please open the link in the latest message from the study "
    "team, or contact them:"
)
NAV_REMINDER = N_("Back to the reminder")
NAV_CALENDAR = N_("Add your study appointments to your phone's calendar (.ics file)")
NAV_REPORT = N_("Report a symptom or side effect")
URINE_STEPS = N_("How to do the 24-hour urine collection")
DETAILS_OPTIONAL = N_("Describe it in your own words (you may leave this empty).")
SEND = N_("Send to the study team")
INCOMPLETE = N_("Please answer every question.")
ALREADY_SENT = N_("This form was already sent. It was not sent again.")


class Here(StrEnum):
    """Where a page is, for its relative links."""

    HOME = "home"  # /r/<token>
    BELOW = "below"  # /r/<token>/<page>


def _nav(
    t: Translator, token: str, here: Here, *, reminder: bool, current: str | None = None
) -> str:
    """Links to the patient's other pages (not to ``current``, the page itself)."""
    prefix = f"{token}/" if here == Here.HOME else ""
    items = []
    if here == Here.BELOW:
        items.append((f"../{token}", t._(NAV_REMINDER if reminder else TITLE_HOME)))
    pages = [
        ("schedule", t._(TITLE_SCHEDULE)),
        ("calendar.ics", t._(NAV_CALENDAR)),
        ("report", t._(NAV_REPORT)),
    ]
    items += [(prefix + page, text) for page, text in pages if page != current]
    return html.links(items)


def _contacts(t: Translator, protocol: Protocol) -> str:
    return html.footer("\n".join(contact_lines(t, protocol)))


def reminder_page(
    t: Translator,
    protocol: Protocol,
    token: str,
    *,
    text: str,
    steps: Sequence[str],
    choices: Sequence[tuple[str, str]],
    answered: str | None,
) -> str:
    """A reminder in full: its text, the urine collection's steps when it is about one,
    its choices (or the answer already recorded), the links, the contacts."""
    body = [html.paragraphs(text)]
    if answered is not None:
        body.append(html.paragraphs(t._("Already recorded: {answer}.", answer=answered), "notice"))
    elif choices:
        body.append(html.button_form([("token", token)], "choice", choices))
    if steps:
        body += [html.heading(t._(URINE_STEPS)), html.paragraphs("\n".join(steps))]
    body += [_nav(t, token, Here.HOME, reminder=True), _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_REMINDER), body)


def home_page(t: Translator, protocol: Protocol, token: str) -> str:
    """The pages of a link that names no reminder: the links and the contacts."""
    body = [_nav(t, token, Here.HOME, reminder=False), _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_HOME), body)


def answered_page(
    t: Translator, protocol: Protocol, token: str, out: PageReplies, *, reminder: bool
) -> str:
    """What the chat answered to a choice: its notice, then its messages."""
    body = [html.paragraphs(notice, "notice") for notice in out.notices]
    body += [html.paragraphs(text) for text in out.texts()]
    body += [_nav(t, token, Here.HOME, reminder=reminder), _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_REMINDER), body)


def schedule_page(
    t: Translator, protocol: Protocol, token: str, out: PageReplies, *, reminder: bool
) -> str:
    """The ``/schedule`` answer, with the calendar file and the other links."""
    body = [html.paragraphs(text) for text in out.texts()]
    nav = _nav(t, token, Here.BELOW, reminder=reminder, current="schedule")
    body += [nav, _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_SCHEDULE), body)


def red_flag_form(t: Translator, protocol: Protocol, token: str, once: str) -> str:
    """The report's first question, as in the chat: a red flag is sent at once; "None of
    these" opens the rest of the questions (nothing is sent by it)."""
    emergency = protocol.site.emergency_number
    flags = [(flag.value, t._(label)) for flag, label in RED_FLAG_BUTTONS.items()]
    body = [
        html.paragraphs(t._(NOT_EMERGENCY, emergency=emergency)),
        html.heading(t._(ASK_RED_FLAG)),
        html.button_form([("token", token), ("once", once)], "flag", flags),
        '<form method="get" action="report-details">'
        f'<button type="submit">{html.escape(t._(NONE_OF_THESE))}</button></form>',
        _nav(t, token, Here.BELOW, reminder=False, current="report"),
        _contacts(t, protocol),
    ]
    return html.document(t.lang, t._(TITLE_REPORT), body)


def details_form(
    t: Translator, protocol: Protocol, token: str, once: str, *, incomplete: bool = False
) -> str:
    """The report's other questions on one form: category, severity, onset, own words."""
    body = []
    if incomplete:
        body.append(html.paragraphs(t._(INCOMPLETE), "urgent"))
    fields = [
        html.hidden("token", token),
        html.hidden("once", once),
        html.radio_group(
            t._(ASK_CATEGORY), "category", [(c.value, t._(n)) for c, n in CATEGORY_NAMES.items()]
        ),
        html.radio_group(
            t._(ASK_SEVERITY),
            "severity",
            [(s.value, t._(n)) for s, n in SEVERITY_BUTTONS.items()],
        ),
        html.radio_group(
            t._(ASK_ONSET), "onset", [(o.value, t._(n)) for o, n in ONSET_NAMES.items()]
        ),
        f"<fieldset><legend>{html.escape(t._(DETAILS_OPTIONAL))}</legend>"
        f'<textarea name="details" rows="5" maxlength="{MAX_DETAILS_CHARS}"></textarea>'
        "</fieldset>",
        f'<button type="submit">{html.escape(t._(SEND))}</button>',
    ]
    body.append('<form method="post">' + "".join(fields) + "</form>")
    body += [_nav(t, token, Here.BELOW, reminder=False), _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_REPORT), body)


def report_sent_page(
    t: Translator,
    protocol: Protocol,
    token: str,
    out: PageReplies,
    *,
    urgent: bool,
    again: bool = False,
) -> str:
    """What the chat answered at the end of the report: for a red flag, the emergency
    instructions first and in red; ``again`` when the same form came a second time."""
    body = [html.paragraphs(t._(ALREADY_SENT), "notice")] if again else []
    body += [html.paragraphs(text, "urgent" if urgent else None) for text in out.texts()]
    body += [_nav(t, token, Here.BELOW, reminder=False), _contacts(t, protocol)]
    return html.document(t.lang, t._(TITLE_REPORT), body)


def not_open_page(t: Translator, protocol: Protocol, *, expired: bool) -> str:
    """A link that is not (or no longer) valid: what to do instead, and whom to call."""
    lines = [t._(LINK_EXPIRED if expired else LINK_INVALID), *contact_entries(t, protocol)]
    return html.document(t.lang, t._(TITLE_NOT_OPEN), [html.paragraphs("\n".join(lines))])


def withdrawn_page(t: Translator, protocol: Protocol) -> str:
    """A patient who has left the study: the bot no longer acts for them (as in the chat)."""
    lines = [t._(WITHDRAWN_TEXT), *contact_entries(t, protocol)]
    return html.document(t.lang, t._(TITLE_NOT_OPEN), [html.paragraphs("\n".join(lines))])
