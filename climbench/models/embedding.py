"""Lead-time embedding shared by the forecasting baselines (UNet, ClimaX).

One network serves every lead time of a task: the lead time in hours becomes a vector
that the UNet turns into per-block scale and shift (FiLM) and that ClimaX adds to every
token. The features are the sinusoids of diffusion-model timestep embeddings (Ho et al.
2020, after Vaswani et al. 2017) followed by a small MLP, as in ClimaX's lead-time
conditioning (Nguyen et al. 2023), which uses a linear layer on the raw lead time instead.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from climbench.errors import ConfigError, SchemaError

# Shortest period of the sinusoids, in hours: the finest lead-time step of the datasets
# here is hourly (ERA5), so every hourly step changes the fastest pair of features.
MIN_PERIOD_HOURS = 1.0


class LeadTimeEmbedding(nn.Module):
    """Embed lead times in hours ``(B,)`` into ``(B, dim)``.

    The periods of the ``dim // 2`` sine-cosine pairs are geometrically spaced from
    ``MIN_PERIOD_HOURS`` up to ``4 * max_hours``, so the slowest pair is still monotonic
    over ``[0, max_hours]`` and no two leads in that range share features. An MLP
    (linear, SiLU, linear) maps the features to ``dim``.

    Args:
        dim: size of the embedding.
        max_hours: longest lead time the model is meant to see (hours); longer leads
            still embed, but the slowest pair of features starts to repeat after
            ``4 * max_hours``.
    """

    def __init__(self, dim: int, max_hours: float = 720.0) -> None:
        super().__init__()
        if dim < 1:
            raise ConfigError(f"LeadTimeEmbedding: dim must be >= 1, found {dim}")
        if not max_hours > MIN_PERIOD_HOURS:
            raise ConfigError(
                f"LeadTimeEmbedding: max_hours must be > {MIN_PERIOD_HOURS} h, found {max_hours}"
            )
        self.dim = dim
        self.max_hours = float(max_hours)
        pairs = max(dim // 2, 1)
        periods = torch.logspace(
            math.log10(4 * max_hours), math.log10(MIN_PERIOD_HOURS), pairs, dtype=torch.float64
        )
        # A fixed function of the arguments: not saved in the state dict.
        self.register_buffer("angular_frequency", (2 * math.pi / periods).float(), persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * pairs, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, lead_hours: Tensor) -> Tensor:
        """Embed ``lead_hours`` (shape ``(B,)``, any real dtype) into ``(B, dim)``."""
        if lead_hours.ndim != 1:
            raise SchemaError(
                "LeadTimeEmbedding: lead_hours must have shape (batch,), "
                f"found shape {tuple(lead_hours.shape)}"
            )
        phase = lead_hours.to(self.angular_frequency.dtype)[:, None] * self.angular_frequency
        return self.mlp(torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1))


def embed_lead_time(
    embedding: LeadTimeEmbedding | None, lead_hours: Tensor | None, batch: int, model: str
) -> Tensor | None:
    """The lead-time embedding of a batch for ``model``, or None for a model without one.

    A model built without lead-time conditioning ignores ``lead_hours`` (it was trained for a
    single lead time); one built with it needs ``lead_hours`` of shape ``(batch,)``.
    """
    if embedding is None:
        return None
    if lead_hours is None:
        raise ConfigError(
            f"{model} was built with lead_time=True: pass lead_hours (batch,) to forward, "
            "or build it with lead_time=False for a single lead time"
        )
    if tuple(lead_hours.shape) != (batch,):
        raise SchemaError(
            f"{model}: lead_hours must have shape ({batch},) (one lead per sample), "
            f"found shape {tuple(lead_hours.shape)}"
        )
    return embedding(lead_hours)
