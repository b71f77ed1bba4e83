"""Task specifications: a benchmark protocol as frozen, hashable data.

A :class:`TaskSpec` fixes everything that makes two scores comparable: the dataset, the
grid, the input and target fields, the time splits (or scenarios), lead and init times,
the metrics, regions and headline score, and the reference baselines. Specs live as YAML
files under ``climbench/tasks/specs/``; any change to a spec is a new ``version`` and every
score is reported as ``name@version``. :meth:`TaskSpec.digest` hashes the whole protocol so
a predictions file or results table can prove which protocol it was made for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, NoReturn

import pandas as pd

from climbench.errors import TaskError
from climbench.metrics.weights import Region
from climbench.version import json_sha256

SPLITS = ("train", "validation", "test")
#: ``fail(found, expected)``: how a protocol check refuses a spec
Fail = Callable[[str, str], NoReturn]


@dataclass(frozen=True)
class Field:
    """One target or input field: a variable, at one pressure level (hPa) or none."""

    variable: str
    level: float | None = None

    @property
    def name(self) -> str:
        """``geopotential_500`` for a level field, the variable name otherwise."""
        return self.variable if self.level is None else f"{self.variable}_{self.level:g}"

    @classmethod
    def parse(cls, text: str | dict) -> Field:
        """``"geopotential@500"``, ``"2m_temperature"`` or ``{variable:, level:}``."""
        if isinstance(text, dict):
            level = text.get("level")
            return cls(str(text["variable"]), None if level is None else float(level))
        variable, _, level = str(text).partition("@")
        return cls(variable, float(level) if level else None)


@dataclass(frozen=True)
class Period:
    """An inclusive time range; ``start`` / ``end`` are ISO dates or times (or years)."""

    start: str
    end: str

    def slice(self) -> slice:
        return slice(self.start, self.end)

    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Inclusive timestamps; a bare date or year end means the end of that day or year."""
        start = pd.Timestamp(self.start)
        end = pd.Timestamp(self.end)
        if len(self.end) == 4:
            end = pd.Timestamp(f"{self.end}-12-31T23:59:59")
        elif len(self.end) == 10:
            end = end + pd.Timedelta(hours=23, minutes=59, seconds=59)
        return start, end

    def overlaps(self, other: Period) -> bool:
        a0, a1 = self.bounds()
        b0, b1 = other.bounds()
        return a0 <= b1 and b0 <= a1


@dataclass(frozen=True)
class DatasetRef:
    """Where a task's data comes from.

    ``kind``: ``synthetic-weather``, ``synthetic-downscaling``, ``synthetic-climate``
    (built by climbench itself, no network) or ``files`` (the user passes the source files,
    e.g. ERA5 from the download API, described by ``description``). ``params``: generator
    arguments (years, seed, grid) or source options (units, variables).
    """

    id: str
    kind: str
    params: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Headline:
    """The one number a leaderboard ranks by (lower is better unless ``higher_is_better``)."""

    metric: str
    field: str
    region: str = "global"
    lead_hours: int | None = None
    higher_is_better: bool = False


@dataclass(frozen=True)
class ForecastProtocol:
    """Lead times, init times and input history of a forecasting task (hours)."""

    lead_hours: tuple[int, ...]
    init_hours: tuple[int, ...] = (0, 12)
    init_every_days: int = 1
    history_hours: tuple[int, ...] = (-6, 0)
    time_step_hours: int = 6
    #: fields the scorer derives from the targets (:mod:`climbench.tasks.derived`), such as
    #: ``total_precipitation_24hr`` from 6-hour accumulations (scored by SEEPS); added in
    #: version 2 of the forecast specs, left out of the digest when empty
    derived_fields: tuple[str, ...] = field(default=(), metadata={"digest_if_set": True})

    def check(self, spec: TaskSpec, fail: Fail) -> None:
        """A headline lead must be one of the lead times; a derived field must be known
        and derivable from the targets at the protocol's time step."""
        from climbench.tasks.derived import DERIVED_FIELDS

        lead = spec.headline.lead_hours
        if lead is not None and lead not in self.lead_hours:
            fail(f"headline lead {lead} h", f"one of the forecast lead times {self.lead_hours}")
        targets = {f.name for f in spec.targets}
        for name in self.derived_fields:
            if name not in DERIVED_FIELDS:
                fail(f"derived field {name!r}", f"one of {sorted(DERIVED_FIELDS)}")
            problem = DERIVED_FIELDS[name].problem(targets, self.time_step_hours, self.lead_hours)
            if problem:
                fail(f"derived field {name!r}: {problem}", "a field derivable from the targets")


@dataclass(frozen=True)
class DownscalingProtocol:
    """Coarse and fine grids, the optional regional crop, and the region split.

    ``train_regions`` / ``test_regions`` empty: the in-region split (all cells, split in
    time). Otherwise the out-of-region split (RainShift style): losses and model selection
    see only ``train_regions``; scores are over ``test_regions``, which never overlap them.
    """

    coarse_grid: str
    fine_grid: str
    crop: Region | None = None
    train_regions: tuple[Region, ...] = ()
    test_regions: tuple[Region, ...] = ()

    def check(self, spec: TaskSpec, fail: Fail) -> None:
        """Train and test regions may share no cell."""
        train = {b.name for b in self.train_regions}
        test = {b.name for b in self.test_regions}
        if train & test:
            fail(f"regions {sorted(train & test)} in train and test", "disjoint regions")
        for a in self.train_regions:
            for b in self.test_regions:
                if _boxes_overlap(a, b):
                    fail(f"train region {a} overlaps test region {b}", "disjoint regions")


@dataclass(frozen=True)
class EmulationProtocol:
    """Scenarios in each split, forcing inputs and the scoring period (ClimateBench).

    ``test_period``: the years scored on test (and validation) scenarios, all when None.
    ``holdout_period``: with no validation scenario, these years of the training scenarios
    are held out of training and used for validation instead. ``anomaly_reference``: a
    training scenario (the control run) whose training-years mean per cell is subtracted from
    every target, so targets are climate *changes* as in ClimateBench. Years are strings ("2080",
    "0121": CMIP6 model years may precede year 1678, so never pandas timestamps).
    """

    train_scenarios: tuple[str, ...]
    validation_scenarios: tuple[str, ...]
    test_scenarios: tuple[str, ...]
    forcings: tuple[str, ...]
    history_years: int = 10
    test_period: Period | None = None
    holdout_period: Period | None = None
    anomaly_reference: str | None = None

    def check(self, spec: TaskSpec, fail: Fail) -> None:
        """Test scenarios are held out of training and validation."""
        test = set(self.test_scenarios)
        for split, scenarios in (
            ("train", self.train_scenarios),
            ("validation", self.validation_scenarios),
        ):
            if test & set(scenarios):
                fail(
                    f"scenarios {sorted(test & set(scenarios))} in {split} and test",
                    "a held-out test scenario",
                )


@dataclass(frozen=True)
class StationProtocol:
    """Lead times, init times and input history of a station-forecasting task, in steps of
    ``time_step_minutes`` (hourly for Weather2K-style tasks, 10 minutes for KNMI's files).

    Test inits are every ``init_every_steps``-th step of the test split from its first
    step; a model sees the observations at ``init + history_steps``; the scorer verifies at
    ``init + lead_steps``.
    """

    lead_steps: tuple[int, ...]
    history_steps: tuple[int, ...] = (0,)
    init_every_steps: int = 6
    time_step_minutes: int = 60

    def check(self, spec: TaskSpec, fail: Fail) -> None:
        """Leads are positive, history steps not after the init, and a headline lead is
        one of the lead times."""
        if not self.lead_steps or min(self.lead_steps) < 1:
            fail(f"lead steps {self.lead_steps}", "positive lead steps")
        if not self.history_steps or max(self.history_steps) > 0:
            fail(f"history steps {self.history_steps}", "history steps <= 0 (at or before init)")
        if self.init_every_steps < 1 or self.time_step_minutes < 1:
            fail(
                f"init_every_steps {self.init_every_steps}, time_step_minutes "
                f"{self.time_step_minutes}",
                "positive integers",
            )
        lead = spec.headline.lead_hours
        hours = [s * self.time_step_minutes / 60 for s in self.lead_steps]
        if lead is not None and lead not in hours:
            fail(f"headline lead {lead} h", f"one of the lead times {hours} h")


@dataclass(frozen=True)
class TaskSpec:
    """A frozen benchmark protocol (see the module docstring)."""

    name: str
    version: int
    kind: str
    title: str
    description: str
    dataset: DatasetRef
    grid: str
    targets: tuple[Field, ...]
    inputs: tuple[Field, ...]
    constants: tuple[str, ...]
    splits: dict[str, Period]
    metrics: tuple[str, ...]
    regions: tuple[str, ...]
    headline: Headline
    baselines: tuple[str, ...]
    forecast: ForecastProtocol | None = None
    downscaling: DownscalingProtocol | None = None
    emulation: EmulationProtocol | None = None
    climatology_window_days: int = 61
    #: the station-forecasting protocol (added with that kind; left out of the digest
    #: when unset, so the other kinds' digests are unchanged)
    station: StationProtocol | None = field(default=None, metadata={"digest_if_set": True})

    @property
    def id(self) -> str:
        """``name@version``: how every score names its protocol."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data; fields added in later versions (``digest_if_set``
        metadata) are left out while they keep their default, so older versions keep their
        digest."""
        return _without_unset(self, asdict(self))

    def digest(self) -> str:
        """sha256 (first 16 hex digits) of the canonical JSON of the whole protocol."""
        return json_sha256(self.to_dict())[:16]

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> TaskSpec:
        """Build and check a spec from its YAML mapping; errors name ``source``."""
        try:
            spec = _from_dict(cls, data)
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(
                "invalid task specification",
                path=source,
                expected="the fields of climbench.tasks.spec.TaskSpec",
                found=f"{type(exc).__name__}: {exc}",
            ) from exc
        spec.check(source)
        return spec

    def check(self, source: str = "<spec>") -> None:
        """Refuse protocols that would leak or cannot be scored: the parts every spec has
        here, the kind's own protocol section by its ``check`` (the kind says which section
        and whether it needs time splits, :mod:`climbench.tasks.kinds`)."""
        from climbench.tasks.kinds import KINDS, get_kind

        def fail(found: str, expected: str) -> None:
            raise TaskError(
                "invalid task specification", path=source, expected=expected, found=found
            )

        if self.kind not in KINDS:
            fail(f"kind {self.kind!r}", f"one of {sorted(KINDS)}")
        kind = get_kind(self.kind)
        if kind.time_splits:
            self._check_splits(fail)
        protocol = getattr(self, kind.protocol, None)
        if protocol is None:
            fail(f"no {kind.protocol} protocol", f"a `{kind.protocol}:` section")
        protocol.check(self, fail)
        known = kind_metrics(kind)
        unknown = [m for m in self.metrics if m not in known]
        if unknown:
            fail(f"metric {unknown[0]!r}", f"metrics of {self.kind} tasks: {known}")
        if self.headline.field not in {f.name for f in self.targets}:
            fail(f"headline field {self.headline.field!r}", "one of the target fields")
        if self.headline.region not in self.regions:
            fail(f"headline region {self.headline.region!r}", f"one of the regions {self.regions}")
        if self.headline.metric not in self.metrics:
            fail(f"headline metric {self.headline.metric!r}", f"one of the metrics {self.metrics}")
        if self.headline.lead_hours is not None and self.forecast is None and self.station is None:
            fail(f"headline lead {self.headline.lead_hours} h", "a forecast task")

    def _check_splits(self, fail: Fail) -> None:
        """Train, validation and test periods exist and do not overlap."""
        missing = [s for s in SPLITS if s not in self.splits]
        if missing:
            fail(f"splits without {missing}", f"periods for {SPLITS}")
        for i, a in enumerate(SPLITS):
            for b in SPLITS[i + 1 :]:
                if self.splits[a].overlaps(self.splits[b]):
                    fail(
                        f"{a} {self.splits[a]} overlaps {b} {self.splits[b]}",
                        "train, validation and test periods that do not overlap",
                    )


def _without_unset(obj: Any, data: Any) -> Any:
    """``data`` (``asdict(obj)``) without the ``digest_if_set`` fields still at their default."""
    if not hasattr(obj, "__dataclass_fields__"):
        return data
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("digest_if_set") and value == f.default:
            del data[f.name]
        elif f.name in data:
            data[f.name] = _without_unset(value, data[f.name])
    return data


def kind_metrics(kind) -> tuple[str, ...]:
    """The metrics a task of ``kind`` can report: the registered scores whose statistics
    its scorer provides (:mod:`climbench.metrics.scores`), then its extra metrics."""
    from climbench.metrics.scores import SCORES, registered_quantities

    provided = set(kind.provides)
    if kind.registered_statistics:
        provided |= set(registered_quantities())
    means = tuple(s.name for s in SCORES.values() if set(s.statistics) <= provided)
    return (*means, *kind.extra_metrics)


def _lon_arcs(box: Region) -> list[tuple[float, float]]:
    """The longitudes of a box as closed arcs within [0, 360) (as :meth:`Region.mask`)."""
    if box.lon_max - box.lon_min >= 360.0:
        return [(0.0, 360.0)]
    lo, hi = box.lon_min % 360.0, box.lon_max % 360.0
    return [(lo, hi)] if lo <= hi else [(lo, 360.0), (0.0, hi)]


def _boxes_overlap(a: Region, b: Region) -> bool:
    """Whether two boxes share any point (bounds included, as cell masks are)."""
    if a.lat_min > b.lat_max or b.lat_min > a.lat_max:
        return False
    return any(a0 <= b1 and b0 <= a1 for a0, a1 in _lon_arcs(a) for b0, b1 in _lon_arcs(b))


def _from_dict(cls: type, data: dict) -> TaskSpec:
    """Typed construction from plain YAML data (lists become tuples)."""
    forecast = data.get("forecast")
    downscaling = data.get("downscaling")
    emulation = data.get("emulation")
    return cls(
        name=str(data["name"]),
        version=int(data["version"]),
        kind=str(data["kind"]),
        title=str(data["title"]),
        description=" ".join(str(data.get("description", "")).split()),
        dataset=DatasetRef(**data["dataset"]),
        grid=str(data["grid"]),
        targets=tuple(Field.parse(t) for t in data["targets"]),
        inputs=tuple(Field.parse(t) for t in data.get("inputs", [])),
        constants=tuple(data.get("constants", [])),
        splits={k: Period(str(v[0]), str(v[1])) for k, v in data.get("splits", {}).items()},
        metrics=tuple(data["metrics"]),
        regions=tuple(data.get("regions", ["global"])),
        headline=Headline(**data["headline"]),
        baselines=tuple(data.get("baselines", [])),
        forecast=None
        if forecast is None
        else ForecastProtocol(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in forecast.items()}
        ),
        downscaling=None if downscaling is None else _downscaling(downscaling),
        emulation=None if emulation is None else _emulation(emulation),
        climatology_window_days=int(data.get("climatology_window_days", 61)),
        station=None
        if data.get("station") is None
        else StationProtocol(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in data["station"].items()}
        ),
    )


def _box(data: dict) -> Region:
    """A named box (:class:`climbench.metrics.Region`) from its YAML mapping."""
    return Region(**{k: (v if k == "name" else float(v)) for k, v in data.items()})


def _downscaling(data: dict) -> DownscalingProtocol:
    return DownscalingProtocol(
        coarse_grid=str(data["coarse_grid"]),
        fine_grid=str(data["fine_grid"]),
        crop=_box(data["crop"]) if data.get("crop") else None,
        train_regions=tuple(_box(b) for b in data.get("train_regions", [])),
        test_regions=tuple(_box(b) for b in data.get("test_regions", [])),
    )


def _emulation(data: dict) -> EmulationProtocol:
    def period(key: str) -> Period | None:
        value = data.get(key)
        return None if value is None else Period(str(value[0]), str(value[1]))

    return EmulationProtocol(
        train_scenarios=tuple(data["train_scenarios"]),
        validation_scenarios=tuple(data.get("validation_scenarios", [])),
        test_scenarios=tuple(data["test_scenarios"]),
        forcings=tuple(data["forcings"]),
        history_years=int(data.get("history_years", 10)),
        test_period=period("test_period"),
        holdout_period=period("holdout_period"),
        anomaly_reference=data.get("anomaly_reference"),
    )
