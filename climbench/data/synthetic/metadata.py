"""What every synthetic dataset says about itself, and the argument checks they share.

``GENERATOR_VERSION`` changes whenever a change to the generator changes its output for a
given seed; data are bit-for-bit reproducible for a given (version, seed, arguments).
"""

from __future__ import annotations

import re

from climbench.errors import ClimbenchError, TimeAxisError

GENERATOR_VERSION = "1"
_YEARS = re.compile(r"^\s*(\d{4})\s*(?:[-:]\s*(\d{4}))?\s*$")


def synthetic_attrs(kind: str, seed: int, **extra: str | int) -> dict[str, str | int]:
    """Global attributes of a synthetic dataset (``synthetic=1``, version, seed, ...)."""
    return {
        "title": f"climbench synthetic {kind} data",
        "synthetic": 1,
        "generator": f"climbench.data.synthetic.{kind}",
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        **extra,
        "comment": "Generated data with realistic statistics, not observations. "
        "See docs/synthetic.md for the model.",
    }


def check_seed(seed: int) -> int:
    """``seed`` as a non-negative int (NumPy seed sequences refuse negative entropy)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ClimbenchError("unusable seed", expected="a non-negative integer", found=repr(seed))
    return seed


def parse_years(
    years: str | int | tuple[int, int], earliest: int = 1850, latest: int = 2200
) -> tuple[int, int]:
    """``"1979-2018"``, ``"2000"``, ``2000`` or ``(1979, 2018)`` -> ``(first, last)`` year."""
    if isinstance(years, tuple):
        first, last = (int(y) for y in years)
    else:
        match = _YEARS.match(str(years))
        if not match:
            raise TimeAxisError(
                "cannot read the years",
                expected="FIRST-LAST, e.g. 1979-2018, or one year",
                found=repr(years),
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
    if not earliest <= first <= last <= latest:
        raise TimeAxisError(
            "unusable range of years",
            expected=f"FIRST <= LAST within {earliest}-{latest}",
            found=f"{first}-{last}",
        )
    return first, last
