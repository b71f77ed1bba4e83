"""The one exception family of climbench.

Every error a user can cause (a bad file, a wrong unit, an impossible regrid) is a
:class:`ClimbenchError`. Its message always says *where* (file or object), *which
variable*, *what was expected*, *what was found* and *what to do*, so that a user can
fix the input without reading our code. Build messages through the keyword arguments
rather than by hand so that every error reads the same way::

    raise UnitsError(
        "cannot convert units",
        path="tasmax.nc", variable="tasmax",
        expected="a temperature unit (K, degC)", found="'mm d-1'",
        hint="pass units={'tasmax': 'degC'} if the values are in degC",
    )
"""

from __future__ import annotations

from os import PathLike


class ClimbenchError(Exception):
    """Base class of every error climbench raises on purpose.

    Attributes mirror the message parts so that callers (the CLI, tests) can read them.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        variable: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.variable = variable
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.variable:
            where.append(f"variable '{self.variable}'")
        text = (": ".join(where) + ": " if where else "") + self.message
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found}"
        if self.hint:
            text += f". What to do: {self.hint}"
        return text


class DataFileError(ClimbenchError):
    """A source file or store is missing, unreadable, truncated or of an unknown format."""


class VariableNotFoundError(ClimbenchError, KeyError):
    """A requested variable is not in the dataset (the message lists what it has)."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return self._format()


class UnitsError(ClimbenchError):
    """A unit is missing, unknown, or inconsistent with the variable."""


class CoordinateError(ClimbenchError):
    """A coordinate is missing, or its values break the canonical conventions."""


class TimeAxisError(CoordinateError):
    """Duplicate, non-monotonic or unusable time steps."""


class CalendarError(ClimbenchError):
    """Sources with different calendars were combined."""


class SchemaError(ClimbenchError):
    """A dataset does not follow the canonical schema of DESIGN.md."""


class TaskError(ClimbenchError):
    """A task spec or protocol is invalid, or a task, kind or baseline is unknown."""


class ConfigError(ClimbenchError):
    """A training config, a command-line option or an argument is invalid."""


class RegridError(ClimbenchError):
    """A grid that cannot be regridded as asked (unknown grid, no overlap, point data)."""


class StoreError(ClimbenchError):
    """A prepared store could not be written, or an existing one is incomplete."""


class DataValueError(ClimbenchError):
    """Values that cannot be used (for example a variable that is entirely NaN)."""
