"""The template card rules api.json gives in words, after the field checks of its table.

docs/wecom/api.json's ``template_card.button_interaction`` section, beyond
names, types and numeric limits (:mod:`local_servers.wecom.spec`):

* a button (``button_list``) of type 0 (the default, a callback button)
  needs its ``key``, one of type 1 its ``url``; keys are unique in the card;
* a ``horizontal_content_list`` row of type 1 needs ``url``, 2 ``media_id``,
  3 ``userid``;
* ``action_menu.action_list`` holds 1..3 ``{text, key}`` with unique keys of
  at most 1024 bytes.

A break is refused with 40058 and kept as a violation. Lengths api.json
gives only as advice ("建议不超过N个字") are not refused: the section's note
says to warn about them, so :func:`card_warnings` lists them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["SUGGESTED_CHARS", "card_problem", "card_warnings"]

JSON = dict[str, Any]

#: Suggested maximum lengths in characters (api.json's descriptions; the later copy's
#: figure where two are given).
SUGGESTED_CHARS = {
    "source.desc": 20,
    "main_title.title": 36,
    "main_title.desc": 44,
    "sub_title_text": 160,
    "horizontal_content_list[].keyname": 5,
    "horizontal_content_list[].value": 30,
    "button_list[].text": 10,
}
_ROW_NEEDS = {1: "url", 2: "media_id", 3: "userid"}
_BUTTON_NEEDS = {0: "key", 1: "url"}
MAX_KEY_BYTES = 1024


def _unique_keys(path: str, items: list[Any], field: str) -> str | None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        key = item.get(field)
        if key is None:
            continue
        if key in seen:
            return f"{path}[{index}].{field}"
        seen.add(key)
    return None


def card_problem(card: JSON) -> str | None:
    """The path of the first field that breaks a rule of the module docstring (None: none)."""
    buttons: list[JSON] = card.get("button_list") or []
    for index, button in enumerate(buttons):
        needed = _BUTTON_NEEDS[button.get("type", 0)]
        if not button.get(needed):
            return f"button_list[{index}].{needed}"
    problem = _unique_keys("button_list", buttons, "key")
    if problem is not None:
        return problem
    for index, row in enumerate(card.get("horizontal_content_list") or []):
        needed_field = _ROW_NEEDS.get(row.get("type", 0))
        if needed_field is not None and not row.get(needed_field):
            return f"horizontal_content_list[{index}].{needed_field}"
    menu = card.get("action_menu")
    if menu is not None:
        actions = menu.get("action_list")
        for index, action in enumerate(actions or []):
            path = f"action_menu.action_list[{index}]"
            if not isinstance(action, dict) or set(action) != {"text", "key"}:
                return path
            if not all(isinstance(action[name], str) for name in ("text", "key")):
                return path
            if len(action["key"].encode()) > MAX_KEY_BYTES:
                return path + ".key"
        return _unique_keys("action_menu.action_list", actions or [], "key")
    return None


def _texts(card: JSON) -> Iterator[tuple[str, Any, int]]:
    """Each text with a suggested length: its path in the card, its value, the length."""
    for path, limit in SUGGESTED_CHARS.items():
        head, _, rest = path.partition("[].")
        if rest:
            for index, item in enumerate(card.get(head) or []):
                if isinstance(item, dict):
                    yield f"{head}[{index}].{rest}", item.get(rest), limit
        else:
            parent, _, name = path.rpartition(".")
            holder = card.get(parent) if parent else card
            yield path, holder.get(name) if isinstance(holder, dict) else None, limit


def card_warnings(card: JSON) -> list[str]:
    """The texts longer than api.json suggests, as ``path: n characters ...`` lines."""
    return [
        f"{path}: {len(text)} characters, api.json suggests at most {limit}"
        for path, text, limit in _texts(card)
        if isinstance(text, str) and len(text) > limit
    ]
