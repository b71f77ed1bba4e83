"""climbench: a benchmark suite for machine learning on gridded weather and climate data.

Entry points:
- :func:`open_dataset`: any ERA5 / CMIP6 / MERRA-2 / CF file, store or URL as the canonical
  dataset of DESIGN.md.
- :func:`prepare`: canonical sources -> a regridded, normalised, training-ready Zarr store.
"""

from climbench.data.open import open_dataset
from climbench.data.prepare import prepare

__version__ = "0.1.0"
__all__ = ["open_dataset", "prepare", "__version__"]
