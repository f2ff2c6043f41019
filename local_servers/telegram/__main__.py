"""``python -m local_servers.telegram [--host H] [--port P] [--no-flood-limits] [--token T]
[--clock-speed N]``.

Runs the local Bot API server until interrupted and prints the
``TELEGRAM_BASE_URL`` to give the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from local_servers.telegram.server import serve_forever


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m local_servers.telegram", description="Local Telegram Bot API server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--no-flood-limits", action="store_true", help="do not simulate Telegram's flood limits"
    )
    parser.add_argument("--token", default=None, help="accept only this bot token")
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=1.0,
        help="run the flood limits N times faster, for a bot on a rehearsal clock of speed N",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(
                args.host,
                args.port,
                flood_limits=not args.no_flood_limits,
                token=args.token,
                clock_speed=args.clock_speed,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
