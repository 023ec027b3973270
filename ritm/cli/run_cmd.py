"""`ritm run`: the bot, the dispatcher and the HTTP endpoints in one process."""

from __future__ import annotations

import logging
import sys

import typer

from ritm.cli.common import STATE, fail, run
from ritm.event_loop import loop_factory
from ritm.logs import LOG_FORMATS, configure_logging
from ritm.settings import public_url_warning

log = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.0005


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        dispatch_every_s: float = typer.Option(
            2.0, "--tick", help="Seconds between checks for due rows while idle (due rows go at once)."
        ),
        standby: bool = typer.Option(
            False, "--standby", help="If another `ritm run` holds the database, wait for it to stop."
        ),
        log_format: str = typer.Option(
            "text", "--log-format", help="text (one line per event) or json (one object per line)."
        ),
    ) -> None:
        """Run the dispatcher, HTTP endpoints and (with RITM_BOT_TOKEN) the bot until SIGTERM.

        SIGTERM/SIGINT: claim nothing more, let the sends in flight finish (up to
        RITM_SHUTDOWN_GRACE_S) and be recorded, then exit 0."""
        if log_format not in LOG_FORMATS:
            fail(f"--log-format must be {' or '.join(LOG_FORMATS)}, got {log_format!r}")
        configure_logging(log_format)
        settings = STATE.signing_settings().model_copy(
            update={"db": STATE.db_path, "policy": STATE.policy_path}
        )
        policy = STATE.policy()
        warning = public_url_warning(settings)
        if warning is not None:
            log.warning(warning, extra={"event": "public_url", "url": settings.public_url})

        from dispatcher.channels.envelope import EnvelopeError
        from ritm.services import email_envelope

        try:  # an unreadable DKIM key stops us before anything starts
            email_envelope(settings)
        except EnvelopeError as exc:
            fail(str(exc))

        # The event loop gives the GIL up at every socket write and SQLite call; a reader or render
        # thread that takes it then would keep it for Python's default 5 ms. Handing it back within
        # 0.5 ms keeps a slot's hand-off commit and SMTP answers from queueing behind those threads
        # (against a server that answers DATA after 10 ms: +19 % msg/s, the commit's p90 6.5 → 2.7 ms).
        sys.setswitchinterval(SWITCH_INTERVAL_S)

        # aiogram takes seconds to import: only when running
        from ritm.app import create_app, serve
        from ritm.instance import LeaseHeld
        from ritm.telegram_bot import BotTokenError, open_bot

        async def main() -> str | None:
            try:
                bot, known = await open_bot(settings)  # a bad token stops us before anything starts
            except BotTokenError as exc:
                fail(str(exc))
            application = await create_app(known, policy, bot=bot)
            try:
                await serve(application, dispatch_every_s=dispatch_every_s, standby=standby)
            except LeaseHeld as exc:
                return str(exc)
            finally:
                await application.close()
            return None

        refused = run(main, loop_factory(settings.event_loop))
        if refused is not None:
            fail(refused)
