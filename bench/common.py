"""What every benchmark reports: a figure, the limit it is measured against in the same run, and
their ratio. Figures are printed and saved, not asserted: CI runs `--quick` to keep them working."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    bench: str  # which benchmark, e.g. "1 pipeline vs API"
    name: str  # what was measured, e.g. "wall time, 8 workers"
    value: float
    unit: str
    limit: float | None = None  # the reference measured or computed in the same run
    target: str = ""  # e.g. "ratio <= 1.10"
    ok: bool | None = None  # whether the target is met (None: no target)
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.limit in (None, 0):
            return None
        return self.value / self.limit

    def as_dict(self) -> dict:
        return asdict(self) | {"ratio": self.ratio}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
