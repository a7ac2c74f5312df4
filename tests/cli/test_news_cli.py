"""`aegis news collect|status`: a round against an unreachable feed is reported, not hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aegis.cli.app import app

runner = CliRunner()


def test_collect_reports_unreachable_feeds_and_status_lists_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AEGIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AEGIS_NEWS_RSS_FEEDS", "닫힌피드|http://127.0.0.1:9/rss.xml")
    monkeypatch.setenv("COLUMNS", "200")
    r = runner.invoke(app, ["news", "collect"])
    assert r.exit_code == 0, r.output
    assert "rss:닫힌피드" in r.output and "ConnectError" in r.output
    assert "뉴스 피드에 연결할 수 없습니다" in r.output
    s = runner.invoke(app, ["news", "status"])
    assert s.exit_code == 0
    assert "archive" in s.output and "rss:닫힌피드" in s.output
