"""``python -m bot run | invite | local-api | local-wechat | local-wecom``: the bot, its staff invitations, stand-ins.

``run`` and ``local-api`` run until stopped, so they set up logging first
(:func:`bot.cli.logs.configure_logging`); a bad ``LOG_LEVEL`` stops them
before anything starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import CommandError, instant_arg, speed_arg
from bot.cli.logs import LogLevelError, configure_logging
from bot.settings import Settings

__all__ = [
    "cmd_invite",
    "cmd_local_api",
    "cmd_local_wechat",
    "cmd_local_wecom",
    "cmd_run",
    "register",
    "start_logging",
]


def start_logging(settings: Settings) -> None:
    """Logging as ``LOG_LEVEL`` asks; a bad value is the command's one-line refusal."""
    try:
        configure_logging(settings.log_level)
    except LogLevelError as exc:
        raise CommandError(str(exc)) from None


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bot (long polling) and its reminder engine until stopped."""
    from bot.runner import AlreadyRunning, NotConfigured, preflight, rehearsal_clock, run_bot

    start_logging(settings)
    try:
        # Before the rehearsal clock, which reads (and would create) the database.
        preflight(settings, init=args.init)
        clock = rehearsal_clock(
            settings,
            args.clock_start,
            args.clock_speed,
            args.resume,
            args.clock_file,
            args.clock_until,
        )
        run_bot(settings, clock, init=args.init)
    except (NotConfigured, AlreadyRunning) as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a one-time staff invitation link."""
    from bot.runner import NotConfigured, invite_link
    from core.store.models import InviteRole

    try:
        print(invite_link(settings, InviteRole(args.role), args.bot_username))
    except NotConfigured as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_local_api(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local Bot API server (rehearsals without Telegram): ``python -m
    local_servers.telegram`` in this process's place, started and never imported, as
    ``local-wechat`` is (docs/DESIGN.md §2)."""
    import os
    import sys

    start_logging(settings)  # a bad LOG_LEVEL is one line here, before the server starts
    command = [sys.executable, "-m", "local_servers.telegram", "--host", args.host]
    command += ["--port", str(args.port)]
    if args.no_flood_limits:
        command.append("--no-flood-limits")
    if args.clock_speed is not None:
        command += ["--clock-speed", str(args.clock_speed)]
    sys.stdout.flush()
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces the process


def cmd_local_wechat(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local WeChat server (rehearsals without WeChat): ``python -m
    local_servers.wechat`` in this process's place. It is started, never imported,
    because the product and the stand-ins never import each other (docs/DESIGN.md §2)."""
    import os
    import sys

    command = [sys.executable, "-m", "local_servers.wechat", *args.options]
    sys.stdout.flush()
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces the process


def cmd_local_wecom(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the local WeCom server (rehearsals without WeCom): ``python -m
    local_servers.wecom`` in this process's place, started and never imported, as
    ``local-wechat`` is (docs/DESIGN.md §2)."""
    import os
    import sys

    command = [sys.executable, "-m", "local_servers.wecom", *args.options]
    sys.stdout.flush()
    os.execv(sys.executable, command)
    return 0  # not reached: execv replaces the process


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``, ``invite``, ``local-api``, ``local-wechat`` and ``local-wecom`` to ``python -m bot``'s sub-command parser."""
    r = sub.add_parser("run", help="run the bot (TELEGRAM_BOT_TOKEN, TELEGRAM_BASE_URL)")
    r.add_argument(
        "--init",
        action="store_true",
        help="create the trial's database at DATABASE_URL if there is none yet (a new trial)",
    )
    rehearsal = r.add_argument_group(
        "rehearsal clock", "trial time for training and the demo; local Bot API server only"
    )
    rehearsal.add_argument(
        "--clock-start",
        type=instant_arg,
        help="trial time to start at, e.g. 2026-12-01T06:00:00+08:00",
    )
    rehearsal.add_argument(
        "--clock-speed", type=speed_arg, help="trial seconds per real second, e.g. 3600"
    )
    rehearsal.add_argument(
        "--resume", action="store_true", help="carry on from where the rehearsal clock stood"
    )
    rehearsal.add_argument(
        "--clock-until",
        type=instant_arg,
        help="from this trial time on, the clock runs at real speed (stop there with Ctrl-C)",
    )
    rehearsal.add_argument(
        "--clock-file",
        type=Path,
        help="keep the rehearsal clock's current speed and hold in this JSON file, for "
        "other programs (the demo's local servers) to read the same trial time",
    )
    r.set_defaults(func=cmd_run)

    i = sub.add_parser("invite", help="print a one-time invitation link for a member of staff")
    i.add_argument("--role", required=True, choices=["coordinator", "investigator", "nurse"])
    i.add_argument("--bot-username", help="the bot's @username, if the bot cannot be asked")
    i.set_defaults(func=cmd_invite)

    la = sub.add_parser("local-api", help="serve a local Telegram Bot API stand-in")
    la.add_argument("--host", default="127.0.0.1")
    la.add_argument("--port", type=int, default=8081)
    la.add_argument("--no-flood-limits", action="store_true")
    la.add_argument(
        "--clock-speed",
        type=speed_arg,
        help="the flood limits in trial time of a bot run with this --clock-speed",
    )
    la.set_defaults(func=cmd_local_api)

    lw = sub.add_parser(
        "local-wechat",
        help="serve a local WeChat Official Account stand-in (python -m local_servers.wechat)",
        add_help=False,
    )
    lw.set_defaults(func=cmd_local_wechat, passes_options_on=True)

    lc = sub.add_parser(
        "local-wecom",
        help="serve a local WeCom (企业微信) stand-in (python -m local_servers.wecom)",
        add_help=False,
    )
    lc.set_defaults(func=cmd_local_wecom, passes_options_on=True)
