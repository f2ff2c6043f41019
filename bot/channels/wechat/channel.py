"""The WeChat channel put together: its API client, adapter, callback, file links, join codes.

:func:`bot.runner.web_routes` builds one :class:`WechatChannel` when WeChat is
on (:meth:`bot.settings.Settings.wechat`); the bot's web server serves its
routes and starts and stops it (:class:`bot.web.server.WebServer`). At
start it creates the account's menu (:mod:`bot.channels.wechat.menu`) and
handles the pushes left from before a restart. Wrong credentials stop the
bot there, naming what to check; a WeChat that cannot be reached only
leaves the menu as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from bot.channels.wechat.adapter import OnReceipt, WechatAdapter, ignore_receipt
from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.callback import CALLBACK_PATH, WechatCallback
from bot.channels.wechat.files import FILES_PATH, FileLinks
from bot.channels.wechat.join_codes import WechatJoinCodes
from bot.channels.wechat.menu import menu_buttons
from bot.channels.wechat.outcomes import Outcome, WechatApiError
from bot.channels.wechat.receipts import SettleReceipt
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.conversations.feature import Feature
from bot.features import FEATURES
from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.settings import SettingError, WeChatSettings
from bot.web.server import WebRoute
from core.store.models import Channel

log = logging.getLogger(__name__)


class WechatChannel:
    """Everything the WeChat channel runs, built once from its settings."""

    def __init__(
        self,
        services: Services,
        settings: WeChatSettings,
        *,
        on_receipt: OnReceipt = ignore_receipt,
        settle_receipt: SettleReceipt | None = None,
        features: Sequence[Feature] = FEATURES,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.services = services
        self.settings = settings
        self.api = WechatApi(settings.app_id, settings.app_secret, base_url=settings.api_base_url)
        self.files = FileLinks(settings.public_base_url)
        self.adapter = WechatAdapter(
            Conversations(services, features), self.api, self.files, on_receipt=on_receipt
        )
        self.callback = WechatCallback(
            self.adapter, settings, wall_clock=wall_clock, settle_receipt=settle_receipt
        )
        services.join_codes[Channel.WECHAT] = WechatJoinCodes(self.api, services.clock)

    def routes(self) -> list[WebRoute]:
        """The callback and the file links, started and stopped with this channel."""
        return [
            WebRoute("GET", CALLBACK_PATH, self.callback.verify, service=self),
            WebRoute("POST", CALLBACK_PATH, self.callback.receive, service=self),
            WebRoute("GET", FILES_PATH, self.files.serve, service=self),
        ]

    async def start(self) -> None:
        """Create the menu, then handle the pushes waiting from before the last stop."""
        await self.create_menu()
        self.callback.recover()

    async def create_menu(self) -> None:
        """The account's menu, in the site's language; wrong credentials stop the bot."""
        try:
            await self.api.create_menu(
                menu_buttons(Translator(DEFAULT_LANGUAGE, self.services.zone))
            )
        except WechatApiError as error:
            if error.outcome is Outcome.MISCONFIGURED:
                raise SettingError(
                    f"WeChat refused the bot's credentials ({error.reason}): check "
                    "WECHAT_APP_ID, WECHAT_APP_SECRET and that this machine's address is in "
                    "the account's IP whitelist"
                ) from error
            log.error("the WeChat menu was not created: %s", error)
            return
        log.info("WeChat menu created")

    async def stop(self) -> None:
        await self.callback.stop()
        await self.api.close()
