"""``python -m bot run`` and ``python -m bot invite``: the bot against Telegram or a local server."""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import datetime
from urllib.parse import urlparse

from telegram import Bot
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.channels.telegram.app import ALLOWED_UPDATES, build_application
from bot.channels.telegram.transport import TELEGRAM_PACE, TelegramTransport
from bot.channels.wechat.api import WechatApi
from bot.channels.wechat.channel import WechatChannel
from bot.channels.wechat.receipts import receipt_handler
from bot.channels.wechat.transport import WECHAT_PACE, PageLinks, WechatTransport
from bot.channels.wecom.channel import WecomChannel
from bot.context import Services
from bot.conversations.dispatch import Conversations
from bot.escalations import periodic_jobs
from bot.features import FEATURES
from bot.routing import Router, Transport
from bot.settings import SettingError, Settings
from bot.web.pages.acting import PageActions
from bot.web.pages.routes import Pages
from bot.web.server import WebRoute, WebServer
from core.schedule import trial_zone
from core.store.db import make_engine, read_session
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.schema import ensure_schema, holds_a_trial, where
from core.store.uow import UnitOfWork
from scheduler.clock import Clock, RehearsalClock, SystemClock
from scheduler.engine import Engine, EngineOptions
from scheduler.pacing import Pacer
from scheduler.policy import PolicyOptions
from scheduler.rehearsal import resume_point

log = logging.getLogger(__name__)


class NotConfigured(Exception):
    """A required setting is missing; the message says which and what to do."""


def wecom_channel(services: Services, settings: Settings) -> WecomChannel | None:
    """The WeCom staff channel when WeCom is on (its settings all set), else None; built
    once, its transport in the services' router (alerts reach members on WeCom)."""
    wecom = settings.wecom()
    return None if wecom is None else WecomChannel(services, wecom)


def web_routes(
    services: Services, settings: Settings, wecom: WecomChannel | None = None
) -> list[WebRoute]:
    """Everything the bot's web server answers, in one list.

    Empty while no channel or page needs the web server: then none is started.
    With WeChat on, its channel is built here: the server starts and stops it
    with its routes, and the services gain its join codes (QR codes for
    ``/enroll ... wechat`` and ``/channel``).
    WeChat's delivery receipts are recorded by
    :func:`bot.channels.wechat.receipts.receipt_handler`, which the WeChat
    callback calls with each TEMPLATESENDJOBFINISH push (most are recorded in
    the transaction that stores the push).
    """
    routes: list[WebRoute] = []

    # --- The patients' pages (/r/<token>): on whenever PUBLIC_BASE_URL is set, for
    # patients on any channel. They act through the same conversation layer as the chat.
    if settings.public_base_url:
        actions = PageActions(Conversations(services, FEATURES))
        routes += Pages(services, actions, settings.page_key()).routes()

    # --- WeChat: the callback, its file links (the channel starts with the server) -------
    wechat = settings.wechat()
    if wechat is not None:
        on_receipt, settle_receipt = receipt_handler(services)
        channel = WechatChannel(
            services, wechat, on_receipt=on_receipt, settle_receipt=settle_receipt
        )
        routes += channel.routes()

    # --- WeCom: the staff's callback (the channel starts with the server) ----------------
    if wecom is None:
        wecom = wecom_channel(services, settings)
    if wecom is not None:
        routes += wecom.routes()

    return routes


def check_settings(settings: Settings) -> None:
    """Every channel's settings read once before anything starts; a bad one stops the bot."""
    try:
        if settings.wechat() is not None:
            settings.page_key()  # WeChat reminders link to the patient's page, signed with it
        settings.wecom()
    except SettingError as exc:
        raise NotConfigured(str(exc)) from None
    # The patients' pages: their address and the key that signs their links.
    if settings.public_base_url:
        try:
            settings.public_url(required_by="the patients' pages")
            settings.page_key()
        except SettingError as exc:
            raise NotConfigured(str(exc)) from None


def attach_web(app: Application, server: WebServer) -> None:  # type: ignore[type-arg]
    """Serve HTTP while the Application runs: started after it initialises, stopped first."""
    before_init = app.post_init
    before_stop = app.post_stop

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        if before_init is not None:
            await before_init(application)
        await server.start()

    async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
        await server.stop()
        if before_stop is not None:
            await before_stop(application)

    app.post_init = post_init
    app.post_stop = post_stop


def is_local(base_url: str | None) -> bool:
    """True when the API server (Telegram's, WeChat's) is on this machine (rehearsal, tests,
    the demo)."""
    if not base_url:
        return False
    host = urlparse(base_url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def make_services(settings: Settings, clock: Clock | None = None) -> Services:
    """The bot's services, with the database schema brought up to date first."""
    before, after = ensure_schema(settings.database_url)
    if before != after:
        log.info("database migrated from %s to %s", before or "empty", after)
    return Services(
        engine=make_engine(settings.database_url),
        protocol=settings.protocol(),
        clock=clock or SystemClock(),
        zone=trial_zone(settings.trial_timezone),
    )


def rehearsal_clock(
    settings: Settings,
    start: datetime | None = None,
    speed: float | None = None,
    resume: bool = False,
) -> RehearsalClock | None:
    """The rehearsal clock asked for on the command line, or None for real time.

    Refused unless ``TELEGRAM_BASE_URL`` points to a local server, and, when
    WeChat is on, ``WECHAT_API_BASE_URL`` too, so a rehearsal can never send
    trial-time reminders to real patients.
    ``resume`` continues from where the last rehearsal's clock stood
    (:func:`scheduler.rehearsal.resume_point`), at its speed unless ``speed``
    is given.
    """
    if start is None and speed is None and not resume:
        return None
    if not is_local(settings.telegram_base_url):
        raise NotConfigured(
            "the rehearsal clock (--clock-start, --clock-speed, --resume) runs only against a "
            "local Bot API server: set TELEGRAM_BASE_URL to one on this machine, e.g. "
            "http://127.0.0.1:8081/bot (python -m bot local-api)"
        )
    try:
        wechat = settings.wechat()
    except SettingError as exc:
        raise NotConfigured(str(exc)) from None
    if wechat is not None and not is_local(wechat.api_base_url):
        raise NotConfigured(
            "the rehearsal clock (--clock-start, --clock-speed, --resume) runs only against a "
            "local WeChat server: set WECHAT_API_BASE_URL to one on this machine, e.g. "
            "http://127.0.0.1:8082 (python -m local_servers.wechat --port 8082)"
        )
    try:
        wecom = settings.wecom()
    except SettingError as exc:
        raise NotConfigured(str(exc)) from None
    if wecom is not None and not is_local(wecom.api_base_url):
        raise NotConfigured(
            "the rehearsal clock (--clock-start, --clock-speed, --resume) runs only against a "
            "local WeCom server: set WECOM_API_BASE_URL to one on this machine, e.g. "
            "http://127.0.0.1:8083 (python -m bot local-wecom --port 8083)"
        )
    if speed is not None and not speed > 0:
        raise NotConfigured("--clock-speed must be a positive number")
    if resume:
        ensure_schema(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            with read_session(engine) as session:
                point = resume_point(session)
        finally:
            engine.dispose()
        if point is not None:
            log.info("rehearsal resumes at %s", point.position.isoformat())
            return RehearsalClock(point.position, speed or point.speed)
        if start is None:
            raise NotConfigured("--resume: no rehearsal to resume; start one with --clock-start")
    if start is None:
        raise NotConfigured("--clock-speed needs --clock-start (or --resume)")
    if start.tzinfo is None:
        raise NotConfigured("--clock-start needs a time zone, e.g. 2026-12-01T06:00:00+08:00")
    return RehearsalClock(start, speed or 1.0)


def reminder_bot(app: Application) -> Bot:  # type: ignore[type-arg]
    """A plain Bot for the reminder engine, on the same token and server as the Application.

    The Application's bot retries Telegram's 429 itself (AIORateLimiter);
    the engine must see every 429 to pace and back off by the outbox's rules,
    so it sends through a bot without that layer.
    """
    token = app.bot.token
    return Bot(
        token,
        base_url=app.bot.base_url.removesuffix(token),
        base_file_url=app.bot.base_file_url.removesuffix(token),
        request=HTTPXRequest(connection_pool_size=8, read_timeout=10.0),
    )


def wechat_transport(services: Services, settings: Settings) -> WechatTransport | None:
    """The WeChat channel's transport when WeChat is on (its settings all set), else None.

    Reminders become template messages linking to the patient's page
    (``PUBLIC_BASE_URL``, links signed with the page key).
    """
    wechat = settings.wechat()
    if wechat is None:
        return None
    api = WechatApi(wechat.app_id, wechat.app_secret, base_url=wechat.api_base_url)
    links = PageLinks(
        wechat.public_base_url, settings.page_key(), services.protocol, services.clock
    )
    return WechatTransport(api, services.protocol.wechat, links, services.zone)


def engine_router(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    wechat: WechatTransport | None = None,
    wecom: Transport | None = None,
) -> Router:
    """The router the reminder engine sends through: each channel's transport for it.

    On Telegram that is its own bot (:func:`reminder_bot`), so the engine sees
    every 429 itself; on WeChat and WeCom (when on) the channel's one transport.
    """
    transports: dict[Channel, Transport] = {Channel.TELEGRAM: TelegramTransport(reminder_bot(app))}
    if wechat is not None:
        transports[Channel.WECHAT] = wechat
    if wecom is not None:
        transports[Channel.WECOM] = wecom
    return Router(services, transports)


def channel_pacer() -> Pacer:
    """The engine's pacer: each channel in a lane of its own limits.

    A mixed burst then goes out at Telegram's 28 a second to Telegram patients
    while WeChat patients are sent theirs beside them, rather than both sharing
    Telegram's 28 (:data:`~bot.channels.wechat.transport.WECHAT_PACE`).
    """
    # WeCom documents no app-wide rate either; its per-member limits are kept by its channel
    # (bot.channels.wecom.pacing), so it shares WeChat's lane limits.
    return Pacer(
        TELEGRAM_PACE,
        lanes={
            Channel.TELEGRAM: TELEGRAM_PACE,
            Channel.WECHAT: WECHAT_PACE,
            Channel.WECOM: WECHAT_PACE,
        },
    )


def build_engine(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    wechat: WechatTransport | None = None,
    wecom: Transport | None = None,
) -> Engine:
    """The reminder engine for this Application, on the services' clock.

    Reminders and the coordinators' alerts about them go through the engine's
    router; escalations and digests through the services' one, paced by the
    engine so that both share each channel's limits (:func:`channel_pacer`).
    """
    router = engine_router(app, services, wechat, wecom)
    options = EngineOptions(policy=PolicyOptions(quiet_hours=services.protocol.quiet_hours))
    engine = Engine(
        services.engine, services.clock, router, router, options=options, pacer=channel_pacer()
    )
    assert services.router is not None
    for job in periodic_jobs(services.router, services, pace=engine.pacer.acquire):
        engine.add_job(job)
    return engine


def freeze_startup_heap() -> None:
    """Keep what start-up built out of every later garbage collection.

    Libraries, the protocol, the catalogs and the engine live as long as the
    process. Left in the collector's oldest generation, each full collection
    walks all of them again, about 70 ms on the benchmark machine, in the
    middle of whatever handler allocated last: ``/status`` with 10,000
    patients paid it on one call in five (p95 183 ms against p50 73 ms).
    Frozen, a full collection walks only what handlers made since (CPython's
    ``gc.freeze``). Garbage among the frozen objects would never be freed,
    hence the collection first.
    """
    gc.collect()
    gc.freeze()


def attach_wechat(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    settings: Settings,
) -> WechatTransport | None:
    """WeChat's transport in the services' router when WeChat is on; its API client is
    closed once the Application has stopped. The transport, for the engine's router."""
    transport = wechat_transport(services, settings)
    if transport is None:
        return None
    assert services.router is not None
    services.router.transports[Channel.WECHAT] = transport
    before_stop = app.post_stop

    async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
        if before_stop is not None:
            await before_stop(application)
        await transport.api.close()

    app.post_stop = post_stop
    return transport


def attach_engine(app: Application, engine: Engine) -> None:  # type: ignore[type-arg]
    """Start the engine after the Application initialises; stop it before it shuts down."""
    before_init = app.post_init
    before_stop = app.post_stop

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        if before_init is not None:
            await before_init(application)
        await engine.start()
        freeze_startup_heap()

    async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
        await engine.stop()
        if before_stop is not None:
            await before_stop(application)

    app.post_init = post_init
    app.post_stop = post_stop


def check_database(settings: Settings, *, init: bool) -> None:
    """Refuse to start on a database that holds no trial yet, unless asked to create one.

    A wrong path (``DATABASE_URL`` unset in another folder, a typo) would
    otherwise start an empty trial: no patient would get a reminder, and
    nothing would say so.
    """
    if init or holds_a_trial(settings.database_url):
        return
    raise NotConfigured(
        f"There is no trial database at {where(settings.database_url)} (DATABASE_URL). "
        "If the trial has one, set DATABASE_URL to it; to start a new trial there, run "
        "`python -m bot migrate` first or start with `python -m bot run --init`."
    )


def preflight(settings: Settings, *, init: bool = False) -> None:
    """What ``run`` checks before anything starts or opens the database: the token, every
    channel's settings, and that the database holds the trial (``init``: or may be created)."""
    if not settings.telegram_bot_token:
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set: the bot needs its token to run")
    check_settings(settings)
    check_database(settings, init=init)


def run_bot(settings: Settings, clock: Clock | None = None, *, init: bool = False) -> None:
    """Long-poll Telegram (or the local server) and send reminders until stopped.

    ``init`` creates the trial's database when there is none yet (see
    :func:`check_database`).
    """
    preflight(settings, init=init)
    token = settings.telegram_bot_token
    assert token is not None  # preflight refused the run without one
    services = make_services(settings, clock)
    app = build_application(services, token, base_url=settings.telegram_base_url)
    wechat = attach_wechat(app, services, settings)
    wecom = wecom_channel(services, settings)
    attach_engine(
        app, build_engine(app, services, wechat, None if wecom is None else wecom.transport)
    )
    routes = web_routes(services, settings, wecom)
    if routes:
        attach_web(app, WebServer(routes, settings.web_host, settings.web_port))
    if isinstance(clock, RehearsalClock):
        log.info(
            "rehearsal clock: trial time %s, %g times real time",
            clock.now().isoformat(),
            clock.speed,
        )
    log.info("bot starting (base URL %s)", settings.telegram_base_url or "Telegram")
    try:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except SettingError as exc:  # found at start: WeChat refused the account's credentials
        raise NotConfigured(str(exc)) from None


async def _bot_username(settings: Settings) -> str:
    assert settings.telegram_bot_token is not None
    base_url = settings.telegram_base_url or "https://api.telegram.org/bot"
    async with Bot(settings.telegram_bot_token, base_url=base_url) as bot:
        return bot.username


def resolve_bot_username(settings: Settings, bot_username: str | None) -> str:
    """The bot's @username for deep links: as given, else asked of Telegram."""
    if bot_username is not None:
        return bot_username
    if not settings.telegram_bot_token:
        raise NotConfigured(
            "set TELEGRAM_BOT_TOKEN (to ask Telegram for the bot's name) or pass --bot-username"
        )
    return asyncio.run(_bot_username(settings))


def invite_link(settings: Settings, role: InviteRole, bot_username: str | None = None) -> str:
    """A one-time staff invitation, as the deep link a person opens."""
    bot_username = resolve_bot_username(settings, bot_username)
    services = make_services(settings)
    with UnitOfWork(
        services.engine, "system", services.clock.now(), "invite from the command line"
    ) as uow:
        token = create_invite(uow, role)
    return f"https://t.me/{bot_username}?start={token}"
