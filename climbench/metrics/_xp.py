"""A minimal array namespace so that each metric's formula is written once for numpy and torch.

Every core formula in :mod:`climbench.metrics` takes its arrays through :func:`namespace`,
which returns :data:`NUMPY` or :data:`TORCH`: the same few operations (reductions, sort,
FFT, special functions) with one calling convention (``axis=``). Torch tensors keep their
autograd graph, so the torch entry points are differentiable wherever the formula is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special


class _Numpy:
    """numpy implementation of the operations the metric formulas need."""

    name = "numpy"

    abs = staticmethod(np.abs)
    sqrt = staticmethod(np.sqrt)
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    erf = staticmethod(special.erf)
    isnan = staticmethod(np.isnan)
    isfinite = staticmethod(np.isfinite)
    where = staticmethod(np.where)
    maximum = staticmethod(np.maximum)
    moveaxis = staticmethod(np.moveaxis)
    conj = staticmethod(np.conj)
    real = staticmethod(np.real)

    @staticmethod
    def sort(x, axis: int = -1):
        return np.sort(x, axis=axis)

    @staticmethod
    def sum(x, axis=None, keepdims: bool = False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x, axis=None, keepdims: bool = False):
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def arange(start, stop, like):
        return np.arange(start, stop, dtype=like.dtype if like.dtype.kind == "f" else float)

    @staticmethod
    def rfft(x, axis: int = -1):
        return np.fft.rfft(x, axis=axis, norm="forward")

    @staticmethod
    def tensor_like(values, like):
        dtype = like.dtype if like.dtype.kind == "f" else np.float64
        return np.asarray(values, dtype=dtype)


class _Torch:
    """torch implementation of the same operations (autograd-friendly)."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch
        self.abs, self.sqrt, self.exp, self.log = torch.abs, torch.sqrt, torch.exp, torch.log
        self.erf, self.isnan, self.isfinite = torch.erf, torch.isnan, torch.isfinite
        self.where, self.maximum, self.moveaxis = torch.where, torch.maximum, torch.movedim
        self.conj, self.real = torch.conj, torch.real

    def sort(self, x, axis: int = -1):
        return self.torch.sort(x, dim=axis).values

    def sum(self, x, axis=None, keepdims: bool = False):
        return x.sum() if axis is None else self.torch.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x, axis=None, keepdims: bool = False):
        return x.mean() if axis is None else self.torch.mean(x, dim=axis, keepdim=keepdims)

    def arange(self, start, stop, like):
        dtype = like.dtype if like.is_floating_point() else self.torch.float64
        return self.torch.arange(start, stop, dtype=dtype, device=like.device)

    def rfft(self, x, axis: int = -1):
        return self.torch.fft.rfft(x, dim=axis, norm="forward")

    def tensor_like(self, values, like):
        dtype = like.dtype if like.is_floating_point() else self.torch.float64
        return self.torch.as_tensor(np.asarray(values), dtype=dtype, device=like.device)


NUMPY = _Numpy()
_TORCH: _Torch | None = None


def namespace(*arrays: Any) -> _Numpy | _Torch:
    """The namespace of the arrays: torch if any is a ``torch.Tensor``, else numpy."""
    global _TORCH
    for a in arrays:
        if type(a).__module__.startswith("torch"):
            if _TORCH is None:
                _TORCH = _Torch()
            return _TORCH
    return NUMPY
