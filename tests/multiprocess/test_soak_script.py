"""scripts/soak.py at a small size (a real `aegis serve`, a few clients, seconds instead of an
hour), so that the script cannot rot: it samples, writes its CSV, summary and plot."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_soak_script_samples_the_server_and_writes_its_report(tmp_path: Path) -> None:
    out = tmp_path / "soak"
    args = ["--minutes", "0.25", "--ws", "3", "--sse", "1", "--every", "3", "--out", str(out)]
    run = subprocess.run(
        [sys.executable, "scripts/soak.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    # 1 is a failed verdict: a few seconds of a starting server are not flat memory
    assert run.returncode in (0, 1), run.stdout[-2000:] + run.stderr[-2000:]
    with (out / "soak.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows, run.stderr[-2000:]
    last = rows[-1]
    assert (int(last["wsClients"]), int(last["sseClients"])) == (3, 1)
    assert float(last["rssMb"]) > 0 and int(last["fds"]) > 0
    assert {"ingestPending", "storeLagMs", "hubLagMs", "load1"} <= set(last)
    summary = json.loads((out / "soak.json").read_text())
    assert summary["passed"] == (run.returncode == 0)
    assert summary["ws"] == 3 and summary["sse"] == 1
    assert (out / "soak.png").stat().st_size > 0
