"""``python -m local_servers.wechat [--host H] [--port 8082] [--callback-url URL] ...``.

Runs the local WeChat server until interrupted and prints what to give the
bot (base URL, AppID, secret, token, EncodingAESKey).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from local_servers.wechat.server import (
    DEFAULT_AES_KEY,
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    DEFAULT_TOKEN,
    LocalWechat,
    serve_forever,
)


def _template(text: str) -> tuple[str, list[str]]:
    template_id, _, keys = text.partition("=")
    if not template_id or not keys:
        raise argparse.ArgumentTypeError("a template is ID=key1,key2,...")
    return template_id, keys.split(",")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until Ctrl-C; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m local_servers.wechat", description="Local WeChat Official Account server"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument("--app-secret", default=DEFAULT_APP_SECRET)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the callback signing token")
    parser.add_argument("--aes-key", default=DEFAULT_AES_KEY, help="the EncodingAESKey")
    parser.add_argument("--callback-url", default=None, help="the bot's callback URL")
    parser.add_argument("--plain", action="store_true", help="push plain XML, not safe mode")
    parser.add_argument(
        "--template", type=_template, action="append", default=[], help="ID=key1,key2 (repeat)"
    )
    parser.add_argument("--receipt-failure-rate", type=float, default=0.0)
    parser.add_argument("--deliveries", type=int, default=3, help="deliveries of each push")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="seconds between them")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    server = LocalWechat(
        app_id=args.app_id,
        app_secret=args.app_secret,
        token=args.token,
        encoding_aes_key=args.aes_key,
        callback_url=args.callback_url,
        safe_mode=not args.plain,
        templates=dict(args.template),
        receipt_failure_rate=args.receipt_failure_rate,
        deliveries=args.deliveries,
        retry_delay_s=args.retry_delay,
        seed=args.seed,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(server, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
