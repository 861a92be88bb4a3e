"""Output folders written whole or not at all.

A run's or a sweep's folder is built in a *stage*, a hidden folder beside it
(``.NAME.stage-PID-TOKEN``), and put in place in one step: on Linux the stage
and the old folder are swapped by one ``renameat2(RENAME_EXCHANGE)`` system call,
so at every instant ``NAME`` is either the whole old folder or the whole new one;
the old one, now at the stage's path, is then removed. Where the exchange is not
available the old folder is first renamed aside (``.NAME.old-PID-TOKEN``) and
restored by the next writer if the process died between the two renames.

Before a writer starts, what killed writers left beside the folder (stages and
set-aside folders of processes that no longer run, and the staging folders of
earlier versions) is removed, or restored where it is the only copy of the
folder. Every published folder holds a ``manifest.json``: settlesim's version,
the commit when run from a checkout, what was run (the command or the call),
the caller's fields (scenario hash, seeds, ...) and each file's size and sha256.
Files get mode ``0666 & ~umask`` and folders ``0777 & ~umask``, whatever wrote
them.

Example
-------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with OutputFolder(root / "run", call="doctest") as stage:
...     _ = (stage / "a.txt").write_text("new")
>>> sorted(p.name for p in (root / "run").iterdir())
['a.txt', 'manifest.json']
>>> [p.name for p in root.iterdir()]          # no stage left behind
['run']
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.errors import InputError

__all__ = ["MANIFEST", "OutputFolder", "OutputFolderError", "check_output_folder", "file_digest",
           "remove_stale", "verify_manifest"]

MANIFEST = "manifest.json"
_UMASK = os.umask(0o022)
os.umask(_UMASK)
_STAGE_RE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>stage|old)-(?P<pid>\d+)-[0-9a-f]+$")
#: staging folders of earlier versions: ``.NAME.partial-XXXX`` beside the folder
_LEGACY_RE = re.compile(r"^\.(?P<name>.+)\.partial-[A-Za-z0-9_]+$")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputFolderError(InputError):
    """An output folder that cannot be made or written in (refused before any work)."""


def check_output_folder(out: str | Path) -> Path:
    """Refuse, before any work is done, an output folder that cannot be made or written in.

    Raises :class:`~sim.errors.InputError` naming the folder and why: it is a file,
    a file stands where one of its parents would be made, or the nearest existing
    parent is not writable. Returns ``out`` as a ``Path``. (:class:`OutputFolder`
    goes further: it makes its stage, so a folder the system will not let us
    write in is refused before the run too.)

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     check_output_folder(f"{f.name}/run")
    Traceback (most recent call last):
    ...
    sim.publish.OutputFolderError: output folder .../run: ... is a file, not a folder
    """
    out = Path(out)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputFolderError(f"output folder {out}: {probe} is a file, not a folder")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise OutputFolderError(f"output folder {out}: no permission to write in {probe}")
    return out


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(out: str | Path) -> list[Path]:
    """Clean up after killed writers of ``out``; return what was removed or restored.

    A set-aside old folder of a dead process is renamed back to ``out`` when
    ``out`` is missing (the writer died between its two renames), else removed;
    stages of dead processes and legacy ``.NAME.partial-*`` folders are removed.
    Folders of live writers are left alone.
    """
    out = Path(out)
    parent = out.parent
    done: list[Path] = []
    if not parent.is_dir():
        return done
    for entry in sorted(parent.iterdir()):
        m = _STAGE_RE.match(entry.name)
        legacy = _LEGACY_RE.match(entry.name)
        if m is not None and m.group("name") == out.name:
            if _alive(int(m.group("pid"))):
                continue
            if m.group("kind") == "old" and not out.exists():
                try:   # the only copy of the folder: put it back, never remove it
                    os.rename(entry, out)
                except OSError:
                    continue
                done.append(out)
                continue
        elif legacy is None or legacy.group("name") != out.name:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        done.append(entry)
    return done


def file_digest(path: Path) -> str:
    """The sha256 of a file, in hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("settlesim")
    except PackageNotFoundError:
        return "unknown"


def _commit() -> dict[str, Any] | None:
    """The checkout's commit (and whether it has uncommitted changes), when settlesim
    runs from a git checkout; None otherwise."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no", "--", "sim", "settlement", "contracts"],
                               capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip() != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head, "dirty": dirty}


def _normalise_modes(stage: Path) -> None:
    os.chmod(stage, 0o777 & ~_UMASK)
    for dirpath, dirnames, filenames in os.walk(stage):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o777 & ~_UMASK)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o666 & ~_UMASK)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one system call (Linux ``renameat2``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


class OutputFolder:
    """A folder published whole: ``with OutputFolder(out) as stage: ...write in stage...``.

    Entering removes stale stages (:func:`remove_stale`) and makes the stage
    beside ``out`` (so an output folder that cannot be written is refused before
    any work). Leaving without an exception writes ``manifest.json`` (the
    ``call`` and ``fields`` given, settlesim's version and commit, each file's
    size and sha256), normalises the modes and swaps the stage in for ``out``.
    Leaving with an exception (``KeyboardInterrupt`` included) removes the stage
    and leaves ``out`` as it was. ``hook(stage_name)`` is called between the
    publishing steps (tests inject faults there).
    """

    def __init__(self, out: str | Path, *, call: str | None = None,
                 fields: Mapping[str, Any] | None = None,
                 hook: Callable[[str], None] | None = None) -> None:
        self.out = Path(out)
        if call is None:
            argv = [a for a in sys.argv if a] or ["python"]
            call = " ".join([Path(argv[0]).name, *argv[1:]])
        self.call = call
        self.fields: dict[str, Any] = dict(fields or {})
        self.hook = hook or (lambda _stage: None)
        self.stage: Path | None = None
        self.files: list[Path] = []

    def __enter__(self) -> Path:
        out = check_output_folder(self.out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(out)
            stage = out.parent / f".{out.name}.stage-{os.getpid()}-{secrets.token_hex(4)}"
            stage.mkdir()
        except OSError as exc:
            raise OutputFolderError(f"output folder {out}: cannot write beside it: "
                             f"{exc.strerror or exc}") from None
        self.stage = stage
        return stage

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        stage = self.stage
        assert stage is not None
        if exc_type is not None:
            shutil.rmtree(stage, ignore_errors=True)
            return
        try:
            self._publish(stage)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise

    def manifest(self, stage: Path) -> dict[str, Any]:
        """The manifest of the stage's files (every file but the manifest itself)."""
        files = {}
        for p in sorted(q for q in stage.rglob("*") if q.is_file()):
            rel = p.relative_to(stage).as_posix()
            if rel != MANIFEST:
                files[rel] = {"bytes": p.stat().st_size, "sha256": file_digest(p)}
        doc: dict[str, Any] = {"settlesim": _version(), "source": _commit(),
                               "call": self.call,
                               "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
        doc.update(self.fields)
        doc["files"] = files
        return doc

    def _publish(self, stage: Path) -> None:
        self.hook("files written")
        doc = self.manifest(stage)
        (stage / MANIFEST).write_text(json.dumps(doc, indent=2, default=str) + "\n",
                                      encoding="utf-8")
        _normalise_modes(stage)
        self.hook("manifest written")
        out = self.out
        if not out.exists():
            try:
                os.rename(stage, out)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
            else:
                self._done(out, doc)
                return
        if _exchange(stage, out):
            self.hook("swapped")
            shutil.rmtree(stage, ignore_errors=True)
        else:
            aside = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.rename(out, aside)
            try:
                self.hook("old set aside")
                os.rename(stage, out)
            except BaseException:
                if not out.exists():      # put the old folder back before giving up
                    os.rename(aside, out)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        self._done(out, doc)

    def _done(self, out: Path, doc: Mapping[str, Any]) -> None:
        # what was published: the manifest's files and the manifest itself
        self.files = sorted([out / MANIFEST, *(out / rel for rel in doc["files"])])
        self.hook("published")


def verify_manifest(folder: str | Path) -> list[str]:
    """Problems of a published folder against its manifest (empty: every file there,
    none extra, each with its recorded size and sha256)."""
    folder = Path(folder)
    try:
        doc = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{folder / MANIFEST}: cannot read: {exc}"]
    problems = []
    listed = doc.get("files", {})
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    for rel in sorted(present - set(listed)):
        problems.append(f"{rel}: not in the manifest")
    for rel, meta in sorted(listed.items()):
        p = folder / rel
        if not p.is_file():
            problems.append(f"{rel}: missing")
        elif p.stat().st_size != meta["bytes"] or file_digest(p) != meta["sha256"]:
            problems.append(f"{rel}: differs from the manifest")
    return problems
