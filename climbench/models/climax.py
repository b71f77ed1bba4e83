"""ClimaX: a vision transformer with per-variable tokens (Nguyen et al. 2023).

Nguyen, Brandstetter, Kapoor, Gupta & Grover (2023), "ClimaX: A foundation model for
weather and climate", ICML, arXiv:2301.10343; reference code microsoft/ClimaX (MIT).
What makes it ClimaX rather than a plain ViT:

- variable tokenisation: every input channel (a "variable") has its own patch embedding,
  so a patch position carries one token per variable;
- a learned embedding per variable is added to its tokens;
- variable aggregation: at every patch position one learned query cross-attends over the
  variable tokens (the weights of an ``nn.MultiheadAttention``; :meth:`ClimaX.aggregate`),
  leaving one token per position;
- a fixed 2-D sine-cosine positional embedding (MAE, He et al. 2022) and a lead-time
  embedding added to every token, so one model serves all lead times.

Then ``depth`` pre-norm transformer blocks, a final LayerNorm, a linear head to
``patch_size**2 * out_channels`` values per token, and unpatchify. Departures from the
reference code: the lead time is embedded by sinusoids and an MLP
(:class:`~climbench.models.embedding.LeadTimeEmbedding`) rather than one linear layer, and
the head is one linear layer (the reference uses a small MLP). Grids that are not a
multiple of ``patch_size`` are padded (circular in longitude, replicated in latitude) and
cropped back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from climbench.errors import ConfigError, SchemaError
from climbench.models.embedding import LeadTimeEmbedding, embed_lead_time
from climbench.models.unet import pad_to_multiple


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """Sine-cosine embedding ``(len(positions), dim)`` of integer positions (``dim`` even)."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angle = positions.to(torch.float64)[:, None] * omega
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)


def sincos_2d(dim: int, rows: int, cols: int) -> Tensor:
    """2-D sine-cosine embedding ``(rows * cols, dim)`` of a row-major grid of tokens.

    Half the channels encode the row (latitude), half the column (longitude), as in MAE
    and ClimaX; ``dim`` must be a multiple of 4.
    """
    row = sincos_1d(dim // 2, torch.arange(rows)).repeat_interleave(cols, dim=0)
    col = sincos_1d(dim // 2, torch.arange(cols)).repeat(rows, 1)
    return torch.cat([row, col], dim=1).float()


class ClimaX(nn.Module):
    """ClimaX mapping ``(B, in_variables, lat, lon)`` to ``(B, out_channels, lat, lon)``.

    Args:
        in_variables: input channels; each is tokenised separately (a "variable").
        out_channels: output channels.
        img_size: ``(lat, lon)`` grid size (the positional embedding is built for it).
        patch_size: side of the square patches, in grid cells.
        embed_dim: token size (a multiple of 4 and of ``num_heads``).
        depth: number of transformer blocks.
        num_heads: attention heads, in the blocks and in variable aggregation.
        mlp_ratio: hidden size of the blocks' MLP relative to ``embed_dim``.
        lead_time: add a lead-time embedding to every token; ``forward`` then needs
            ``lead_hours``.
        dropout: dropout on the tokens and in the blocks.
    """

    def __init__(
        self,
        in_variables: int,
        out_channels: int,
        img_size: tuple[int, int],
        patch_size: int = 4,
        embed_dim: int = 128,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        lead_time: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if min(in_variables, out_channels, patch_size, depth, num_heads, *img_size) < 1:
            raise ConfigError(
                "ClimaX: in_variables, out_channels, img_size, patch_size, depth and "
                "num_heads must be >= 1"
            )
        if embed_dim % 4 or embed_dim % num_heads:
            raise ConfigError(
                f"ClimaX: embed_dim must be a multiple of 4 and of num_heads ({num_heads}), "
                f"found {embed_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"ClimaX: dropout must be in [0, 1), found {dropout}")
        self.in_variables = in_variables
        self.out_channels = out_channels
        self.img_size = (int(img_size[0]), int(img_size[1]))
        self.patch_size = patch_size
        self.embed_dim = embed_dim
        rows, cols = (math.ceil(n / patch_size) for n in self.img_size)
        self.grid_tokens = (rows, cols)

        # One patch embedding per variable: a grouped convolution is V separate ones.
        self.patch_embed = nn.Conv2d(
            in_variables,
            in_variables * embed_dim,
            patch_size,
            stride=patch_size,
            groups=in_variables,
        )
        self.variable_embed = nn.Parameter(torch.empty(in_variables, embed_dim))
        self.variable_query = nn.Parameter(torch.empty(1, 1, embed_dim))
        self.variable_aggregation = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.register_buffer("position_embed", sincos_2d(embed_dim, rows, cols), persistent=False)
        self.lead_embedding = LeadTimeEmbedding(embed_dim) if lead_time else None
        self.token_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                embed_dim,
                num_heads,
                dim_feedforward=int(embed_dim * mlp_ratio),
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, patch_size * patch_size * out_channels)
        nn.init.trunc_normal_(self.variable_embed, std=0.02)
        nn.init.trunc_normal_(self.variable_query, std=0.02)

    def tokens(self, x: Tensor) -> Tensor:
        """Aggregated patch tokens ``(B, rows * cols, embed_dim)`` of a padded input."""
        batch = x.shape[0]
        tokens = self.patch_embed(x)  # (B, V * D, rows, cols), variable-major channels
        tokens = tokens.view(batch, self.in_variables, self.embed_dim, -1).permute(0, 3, 1, 2)
        tokens = tokens + self.variable_embed  # (B, L, V, D)
        return self.aggregate(tokens)

    def aggregate(self, tokens: Tensor) -> Tensor:
        """Variable aggregation: the learned query attends over the V variable tokens of
        each position, ``(B, L, V, D)`` to ``(B, L, D)``.

        The same function as ``self.variable_aggregation(query, tokens, tokens)`` (its
        weights, no dropout), written out. The query is one learned vector, so per head the
        score of a token is its dot product with ``W_k^T q`` (the key bias adds the same
        constant to every score and cancels in the softmax), and the value projection
        commutes with the attention-weighted sum over the V tokens: the tokens are pooled
        first and projected once per head, V times fewer operations than projecting every
        token. Batching every position as its own attention call (B * L sequences of
        length V) instead breaks fused attention kernels at GPU batch sizes: on an H100 in
        bf16, cuDNN's failed at B * L = 2,048 and the memory-efficient one at 65,536.
        """
        attention = self.variable_aggregation
        heads, dim = attention.num_heads, self.embed_dim
        size = dim // heads
        w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
        b_q, _, b_v = attention.in_proj_bias.chunk(3)
        query = F.linear(self.variable_query.view(1, dim), w_q, b_q).view(heads, size)
        key_query = torch.einsum("hkd,hk->hd", w_k.view(heads, size, dim), query)  # (H, D)
        scores = torch.einsum("blvd,hd->blhv", tokens, key_query) / math.sqrt(size)
        pooled = torch.einsum("blhv,blvd->blhd", scores.softmax(-1), tokens)  # (B, L, H, D)
        mixed = torch.einsum("blhd,hkd->blhk", pooled, w_v.view(heads, size, dim))
        return attention.out_proj((mixed + b_v.view(heads, size)).flatten(-2))

    def unpatchify(self, values: Tensor) -> Tensor:
        """``(B, rows * cols, p * p * C)`` to the padded grid ``(B, C, rows * p, cols * p)``."""
        rows, cols = self.grid_tokens
        p = self.patch_size
        grid = values.view(values.shape[0], rows, cols, p, p, self.out_channels)
        return torch.einsum("bhwpqc->bchpwq", grid).reshape(
            values.shape[0], self.out_channels, rows * p, cols * p
        )

    def forward(self, x: Tensor, lead_hours: Tensor | None = None) -> Tensor:
        """Map ``x`` ``(B, in_variables, lat, lon)`` to ``(B, out_channels, lat, lon)``.

        ``lead_hours`` ``(B,)`` may differ between samples; it is required when the model
        was built with ``lead_time`` and ignored otherwise.
        """
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.in_variables, *self.img_size):
            raise SchemaError(
                f"ClimaX: expected input (batch, {self.in_variables}, {self.img_size[0]}, "
                f"{self.img_size[1]}), found shape {tuple(x.shape)}"
            )
        lead = embed_lead_time(self.lead_embedding, lead_hours, x.shape[0], "ClimaX")
        padded, crop = pad_to_multiple(x, self.patch_size)
        tokens = self.tokens(padded) + self.position_embed
        if lead is not None:
            tokens = tokens + lead[:, None, :]
        tokens = self.token_dropout(tokens)
        for block in self.blocks:
            tokens = block(tokens)
        return crop(self.unpatchify(self.head(self.norm(tokens))))
