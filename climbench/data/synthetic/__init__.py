"""Embedded synthetic data: seeded, physically structured weather and climate datasets.

The suite's default data source: it needs no network, is bit-for-bit reproducible for a
given seed and generator version, and behaves enough like ERA5 and CMIP6 that baselines
rank as they do on real data. See docs/synthetic.md and the module docstrings for the
models.

- :func:`weather` / :func:`write_weather`: ERA5-like 6-hourly fields
  (:mod:`~climbench.data.synthetic.weather`).
- :func:`climate` / :func:`write_climate`: ClimateBench-like scenarios and annual means
  (:mod:`~climbench.data.synthetic.climate`).
- :func:`downscaling_pair` / :func:`write_downscaling`: a fine 1.40625-degree field and its
  coarse counterpart (:mod:`~climbench.data.synthetic.downscaling`).
"""

from climbench.data.synthetic.climate import SCENARIOS, climate, two_layer_ebm, write_climate
from climbench.data.synthetic.downscaling import downscaling_pair, write_downscaling
from climbench.data.synthetic.metadata import GENERATOR_VERSION
from climbench.data.synthetic.weather import weather, write_weather

__all__ = [
    "GENERATOR_VERSION",
    "SCENARIOS",
    "climate",
    "downscaling_pair",
    "two_layer_ebm",
    "weather",
    "write_climate",
    "write_downscaling",
    "write_weather",
]
