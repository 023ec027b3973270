"""Run the Telegram stand-in as its own process (benchmarks, manual runs of `ritm run` against it).

    python -m ritm.sandbox.telegram_serve --port 8081 --rate 30

Prints the base URL on the first line of stdout, then serves until interrupted. Drive it with the
control API under `/_standin/…` (see ritm.sandbox.telegram_control).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from ritm.sandbox.telegram_api import DEFAULT_TOKEN, TelegramStandin
from ritm.sandbox.telegram_limits import StandinLimits


async def serve(host: str, port: int, token: str, limits: StandinLimits) -> None:
    standin = TelegramStandin(token, limits=limits)
    print(await standin.start(host, port), flush=True)
    try:
        await asyncio.Event().wait()  # until the process is interrupted
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Telegram Bot API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--rate", type=float, default=30.0, help="messages/s per bot")
    parser.add_argument("--per-chat", type=float, default=1.0, help="messages/s per chat")
    parser.add_argument("--per-group-min", type=float, default=20.0, help="messages/min per group")
    args = parser.parse_args(argv)
    for name in ("rate", "per_chat", "per_group_min"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    limits = StandinLimits(
        per_bot_per_s=args.rate, per_chat_per_s=args.per_chat, per_group_per_min=args.per_group_min
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token, limits))
    sys.exit(0)


if __name__ == "__main__":
    main()
