"""The latency heatmap reads creation on the sender bank's local clock."""

from __future__ import annotations

import pandas as pd

from sim.outputs.figures import _creation_clock


def test_creation_clock_is_the_sender_banks_local_time() -> None:
    created = pd.to_datetime(["2025-11-03 14:00", "2025-11-03 02:00", "2025-11-03 02:00"],
                             utc=True)
    c = pd.DataFrame({"created_at": created, "sender_bank": ["NY", "TOKYO", "NOWHERE"]})
    days, hours = _creation_clock(c, {"NY": "America/New_York", "TOKYO": "Asia/Tokyo"})
    # Monday 09:00 in New York (EST); Monday 11:00 in Tokyo; an unknown bank stays on UTC
    assert list(days) == [0, 0, 0]
    assert list(hours) == [9, 11, 2]
    days_utc, hours_utc = _creation_clock(c, None)
    assert list(hours_utc) == [14, 2, 2]
