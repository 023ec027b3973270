"""`ritm run`: the bot, the dispatcher and the HTTP endpoints in one process."""

from __future__ import annotations

import logging

import typer

from ritm.cli.common import STATE, run


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        dispatch_every_s: float = typer.Option(2.0, "--tick", help="Seconds between outbox worker ticks."),
    ) -> None:
        """Run the dispatcher, HTTP endpoints and (with RITM_BOT_TOKEN) the bot until SIGTERM."""
        settings = STATE.settings().model_copy(update={"db": STATE.db_path})
        policy = STATE.policy()
        logging.getLogger().setLevel(logging.INFO)

        from ritm.app import create_app, serve  # aiogram takes seconds to import: only when running

        async def main() -> None:
            application = await create_app(settings, policy)
            try:
                await serve(application, dispatch_every_s=dispatch_every_s)
            finally:
                await application.close()

        run(main)
