"""``python -m local_servers.wecom [--host H] [--port 8083] [--callback-url URL] ...``.

Runs the local WeCom server until interrupted and prints what to give the
bot (``WECOM_API_BASE_URL``, ``WECOM_CORP_ID``, ``WECOM_AGENT_ID``,
``WECOM_SECRET``, ``WECOM_TOKEN``, ``WECOM_ENCODING_AES_KEY``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from local_servers.wecom.server import (
    DEFAULT_AES_KEY,
    DEFAULT_AGENT_ID,
    DEFAULT_CORP_ID,
    DEFAULT_SECRET,
    DEFAULT_TOKEN,
    LocalWecom,
    serve_forever,
)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m local_servers.wecom", description="Local WeCom (企业微信) server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    parser.add_argument("--corp-id", default=DEFAULT_CORP_ID)
    parser.add_argument("--agent-id", type=int, default=DEFAULT_AGENT_ID)
    parser.add_argument("--secret", default=DEFAULT_SECRET, help="the app's Secret")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the callback signing token")
    parser.add_argument("--aes-key", default=DEFAULT_AES_KEY, help="the EncodingAESKey")
    parser.add_argument("--callback-url", default=None, help="the bot's callback URL")
    parser.add_argument(
        "--member", action="append", default=[], help="a member in the app's visible range (repeat)"
    )
    parser.add_argument(
        "--rate-limit-errcode",
        type=int,
        default=None,
        help="refuse messages over the per-member limits with this code (default: drop them)",
    )
    parser.add_argument("--deliveries", type=int, default=3, help="deliveries of each push")
    parser.add_argument("--retry-delay", type=float, default=5.0, help="seconds between them")
    args = parser.parse_args(argv)
    server = LocalWecom(
        corp_id=args.corp_id,
        agent_id=args.agent_id,
        secret=args.secret,
        token=args.token,
        encoding_aes_key=args.aes_key,
        callback_url=args.callback_url,
        rate_limit_errcode=args.rate_limit_errcode,
        deliveries=args.deliveries,
        retry_delay_s=args.retry_delay,
    )
    for userid in args.member:
        server.world.add_member(userid)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(server, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
