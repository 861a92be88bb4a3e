"""Task wrappers for the sweep tests: a task that kills its worker, or raises, once.

Each wrapper takes a marker file: the first task to run creates it (atomically,
``O_EXCL``) and fails; every later run, including the retry, runs normally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sim.experiments.sweep import SweepTask, TaskOutput, run_task


@dataclass(frozen=True)
class FailOnce:
    """Call as a sweep's ``task_fn``: the first call ``os._exit``\\ s (``kill=True``) or
    raises, after creating ``marker``; later calls run :func:`run_task`."""

    marker: str
    kill: bool = True

    def __call__(self, task: SweepTask) -> TaskOutput:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return run_task(task)
        os.write(fd, f"{os.getpid()} g{task.grid_point} r{task.replication}\n".encode())
        os.close(fd)
        if self.kill:
            os._exit(13)  # the worker process dies mid-task
        raise RuntimeError("injected failure")


def always_fails(task: SweepTask) -> TaskOutput:
    """A task function that always raises."""
    raise RuntimeError(f"boom at g{task.grid_point} r{task.replication}")


def marker_text(path: str | Path) -> str:
    return Path(path).read_text()
