"""A real aiosmtpd server in its own process that keeps nothing and reports every accepted message.

The first line on stdout is the port; then one line per message: the wall-clock time it was accepted
and its size in bytes. Both sides of the e2e bench (a `ritm run` and a bare aiosmtplib pool) send here,
so both are timed by the same server clock.

    python bench/smtp_sink.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Sink:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.content
        sys.stdout.write(f"{time.time():.6f} {len(content or b'')}\n")
        sys.stdout.flush()
        return "250 OK"


async def serve() -> None:
    loop = asyncio.get_running_loop()
    handler = Sink()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
