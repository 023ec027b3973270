"""Registers each command group's module on the root app (one line per group)."""

from __future__ import annotations

import importlib

import typer

# (module, attribute): each module defines `register(app)`; missing modules are skipped until built.
GROUPS = [
    "ritm.cli.import_cmd",
    "ritm.cli.demo_data_cmd",
    "ritm.cli.segment_cmd",
    "ritm.cli.contact_cmd",
    "ritm.cli.history_cmd",
    "ritm.cli.outbox_cmd",
    "ritm.cli.status_cmd",
    "ritm.cli.contact_link_cmd",
    "ritm.cli.campaign_cmd",
    "ritm.cli.team_cmd",
    "ritm.cli.run_cmd",
    "ritm.cli.demo_cmd",
]


def register(app: typer.Typer) -> None:
    for name in GROUPS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
