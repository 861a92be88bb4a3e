"""Fixtures for the timeline tests: the shipped settings and two known Friday payments.

The rails' first on-chain run in a process measures the gas table on the real
contracts (about ten seconds); every payment here is simulated once per session.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.banking.network import BankNetwork
from sim.onchain.spec import OnChainSpec
from sim.outputs.timeline import Timeline, parse_local_time, simulate

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def tl_net() -> BankNetwork:
    return BankNetwork.default()


@pytest.fixture(scope="session")
def tl_spec() -> OnChainSpec:
    return OnChainSpec.default()


@pytest.fixture(scope="session")
def friday_ny(tl_net: BankNetwork, tl_spec: OnChainSpec) -> Timeline:
    """US-MX, 1,000 USD, Friday 21 Nov 2025 16:30 New York (13:30 at the Los Angeles
    sender), seed 1."""
    return simulate("US-MX", parse_local_time("2025-11-21 16:30", "America/New_York"),
                    seed=1, network=tl_net, spec=tl_spec)


@pytest.fixture(scope="session")
def friday_late(tl_net: BankNetwork, tl_spec: OnChainSpec) -> Timeline:
    """The same payment at 17:30 Los Angeles: after the sender's 16:30 cut-off."""
    return simulate("US-MX", parse_local_time("2025-11-21 17:30", "America/Los_Angeles"),
                    seed=1, network=tl_net, spec=tl_spec)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser screenshots are kept after the run (``out/`` is not committed)."""
    d = ROOT / "out" / "test-artifacts" / "timeline"
    d.mkdir(parents=True, exist_ok=True)
    return d
