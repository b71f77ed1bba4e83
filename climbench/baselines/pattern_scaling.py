"""Pattern scaling: local climate as a linear function of global-mean temperature.

Mitchell (2003), "Pattern scaling: an examination of the accuracy of the technique for
describing future climates", Climatic Change 60, 217-242; the simplest emulator of
ClimateBench (Watson-Parris et al. 2022). Two least-squares steps, in numpy (float64), so
that scoring an emulation task needs no torch:

1. global-mean temperature from the forcings, with an intercept:
   ``gmt ~ forcings @ forcing_coef + forcing_intercept``;
2. every field column (a grid cell of a variable) from the *actual* global-mean temperature
   of the training samples: ``field ~ gmt * slope + intercept``.

:meth:`PatternScaling.predict` chains both and so needs the forcings only (never the true
temperature of the period it predicts). :func:`pattern_scaling` fits it on a task's
training scenarios and predicts the test scenarios.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from climbench.errors import ConfigError, DataValueError, SchemaError
from climbench.metrics import area_mean
from climbench.tasks import emulation as em_task


def _matrix(owner: str, name: str, value, ndim: int, shape: str) -> np.ndarray:
    """``value`` as a finite float64 array of ``ndim`` dims with samples, or a clear error."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        raise SchemaError(f"{owner}: {name} must be {ndim}-D {shape}, found shape {array.shape}")
    if array.shape[0] == 0:
        raise SchemaError(f"{owner}: {name} has no samples (shape {array.shape})")
    if not np.isfinite(array).all():
        raise DataValueError(
            f"{owner}: {name} has NaN or infinite values; drop or fill those samples first"
        )
    return array


class PatternScaling:
    """Pattern scaling (see the module docstring).

    Attributes (after :meth:`fit`, float64): ``forcing_coef`` ``(k,)``,
    ``forcing_intercept`` ``()``, ``slope`` ``(m,)``, ``intercept`` ``(m,)``.
    """

    def __init__(self) -> None:
        self.forcing_coef: np.ndarray | None = None
        self.forcing_intercept: np.ndarray | None = None
        self.slope: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    def fit(self, forcings, global_temperature, fields) -> PatternScaling:
        """Fit to forcings ``(n, k)``, global-mean temperature ``(n,)`` and fields ``(n, m)``."""
        owner = "PatternScaling.fit"
        forcings = _matrix(owner, "forcings", forcings, 2, "(samples, forcings)")
        gmt = _matrix(owner, "global_temperature", global_temperature, 1, "(samples,)")
        fields = _matrix(owner, "fields", fields, 2, "(samples, cells); flatten the grid")
        counts = {"forcings": len(forcings), "global_temperature": len(gmt), "fields": len(fields)}
        if len(set(counts.values())) > 1:
            found = ", ".join(f"{k}: {v}" for k, v in counts.items())
            raise SchemaError(
                f"{owner}: inputs must have the same number of samples, found {found}"
            )
        anomaly = gmt - gmt.mean()
        variance = float((anomaly**2).sum())
        if not variance > 0:
            raise DataValueError(
                f"{owner}: global_temperature is constant, so no pattern can be fitted; "
                "train on samples with different temperatures"
            )
        # Step 1: least squares with an intercept column (LAPACK gelsd: rank-deficient
        # forcings, e.g. one held constant, get the minimum-norm solution). Columns are
        # standardised first: forcings in natural units span 15 orders of magnitude.
        centre = forcings.mean(axis=0)
        scale = forcings.std(axis=0, ddof=1) if len(forcings) > 1 else np.ones(forcings.shape[1])
        scale = np.where(scale > 0, scale, 1.0)
        design = np.column_stack([(forcings - centre) / scale, np.ones(len(forcings))])
        solution = np.linalg.lstsq(design, gmt, rcond=None)[0]
        self.forcing_coef = solution[:-1] / scale
        self.forcing_intercept = np.float64(solution[-1] - (centre * self.forcing_coef).sum())
        # Step 2: per-cell simple regression on the actual temperature, all cells at once.
        field_mean = fields.mean(axis=0)
        self.slope = anomaly @ (fields - field_mean) / variance
        self.intercept = field_mean - self.slope * gmt.mean()
        return self

    def predict_global_temperature(self, forcings) -> np.ndarray:
        """Global-mean temperature ``(n,)`` from forcings ``(n, k)`` (step 1)."""
        self._check_fitted()
        owner = "PatternScaling.predict"
        forcings = _matrix(owner, "forcings", forcings, 2, "(samples, forcings)")
        if forcings.shape[1] != self.forcing_coef.shape[0]:
            raise SchemaError(
                f"{owner}: forcings must have {self.forcing_coef.shape[0]} columns (as in "
                f"fit), found {forcings.shape[1]}"
            )
        return forcings @ self.forcing_coef + self.forcing_intercept

    def predict(self, forcings) -> np.ndarray:
        """Fields ``(n, m)`` (float32) from forcings ``(n, k)``."""
        return self.predict_from_temperature(self.predict_global_temperature(forcings))

    def predict_from_temperature(self, global_temperature) -> np.ndarray:
        """Fields ``(n, m)`` (float32) from global-mean temperature ``(n,)`` (step 2 only)."""
        self._check_fitted()
        gmt = _matrix(
            "PatternScaling.predict_from_temperature",
            "global_temperature",
            global_temperature,
            1,
            "(samples,)",
        )
        return (gmt[:, None] * self.slope + self.intercept).astype(np.float32)

    def _check_fitted(self) -> None:
        if self.slope is None:
            raise ConfigError("PatternScaling is not fitted: call fit(...) first")


def pattern_scaling(task) -> tuple[xr.Dataset, dict]:
    """Pattern scaling fitted on the training rows of an emulation ``task`` and predicting
    its test scenarios from their forcings only; (predictions, fit information)."""
    spec = task.spec
    forcings = spec.emulation.forcings
    train = em_task.train_rows(em_task.open_store(task), spec)
    x = em_task.forcing_features(train, forcings)
    names = [f.name for f in spec.targets]
    fields = np.concatenate(
        [
            train[f.variable]
            .transpose("scenario", "year", "lat", "lon")
            .values.reshape(x.shape[0], -1)
            for f in spec.targets
        ],
        axis=1,
    )
    tas = spec.targets[0].variable if "2m_temperature" not in names else "2m_temperature"
    gmt = area_mean(train[tas]).transpose("scenario", "year").values.reshape(-1)
    ok = np.isfinite(x).all(1) & np.isfinite(gmt) & np.isfinite(fields).all(1)
    model = PatternScaling().fit(x[ok], gmt[ok], fields[ok])
    test = em_task.split_rows(task, "test")
    pred = model.predict(em_task.forcing_features(test, forcings))
    tmpl = em_task.template(task)
    shape = (test.sizes["scenario"], test.sizes["year"], test.sizes["lat"], test.sizes["lon"])
    ncell = shape[2] * shape[3]
    out = {}
    for k, f in enumerate(spec.targets):
        da = xr.DataArray(
            pred[:, k * ncell : (k + 1) * ncell].reshape(shape),
            dims=("scenario", "year", "lat", "lon"),
            coords={"scenario": test["scenario"].values, "year": test["year"].values},
            attrs={"units": train[f.variable].attrs.get("units", "")},
        )
        out[f.name] = da.sel(year=tmpl["year"].values)
    ds = xr.Dataset(out, attrs=task.attrs()).assign_coords(lat=tmpl["lat"], lon=tmpl["lon"])
    return ds, {"training_samples": int(ok.sum())}
