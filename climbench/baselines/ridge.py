"""Ridge baselines of emulation and downscaling, fitted to a task in closed form.

No gradient descent: :class:`climbench.models.Ridge` solves the normal equations exactly, so
these scores are reproducible to rounding. The ridge penalty is chosen from ``ALPHAS`` by
the RMSE on the task's validation split (never the test split).

- Emulation: the global-mean forcings of the last ``history_years`` years (a scenario's
  first years repeat its first value) -> every target map (ClimateBench's linear baseline
  family). Targets are the task's (anomaly) maps.
- Downscaling: a 3 x 3 patch of each bilinearly interpolated input around a fine cell, plus
  the fine-grid constants at the cell -> the fine targets at the cell; one regression shared
  by all cells (a linear 3 x 3 convolution), fitted on a seeded subsample of
  (time, cell) rows inside the task's training regions. A crop across 0 degrees is
  patched in contiguous column order (its store order puts 47.8 E beside 14 W).
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from climbench.data.grids import contiguous_lon_order
from climbench.models import Ridge
from climbench.tasks import downscaling as ds_task
from climbench.tasks import emulation as em_task

ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
ROWS = 400_000  # downscaling training rows (time x cell), seeded subsample


def select_alpha(x_train, y_train, x_val, y_val) -> tuple[Ridge, float]:
    """The ridge of :data:`ALPHAS` with the lowest validation MSE, and its alpha."""
    best = None
    for alpha in ALPHAS:
        model = Ridge(alpha=alpha).fit(torch.from_numpy(x_train), torch.from_numpy(y_train))
        err = float(((model.predict(torch.from_numpy(x_val)).numpy() - y_val) ** 2).mean())
        if best is None or err < best[2]:
            best = (model, alpha, err)
    return best[0], best[1]


# -- emulation ---------------------------------------------------------------------------


def _history_features(rows: xr.Dataset, forcings, history: int) -> np.ndarray:
    """(scenario, year, history * k) windows of global-mean forcings."""
    feats = em_task.forcing_features(rows, forcings)  # (scenario * year, k)
    ns, ny = rows.sizes["scenario"], rows.sizes["year"]
    feats = feats.reshape(ns, ny, -1)
    first_valid = np.argmax(np.isfinite(feats).all(-1), axis=1)
    out = []
    for s in range(ns):
        f = feats[s].copy()
        f[: first_valid[s]] = f[first_valid[s]]
        padded = np.concatenate([np.repeat(f[:1], history - 1, axis=0), f], axis=0)
        out.append(np.stack([padded[i : i + history].ravel() for i in range(ny)]))
    return np.stack(out)


def _emulation_xy(task, store: xr.Dataset, scenarios, years=None):
    """Features and targets of ``scenarios`` (``years`` only, when given); windows see the
    years before the selection."""
    spec = task.spec
    rows = store.sel(scenario=list(scenarios))
    x = _history_features(rows, spec.emulation.forcings, spec.emulation.history_years)
    y = np.concatenate(
        [
            rows[f.variable]
            .transpose("scenario", "year", "lat", "lon")
            .values.reshape(rows.sizes["scenario"], rows.sizes["year"], -1)
            for f in spec.targets
        ],
        axis=-1,
    )
    if years is not None:
        keep = np.isin(rows["year"].values, years)
        x, y = x[:, keep], y[:, keep]
    x, y = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    ok = np.isfinite(x).all(1) & np.isfinite(y).all(1)
    return x[ok], y[ok]


def ridge_emulation(task) -> tuple[xr.Dataset, dict]:
    """Fit on the training rows, select alpha on validation, predict the test scenarios."""
    e = task.spec.emulation
    store = em_task.open_store(task)
    train_years = em_task.train_rows(store, task.spec)["year"].values
    x_train, y_train = _emulation_xy(task, store, e.train_scenarios, train_years)
    if e.validation_scenarios:
        x_val, y_val = _emulation_xy(task, store, e.validation_scenarios)
    else:
        held = em_task.split_rows(task, "validation")["year"].values
        x_val, y_val = _emulation_xy(task, store, e.train_scenarios, held)
    model, alpha = select_alpha(x_train, y_train, x_val, y_val)
    test = store.sel(scenario=list(e.test_scenarios))
    x_test = _history_features(test, e.forcings, e.history_years)
    pred = model.predict(torch.from_numpy(x_test.reshape(-1, x_test.shape[-1]))).numpy()
    template = task.template()
    shape = (test.sizes["scenario"], test.sizes["year"], test.sizes["lat"], test.sizes["lon"])
    ncell = shape[2] * shape[3]
    out = {}
    for k, f in enumerate(task.spec.targets):
        block = pred[:, k * ncell : (k + 1) * ncell].reshape(shape)
        out[f.name] = xr.DataArray(
            block,
            dims=("scenario", "year", "lat", "lon"),
            coords={
                "scenario": test["scenario"].values,
                "year": test["year"].values,
                "lat": template["lat"].values,
                "lon": template["lon"].values,
            },
            attrs={"units": store[f.variable].attrs.get("units", "")},
        ).sel(year=template["year"].values)
    return xr.Dataset(out, attrs={**task.attrs(), "model": "ridge"}), {"alpha": alpha}


# -- downscaling -------------------------------------------------------------------------


def patches(fields: np.ndarray, periodic: bool) -> np.ndarray:
    """(time, channel, lat, lon) -> (time, lat, lon, channel * 9) 3 x 3 neighbourhoods."""
    pad = np.pad(fields, ((0, 0), (0, 0), (1, 1), (0, 0)), mode="edge")
    pad = np.pad(pad, ((0, 0), (0, 0), (0, 0), (1, 1)), mode="wrap" if periodic else "edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, (3, 3), axis=(2, 3))
    t, c, h, w = fields.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(t, h, w, c * 9)


def _downscaling_xy(task, split: str, rng: np.random.Generator | None, rows: int | None):
    spec = task.spec
    period = spec.splits[split].slice()
    inputs = ds_task.bilinear(task).sel(time=period)
    fine = ds_task.fine(task)
    periodic = spec.downscaling.crop is None
    x_fields = np.stack([inputs[f.variable].values for f in spec.inputs], axis=1)
    consts = np.stack([fine[c].values for c in spec.constants], axis=0) if spec.constants else None
    y = (
        np.stack([fine[f.variable].sel(time=period).values for f in spec.targets], axis=-1)
        if split != "test"
        else None
    )
    t, _, h, w = x_fields.shape
    mask = ds_task.loss_mask(task) > 0 if split != "test" else np.ones((h, w), bool)
    # A crop across 0 degrees is stored 0..360: patch it in contiguous column order.
    order = contiguous_lon_order(fine["lon"].values)
    if order is not None:
        x_fields, mask = x_fields[..., order], mask[:, order]
        consts = None if consts is None else consts[..., order]
        y = None if y is None else y[:, :, order]
    if rng is not None:
        cells = np.flatnonzero(mask.ravel())
        ti = rng.integers(0, t, rows)
        ci = rng.choice(cells, rows)
        feats = []
        for start in range(0, t, 64):
            sel = (ti >= start) & (ti < start + 64)
            block = patches(x_fields[start : start + 64], periodic).reshape(
                -1, h * w, x_fields.shape[1] * 9
            )
            feats.append((np.flatnonzero(sel), block[ti[sel] - start, ci[sel]]))
        order = np.concatenate([i for i, _ in feats])
        x = np.empty((rows, x_fields.shape[1] * 9), np.float32)
        x[order] = np.concatenate([f for _, f in feats])
        if consts is not None:
            x = np.concatenate([x, consts.reshape(consts.shape[0], -1)[:, ci].T], axis=1)
        return x, y.reshape(t, h * w, -1)[ti, ci]
    return x_fields, consts, periodic, order


def ridge_downscaling(task, seed: int = 0) -> tuple[xr.Dataset, dict]:
    """Fit the shared 3 x 3 patch regression, select alpha on validation, predict the test."""
    rng = np.random.default_rng(seed)
    x_train, y_train = _downscaling_xy(task, "train", rng, ROWS)
    x_val, y_val = _downscaling_xy(task, "validation", rng, ROWS // 4)
    model, alpha = select_alpha(x_train, y_train, x_val, y_val)
    x_fields, consts, periodic, order = _downscaling_xy(task, "test", None, None)
    t, _, h, w = x_fields.shape
    pred = np.empty((t, h, w, len(task.spec.targets)), np.float32)
    for start in range(0, t, 32):
        p = patches(x_fields[start : start + 32], periodic)
        n = p.shape[0]
        if consts is not None:
            c = np.broadcast_to(consts.transpose(1, 2, 0), (n, h, w, consts.shape[0]))
            p = np.concatenate([p, c], axis=-1)
        pred[start : start + n] = (
            model.predict(torch.from_numpy(np.ascontiguousarray(p.reshape(-1, p.shape[-1]))))
            .numpy()
            .reshape(n, h, w, -1)
        )
    if order is not None:
        pred = pred[:, :, np.argsort(order)]  # back to store order
    template = task.template()
    fine = ds_task.fine(task)
    out = {
        f.name: xr.DataArray(
            pred[..., k],
            dims=("time", "lat", "lon"),
            coords={k2: template[k2].values for k2 in ("time", "lat", "lon")},
            attrs={"units": fine[f.variable].attrs.get("units", "")},
        )
        for k, f in enumerate(task.spec.targets)
    }
    return xr.Dataset(out, attrs={**task.attrs(), "model": "ridge"}), {"alpha": alpha}
