"""Numeric arrays inside JSON entries: little-endian float32, zlib, base64.

Entries carry small arrays (per-sample statistics for paired comparisons, time-mean error
maps, spectra). They are stored as ``{"shape": [...], "dtype": "float32", "data": "..."}``
with the raw bytes compressed and base64-encoded: a tenth of the size of a JSON list of
numbers, read back with :func:`numpy.frombuffer` (plain bytes, never a pickle).
"""

from __future__ import annotations

import base64
import zlib

import numpy as np

from climbench.errors import SchemaError

DTYPES = {"float32": "<f4", "uint8": "|u1"}


def encode(array: np.ndarray, dtype: str = "float32") -> dict:
    """``array`` as a JSON-ready mapping (NaN kept as float NaN)."""
    data = np.ascontiguousarray(np.asarray(array), dtype=DTYPES[dtype])
    packed = base64.b64encode(zlib.compress(data.tobytes(), 6)).decode("ascii")
    return {"shape": list(data.shape), "dtype": dtype, "data": packed}


def decode(item: object, where: str = "<entry>") -> np.ndarray:
    """The array of :func:`encode`; a malformed item is a :class:`SchemaError`."""
    try:
        dtype = DTYPES[item["dtype"]]
        shape = tuple(int(n) for n in item["shape"])
        raw = zlib.decompress(base64.b64decode(item["data"], validate=True))
        array = np.frombuffer(raw, dtype=dtype)
        return array.reshape(shape)
    except (KeyError, TypeError, ValueError, zlib.error) as err:
        raise SchemaError(
            "malformed array in a leaderboard entry",
            path=where,
            expected="{shape, dtype (float32 or uint8), data: base64 of zlib bytes}",
            found=f"{type(err).__name__}: {err}"[:200],
        ) from None
