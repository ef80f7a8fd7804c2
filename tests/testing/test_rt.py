"""The Request Tracker test server helper: without RT installed it says what to install
(the RT tests skip on that, or fail under CI=true)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supporter.testing import rt
from supporter.testing.rt import RTError, RTServer, RTTemplate


def test_without_rt_it_names_the_packages_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(rt, "RT_SERVER", tmp_path / "no-rt-server")
    assert not rt.rt_installed()
    with pytest.raises(RTError, match="request-tracker5 rt5-db-sqlite rt5-standalone"):
        RTTemplate.create(tmp_path)
    server = RTServer(RTTemplate(tmp_path / "rt.db", "1-2-token"))
    with pytest.raises(RTError, match="not installed"):
        server.start()
    server.stop()
    assert not server.directory.exists()
