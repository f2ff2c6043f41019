"""``python -m bot run`` and ``python -m bot invite``: the bot against Telegram or a local server."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import socket
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from telegram import Bot
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.audit_key import audit_key
from bot.backups import backup_job, backup_plan
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
from bot.health import Health, HealthOptions
from bot.metrics import Metrics
from bot.routing import Router, Transport
from bot.settings import SettingError, Settings
from bot.web.health import health_routes
from bot.web.pages.acting import PageActions
from bot.web.pages.routes import Pages
from bot.web.server import WebRoute, WebServer
from core.schedule import trial_zone
from core.store.db import make_engine, read_session
from core.store.invites import create_invite
from core.store.models import Channel, InviteRole
from core.store.process_lock import LockHeld, acquire, polling_lock_name, release
from core.store.run_lock import running_on
from core.store.schema import ensure_schema, holds_a_trial, where
from core.store.uow import UnitOfWork
from scheduler.clock import Clock, RehearsalClock, Stretch, SystemClock, pacing_time
from scheduler.engine import Engine, EngineOptions, default_worker, pid_alive
from scheduler.pacing import Pacer
from scheduler.policy import PolicyOptions
from scheduler.rehearsal import command_now, resume_point

log = logging.getLogger(__name__)


class NotConfigured(Exception):
    """A required setting is missing; the message says which and what to do."""


class AlreadyRunning(Exception):
    """Another bot process polls Telegram with this token on this database; the message
    names it and what to do."""


def wecom_channel(services: Services, settings: Settings) -> WecomChannel | None:
    """The WeCom staff channel when WeCom is on (its settings all set), else None; built
    once, its transport in the services' router (alerts reach members on WeCom)."""
    wecom = settings.wecom()
    return None if wecom is None else WecomChannel(services, wecom)


def web_routes(
    services: Services, settings: Settings, wecom: WecomChannel | None = None
) -> list[WebRoute]:
    """Everything the bot's web server answers for the channels and the pages, in one list.

    Empty while no channel or page is on; the server still runs for the health
    check and the metrics (:func:`run_bot` adds their routes). With WeChat on,
    its channel is built here: the server starts and stops it
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
        backup_plan(settings, trial_zone(settings.trial_timezone))
    except SettingError as exc:
        raise NotConfigured(str(exc)) from None
    # The patients' pages: their address and the key that signs their links.
    if settings.public_base_url:
        try:
            settings.public_url(required_by="the patients' pages")
            settings.page_key()
        except SettingError as exc:
            raise NotConfigured(str(exc)) from None


def _alongside(
    app: Application,  # type: ignore[type-arg]
    start: Callable[[], Awaitable[None]],
    stop: Callable[[], Awaitable[None]],
) -> None:
    """Run a part while the Application runs: started after it initialises, stopped first."""
    before_init = app.post_init
    before_stop = app.post_stop

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        if before_init is not None:
            await before_init(application)
        await start()

    async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
        await stop()
        if before_stop is not None:
            await before_stop(application)

    app.post_init = post_init
    app.post_stop = post_stop


def attach_web(app: Application, server: WebServer) -> None:  # type: ignore[type-arg]
    """Serve HTTP while the Application runs."""
    _alongside(app, server.start, server.stop)


def is_local(base_url: str | None) -> bool:
    """True when the API server (Telegram's, WeChat's) is on this machine (rehearsal, tests,
    the demo)."""
    if not base_url:
        return False
    host = urlparse(base_url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def is_rehearsal(settings: Settings) -> bool:
    """True when every channel that is on talks to a server on this machine: a rehearsal
    (the demo, site training, tests), which can reach no real patient. Anything else
    is production."""
    if not is_local(settings.telegram_base_url):
        return False
    urls = [settings.wechat_api_base_url, settings.wecom_api_base_url]
    on = [settings.wechat() is not None, settings.wecom() is not None]
    return all(is_local(url) for url, used in zip(urls, on, strict=True) if used)


def run_audit_key(settings: Settings) -> bytes:
    """The key that signs the audit head for ``run`` (:func:`bot.audit_key.audit_key`):
    AUDIT_KEY, required in production; a rehearsal generates one when it is not set."""
    try:
        return audit_key(settings, rehearsal=is_rehearsal(settings))
    except SettingError as exc:
        raise NotConfigured(str(exc)) from None


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
        rehearsal=is_rehearsal(settings),
    )


def rehearsal_clock(
    settings: Settings,
    start: datetime | None = None,
    speed: float | None = None,
    resume: bool = False,
    clock_file: Path | None = None,
    until: datetime | None = None,
) -> RehearsalClock | None:
    """The rehearsal clock asked for on the command line, or None for real time.

    Refused unless ``TELEGRAM_BASE_URL`` points to a local server, and, when
    WeChat is on, ``WECHAT_API_BASE_URL`` too, so a rehearsal can never send
    trial-time reminders to real patients.
    ``resume`` continues from where the last rehearsal's clock stood
    (:func:`scheduler.rehearsal.resume_point`), at its speed unless ``speed``
    is given. ``clock_file``: where to keep the clock's current
    :class:`~scheduler.clock.Stretch` (JSON) for other programs to follow;
    ``until``: the trial instant from which time runs at real speed.
    """
    if until is not None and until.tzinfo is None:
        raise NotConfigured("--clock-until needs a time zone, e.g. 2026-12-21T12:00:00+08:00")
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
            speed = speed or point.speed
            clock = RehearsalClock(point.position, speed, held=speed > 1, until=until)
            return _published(clock, clock_file)
        if start is None:
            raise NotConfigured("--resume: no rehearsal to resume; start one with --clock-start")
    if start is None:
        raise NotConfigured("--clock-speed needs --clock-start (or --resume)")
    if start.tzinfo is None:
        raise NotConfigured("--clock-start needs a time zone, e.g. 2026-12-01T06:00:00+08:00")
    speed = speed or 1.0
    # Faster than real time, the bot's seconds of start-up would be trial hours: held till then.
    return _published(RehearsalClock(start, speed, held=speed > 1, until=until), clock_file)


def _published(clock: RehearsalClock, path: Path | None) -> RehearsalClock:
    """``clock``, writing each of its stretches to ``path`` (replaced whole, never half
    written) when one is given."""
    if path is None:
        return clock

    lock = threading.Lock()

    def write(stretch: Stretch) -> None:
        with lock:
            partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                partial.write_text(json.dumps(stretch.to_json()), encoding="utf-8")
                os.replace(partial, path)
            except OSError as exc:  # the rehearsal goes on; only followers lose sight of it
                log.warning("could not write the rehearsal clock to %s: %s", path, exc)

    clock.on_change = write
    write(clock.stretch)
    return clock


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


def channel_pacer(clock: Clock | None = None) -> Pacer:
    """The engine's pacer: each channel in a lane of its own limits, in the seconds of
    ``clock`` (trial seconds under a rehearsal clock, :func:`scheduler.clock.pacing_time`).

    A mixed burst then goes out at Telegram's 28 a second to Telegram patients
    while WeChat patients are sent theirs beside them, rather than both sharing
    Telegram's 28 (:data:`~bot.channels.wechat.transport.WECHAT_PACE`).
    """
    # WeCom documents no app-wide rate either; its per-member limits are kept by its channel
    # (bot.channels.wecom.pacing), so it shares WeChat's lane limits.
    monotonic, sleep = pacing_time(clock or SystemClock())
    return Pacer(
        TELEGRAM_PACE,
        lanes={
            Channel.TELEGRAM: TELEGRAM_PACE,
            Channel.WECHAT: WECHAT_PACE,
            Channel.WECOM: WECHAT_PACE,
        },
        monotonic=monotonic,
        sleep=sleep,
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
        services.engine,
        services.clock,
        router,
        router,
        options=options,
        pacer=channel_pacer(services.clock),
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
    if not settings.bot_token():
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set: the bot needs its token to run")
    check_settings(settings)
    check_database(settings, init=init)
    run_audit_key(settings)


def holder_gone(holder: str) -> bool:
    """Whether a lock's holder (``<host>-<pid>``) is a process of this host that no longer
    runs: after a crash (SIGKILL, power cut) the restarted bot takes over at once."""
    host, _, pid = holder.rpartition("-")
    here = socket.gethostname() or "localhost"
    return host == here and pid.isdigit() and not pid_alive(int(pid))


def take_polling_lock(services: Services, token: str, options: HealthOptions) -> tuple[str, str]:
    """This process's claim to poll Telegram with ``token`` on this database: (lock, holder).

    Raises :class:`AlreadyRunning` while another process's heartbeat on it is
    at most ``options.stale_after`` seconds old; an older one is taken over
    (:mod:`core.store.process_lock`).
    """
    name, holder = polling_lock_name(token), default_worker()
    now = datetime.now(UTC)
    try:
        acquire(
            services.engine,
            name,
            holder,
            now,
            stale_after=timedelta(seconds=options.stale_after),
            is_gone=holder_gone,
            at=services.clock.now(),
        )
    except LockHeld as held:
        age = max(0, round((now - held.heartbeat_at).total_seconds()))
        raise AlreadyRunning(
            f"Another bot process ({held.holder}) is already polling Telegram with this token "
            f"on this database (its last heartbeat {age} s ago), so this one does not start. "
            f"Stop that one first; if it has died, its lock is taken over "
            f"{options.stale_after:.0f} s after its last heartbeat."
        ) from None
    log.info("polling lock %s taken as %s", name, holder)
    return name, holder


def attach_health(app: Application, health: Health) -> None:  # type: ignore[type-arg]
    """Beat while the Application runs."""
    _alongside(app, health.start, health.stop)


def build_health(
    app: Application,  # type: ignore[type-arg]
    services: Services,
    engine: Engine,
    metrics: Metrics,
    lock: tuple[str, str],
    options: HealthOptions | None = None,
) -> Health:
    """The health monitor of this bot (:mod:`bot.health`); a lost lock stops the Application."""
    assert services.router is not None
    metrics.watch_store(services.engine, services.clock)
    return Health(
        services.engine,
        engine,
        services.router,
        metrics,
        lock,
        options=options,
        on_lock_lost=app.stop_running,
    )


def run_bot(settings: Settings, clock: Clock | None = None, *, init: bool = False) -> None:
    """Long-poll Telegram (or the local server) and send reminders until stopped.

    ``init`` creates the trial's database when there is none yet (see
    :func:`check_database`). Refuses to start while another process polls with
    the same token on the same database (:func:`take_polling_lock`). The web
    server always runs, at ``WEB_HOST:WEB_PORT``: ``/healthz`` and
    ``/metrics`` (:mod:`bot.health`, :mod:`bot.metrics`) beside the channels'
    and pages' routes.
    """
    preflight(settings, init=init)
    # Held from before the database is opened until the bot has stopped, so a restore
    # refuses to replace the database under a running bot (core.store.run_lock).
    with running_on(settings.database_url):
        _serve(settings, clock)


def _serve(settings: Settings, clock: Clock | None) -> None:
    token = settings.bot_token()
    assert token is not None  # preflight refused the run without one
    services = make_services(settings, clock)
    services.audit_key = run_audit_key(settings)
    options = HealthOptions()
    lock = take_polling_lock(services, token, options)
    try:
        metrics = Metrics()
        services.observer = metrics
        app = build_application(services, token, base_url=settings.telegram_base_url)
        wechat = attach_wechat(app, services, settings)
        wecom = wecom_channel(services, settings)
        engine = build_engine(app, services, wechat, None if wecom is None else wecom.transport)
        plan = backup_plan(settings, services.zone)
        if plan is None:
            log.warning("scheduled backups are off: set BACKUP_DIR to a folder to keep them in")
        else:
            engine.add_job(backup_job(services, settings.database_url, plan, engine.pacer.acquire))
        attach_engine(app, engine)
        health = build_health(app, services, engine, metrics, lock, options)
        attach_health(app, health)
        routes = web_routes(services, settings, wecom) + health_routes(health)
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
    finally:
        name, holder = lock
        try:
            release(services.engine, name, holder, services.clock.now())
        except Exception:
            log.exception(
                "the polling lock was not given back; it goes stale in %s s", options.stale_after
            )


async def _bot_username(settings: Settings) -> str:
    token = settings.bot_token()
    assert token is not None
    base_url = settings.telegram_base_url or "https://api.telegram.org/bot"
    async with Bot(token, base_url=base_url) as bot:
        return bot.username


def resolve_bot_username(settings: Settings, bot_username: str | None) -> str:
    """The bot's @username for deep links: as given, else asked of Telegram."""
    if bot_username is not None:
        return bot_username
    if not settings.bot_token():
        raise NotConfigured(
            "set TELEGRAM_BOT_TOKEN (to ask Telegram for the bot's name) or pass --bot-username"
        )
    return asyncio.run(_bot_username(settings))


def invite_link(settings: Settings, role: InviteRole, bot_username: str | None = None) -> str:
    """A one-time staff invitation, as the deep link a person opens."""
    bot_username = resolve_bot_username(settings, bot_username)
    services = make_services(settings)
    with UnitOfWork(
        services.engine, "system", command_now(services.engine), "invite from the command line"
    ) as uow:
        token = create_invite(uow, role)
    return f"https://t.me/{bot_username}?start={token}"
