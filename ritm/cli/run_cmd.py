"""`ritm run`: the bot, the dispatcher and the HTTP endpoints in one process."""

from __future__ import annotations

import logging

import typer

from ritm.cli.common import STATE, run
from ritm.settings import public_url_warning

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        dispatch_every_s: float = typer.Option(2.0, "--tick", help="Seconds between outbox worker ticks."),
    ) -> None:
        """Run the dispatcher, HTTP endpoints and (with RITM_BOT_TOKEN) the bot until SIGTERM."""
        settings = STATE.signing_settings().model_copy(update={"db": STATE.db_path})
        policy = STATE.policy()
        logging.getLogger().setLevel(logging.INFO)
        warning = public_url_warning(settings)
        if warning is not None:
            log.warning(warning, extra={"event": "public_url", "url": settings.public_url})

        from ritm.app import create_app, serve  # aiogram takes seconds to import: only when running

        async def main() -> None:
            application = await create_app(settings, policy)
            try:
                await serve(application, dispatch_every_s=dispatch_every_s)
            finally:
                await application.close()

        run(main)
