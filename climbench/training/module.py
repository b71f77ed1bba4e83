"""The one LightningModule of climbench: any network, the task's loss, logging, predictions.

:class:`ClimbenchModule` wraps an ``nn.Module`` that maps ``(B, C_in, lat, lon)`` to
``(B, C_out, lat, lon)`` (called as ``network(x, lead_hours)`` with ``lead_hours`` ``(B,)``
when the batch has lead times, ``network(x)`` otherwise), and adds what every task shares:

- the loss: area-weighted (cell-area weights, mean 1, times an optional ``mask`` (lat, lon)
  from the batch) mean squared error of the normalised targets, averaged over channels
  with per-variable weights; with ``members > 1``, the fair CRPS of an ensemble instead;
- residual prediction: a target channel that is also an input is predicted as its last
  input value (at the initialisation; the interpolated field when downscaling) plus the
  network's output;
- two forecasting modes: *direct* (``rollout_steps=0``: one network for all leads,
  conditioned on the lead time; the datamodule draws leads uniformly) and *autoregressive*
  (``rollout_steps=K``: the network steps ``step_hours`` ahead, predicting every
  time-varying input channel, and is trained on the sum of the losses of a K-step rollout;
  long leads are predicted by rolling out);
- ensembles: ``members > 1`` gives the network ``noise_channels`` extra inputs of Gaussian
  noise, draws one noise field per member (the batch is repeated ``members`` times) and
  trains on the fair CRPS, so the members sample the forecast distribution;
- logging of ``train/loss``, ``val/loss`` and, per channel, ``val/rmse_<name>`` in
  physical units (de-normalised with the training statistics);
- AdamW with a linear warm-up and a cosine decay over the run;
- :meth:`predict_step`: predictions in physical units (forecasts at given leads).

Every constructor argument is plain data (names, numbers, lists, dicts) and is saved with
``save_hyperparameters``, so a checkpoint rebuilds the module under ``torch.load(...,
weights_only=True)`` (:func:`climbench.training.predict.load_module`). A network passed as
an object rather than a name is not saved; pass it again when loading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from lightning import LightningModule
from torch import Tensor, nn

from climbench.data.grids import cell_area_weights
from climbench.errors import ConfigError
from climbench.metrics.torch import field_losses, field_means
from climbench.models import build_model


class ClimbenchModule(LightningModule):
    """Train and apply a network on normalised fields (see the module docstring).

    Args:
        network: a name in :data:`climbench.models.MODELS` (built with ``network_args``)
            or an ``nn.Module`` (not saved in checkpoints).
        network_args: constructor arguments of a named network.
        lat: latitudes of the grid (degrees), for the area weights.
        input_names: the time-varying input channels, in the order of one history step of
            ``x``; ``x`` is ``history_steps`` such blocks (oldest first), then the constants.
        target_names: the target channels, in the order of ``y``.
        mean, std: per channel name, the statistics that normalised the data
            (``physical = normalised * std + mean``).
        history_steps: input time steps in ``x``.
        constant_names: the constant channels at the end of ``x``.
        residual: predict targets that are inputs as their last input value plus the output.
        variable_weights: loss weight per channel name (default 1).
        members: ensemble members (> 1: CRPS loss, needs ``noise_channels``).
        noise_channels: Gaussian noise channels appended to ``x`` for each member.
        rollout_steps: 0 for direct forecasts; K > 0 to train K-step rollouts of
            ``step_hours`` steps (``y`` then holds K steps of every input channel).
        step_hours: the time step of a rollout (hours).
        lon_order: the column order in which the network sees the grid, for a regional
            grid stored across 0 degrees (:func:`climbench.data.grids.contiguous_lon_order`);
            outputs return to store order. None: store order.
        lr, weight_decay, warmup_steps: AdamW and its schedule.
    """

    def __init__(
        self,
        network: str | nn.Module,
        network_args: dict[str, Any] | None = None,
        *,
        lat: Sequence[float],
        input_names: Sequence[str],
        target_names: Sequence[str],
        mean: dict[str, float],
        std: dict[str, float],
        history_steps: int = 1,
        constant_names: Sequence[str] = (),
        residual: bool = True,
        variable_weights: dict[str, float] | None = None,
        members: int = 1,
        noise_channels: int = 0,
        rollout_steps: int = 0,
        step_hours: float = 6.0,
        lon_order: Sequence[int] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        warmup_steps: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["network"] if isinstance(network, nn.Module) else None)
        _check_options(members, noise_channels, rollout_steps, target_names, input_names)
        self.network = (
            network
            if isinstance(network, nn.Module)
            else build_model(network, **(network_args or {}))
        )
        self.input_names = list(input_names)
        self.target_names = list(target_names)
        self.history_steps = history_steps
        self.members = members
        self.noise_channels = noise_channels
        self.rollout_steps = rollout_steps
        self.step_hours = float(step_hours)
        # The network's outputs: the targets, or the whole state for a rollout.
        self.output_names = self.input_names if rollout_steps else self.target_names
        unknown = sorted(set(variable_weights or {}) - set(self.output_names))
        if unknown:
            raise ConfigError(
                "loss weight for a channel the model does not predict",
                variable=unknown[0],
                expected="one of " + ", ".join(self.output_names),
                found=", ".join(unknown),
            )
        last = (history_steps - 1) * len(self.input_names)
        residual_index = [
            last + self.input_names.index(n) if residual and n in self.input_names else -1
            for n in self.output_names
        ]
        weights = [float((variable_weights or {}).get(n, 1.0)) for n in self.output_names]

        def buffer(name: str, values: Any, dtype: torch.dtype = torch.float32) -> None:
            self.register_buffer(name, torch.tensor(values, dtype=dtype), persistent=False)

        buffer("area_weights", cell_area_weights(list(lat)).tolist())
        buffer("residual_index", residual_index, torch.long)
        buffer("loss_weights", weights)
        buffer("output_mean", [float(mean[n]) for n in self.output_names])
        buffer("output_std", [float(std[n]) for n in self.output_names])
        buffer("target_index", [self.output_names.index(n) for n in self.target_names], torch.long)
        self._val_sums: Tensor | None = None
        order = [] if lon_order is None else [int(k) for k in lon_order]
        buffer("lon_order", order, torch.long)
        buffer("lon_inverse", list(torch.argsort(torch.tensor(order)).tolist()), torch.long)
        self.reorders = lon_order is not None

    # -- the model ------------------------------------------------------------------------
    def forward(self, x: Tensor, lead_hours: Tensor | None = None) -> Tensor:
        """Normalised prediction of the output channels from ``x`` (B, C_in, lat, lon).

        Direct mode: at ``lead_hours`` (B,); rollout mode: one step of ``step_hours``.
        Shape (B, C_out, lat, lon), or (B, members, C_out, lat, lon) for an ensemble.
        """
        if self.rollout_steps:
            lead_hours = x.new_full((x.shape[0],), self.step_hours)
        return self._ensemble(self._step(self._repeat(x), self._repeat(lead_hours)), len(x))

    def rollout(self, x: Tensor, steps: int) -> list[Tensor]:
        """Normalised states after 1..``steps`` steps of ``step_hours``, each shaped like
        :meth:`forward`'s output (members roll out separately, with fresh noise each step)."""
        if not self.rollout_steps:
            raise ConfigError(
                "rollout of a direct forecasting model",
                expected="a model trained with rollout_steps > 0",
                found="rollout_steps 0",
                hint="predict each lead with forward(x, lead_hours)",
            )
        state = self._repeat(x)
        lead = x.new_full((state.shape[0],), self.step_hours)
        out = []
        for step in range(steps):
            new = self._step(state, lead)
            out.append(self._ensemble(new, len(x)))
            if step + 1 < steps:
                state = self._advance(state, new)
        return out

    def _step(self, x: Tensor, lead_hours: Tensor | None) -> Tensor:
        """One network application with noise inputs and the residual connection."""
        inputs = x
        if self.noise_channels:
            noise = torch.randn(
                (x.shape[0], self.noise_channels, *x.shape[2:]), device=x.device, dtype=x.dtype
            )
            inputs = torch.cat([x, noise], dim=1)
        if self.reorders:
            inputs = inputs.index_select(-1, self.lon_order)
        out = self.network(inputs) if lead_hours is None else self.network(inputs, lead_hours)
        if self.reorders:
            out = out.index_select(-1, self.lon_inverse)
        # Under mixed precision (bf16-mixed) the network's output is low precision; the
        # residual, the rollout state and the loss stay in the inputs' float32.
        out = out.to(x.dtype)
        has = self.residual_index >= 0
        if bool(has.any()):
            base = torch.zeros_like(out)
            base[:, has] = x[:, self.residual_index[has]]
            out = out + base
        return out

    def _advance(self, x: Tensor, state: Tensor) -> Tensor:
        """``x`` one step later: drop the oldest history step, append ``state``."""
        n = len(self.input_names)
        history = x[:, : self.history_steps * n]
        moved = torch.cat([history[:, n:], state], dim=1)
        return torch.cat([moved, x[:, self.history_steps * n :]], dim=1)

    def _repeat(self, t: Tensor | None) -> Tensor | None:
        """Repeat each sample ``members`` times (consecutively)."""
        return t if t is None or self.members == 1 else t.repeat_interleave(self.members, 0)

    def _ensemble(self, out: Tensor, batch: int) -> Tensor:
        return out if self.members == 1 else out.view(batch, self.members, *out.shape[1:])

    # -- loss -----------------------------------------------------------------------------
    def channel_losses(self, pred: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
        """Per output channel, the mean over samples of the area-weighted mean squared error
        (or fair CRPS of an ensemble ``pred`` (B, M, C, lat, lon)) of each field
        (:func:`climbench.metrics.torch.field_losses`)."""
        member_axis = 1 if self.members > 1 else None
        return field_losses(pred, y, self.area_weights, mask, member_axis).mean(0)

    def loss(self, per_channel: Tensor) -> Tensor:
        """The variable-weighted mean of :meth:`channel_losses`."""
        return (per_channel * self.loss_weights).sum() / self.loss_weights.sum()

    def _pairs(self, batch: dict) -> list[tuple[Tensor, Tensor]]:
        """(prediction, target) pairs of a batch: one, or one per rollout step."""
        x, y = batch["x"], batch["y"]
        if self.rollout_steps:
            preds = self.rollout(x, y.shape[1])
            return [(p, y[:, k]) for k, p in enumerate(preds)]
        return [(self(x, batch.get("lead_hours")), y)]

    def batch_loss(self, batch: dict) -> Tensor:
        """The training loss of a batch (summed over the steps of a rollout)."""
        mask = batch.get("mask")
        return sum(self.loss(self.channel_losses(p, y, mask)) for p, y in self._pairs(batch))

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        loss = self.batch_loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["x"]))
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_sums = torch.zeros(len(self.output_names) + 1, device=self.device)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        mask = batch.get("mask")
        loss = 0.0
        for pred, y in self._pairs(batch):
            loss = loss + self.loss(self.channel_losses(pred, y, mask))
            mean = pred.mean(1) if self.members > 1 else pred
            self._val_sums[:-1] += field_means((mean - y) ** 2, y, self.area_weights, mask).sum(0)
            self._val_sums[-1] += len(y)
        self.log("val/loss", loss, prog_bar=True, sync_dist=True, batch_size=len(batch["x"]))

    def on_validation_epoch_end(self) -> None:
        sums = self.trainer.strategy.reduce(self._val_sums, reduce_op="sum")
        rmse = torch.sqrt(sums[:-1] / sums[-1].clamp_min(1)) * self.output_std
        for name, value in zip(self.output_names, rmse, strict=True):
            self.log(f"val/rmse_{name}", value, sync_dist=True)  # equal on all ranks

    # -- prediction -----------------------------------------------------------------------
    def predict_step(self, batch: dict, batch_idx: int = 0) -> Tensor:
        """Predictions of the targets in physical units, (..., C_target, lat, lon).

        Forecasts at ``batch["lead_hours"]`` (B, L) are (B, L, [members], C_target, lat,
        lon); a batch without leads (downscaling) gives (B, [members], C_target, lat, lon).
        """
        x, leads = batch["x"], batch.get("lead_hours")
        if leads is None:
            pred = self(x)
        elif self.rollout_steps:
            steps = leads[0] / self.step_hours
            if not torch.equal(steps, steps.round()) or not bool((leads == leads[0]).all()):
                raise ConfigError(
                    "leads a rollout cannot reach",
                    expected=f"the same multiples of {self.step_hours:g} h for every sample",
                    found=str(leads.tolist()),
                )
            states = self.rollout(x, int(steps.max()))
            pred = torch.stack([states[int(s) - 1] for s in steps], dim=1)
        else:
            pred = torch.stack([self(x, leads[:, k]) for k in range(leads.shape[1])], dim=1)
        pred = pred.index_select(-3, self.target_index)
        std = self.output_std[self.target_index][:, None, None]
        mean = self.output_mean[self.target_index][:, None, None]
        return pred * std + mean

    # -- optimisation ---------------------------------------------------------------------
    def configure_optimizers(self) -> dict:
        hp = self.hparams
        optimizer = torch.optim.AdamW(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(hp.warmup_steps, total - 1)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _check_options(
    members: int,
    noise_channels: int,
    rollout_steps: int,
    target_names: Sequence[str],
    input_names: Sequence[str],
) -> None:
    if members < 1 or (members > 1 and noise_channels < 1):
        raise ConfigError(
            "bad ensemble options",
            variable="module.members",
            expected="members >= 1, and noise_channels >= 1 when members > 1",
            found=f"members {members}, noise_channels {noise_channels}",
        )
    if rollout_steps < 0:
        raise ConfigError(
            "bad rollout option",
            variable="module.rollout_steps",
            expected="0 (direct forecasts) or a number of steps",
            found=str(rollout_steps),
        )
    missing = [n for n in target_names if n not in input_names]
    if rollout_steps and missing:
        raise ConfigError(
            "a rollout needs every target among the inputs",
            variable=missing[0],
            expected="targets that are also time-varying inputs",
            found=f"targets not in the inputs: {', '.join(missing)}",
            hint="use direct forecasts (rollout_steps: 0)",
        )
