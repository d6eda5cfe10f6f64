"""Each benchmark in bench/ runs with tiny sizes and prints its figures. No timing is asserted: the
figures depend on the machine. Skipped without ../shared (the benchmarks read their pages from it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import _common  # noqa: E402

needs_shared = pytest.mark.skipif(_common.shared_dir() is None, reason="needs ../shared (the page corpora)")


@needs_shared
@pytest.mark.parametrize(("script", "figures"), [
    ("throughput.py", ["pipeline run --once", "extraction only", "ratio pipeline/extraction"]),
    ("nothing_new.py", ["first cycle", "second cycle", "ratio second/first",
                        "0 article bodies, 0 extractions, every feed 304: OK"]),
    ("kb_scale.py", ["ms/article", "ratio 400/200"]),
    ("memory.py", ["peak RSS, 500 claims", "peak RSS, seeds only"]),
])
def test_benchmark_runs_and_prints_its_figures(script: str, figures: list[str]) -> None:
    done = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    for figure in figures:
        assert figure in done.stdout, done.stdout


def test_a_missing_corpus_skips_with_a_message(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_common, "shared_dir", lambda: None)
    with pytest.raises(SystemExit) as stop:
        _common.require_shared("throughput")
    assert stop.value.code == 0
    assert "SKIPPED" in capsys.readouterr().out
