"""The WeChat channel's own records: pushes until handled, option menus sent.

Pushes (docs/wechat-oa/callbacks.md §4.4, §4.5): each is stored once under
the key a retry repeats, before WeChat is answered; it is handled
afterwards, and its text is dropped once handled. A push that can be handled
at once (a delivery receipt for a reminder already ``sent``) is handled in
the transaction that stores it, and stored handled. The audit trail names a
push by its key and account, never its content (a patient's own words are
kept where they become a report, not here). Handled pushes are kept a day
(:data:`PUSH_KEYS_KEPT`) so a late retry is still recognised, then deleted.

Menus (§5.1): the options of each menu message sent to an account, found
again by the numeric id WeChat returns with a tap, or by the label of the
account's latest menu when WeChat drops the id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.store.models import WechatMenu, WechatPush
from core.store.uow import UnitOfWork, table_of

log = logging.getLogger(__name__)

# callbacks.md §4.5 asks for "at least a few minutes"; a day also covers a
# bot that was down while WeChat retried.
PUSH_KEYS_KEPT = timedelta(days=1)
# An option's id is the menu's id times this, plus its position from 1.
OPTIONS_PER_MENU = 100


@dataclass(frozen=True, slots=True)
class StoredPush:
    """A push waiting to be handled: its row id, the account it came from, its XML."""

    id: int
    account: str
    body: str


@dataclass(frozen=True, slots=True)
class MenuOption:
    """One option of a menu sent: its label, its token, the message it was under."""

    label: str
    token: str
    message: str


# WeCom's pushes share the table (the same store-then-answer rule); their keys say so.
WECOM_KEY_PREFIX = "wecom:"


def receive_push(
    uow: UnitOfWork,
    dedupe_key: str,
    account: str,
    body: str,
    *,
    settle: Callable[[], bool] | None = None,
) -> int | None:
    """Store a push unless its key is stored already; its row id, or None for a repeat.

    Handled pushes older than :data:`PUSH_KEYS_KEPT` are deleted in the same
    transaction (one audit record for however many).

    ``settle``, when given, is called once the push is known to be new, in a
    savepoint of this transaction: True if it handled the push there and then
    (a delivery receipt applied to its reminder), and the push is stored
    handled, without its text, in one transaction instead of three. False, or
    an exception (the savepoint rolled back, nothing of it kept), leaves the
    push stored to be handled as usual.
    """
    session = uow.session
    seen = session.exec(select(WechatPush.id).where(WechatPush.dedupe_key == dedupe_key)).first()
    if seen is not None:
        return None
    _forget_old(uow)
    handled = settle is not None and _settled(uow, settle)
    push = WechatPush(
        dedupe_key=dedupe_key,
        account=account,
        received_at=uow.now,
        body=None if handled else body,
        handled_at=uow.now if handled else None,
    )
    session.add(push)
    session.flush()
    assert push.id is not None
    after: dict[str, object] = {"dedupe_key": dedupe_key, "account": account}
    if handled:
        after["handled_at"] = uow.now.isoformat()
    uow.audit("wechat.push.received", table_of(WechatPush).name, str(push.id), after=after)
    return push.id


def _settled(uow: UnitOfWork, settle: Callable[[], bool]) -> bool:
    try:
        with uow.session.begin_nested():
            return settle()
    except Exception:
        # The push itself must still be stored (WeChat is answered "success"); the
        # usual handling, in the background, retries what failed here.
        log.exception("a push could not be handled as it was stored; it is handled after")
        return False


def _forget_old(uow: UnitOfWork) -> None:
    cutoff = uow.now - PUSH_KEYS_KEPT
    result = uow.session.execute(
        delete(WechatPush)
        .where(col(WechatPush.handled_at).is_not(None))
        .where(col(WechatPush.received_at) < cutoff)
    )
    count = getattr(result, "rowcount", 0) or 0
    if count:
        uow.audit(
            "wechat.push.forgotten",
            table_of(WechatPush).name,
            "handled",
            after={"count": count, "received_before": cutoff.isoformat()},
        )


def unhandled_pushes(session: Session, *, wecom: bool = False) -> list[StoredPush]:
    """Pushes stored but not handled yet (the bot stopped first), oldest first: WeChat's,
    or (``wecom``) WeCom's, whose keys start with :data:`WECOM_KEY_PREFIX`."""
    from_wecom = col(WechatPush.dedupe_key).startswith(WECOM_KEY_PREFIX)
    rows = session.exec(
        select(WechatPush)
        .where(col(WechatPush.handled_at).is_(None))
        .where(from_wecom if wecom else ~from_wecom)
        .order_by(col(WechatPush.id))
    ).all()
    return [StoredPush(row.id, row.account, row.body or "") for row in rows if row.id is not None]


def push_handled(uow: UnitOfWork, push_id: int) -> None:
    """The push was handled: its text is dropped, its key kept to recognise a late retry."""
    push = uow.session.get(WechatPush, push_id)
    if push is None or push.handled_at is not None:
        return
    push.body = None
    push.handled_at = uow.now
    uow.session.flush()
    uow.audit(
        "wechat.push.handled",
        table_of(WechatPush).name,
        str(push_id),
        after={"handled_at": uow.now.isoformat()},
    )


def record_menu(
    uow: UnitOfWork, account: str, message: str, options: Sequence[tuple[str, str]]
) -> list[int]:
    """Keep the options ``(label, token)`` of a menu sent to ``account``; their ids, in order."""
    if not 1 <= len(options) < OPTIONS_PER_MENU:
        raise ValueError(f"a menu has 1 to {OPTIONS_PER_MENU - 1} options")
    payload = json.dumps([list(option) for option in options], ensure_ascii=False)
    menu = uow.add(
        WechatMenu(account=account, message=message, options=payload, created_at=uow.now),
        "wechat.menu.sent",
    )
    assert menu.id is not None
    return [menu.id * OPTIONS_PER_MENU + index + 1 for index in range(len(options))]


def _options(menu: WechatMenu) -> list[MenuOption]:
    return [MenuOption(label, token, menu.message) for label, token in json.loads(menu.options)]


def menu_option(session: Session, account: str, option_id: int) -> MenuOption | None:
    """The option whose id a tap carried, if it was sent to ``account``."""
    menu_id, position = divmod(option_id, OPTIONS_PER_MENU)
    menu = session.get(WechatMenu, menu_id)
    if menu is None or menu.account != account or position == 0:
        return None
    options = _options(menu)
    return options[position - 1] if position <= len(options) else None


def latest_menu_option(session: Session, account: str, label: str) -> MenuOption | None:
    """The option labelled ``label`` in the latest menu sent to ``account``, if any."""
    menu = session.exec(
        select(WechatMenu)
        .where(WechatMenu.account == account)
        .order_by(col(WechatMenu.id).desc())
        .limit(1)
    ).first()
    if menu is None:
        return None
    wanted = label.strip()
    return next((option for option in _options(menu) if option.label == wanted), None)
