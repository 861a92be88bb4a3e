"""Fixtures for the contract unit tests: one deployed stack per session, a fresh state each test.

Deploying the stack and setting up the base balances takes a few seconds, so it happens once;
every test then runs against a chain snapshot that is reverted when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.contract_world import World


@pytest.fixture(scope="session")
def session_world() -> World:
    return World()


@pytest.fixture
def world(session_world: World) -> Iterator[World]:
    snap = session_world.chain.snapshot()
    try:
        yield session_world
    finally:
        session_world.chain.revert(snap)
