"""Fixtures for the on-chain rail tests: the default network and hand-made payments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sim.banking.network import BankNetwork
from sim.banking.workload import Payment, Workload, make_payment
from sim.onchain.spec import OnChainSpec


@pytest.fixture(scope="session")
def net() -> BankNetwork:
    return BankNetwork.default()


@pytest.fixture(scope="session")
def spec() -> OnChainSpec:
    return OnChainSpec.default()


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    """A UTC instant as POSIX seconds."""
    return datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()


def one(net: BankNetwork, created_at: float, *, sender: str = "RBUSUS44",
        beneficiary: str = "PLMXMXMM", amount: str = "1000", sent: str = "USD",
        delivered: str = "MXN", segment: str = "sme", charge: str = "SHA") -> Workload:
    """A workload of one hand-made payment."""
    p = make_payment(0, created_at, sender, beneficiary, amount, sent, delivered, network=net,
                     segment=segment, charge_option=charge)
    return Workload([p])


def many(net: BankNetwork, payments: list[Payment]) -> Workload:
    return Workload(payments)
