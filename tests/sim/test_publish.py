"""Output folders are published whole: old or new at every instant, never a mix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim.publish as publish
from sim.errors import InputError
from sim.publish import MANIFEST, OutputFolder, remove_stale, verify_manifest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("files written", "manifest written", "swapped", "published")


def _old(out: Path) -> None:
    with OutputFolder(out, call="old") as stage:
        (stage / "a.txt").write_text("old a")
        (stage / "only-old.txt").write_text("x")


def _write_new(stage: Path) -> None:
    (stage / "a.txt").write_text("new a")
    (stage / "sub").mkdir()
    (stage / "sub" / "b.txt").write_text("new b")


def _state(out: Path) -> str:
    """'old' or 'new' when ``out`` is whole; anything else is a failure."""
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert not verify_manifest(out), names
    call = json.loads((out / MANIFEST).read_text())["call"]
    expected = {"old": ["a.txt", MANIFEST, "only-old.txt"],
                "new": ["a.txt", MANIFEST, "sub/b.txt"]}[call]
    assert names == expected
    return call


def _no_stages(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".stage-" in p.name or ".old-" in p.name]


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("stage", [*STAGES, "old set aside"])
def test_a_fault_at_any_stage_leaves_the_old_or_the_new_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str, exchange: bool) -> None:
    out = tmp_path / "run"
    _old(out)
    if not exchange:
        monkeypatch.setattr(publish, "_exchange", lambda a, b: False)

    def hook(at: str) -> None:
        if at == stage:
            raise OSError(28, "No space left on device")

    folder = OutputFolder(out, call="new", hook=hook)
    reached = stage in (*STAGES[:2], "published") or (stage == "swapped") == exchange \
        or (stage == "old set aside" and not exchange)
    if reached:
        with pytest.raises(OSError, match="No space"):
            with folder as st:
                _write_new(st)
    else:                       # this path has no such stage: the folder is published
        with folder as st:
            _write_new(st)
    state = _state(out)
    assert state == ("new" if stage in ("swapped", "published") or not reached else "old")
    assert _no_stages(tmp_path)
    remove_stale(out)
    assert _state(out) == state


def test_an_exception_while_writing_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _old(out)
    with pytest.raises(KeyboardInterrupt):
        with OutputFolder(out, call="new") as st:
            _write_new(st)
            raise KeyboardInterrupt
    assert _state(out) == "old" and _no_stages(tmp_path)


def test_a_first_publish_creates_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "run"
    with OutputFolder(out, call="new") as st:
        _write_new(st)
    assert _state(out) == "new" and _no_stages(out.parent)


_CHILD = """
import sys, time, os
from pathlib import Path
sys.path.insert(0, {root!r})
import sim.publish as publish
from sim.publish import OutputFolder
if {fallback!r}:
    publish._exchange = lambda a, b: False
out = Path({out!r})
def hook(at):
    if at == {stage!r}:
        print("at", at, flush=True)
        time.sleep(60)
with OutputFolder(out, call="new", hook=hook) as stage:
    (stage / "a.txt").write_text("new a")
    (stage / "sub").mkdir()
    (stage / "sub" / "b.txt").write_text("new b")
    if {stage!r} == "writing":
        print("at writing", flush=True)
        time.sleep(60)
"""


@pytest.mark.parametrize(("stage", "fallback", "after"), [
    ("writing", False, "old"),
    ("files written", False, "old"),
    ("manifest written", False, "old"),
    ("swapped", False, "new"),
    ("old set aside", True, "old"),       # the next writer puts the old folder back
])
def test_a_killed_writer_leaves_old_or_new_and_the_next_cleans_up(
        tmp_path: Path, stage: str, fallback: bool, after: str) -> None:
    out = tmp_path / "run"
    _old(out)
    code = _CHILD.format(root=str(ROOT), out=str(out), stage=stage, fallback=fallback)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("at")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    time.sleep(0.05)
    if stage != "old set aside":
        assert _state(out) == after
    else:
        assert not out.exists()           # between the fallback's two renames
    remove_stale(out)                     # what the next writer does first
    assert _state(out) == after
    assert _no_stages(tmp_path)


def test_a_live_writers_stage_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with OutputFolder(out, call="new") as st:
        _write_new(st)
        assert remove_stale(out) == [] and st.exists()
    assert _state(out) == "new"


def test_legacy_and_dead_stages_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _old(out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    junk = [tmp_path / f".run.stage-{dead}-abcd1234", tmp_path / ".run.partial-x1y2",
            tmp_path / f".run.old-{dead}-00ff00ff"]
    for j in junk:
        j.mkdir()
        (j / "f").write_text("half")
    other = tmp_path / f".other.stage-{dead}-abcd1234"
    other.mkdir()
    assert sorted(remove_stale(out)) == sorted(junk)
    assert other.exists() and _state(out) == "old"


def test_files_and_folders_get_the_umask_modes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with OutputFolder(out, call="new") as st:
        _write_new(st)
        os.chmod(st / "a.txt", 0o600)
    mask = os.umask(0)
    os.umask(mask)
    assert (out / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask
    assert (out / "sub").stat().st_mode & 0o777 == 0o777 & ~mask
    assert out.stat().st_mode & 0o777 == 0o777 & ~mask


def test_the_manifest_records_version_call_fields_and_every_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with OutputFolder(out, call="settlesim run x", fields={"seeds": [1, 2]}) as st:
        _write_new(st)
    doc = json.loads((out / MANIFEST).read_text())
    assert doc["call"] == "settlesim run x" and doc["seeds"] == [1, 2]
    assert doc["settlesim"] not in ("", None)
    assert set(doc["files"]) == {"a.txt", "sub/b.txt"}
    assert doc["files"]["a.txt"]["sha256"] == publish.file_digest(out / "a.txt")
    if (ROOT / ".git").exists():
        assert len(doc["source"]["commit"]) == 40
    (out / "a.txt").write_text("tampered")
    assert verify_manifest(out) == ["a.txt: differs from the manifest"]


def test_a_folder_that_cannot_be_written_is_refused_on_entry(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="is a file"):
        OutputFolder(blocker / "run").__enter__()
    with pytest.raises(InputError, match="output folder /proc/settlesim-run"):
        OutputFolder("/proc/settlesim-run").__enter__()
