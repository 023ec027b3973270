"""A real aiosmtpd server in its own process that keeps nothing and reports every accepted message.

The first line on stdout is the port; then one line per message: the wall-clock time it was accepted
and its size in bytes. Both sides of the e2e bench (a `ritm run` and a bare aiosmtplib pool) send here,
so both are timed by the same server clock. An optional argument makes every DATA answer wait that
many milliseconds, as a relay writing its queue to disk or a provider across a network does (the wait
costs the server no CPU).

    python bench/smtp_sink.py [DATA_MS]
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Sink:
    def __init__(self, data_s: float) -> None:
        self.data_s = data_s

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_s:
            await asyncio.sleep(self.data_s)
        content: Any = envelope.content
        sys.stdout.write(f"{time.time():.6f} {len(content or b'')}\n")
        sys.stdout.flush()
        return "250 OK"


async def serve() -> None:
    loop = asyncio.get_running_loop()
    handler = Sink(float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0)
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink"), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve())
