"""Fixtures for the experiment tests: one small baseline run shared by the session,
bad scenario files, and the headless Chromium the report test drives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.experiments.runner import ScenarioResults, run

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


@pytest.fixture(scope="session")
def baseline_small() -> ScenarioResults:
    """The shipped baseline with 40 payments (table ledger), run once."""
    return run("baseline", payments=40)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the headless Chromium (Debian package ``chromium``; ``make browser``)."""
    for c in CHROMIUM_CANDIDATES:
        if Path(c).exists():
            return c
    found = shutil.which("chromium")
    if found:
        return found
    pytest.fail("headless Chromium not found: install the Debian package 'chromium' "
                "(make browser)")


@pytest.fixture()
def write_scenario(tmp_path: Path):
    """Write a scenario file from TOML text; returns its path."""
    def write(text: str, name: str = "scenario.toml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p

    return write
