"""Shared fixtures for the sim tests: the default network and a small hand-made network."""

from __future__ import annotations

import pytest

from sim.banking.network import BankNetwork
from tests.sim.sim_helpers import small_network_dict


@pytest.fixture(scope="session")
def net() -> BankNetwork:
    return BankNetwork.default()


@pytest.fixture()
def small() -> BankNetwork:
    return BankNetwork.from_dict(small_network_dict(), "small.toml")
