"""docs/ is generated from the models and cannot drift; a newcomer's campaign written from docs/ alone
validates, dry-runs and renders."""

from __future__ import annotations

import json
import re
from pathlib import Path

from policy.campaign import Campaign
from policy.config import Policy
from policy.series import SERIES_KEYS
from ritm.docs_models import field_docs, tables
from ritm.reference_docs import DOCS, SERIES_DOCS, context_names, render_all, variable_docs
from tests.cli_support import worked_cli


def test_docs_are_fresh() -> None:
    for name, text in render_all().items():
        path = DOCS / name
        assert path.exists() and path.read_text(encoding="utf-8") == text, (
            f"docs/{name} is stale: run `make docs` and commit it"
        )


def test_every_key_has_a_type_a_default_and_a_meaning() -> None:
    for model in (Campaign, Policy):
        for table in tables(model):
            for key in table.keys:
                assert key.type and key.default, key
                assert key.meaning, (
                    f"{'.'.join(key.path)}: add a docstring under the field (its meaning in docs/)"
                )
    assert "Optional A/B arms" in field_docs(Campaign)["variants"]


def test_every_series_key_is_documented() -> None:
    assert set(SERIES_DOCS) == set(SERIES_KEYS), "describe the new series key in ritm/reference_docs.py"


def test_every_template_variable_is_documented() -> None:
    documented = {name.split("(")[0] for name in variable_docs()}
    assert set(context_names()) <= documented
    assert {
        "subject",
        "open_pixel_url",
        "button",
        "unsubscribe_url",
        "school",
        "links",
        "event",
    } <= documented


def test_a_campaign_written_from_docs_alone_validates_dry_runs_and_renders(
    tmp_path: Path, worked_dir: Path
) -> None:
    page = (DOCS / "campaign-file.md").read_text(encoding="utf-8")
    block = re.search(r"## A minimal campaign\n+```toml\n(.*?)```", page, re.S)
    assert block is not None
    text = (
        block.group(1)
        .replace("2026-12-02T10:00:00", "2026-11-21T10:00:00")
        .replace("2026-12-04T20:00:00", "2026-11-23T20:00:00")
    )
    (tmp_path / "sale.toml").write_text(text, encoding="utf-8")
    invoke = worked_cli(tmp_path, worked_dir)
    assert invoke("team", "add", "3", "operator")[0] == 0
    code, out, err = invoke("campaign", "add", str(tmp_path / "sale.toml"), "--by", "3")
    assert code == 0, err
    code, out, err = invoke(
        "campaign", "dry-run", "spring-sale", "--at", "2026-11-20T12:00:00+00:00", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["planned"] > 0
    [preview] = report["previews"].values()
    assert "30 % off" in preview["text"] and "See you in" not in preview["text"]  # no city: guarded
