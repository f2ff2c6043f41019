"""The few HTML pieces the patients' pages are made of: plain, small, no script.

The pages must open in an old phone's WeChat browser without JavaScript, so
everything is a heading, paragraphs, links and forms whose buttons submit
them. Every piece of text passes :func:`escape`; the style sheet is inline
(no asset to fetch), and the Content-Security-Policy allows that style sheet
and nothing else: no script, no image, no frame around the page.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape as _escape

from bot.i18n import Lang
from core.vocabulary import Language

# Large tap targets and readable text on a small screen; no web fonts.
STYLE = (
    "body{font:18px/1.5 sans-serif;margin:0 auto;max-width:40em;padding:0 12px 24px;"
    "color:#111;background:#fff}"
    "h1{font-size:22px;margin:16px 0 8px}h2{font-size:19px;margin:20px 0 6px}"
    "p{margin:8px 0}"
    "button{display:block;width:100%;font-size:18px;padding:12px;margin:8px 0;"
    "border:1px solid #246;border-radius:6px;background:#e8f0fa;color:#123}"
    "fieldset{border:1px solid #bbb;border-radius:6px;margin:12px 0;padding:8px 12px}"
    "legend{font-weight:bold}label{display:block;padding:8px 0}"
    "textarea{width:100%;box-sizing:border-box;font-size:17px}"
    ".notice{border-left:6px solid #2a7;background:#effaf3;padding:8px 12px}"
    ".urgent{border-left:6px solid #c22;background:#fdeeee;padding:8px 12px}"
    "nav a{display:block;padding:8px 0}footer{margin-top:24px;color:#444;font-size:16px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")

# Every page's response headers. The link itself is the credential: it must not
# leak in a Referer, stay in a shared cache, or be framed by another site. A browser
# that knows style hashes ignores 'unsafe-inline' beside one (CSP level 2); an older
# one needs it to show the style sheet at all.
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'unsafe-inline' 'sha256-{_STYLE_HASH}'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

_HTML_LANG = {Language.ZH_HANS: "zh-Hans", Language.EN: "en"}


def escape(text: str) -> str:
    """Text as HTML: markup characters and quotes escaped."""
    return _escape(text, quote=True)


def document(lang: Lang, title: str, body: Iterable[str]) -> str:
    """A whole page: ``body`` is pieces already made safe by this module."""
    return (
        f'<!DOCTYPE html><html lang="{_HTML_LANG[lang]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        + "".join(body)
        + "</body></html>"
    )


def paragraphs(text: str, css: str | None = None) -> str:
    """Each line of a chat message as a paragraph (in a box of class ``css``)."""
    inner = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
    return f'<div class="{css}">{inner}</div>' if css else inner


def heading(text: str) -> str:
    return f"<h2>{escape(text)}</h2>"


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def button_form(
    fields: Sequence[tuple[str, str]], name: str, buttons: Iterable[tuple[str, str]]
) -> str:
    """A POST form to this page's own address: one submit button per (value, label)."""
    inner = "".join(hidden(key, value) for key, value in fields)
    inner += "".join(
        f'<button type="submit" name="{escape(name)}" value="{escape(value)}">'
        f"{escape(label)}</button>"
        for value, label in buttons
    )
    return f'<form method="post">{inner}</form>'


def radio_group(legend: str, name: str, options: Iterable[tuple[str, str]]) -> str:
    """A required question with one answer, as radio buttons in a fieldset."""
    items = "".join(
        f'<label><input type="radio" name="{escape(name)}" value="{escape(value)}" required> '
        f"{escape(label)}</label>"
        for value, label in options
    )
    return f"<fieldset><legend>{escape(legend)}</legend>{items}</fieldset>"


def links(items: Iterable[tuple[str, str]]) -> str:
    """Links to the patient's other pages: (relative address, text)."""
    return (
        "<nav>"
        + "".join(f'<a href="{escape(href)}">{escape(text)}</a>' for href, text in items)
        + "</nav>"
    )


def footer(text: str) -> str:
    return f"<footer>{paragraphs(text)}</footer>"
