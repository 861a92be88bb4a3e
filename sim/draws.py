"""Per-payment random streams shared by every rail.

Every draw of payment ``i`` comes from its own row of a block of a
``SeedSequence(seed, spawn_key=(stream, block))`` stream, so a payment's draws do
not depend on which other payments run or in which order, and each rail (its own
``stream``) draws independently of the others.

Example
-------
>>> d = PaymentDraws(7)
>>> u, z = d.row(3)
>>> len(u) == len(z) == SLOTS * MAX_BANKS, PaymentDraws(7).row(3) == (u, z)
(True, True)
"""

from __future__ import annotations

import numpy as np

from sim.errors import whole_number

__all__ = ["CHUNK", "MAX_BANKS", "SLOTS", "PaymentDraws"]

SLOTS = 8          # draws per bank of a route, per kind (uniform, normal)
MAX_BANKS = 8      # routes longer than this reuse draws cyclically
CHUNK = 2048       # payments per block of draws
_STREAM = 0x5357   # the correspondent rail's spawn key (the default stream)


class PaymentDraws:
    """Per-payment random sub-streams: payment ``i`` always gets the same numbers.

    Draws are made in blocks of ``CHUNK`` payments from
    ``SeedSequence(seed, spawn_key=(stream, block))``; a payment reads its own row.
    """

    def __init__(self, seed: int, stream: int = _STREAM) -> None:
        self.seed, self.stream = whole_number("seed", seed, 0), stream
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # rows of a block as Python lists, per width read (payments read their own row)
        self._rows: dict[tuple[int, int], tuple[list[list[float]], list[list[float]]]] = {}

    def _block(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        blk = self._cache.get(b)
        if blk is None:
            if len(self._cache) >= 4:
                old = next(iter(self._cache))
                self._cache.pop(old)
                for key in [k for k in self._rows if k[0] == old]:
                    del self._rows[key]
            ss = np.random.SeedSequence(self.seed, spawn_key=(self.stream, b))
            g = np.random.Generator(np.random.PCG64(ss))
            width = SLOTS * MAX_BANKS
            blk = (g.random((CHUNK, width)), g.standard_normal((CHUNK, width)))
            self._cache[b] = blk
        return blk

    def row(self, i: int, banks: int = MAX_BANKS) -> tuple[list[float], list[float]]:
        """Uniforms and standard normals of payment ``i`` for a route of ``banks`` banks
        (read-only: the lists are shared by every read of the same row)."""
        b, r = divmod(i, CHUNK)
        w = SLOTS * min(banks, MAX_BANKS)
        rows = self._rows.get((b, w))
        if rows is None:
            u, z = self._block(b)
            rows = self._rows[(b, w)] = (u[:, :w].tolist(), z[:, :w].tolist())
        return rows[0][r], rows[1][r]
