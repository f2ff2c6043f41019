"""The address of a patient's pages, as a reminder links to it.

``{PUBLIC_BASE_URL}/r/<token>``: the token (:mod:`bot.web.page_tokens`) names
the patient and the reminder and opens the pages for ``pages.link_days``
days from when the link is made (a choice of the protocol file).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.web.page_tokens import issue
from core.protocol import Protocol


def page_url(
    public_base_url: str,
    secret: bytes,
    protocol: Protocol,
    *,
    patient_id: int,
    reminder_id: int | None,
    now: datetime,
) -> str:
    """The link to the patient's pages (for ``reminder_id``'s reminder when given)."""
    expires = now + timedelta(days=protocol.pages.link_days)
    token = issue(secret, reminder_id, patient_id, expires)
    return f"{public_base_url.rstrip('/')}/r/{token}"
