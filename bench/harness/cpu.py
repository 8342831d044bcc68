"""CPU meters read from /proc: the whole machine's busy share, and CPU seconds by process group."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_times() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / ticks, sum(fields[:8]) / ticks


def cpu_busy_since(start: tuple[float, float]) -> float:
    """The share of the machine's CPU time that was busy since `start` (from cpu_times())."""
    busy, total = cpu_times()
    return (busy - start[0]) / max(1e-9, total - start[1])


def process_cpu() -> dict[str, float]:
    """CPU seconds used so far, by (pid, pgid) of every process: its own and, for a parent, its reaped children's."""
    used = {}
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        utime, stime, cutime, cstime = (int(v) / ticks for v in fields[11:15])
        used[(int(entry), int(fields[2]), comm)] = (utime + stime, cutime + cstime)
    return used


class CpuMeter:
    """CPU seconds spent between start() and stop() by: the workers (the cluster's process group), moto's process
    group, this process (the fake API server's threads, the polling), and PostgreSQL (every server process: other
    databases' work on this machine counts too)."""

    def __init__(self, cluster_pgid: int, moto_pgid: int) -> None:
        self.groups = {"workers": cluster_pgid, "moto": moto_pgid}

    def _sample(self) -> dict[str, float]:
        totals = dict.fromkeys(("workers", "moto", "fake API + bench", "postgres"), 0.0)
        for (pid, pgid, comm), (own, children) in process_cpu().items():
            for name, group in self.groups.items():
                if pgid == group:
                    totals[name] += own + children
            if pid == os.getpid():
                totals["fake API + bench"] += own
            elif comm.startswith("postgres"):
                totals["postgres"] += own + children
        return totals

    def start(self) -> CpuMeter:
        self.began, self.machine = self._sample(), cpu_times()
        return self

    def stop(self) -> dict[str, float]:
        ended = self._sample()
        used = {name: round(ended[name] - self.began[name], 2) for name in ended}
        return used | {"machine_busy_share": round(cpu_busy_since(self.machine), 3)}
