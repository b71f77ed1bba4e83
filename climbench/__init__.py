"""climbench: a benchmark suite for machine learning on gridded weather and climate data.

Entry points:
- :func:`open_dataset`: any ERA5 / CMIP6 / MERRA-2 / CF file, store or URL as the canonical
  dataset of DESIGN.md.
- :func:`prepare`: canonical sources -> a regridded, normalised, training-ready Zarr store.
- :func:`get_task`: a frozen, versioned benchmark protocol (``task@version``) and its data.
- :func:`evaluate`: score a predictions file on a task, beside the reference baselines.
"""

from climbench.data.open import open_dataset
from climbench.data.prepare import prepare
from climbench.datasets.download import download
from climbench.evaluation import evaluate
from climbench.tasks import get_task, task_names
from climbench.version import __version__

__all__ = [
    "download",
    "evaluate",
    "get_task",
    "open_dataset",
    "prepare",
    "task_names",
    "__version__",
]
