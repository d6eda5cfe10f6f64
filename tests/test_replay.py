"""`monitor replay`: a labelled folder through the real pipeline on a throw-away state."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def test_replay_of_our_corpus_reports_alerts_and_metrics(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[monitor]\nstate_dir = "{tmp_path / "state"}"\nseeds_dir = "{ROOT / "seeds"}"\n')
    result = CliRunner().invoke(cli, ["--config", str(cfg), "replay", str(ROOT / "tests" / "corpus"), "--json"],
                                obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    kinds = {row[0]: row[3] for row in data["rows"]}
    assert kinds["t208-aws-api-gateway-outage"] == "ok (quiet)"
    assert data["metrics"]["new_recall"] >= 0.9 and data["metrics"]["quiet_fp_rate"] <= 0.1
    assert all(a["id"].startswith("lw-") for a in data["alerts"])
    assert not (tmp_path / "state").exists(), "replay must not touch the configured state"


def test_replay_without_labels_lists_alerts(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    src = ROOT / "tests" / "corpus" / "articles" / "t103-venezuela-joins-ilrs.html"
    (folder / "one.html").write_bytes(src.read_bytes())
    cfg = tmp_path / "m.toml"
    cfg.write_text(f'[monitor]\nstate_dir = "{tmp_path / "state"}"\nseeds_dir = "{ROOT / "seeds"}"\n')
    result = CliRunner().invoke(cli, ["--config", str(cfg), "replay", str(folder)], obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "new_development" in result.output and "no labels.jsonl" in result.output
