"""The WeCom channel put together: API client, pacing, adapter, callback, the router's transport.

:func:`bot.runner.web_routes` builds one :class:`WecomChannel` when WeCom is
on (:meth:`bot.settings.Settings.wecom`); the bot's web server serves its
callback and starts and stops it. At start it handles the pushes left from
before a restart. Its transport reaches members for the router's alerts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from bot.channels.wechat.outcomes import Outcome, WechatApiError
from bot.channels.wecom.adapter import WecomAdapter, WecomOut, WecomTransport
from bot.channels.wecom.api import WecomApi
from bot.channels.wecom.callback import CALLBACK_PATH, WecomCallback
from bot.channels.wecom.pacing import MemberPacer
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.conversations.feature import Feature
from bot.features import FEATURES
from bot.settings import SettingError, WecomSettings
from bot.web.server import WebRoute
from core.store.models import Channel

log = logging.getLogger(__name__)


class WecomChannel:
    """Everything the WeCom channel runs, built once from its settings."""

    def __init__(
        self,
        services: Services,
        settings: WecomSettings,
        *,
        features: Sequence[Feature] = FEATURES,
        wall_clock: Callable[[], float] = time.time,
        pacer: MemberPacer | None = None,
    ) -> None:
        self.services = services
        self.api = WecomApi(
            settings.corp_id, settings.agent_id, settings.secret, base_url=settings.api_base_url
        )
        self.out = WecomOut(self.api, pacer or MemberPacer())
        self.adapter = WecomAdapter(Conversations(services, features), self.out)
        self.callback = WecomCallback(self.adapter, settings, wall_clock=wall_clock)
        self.transport = WecomTransport(self.out)
        if services.router is not None:
            services.router.transports[Channel.WECOM] = self.transport
        services.staff_channels.add(Channel.WECOM)

    def routes(self) -> list[WebRoute]:
        return [
            WebRoute("GET", CALLBACK_PATH, self.callback.verify, service=self),
            WebRoute("POST", CALLBACK_PATH, self.callback.receive, service=self),
        ]

    async def start(self) -> None:
        """Check the app's credentials, then handle the pushes waiting from before the last
        stop. Wrong credentials stop the bot naming what to check; a WeCom that cannot be
        reached only delays the first message."""
        try:
            await self.api.access_token()
        except WechatApiError as error:
            if error.outcome is Outcome.MISCONFIGURED:
                raise SettingError(
                    f"WeCom refused the application's credentials ({error.reason}): check "
                    "WECOM_CORP_ID, WECOM_SECRET (the application's Secret) and that this "
                    "machine's address is among the application's trusted IPs"
                ) from error
            log.warning("WeCom could not be reached at start: %s", error.outcome.value)
        self.callback.queue.recover()

    async def stop(self) -> None:
        await self.callback.queue.stop()
        await self.api.close()
