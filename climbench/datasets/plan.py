"""What a download will fetch (``--dry-run`` prints it): files or chunks, bytes, where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PlanItem:
    """One file to fetch: its local name, its URL, its size and checksum when known."""

    name: str
    url: str
    size: int | None = None
    checksum: str | None = None


@dataclass
class Plan:
    """A download's plan. ``items`` are files; a Zarr subset lists its chunks in ``payload``
    (a :class:`~climbench.datasets.zarr_subset.ZarrPlan`) and estimates the bytes."""

    card: str
    method: str
    endpoint: str
    out: Path
    items: list[PlanItem] = field(default_factory=list)
    total_bytes: int | None = None
    estimate: bool = False
    notes: list[str] = field(default_factory=list)
    payload: Any = None

    def summary(self) -> str:
        """One paragraph: how many items, how many bytes, where they go."""
        size = "unknown size" if self.total_bytes is None else _size(self.total_bytes)
        what = f"{len(self.items)} file(s)" if self.payload is None else self.payload_summary()
        approx = " at most (uncompressed)" if self.estimate else ""
        return f"{self.card}: {what}, {size}{approx}, from {self.endpoint} into {self.out}"

    def payload_summary(self) -> str:
        z = self.payload
        return f"{z.chunk_count} chunk(s) of {len(z.arrays)} array(s)"


def _size(n: float) -> str:
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    while n >= 1000 and len(units) > 1:
        n /= 1000
        units.pop(0)
    return f"{n:.0f} B" if units[0] == "B" else f"{n:.1f} {units[0]}"
