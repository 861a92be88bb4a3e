"""Every kind of bad ``[[events]]`` entry is refused before anything runs, in one line
naming its index and field (``settlesim validate`` and ``load_scenario``), exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.cli import main

HEAD = """name = "bad-events"
payments = 10
[horizon]
start = 2025-11-03T00:00:00Z
days = 2
[onchain]
chain = "ethereum-l1"
"""
OK = """[[events]]
kind = "fx_provider_outage"
start = 2025-11-03T10:00:00Z
hours = 1
"""


def _validate(tmp_path: Path, events: str, capsys: pytest.CaptureFixture[str]
              ) -> tuple[int, list[str]]:
    path = tmp_path / "s.toml"
    path.write_text(HEAD + OK + events, encoding="utf-8")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [ln.removeprefix(f"{path}: ") for ln in err.splitlines()
                  if ln.startswith(f"{path}: ")]


@pytest.mark.parametrize(("entry", "field", "why"), [
    ('kind = "bank_outage"\nbank = "NOSUCHBANK"\nstart = 2025-11-03T10:00:00Z\nhours = 2',
     "events.1.bank", "no bank 'NOSUCHBANK'"),
    ('kind = "issuer_freeze"\ncurrency = "XYZ"\nstart = 2025-11-03T10:00:00Z\nhours = 2',
     "events.1.currency", "'XYZ' is not a currency of the network"),
    ('kind = "chain_halt"\nchain = "solana"\nstart = 2025-11-03T10:00:00Z\nhours = 2',
     "events.1.chain", "no such chain profile"),
    ('kind = "chain_halt"\nchain = "fast-ledger"\nstart = 2025-11-03T10:00:00Z\nhours = 2',
     "events.1.chain", "not the scenario's chain"),
    ('kind = "bank_outage"\nbank = "GCUSUS33"\nstart = 2025-12-03T10:00:00Z\nhours = 2',
     "events.1.start", "outside the horizon"),
    ('kind = "sanction"\nbank = "GCUSUS33"\nat = 2024-01-01T00:00:00Z',
     "events.1.at", "outside the horizon"),
    ('kind = "chain_halt"\nstart = 2025-11-03T10:00:00Z\nhours = 0',
     "events.1.hours", "greater than 0"),
    ('kind = "bank_outage"\nbank = "GCUSUS33"\nstart = 2025-11-03T10:00:00Z\nhours = -3',
     "events.1.hours", "greater than 0"),
    ('kind = "fx_provider_outage"\nstart = 2025-11-03T10:30:00Z\nhours = 1',
     "events.1", "overlaps events.0"),
    ('kind = "chain_halt"\nstart = 2025-11-03T10:00:00Z\nhours = 1\nbank = "GCUSUS33"',
     "events.1.bank", "not a field of a chain_halt event"),
    ('kind = "bank_outage"\nbank = "GCUSUS33"\nstart = 2025-11-03T10:00:00Z\nhours = 1\n'
     'price_path = [{ at = 2025-11-03T10:00:00Z, price = 0.9 }]',
     "events.1.price_path", "not a field of a bank_outage event"),
    ('kind = "bank_outage"\nstart = 2025-11-03T10:00:00Z\nhours = 1',
     "events.1.bank", "required for a bank_outage event"),
    ('kind = "volcano"\nstart = 2025-11-03T10:00:00Z\nhours = 1', "events.1.kind", ""),
    ('kind = "issuer_freeze"\ncurrency = "USD"\nstart = 2025-11-03T10:00:00Z\nhours = 2\n'
     'policies = { NOSUCHBANK = "sell" }', "events.1.policies.NOSUCHBANK", "no such bank"),
])
def test_a_bad_event_is_refused_in_one_line_naming_its_index_and_field(
        tmp_path, capsys, entry, field, why):
    code, lines = _validate(tmp_path, "[[events]]\n" + entry + "\n", capsys)
    assert code == 2
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(field + ":") or line.startswith(field + " "), line
    assert why in line


def test_two_outages_of_one_bank_overlapping_are_refused_but_of_two_banks_not(tmp_path, capsys):
    one = ('[[events]]\nkind = "bank_outage"\nbank = "{b}"\nstart = 2025-11-03T1{h}:00:00Z\n'
           'hours = 3\n')
    code, lines = _validate(tmp_path, one.format(b="GCUSUS33", h=0)
                            + one.format(b="GCUSUS33", h=2), capsys)
    assert code == 2 and lines == [lines[0]] and lines[0].startswith("events.2: overlaps "
                                                                     "events.1")
    code, lines = _validate(tmp_path, one.format(b="GCUSUS33", h=0)
                            + one.format(b="HCUSUS33", h=2), capsys)
    assert code == 0 and lines == []


def test_a_bad_event_stops_run_before_anything_is_written(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(HEAD + '[[events]]\nkind = "bank_outage"\nbank = "X"\n'
                    'start = 2025-11-03T10:00:00Z\nhours = 1\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "events.0.bank" in capsys.readouterr().err
    assert not out.exists()
