"""Helpers shared by the sim tests: a small hand-made network and local wall-clock instants.

A plain module (not ``conftest``) so that tests can import it at module level.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_BANK: dict[str, Any] = {
    "opens": "09:00", "closes": "17:00", "cutoff": "15:00", "capacity": 5,
    "screening_seconds": {"median": 10, "sigma": 0.0},
    "review_share": 0.0, "review_hours": {"median": 4, "sigma": 0.0},
    "review_reject_share": 0.0, "processing_seconds": {"median": 60, "sigma": 0.0},
    "fx_spread_percent": {"retail": "2.0", "sme": "1.0", "wholesale": "0.1"},
    "sender_fee": {"retail": {"fixed": "10"}, "sme": {"fixed": "20"},
                   "wholesale": {"fixed": "30"}},
    "beneficiary_fee": {"retail": {"fixed": "2", "currency": "USD"},
                        "sme": {"fixed": "5", "currency": "USD"},
                        "wholesale": {"fixed": "10", "currency": "USD"}},
    "credit": {"stp_share": 1.0, "stp_seconds": {"median": 30, "sigma": 0.0},
               "manual_hours": {"median": 2, "sigma": 0.0}, "outside_hours": False},
}


#: where the small network's banks are: two of them away from their zone's city
CITIES = {"SENDUS33": "Boston", "TIERMXMM": "Monterrey"}


def small_network_dict(**bank_overrides: dict[str, Any]) -> dict[str, Any]:
    """Four banks: US sender -> US hub -> MX bank -> MX second-tier bank, plus a JP bank.

    ``bank_overrides`` maps a bank id to fields replacing its defaults.
    """
    def bank(id_: str, country: str, ccy: str, tz: str, **kw: Any) -> dict[str, Any]:
        b = copy.deepcopy(_BANK) | {"id": id_, "name": id_, "country": country,
                                    "currency": ccy, "timezone": tz,
                                    "city": CITIES.get(id_, tz.rsplit("/", 1)[-1])} | kw
        b.update(bank_overrides.get(id_, {}))
        return b

    return {
        "network": {"name": "small"},
        "fx": {"as_of": "2025-01-01", "source": "test",
               "rates": {"USD": "1", "MXN": "20", "JPY": "150", "EUR": "0.9"}},
        "banks": [
            bank("SENDUS33", "US", "USD", "America/New_York"),
            bank("HUBXUS33", "US", "USD", "America/New_York", opens="00:00", closes="24:00",
                 cutoff="24:00", fx_currencies=["USD", "MXN", "JPY"]),
            bank("BENEMXMM", "MX", "MXN", "America/Mexico_City", fx_currencies=["USD"]),
            bank("TIERMXMM", "MX", "MXN", "America/Mexico_City"),
            bank("BANKJPJT", "JP", "JPY", "Asia/Tokyo"),
            bank("LONEDEFF", "DE", "EUR", "Europe/Berlin"),
        ],
        "accounts": [
            {"owner": "SENDUS33", "servicer": "HUBXUS33", "currency": "USD", "lifting_fee": "15",
             "processing_seconds": {"median": 20}},
            {"owner": "BENEMXMM", "servicer": "HUBXUS33", "currency": "USD", "lifting_fee": "12",
             "processing_seconds": {"median": 20}},
            {"owner": "HUBXUS33", "servicer": "BENEMXMM", "currency": "MXN", "lifting_fee": "200",
             "processing_seconds": {"median": 20}},
            {"owner": "TIERMXMM", "servicer": "BENEMXMM", "currency": "MXN", "lifting_fee": "100",
             "processing_seconds": {"median": 20}},
            {"owner": "BANKJPJT", "servicer": "HUBXUS33", "currency": "JPY", "lifting_fee": "1500",
             "processing_seconds": {"median": 20}},
            {"owner": "LONEDEFF", "servicer": "LONEDEFF", "currency": "EUR", "lifting_fee": "0",
             "processing_seconds": {"median": 20}},
        ][:5] + [{"owner": "LONEDEFF", "servicer": "BANKJPJT", "currency": "EUR",
                  "lifting_fee": "0", "processing_seconds": {"median": 20}}],
    }


def local(tz: str, *args: int) -> float:
    """POSIX seconds of a local wall-clock time, e.g. ``local("Asia/Tokyo", 2025, 1, 6, 9)``."""
    return datetime(*args, tzinfo=ZoneInfo(tz)).timestamp()  # type: ignore[misc]
