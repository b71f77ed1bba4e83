"""Fields a forecast scorer derives from a task's targets (WeatherBench 2's derived variables).

A derived field is scored like a target, against the same derivation of the truth: models
predict only the targets. The one kind today is an accumulation over a longer period, as
WeatherBench 2's ``AggregatePrecipitationAccumulation`` builds ``total_precipitation_24hr``
from 6-hour accumulations: the 24 h total ending at lead ``L`` is the sum of the 6-hour
totals at leads ``L - 18 h, L - 12 h, L - 6 h, L``, so it exists for the leads from 24 h on
whose three predecessors are leads of the protocol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Accumulation:
    """``name``: the sum of ``source`` (a target accumulated over ``source_hours``) over
    ``hours``."""

    name: str
    source: str
    source_hours: int
    hours: int

    @property
    def steps(self) -> int:
        return self.hours // self.source_hours

    def problem(
        self, targets: set[str], time_step_hours: int, lead_hours: tuple[int, ...]
    ) -> str | None:
        """Why this cannot be derived for a task (None when it can)."""
        if self.source not in targets:
            return f"needs the target {self.source}"
        if time_step_hours != self.source_hours:
            return f"needs a time step of {self.source_hours} h, found {time_step_hours} h"
        if not self.lead_sources(np.asarray(lead_hours)):
            return f"needs {self.steps} consecutive {self.source_hours}-hour leads"
        return None

    def lead_sources(self, lead_hours: np.ndarray) -> dict[int, np.ndarray]:
        """``{lead index: indices of the source leads summed}`` for each derivable lead."""
        position = {int(h): k for k, h in enumerate(lead_hours)}
        out = {}
        for k, h in enumerate(lead_hours):
            parts = [int(h) - j * self.source_hours for j in range(self.steps)]
            if parts[-1] > 0 and all(p in position for p in parts):
                out[k] = np.array([position[p] for p in parts])
        return out

    def truth(self, values: np.ndarray) -> np.ndarray:
        """(time, ncell) sums of the ``steps`` consecutive steps ending at each time (the
        times are consecutive ``source_hours`` steps); NaN for the first ``steps - 1``."""
        out = np.full(values.shape, np.nan, dtype=np.float32)
        n, t = self.steps, values.shape[0]
        if t >= n:
            out[n - 1 :] = sum(values[j : t - n + 1 + j] for j in range(n))
        return out


DERIVED_FIELDS = {
    "total_precipitation_24hr": Accumulation(
        "total_precipitation_24hr", "total_precipitation_6hr", source_hours=6, hours=24
    ),
}
