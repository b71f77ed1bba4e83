"""Network architectures (torch) and the closed-form ridge model.

Pure building blocks, with no knowledge of tasks or data: a config says which network it
trains and with which sizes, and the training loop (:mod:`climbench.training`) wraps any
``nn.Module`` here; the baselines that fit a task in closed form or build reference
predictions live in :mod:`climbench.baselines`. Networks take ``(batch, channels, lat,
lon)`` tensors (DESIGN.md grid conventions) and pad circularly in longitude on global
grids.

Networks (:data:`MODELS`, built by name with :func:`build_model`):

- ``unet`` (:class:`UNet`): convolutional encoder-decoder, the forecasting and
  downscaling baseline; one model for all lead times through FiLM conditioning.
- ``climax`` (:class:`ClimaX`): vision transformer with per-variable tokens (Nguyen et al.
  2023), the transformer forecasting baseline; one model for all lead times.
- ``cnn_lstm`` (:class:`CNNLSTM`): ClimateBench's emulator (Watson-Parris et al. 2022),
  from a window of past years of forcing maps to this year's climate fields.

Closed form (float64 normal equations, state saved as tensors): :class:`Ridge`,
multi-output ridge regression on flattened fields, the model of the ridge baselines
(exact in the p > n regime of whole maps as features).
"""

from __future__ import annotations

from torch import nn

from climbench.errors import ConfigError
from climbench.models.climax import ClimaX
from climbench.models.cnn_lstm import CNNLSTM
from climbench.models.embedding import LeadTimeEmbedding
from climbench.models.linear import Ridge
from climbench.models.unet import UNet

MODELS: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "climax": ClimaX,
    "cnn_lstm": CNNLSTM,
}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the network registered as ``name`` in :data:`MODELS` with ``kwargs``."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)


__all__ = [
    "CNNLSTM",
    "MODELS",
    "ClimaX",
    "LeadTimeEmbedding",
    "Ridge",
    "UNet",
    "build_model",
]
