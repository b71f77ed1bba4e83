"""Ridge regression in closed form (the linear model of the ridge baselines).

Fitted exactly (normal equations in float64), not by gradient descent, so its scores are
reproducible to rounding. Its fitted state is a ``dict`` of tensors
(:meth:`to_tensors`) that ``torch.save`` writes and ``torch.load(weights_only=True)``
reads back, so loading a baseline never unpickles code.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from climbench.errors import ConfigError, DataValueError, SchemaError


def _matrix(
    owner: str, name: str, value: Tensor, ndim: int, shape: str, copy: bool = False
) -> Tensor:
    """``value`` as a float64 tensor (a new one if ``copy``), after checking its rank, size
    and finiteness."""
    if not isinstance(value, Tensor):
        raise SchemaError(f"{owner}: {name} must be a torch.Tensor, found {type(value).__name__}")
    if value.ndim != ndim:
        raise SchemaError(
            f"{owner}: {name} must be {ndim}-D {shape}, found shape {tuple(value.shape)}"
        )
    if value.shape[0] == 0:
        raise SchemaError(f"{owner}: {name} has no samples (shape {tuple(value.shape)})")
    value = value.to(torch.float64, copy=copy)
    if not torch.isfinite(value).all():
        raise DataValueError(
            f"{owner}: {name} has NaN or infinite values; drop or fill those samples first"
        )
    return value


def _same_samples(owner: str, **arrays: Tensor) -> None:
    sizes = {name: value.shape[0] for name, value in arrays.items()}
    if len(set(sizes.values())) > 1:
        found = ", ".join(f"{name}: {size}" for name, size in sizes.items())
        raise SchemaError(f"{owner}: inputs must have the same number of samples, found {found}")


def _features(owner: str, name: str, value: Tensor, expected: int) -> None:
    if value.shape[1] != expected:
        raise SchemaError(
            f"{owner}: {name} must have {expected} columns (as in fit), found {value.shape[1]}"
        )


def _solve_spd(owner: str, matrix: Tensor, rhs: Tensor) -> Tensor:
    """Solve ``matrix @ x = rhs`` for a symmetric positive-definite ``matrix`` (Cholesky).

    A matrix singular in exact arithmetic (collinear features, ``alpha = 0``) can still
    factor in floating point with a pivot at rounding level; a squared pivot below
    ``size * eps`` times the largest diagonal entry counts as singular too, as in
    LAPACK's rank tests.
    """
    factor, info = torch.linalg.cholesky_ex(matrix)
    pivots = factor.diagonal() ** 2
    rounding = matrix.shape[0] * torch.finfo(matrix.dtype).eps * matrix.diagonal().max()
    if info.item() != 0 or bool((pivots <= rounding).any()):
        raise DataValueError(
            f"{owner}: the normal equations are singular (collinear or constant features); "
            "use alpha > 0"
        )
    return torch.cholesky_solve(rhs, factor)


def _load(owner: str, tensors: dict[str, Tensor], keys: tuple[str, ...]) -> list[Tensor]:
    missing = [key for key in keys if key not in tensors]
    if missing:
        raise SchemaError(
            f"{owner}.from_tensors: missing {missing}; expected the keys {list(keys)} "
            f"written by {owner}.to_tensors, found {sorted(tensors)}"
        )
    return [tensors[key] for key in keys]


class Ridge:
    """Multi-output ridge regression ``Y ~ X @ coef + intercept``, solved in closed form.

    Minimises ``||Y - X W - 1 b||^2 + alpha ||W||^2`` with the intercept ``b`` not
    penalised (centring X and Y removes it). With ``standardize`` the penalty applies to
    the coefficients of the standardised features (zero mean, unit population std;
    constant features are left unscaled and get a zero coefficient), as scikit-learn's
    ``make_pipeline(StandardScaler(), Ridge())``; the stored coefficients are those of
    the raw features either way.

    The primal solution ``(X^T X + alpha I)^-1 X^T Y`` costs O(p^2) memory; when there are
    more features than samples (flattened maps, p > n) the dual (kernel) form
    ``X^T (X X^T + alpha I)^-1 Y`` gives the same coefficients in O(n^2).

    Attributes (after :meth:`fit`): ``coef`` ``(p, q)`` and ``intercept`` ``(q,)``, float64.
    """

    def __init__(self, alpha: float = 1.0, standardize: bool = True) -> None:
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ConfigError(f"Ridge: alpha must be finite and >= 0, found {alpha}")
        self.alpha = float(alpha)
        self.standardize = bool(standardize)
        self.coef: Tensor | None = None
        self.intercept: Tensor | None = None

    def fit(self, X: Tensor, Y: Tensor) -> Ridge:
        """Fit to features ``X`` ``(n, p)`` and targets ``Y`` ``(n, q)``; returns self."""
        # One float64 copy of X, centred and scaled in place: the largest array of the fit.
        features = _matrix("Ridge.fit", "X", X, 2, "(samples, features)", copy=True)
        Y = _matrix("Ridge.fit", "Y", Y, 2, "(samples, targets); reshape a vector with Y[:, None]")
        _same_samples("Ridge.fit", X=features, Y=Y)
        x_mean, y_mean = features.mean(dim=0), Y.mean(dim=0)
        features -= x_mean
        scale = torch.ones_like(x_mean)
        if self.standardize:
            std = features.std(dim=0, correction=0)
            scale = torch.where(std > 0, std, scale)
            features /= scale
        targets = Y - y_mean
        n, p = features.shape
        if p <= n:
            gram = features.T @ features
            gram.diagonal().add_(self.alpha)
            weights = _solve_spd("Ridge.fit", gram, features.T @ targets)
        else:
            kernel = features @ features.T
            kernel.diagonal().add_(self.alpha)
            weights = features.T @ _solve_spd("Ridge.fit", kernel, targets)
        self.coef = weights / scale[:, None]
        self.intercept = y_mean - x_mean @ self.coef
        return self

    def predict(self, X: Tensor) -> Tensor:
        """Predictions ``(n, q)`` (float32, on X's device) for features ``X`` ``(n, p)``."""
        if self.coef is None or self.intercept is None:
            raise ConfigError("Ridge is not fitted: call fit(X, Y) or Ridge.from_tensors first")
        device = X.device
        X = _matrix("Ridge.predict", "X", X, 2, "(samples, features)").to(self.coef.device)
        _features("Ridge.predict", "X", X, self.coef.shape[0])
        return (X @ self.coef + self.intercept).to(device=device, dtype=torch.float32)

    def to_tensors(self) -> dict[str, Tensor]:
        """The fitted state as tensors (for ``torch.save``)."""
        if self.coef is None or self.intercept is None:
            raise ConfigError("Ridge is not fitted: nothing to save")
        return {
            "coef": self.coef,
            "intercept": self.intercept,
            "alpha": torch.tensor(self.alpha, dtype=torch.float64),
            "standardize": torch.tensor(self.standardize),
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor]) -> Ridge:
        """A fitted Ridge from the output of :meth:`to_tensors`."""
        coef, intercept, alpha, standardize = _load(
            "Ridge", tensors, ("coef", "intercept", "alpha", "standardize")
        )
        if coef.ndim != 2 or intercept.shape != coef.shape[1:]:
            raise SchemaError(
                "Ridge.from_tensors: expected coef (p, q) and intercept (q,), found "
                f"{tuple(coef.shape)} and {tuple(intercept.shape)}"
            )
        model = cls(alpha=float(alpha), standardize=bool(standardize))
        model.coef = coef.to(torch.float64)
        model.intercept = intercept.to(torch.float64)
        return model
