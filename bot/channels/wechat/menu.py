"""The account's custom menu: three buttons that do what ``/schedule``, ``/report`` and
``/contacts`` do.

Once the callback is on, WeChat's console menu stops working and the menu is
created through ``menu/create`` (docs/wechat-oa/callbacks.md §1), at every
start. A tap pushes ``CLICK`` with the button's key (§5.5), which the
adapter answers as the command of that key. An account has one menu for
every follower, so it is in the site's language, simplified Chinese; a top
button's name is at most 4 Chinese characters, 16 bytes (api.json
``limits.menu``, ``createMenu.button.name``).
"""

from __future__ import annotations

from bot.channels.wechat.api import MenuButton
from bot.i18n import Translator
from core.messages import N_

# The button's key (its CLICK's EventKey) -> the command it does.
MENU_COMMANDS: dict[str, str] = {
    "schedule": "schedule",
    "report": "report",
    "contacts": "contacts",
}
MENU_LABELS: dict[str, str] = {
    "schedule": N_("My schedule"),
    "report": N_("Report a symptom"),
    "contacts": N_("Contact the team"),
}
TOP_NAME_MAX_BYTES = 16


def menu_buttons(t: Translator) -> list[MenuButton]:
    """The menu in ``t``'s language; a name too long for a top button is an error."""
    buttons = [MenuButton(t._(MENU_LABELS[key]), key=key) for key in MENU_COMMANDS]
    for button in buttons:
        if len(button.name.encode()) > TOP_NAME_MAX_BYTES:
            raise ValueError(f"menu button {button.name!r} is over {TOP_NAME_MAX_BYTES} bytes")
    return buttons
