"""Joining on WeChat: a join token as a parametric QR code the patient scans.

The code is temporary (``QR_STR_SCENE``), its scene the token with the
prefix :data:`JOIN_SCENE`; it lives as long as the invitation, at most the
30 days WeChat allows (api.json ``createQRCode``). Scanning it follows the
account, and WeChat pushes ``subscribe`` with ``qrscene_<scene>``, or
``SCAN`` with the bare scene for a follower (callbacks.md §5.2, §5.4); the
adapter redeems the token as ``/start <token>`` is redeemed on Telegram.
The image is drawn here from the code's ``url`` (api.json: "you may render
your own QR from it"), so it goes to the coordinator as a photo without
fetching WeChat's image.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

import segno

from bot.channels.wechat.api import QR_MAX_EXPIRE_S, WechatApi
from bot.channels.wechat.outcomes import WechatApiError
from bot.context import JoinCode, JoinCodeUnavailable
from scheduler.clock import Clock

log = logging.getLogger(__name__)

# Scenes the bot made start with this; any other scene (a code the hospital made
# for something else) is an ordinary follow.
JOIN_SCENE = "join_"


def join_token(scene: str | None) -> str | None:
    """The join token a scanned scene carries, or None for any other scene."""
    if scene is None or not scene.startswith(JOIN_SCENE):
        return None
    return scene.removeprefix(JOIN_SCENE) or None


def qr_png(content: str) -> bytes:
    """``content`` as a QR code image (PNG) large enough to scan from paper or a screen."""
    buffer = io.BytesIO()
    segno.make(content, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


class WechatJoinCodes:
    """Makes join codes with the account's API, timed by the bot's clock."""

    def __init__(self, api: WechatApi, clock: Clock) -> None:
        self.api = api
        self.clock = clock

    async def make(self, token: str, expires_at: datetime) -> JoinCode:
        now = self.clock.now()
        seconds = min(QR_MAX_EXPIRE_S, int((expires_at - now).total_seconds()))
        if seconds < 1:
            raise JoinCodeUnavailable("the invitation has expired")
        try:
            code = await self.api.create_qr_code(JOIN_SCENE + token, seconds)
        except WechatApiError as error:
            log.warning("no join code: %s", error)
            raise JoinCodeUnavailable(error.outcome.value) from error
        lasts = min(seconds, code.expire_seconds or seconds)
        return JoinCode(qr_png(code.url), now + timedelta(seconds=lasts))
