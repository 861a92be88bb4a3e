"""Sweeps: speed-up of 2 local workers over 1, and peak memory of 1,000,000 payments.

Both go through :func:`sim.experiments.sweep.run_sweep` on a Dask ``LocalCluster`` of worker
processes (the same code path as a remote cluster):

* **speed-up**: the same sweep (``baseline``, table ledger, a grid of two chains x
  ``--replications`` x ``--payments``, default 2 x 6 x 4,000) on 1 worker process,
  then on 2; the figure is the ratio of wall-clock times, whole sweep (cluster
  start, imports and the per-process gas measurement included) and task phase
  alone (target >= 1.8x).
  The load average is printed beside it: on a 2-core machine any other process
  takes from the 2-worker run first, so a third figure is given in CPU time: the
  1-worker run's task CPU seconds over those of the busiest of the 2 workers (what
  the schedule allows with a free core per worker; worker start-up not included).
* **memory** (``--memory``): ``--memory-payments`` payments through the
  correspondent rail as tasks of ``--chunk`` payments (replications of one
  scenario, each its own seed), each task streaming its tables to Parquet part
  files that are then streamed into ``payments.parquet`` / ``steps.parquet``.
  The figure is the peak resident memory of this process and its workers added
  together (sampled every 0.2 s with psutil), and of the largest single process
  (target < 2 GB for 1,000,000 payments; ``--full`` sets that count).

Usage::

    python benchmarks/bench_sweep.py                       # speed-up, ~2-3 minutes
    python benchmarks/bench_sweep.py --memory              # adds 100,000 payments
    python benchmarks/bench_sweep.py --memory --full --no-speedup   # 1,000,000 payments
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.experiments.scenario import load_scenario  # noqa: E402
from sim.experiments.sweep import run_sweep  # noqa: E402

MiB = 1024 * 1024


class PeakRSS:
    """Samples the resident memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_total = 0
        self.peak_process = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                rss = p.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += rss
            self.peak_process = max(self.peak_process, rss)
        self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def speedup(replications: int, payments: int) -> dict[str, Any]:
    grid = ["onchain.chain=ethereum-l1,fast-ledger"]
    runs: dict[int, dict[str, float]] = {}
    for workers in (1, 2):
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            res = run_sweep("baseline", grid, out=tmp, replications=replications,
                            payments=payments, ledger="table", workers=workers,
                            in_process=False)
        per_pid: dict[int, float] = {}
        for tt in res.task_times:
            per_pid[tt["pid"]] = per_pid.get(tt["pid"], 0.0) + tt["cpu_s"]
        runs[workers] = {**res.timing, "load_before": load,
                         "task_cpu_s": sum(per_pid.values()),
                         "busiest_worker_cpu_s": max(per_pid.values())}
        t = res.timing
        print(f"  {workers} worker(s): {res.tasks} tasks, total {t['total_s']:.1f} s, "
              f"tasks {t['tasks_s']:.1f} s (task time summed {t['task_sum_s']:.1f} s), "
              f"load average before {load:.1f}", flush=True)
    out: dict[str, Any] = {
        "tasks": 2 * replications, "payments_per_task": payments, "runs": runs,
        "speedup_total": runs[1]["total_s"] / runs[2]["total_s"],
        "speedup_tasks": runs[1]["tasks_s"] / runs[2]["tasks_s"],
        "speedup_cpu_schedule": runs[1]["task_cpu_s"] / runs[2]["busiest_worker_cpu_s"],
        "cpus": os.cpu_count(),
    }
    return out


def memory(n: int, chunk: int, workers: int) -> dict[str, Any]:
    tasks = max(1, -(-n // chunk))
    per = -(-n // tasks)
    sc = load_scenario("baseline").with_params({"rails": ["correspondent"]})
    with tempfile.TemporaryDirectory() as out, PeakRSS() as peak:
        t0 = time.perf_counter()
        res = run_sweep(sc, None, out=out, replications=tasks, payments=per,
                        workers=workers, in_process=False)
        wall = time.perf_counter() - t0
        sizes = {k: v.stat().st_size / MiB for k, v in res.files.items()}
        rows = {k: sum(rp["rails"]["correspondent"]["count"] for rp in res.summary["points"])
                for k in ("payments",)}
    return {"payments": rows["payments"], "tasks": tasks, "payments_per_task": per,
            "workers": workers, "wall_s": wall, "timing": res.timing,
            "peak_total_mib": peak.peak_total / MiB,
            "peak_process_mib": peak.peak_process / MiB, "file_mib": sizes}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=6,
                    help="replications per grid point of the speed-up sweep (default 6)")
    ap.add_argument("--payments", type=int, default=4000,
                    help="payments per run of the speed-up sweep (default 4000)")
    ap.add_argument("--no-speedup", action="store_true", help="skip the speed-up sweep")
    ap.add_argument("--memory", action="store_true", help="also measure peak memory")
    ap.add_argument("--memory-payments", type=int, default=100_000)
    ap.add_argument("--full", action="store_true", help="memory of 1,000,000 payments")
    ap.add_argument("--chunk", type=int, default=25_000, help="payments per task (memory)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the memory run")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    a = ap.parse_args(argv)
    out: dict[str, Any] = {}
    if not a.no_speedup:
        print(f"speed-up: baseline, 2 chains x {a.replications} replications x "
              f"{a.payments} payments, table ledger ({os.cpu_count()} CPUs)", flush=True)
        s = speedup(a.replications, a.payments)
        out["speedup"] = s
        print(f"speed-up 2 workers vs 1: {s['speedup_total']:.2f}x whole sweep, "
              f"{s['speedup_tasks']:.2f}x task phase (target >= 1.8x); "
              f"{s['speedup_cpu_schedule']:.2f}x in CPU time (1-worker task CPU / busiest "
              "of 2 workers' task CPU: the speed-up with a free core per worker)")
    if a.memory:
        n = 1_000_000 if a.full else a.memory_payments
        print(f"memory: {n:,} payments, correspondent rail, tasks of {a.chunk:,}, "
              f"{a.workers} workers", flush=True)
        m = memory(n, a.chunk, a.workers)
        out["memory"] = m
        print(f"peak resident memory, {m['payments']:,} payments in {m['tasks']} tasks: "
              f"{m['peak_total_mib']:.0f} MiB this process + workers together, largest "
              f"process {m['peak_process_mib']:.0f} MiB (target < 2048 MiB); "
              f"{m['wall_s']:.0f} s; payments.parquet {m['file_mib']['payments.parquet']:.0f} "
              f"MiB, steps.parquet {m['file_mib']['steps.parquet']:.0f} MiB")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return out


if __name__ == "__main__":
    main()
