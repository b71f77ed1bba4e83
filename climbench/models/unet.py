"""U-Net for gridded fields, with periodic longitude and lead-time conditioning.

The encoder-decoder of Ronneberger et al. (2015) as used for weather forecasting in
WeatherBench-style baselines (e.g. Weyn et al. 2020; Rasp & Thuerey 2021): two
``conv3x3 - GroupNorm - GELU`` layers per block, ``depth`` halvings of the grid, skip
connections, a 1x1 convolution head and no final activation (the caller decides what the
output means; the training loop uses it for residual forecasts).

Grid conventions (DESIGN.md): tensors are ``(..., lat, lon)``. A global grid has no edge
in longitude, so every convolution pads circularly there (``periodic_lon``) and by
replication in latitude; the padding is explicit (``F.pad``) rather than the convolution's
zero padding, so a global field has no seam at 0 degrees. Grids whose sides are not
multiples of ``2**depth`` are padded up the same way and cropped back.

The padding helpers here (:func:`pad_sphere`, :func:`pad_to_multiple`) are shared by the
other grid models of :mod:`climbench.models`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from climbench.errors import ConfigError, SchemaError
from climbench.models.embedding import LeadTimeEmbedding, embed_lead_time


def pad_sphere(
    x: Tensor, top: int, bottom: int, left: int, right: int, periodic_lon: bool = True
) -> Tensor:
    """Pad ``(..., lat, lon)``: replicate in latitude; circular in longitude when
    ``periodic_lon`` (a global grid), replicate otherwise (a regional grid)."""
    if left or right:
        x = F.pad(x, (left, right, 0, 0), mode="circular" if periodic_lon else "replicate")
    if top or bottom:
        x = F.pad(x, (0, 0, top, bottom), mode="replicate")
    return x


def pad_to_multiple(
    x: Tensor, multiple: int, periodic_lon: bool = True
) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """Pad ``(..., lat, lon)`` up to multiples of ``multiple``; return it and its crop.

    Latitude rows are added by replication, split between south and north; longitude
    columns are added east of the last column (the wrap-around continuation of a global
    grid when ``periodic_lon``). The returned function crops a tensor of the padded size
    (any leading dims) back to the original grid.
    """
    height, width = x.shape[-2:]
    extra_lat = -height % multiple
    extra_lon = -width % multiple
    if periodic_lon and extra_lon > width:
        raise SchemaError(
            f"grid of {width} longitudes is narrower than the {extra_lon} columns needed to "
            f"reach a multiple of {multiple}; use fewer levels (depth) or a smaller patch_size"
        )
    top = extra_lat // 2
    padded = pad_sphere(x, top, extra_lat - top, 0, extra_lon, periodic_lon)

    def crop(y: Tensor) -> Tensor:
        return y[..., top : top + height, :width]

    return padded, crop


def _groups(channels: int) -> int:
    """GroupNorm groups: 8 (Wu & He 2018 use 32 for wider nets), or fewer if it must divide."""
    return math.gcd(8, channels)


class ConvBlock(nn.Module):
    """``conv3x3 - GroupNorm - GELU`` twice, with optional FiLM by an embedding.

    FiLM (Perez et al. 2018) scales and shifts the normalised features of the second
    convolution by ``1 + scale`` and ``shift`` predicted from the embedding, before the
    activation. The convolutions have no bias (GroupNorm's shift replaces it).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        embedding_dim: int | None,
        periodic_lon: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.periodic_lon = periodic_lon
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, bias=False)
        self.norm1 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, bias=False)
        self.norm2 = nn.GroupNorm(_groups(out_channels), out_channels)
        self.film = (
            None
            if embedding_dim is None
            else nn.Sequential(nn.SiLU(), nn.Linear(embedding_dim, 2 * out_channels))
        )

    def _conv(self, conv: nn.Conv2d, x: Tensor) -> Tensor:
        return conv(pad_sphere(x, 1, 1, 1, 1, self.periodic_lon))

    def forward(self, x: Tensor, embedding: Tensor | None) -> Tensor:
        h = F.gelu(self.norm1(self._conv(self.conv1, x)))
        h = self.norm2(self._conv(self.conv2, self.dropout(h)))
        if self.film is not None:
            scale, shift = self.film(embedding)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        return F.gelu(h)


class UNet(nn.Module):
    """U-Net mapping ``(B, in_channels, lat, lon)`` to ``(B, out_channels, lat, lon)``.

    Channels double at each of the ``depth`` levels (``base_channels * 2**level``); max
    pooling halves the grid and a stride-2 transposed convolution doubles it back, so a
    roll of the input by a multiple of ``2**depth`` longitudes rolls the output the same
    on a periodic grid.

    Args:
        in_channels: input channels (variables x levels x history steps, as the task stacks them).
        out_channels: output channels.
        base_channels: channels of the first level.
        depth: number of halvings of the grid.
        lead_time: condition every block on the lead time (FiLM from a
            :class:`~climbench.models.embedding.LeadTimeEmbedding`); ``forward`` then needs
            ``lead_hours``.
        periodic_lon: the grid is global (circular padding in longitude).
        dropout: dropout rate between the two convolutions of each block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 32,
        depth: int = 3,
        lead_time: bool = True,
        periodic_lon: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if min(in_channels, out_channels, base_channels, depth) < 1:
            raise ConfigError(
                "UNet: in_channels, out_channels, base_channels and depth must be >= 1, found "
                f"{in_channels}, {out_channels}, {base_channels}, {depth}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"UNet: dropout must be in [0, 1), found {dropout}")
        self.in_channels = in_channels
        self.depth = depth
        self.periodic_lon = periodic_lon
        embedding_dim = 4 * base_channels if lead_time else None
        self.lead_embedding = LeadTimeEmbedding(embedding_dim) if lead_time else None

        def block(cin: int, cout: int) -> ConvBlock:
            return ConvBlock(cin, cout, embedding_dim, periodic_lon, dropout)

        widths = [base_channels * 2**level for level in range(depth + 1)]
        self.down = nn.ModuleList(
            block(cin, cout)
            for cin, cout in zip([in_channels, *widths[:-2]], widths[:-1], strict=True)
        )
        self.bottleneck = block(widths[-2], widths[-1])
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2)
            for level in reversed(range(depth))
        )
        self.up = nn.ModuleList(
            block(2 * widths[level], widths[level]) for level in reversed(range(depth))
        )
        self.head = nn.Conv2d(base_channels, out_channels, 1)

    def forward(self, x: Tensor, lead_hours: Tensor | None = None) -> Tensor:
        """Map ``x`` ``(B, in_channels, lat, lon)`` to ``(B, out_channels, lat, lon)``.

        ``lead_hours`` ``(B,)`` is required when the model was built with ``lead_time``
        and ignored otherwise (a model trained for a single lead time).
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise SchemaError(
                f"UNet: expected input (batch, {self.in_channels}, lat, lon), "
                f"found shape {tuple(x.shape)}"
            )
        embedding = embed_lead_time(self.lead_embedding, lead_hours, x.shape[0], "UNet")
        h, crop = pad_to_multiple(x, 2**self.depth, self.periodic_lon)
        skips = []
        for block in self.down:
            h = block(h, embedding)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottleneck(h, embedding)
        for upsample, block in zip(self.upsample, self.up, strict=True):
            h = block(torch.cat([upsample(h), skips.pop()], dim=1), embedding)
        return crop(self.head(h))
