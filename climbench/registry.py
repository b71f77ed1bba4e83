"""A named registry: the one shape of every extension point (task kinds, baselines, ...).

Each extension point is a :class:`Registry` of frozen objects with a ``name``; adding one is
one ``register`` line, looking one up by name gives a :class:`~climbench.errors.TaskError`
that lists the known names.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from climbench.errors import TaskError


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(dict[str, T], Generic[T]):
    """Objects by name; ``what`` names them in messages (``"task kind"``)."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def register(self, item: T) -> T:
        """Add ``item`` under its name (a name registered twice is a programming error)."""
        if item.name in self:
            raise TaskError(f"a {self.what} is registered twice", variable=item.name)
        self[item.name] = item
        return item

    def get_named(self, name: str) -> T:
        """The item ``name``; the error lists the known names."""
        if name not in self:
            raise TaskError(
                f"unknown {self.what}", variable=name, expected=f"one of {sorted(self)}", found=name
            )
        return self[name]
