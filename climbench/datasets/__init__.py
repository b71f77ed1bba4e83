"""Dataset cards and the download API.

- :func:`get` (``climbench.datasets.get("wb2-era5-5.625")``) returns a validated
  :class:`~climbench.datasets.card.Card`; :func:`list` returns every card.
- :func:`download` fetches a selection of a card's data into a folder (resumable, verified,
  atomic; a manifest written last marks it complete) and returns the local path.
- :func:`verify` re-checks the checksums of a finished download.

One access method per module: :mod:`~climbench.datasets.http` (files with Range resume),
:mod:`~climbench.datasets.zarr_subset` (remote Zarr over fsspec: gs://, https://),
:mod:`~climbench.datasets.cds`, :mod:`~climbench.datasets.earthdata`,
:mod:`~climbench.datasets.esgf`, :mod:`~climbench.datasets.catalog` (intake-esm) and
:mod:`~climbench.datasets.zenodo`.
"""

from climbench.datasets.card import Card, load_card
from climbench.datasets.download import download
from climbench.datasets.manifest import read_manifest, verify
from climbench.datasets.registry import all_cards, get, register_card

list = all_cards  # noqa: A001 (``climbench.datasets.list()``, as the API promises)

__all__ = [
    "Card",
    "all_cards",
    "download",
    "get",
    "list",
    "load_card",
    "read_manifest",
    "register_card",
    "verify",
]
