"""Resident memory of another process without psutil (a dev-only package): ``/proc`` on Linux,
``ps`` elsewhere; None where neither answers."""

from __future__ import annotations

import subprocess
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    status = Path(f"/proc/{pid}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        return int(out) / 1024 if out else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time the process has used (Linux ``/proc``; None elsewhere)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
