"""What the WeChat channel keeps: pushes until handled, and the option menus it sent.

WeChat retries a push it got no answer to, and advises storing each push,
answering at once and handling it afterwards (docs/wechat-oa/callbacks.md
§4.4, §4.5): a :class:`WechatPush` is that store, its ``dedupe_key`` the
key a retry repeats. The decrypted push is kept only until it is handled;
the key stays a day, so a late retry is still recognised.

A WeChat option menu (``msgmenu``) carries numeric option ids, and a tap
comes back as text with that id, or, when WeChat drops it, with only the
label (§5.1). A :class:`WechatMenu` keeps the options of one menu sent, so
either finds the option's token again, after a restart too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlmodel import Field, SQLModel

from core.store.models.conventions import ACCOUNT_LENGTH
from core.store.types import UtcDateTime

# "msg:<MsgId>" or "event:<openid>:<CreateTime>" (bot.channels.wechat.xml).
DEDUPE_KEY_LENGTH = 96
# The conversation layer's message reference of a menu (MessageRef.message).
MENU_MESSAGE_LENGTH = 32


class WechatPush(SQLModel, table=True):
    """One push from WeChat, stored before it was acknowledged."""

    __tablename__ = "wechat_push"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_type=String(DEDUPE_KEY_LENGTH), unique=True)
    account: str = Field(sa_type=String(ACCOUNT_LENGTH))
    received_at: datetime = Field(sa_type=UtcDateTime(), index=True)
    # The decrypted XML until handled, then None.
    body: str | None = Field(default=None, sa_type=Text)
    handled_at: datetime | None = Field(default=None, sa_type=UtcDateTime(), index=True)


class WechatMenu(SQLModel, table=True):
    """The options of one menu message sent to a WeChat account: ``[[label, token], ...]``.

    Option ``i`` (from 0) goes out with the id ``id * 100 + i + 1``, never 0,
    which WeChat sends when it loses an id.
    """

    __tablename__ = "wechat_menu"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(sa_type=String(ACCOUNT_LENGTH), index=True)
    message: str = Field(sa_type=String(MENU_MESSAGE_LENGTH))
    options: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime())
