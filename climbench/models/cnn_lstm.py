"""ClimateBench's CNN-LSTM emulator (Watson-Parris et al. 2022).

Watson-Parris et al. (2022), "ClimateBench v1.0: A benchmark for data-driven climate
projections", JAMES 14, e2021MS002954, doi:10.1029/2021MS002954; reference code
duncanwp/ClimateBench (``CNN-LSTM_model.ipynb``, Keras). From a window of ``T`` past
years of forcing maps it predicts the climate fields of the last year:

    TimeDistributed(Conv2D(20, 3x3, 'same', relu)) -> TimeDistributed(AveragePooling2D(2))
    -> TimeDistributed(GlobalAveragePooling2D()) -> LSTM(25, activation='relu')
    -> Dense(H * W) -> Reshape

Average pooling followed by global average pooling is one global average (exactly so on
even grids), so it is done once. The convolution pads circularly in longitude on a global
grid (``periodic_lon``) where the reference pads with zeros. The LSTM keeps the reference's
ReLU cell and output activations and Keras's initialisation (torch's ``nn.LSTM`` is
tanh-only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from climbench.errors import ConfigError, SchemaError
from climbench.models.unet import pad_sphere


class ReluLSTM(nn.Module):
    """One-layer LSTM with ReLU activations, returning the last hidden state.

    Keras ``LSTM(units, activation='relu')``: sigmoid gates, ReLU on the candidate cell
    and on the cell state before the output gate. Initialisation as Keras: Glorot-uniform
    input weights, orthogonal recurrent weights, zero biases except a forget-gate bias of 1
    (Jozefowicz et al. 2015).
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.input = nn.Linear(input_size, 4 * hidden_size)
        self.recurrent = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        nn.init.xavier_uniform_(self.input.weight)
        nn.init.orthogonal_(self.recurrent.weight)
        with torch.no_grad():
            # Gate blocks in the order input, forget, cell, output (as Keras).
            self.input.bias.zero_()
            self.input.bias[hidden_size : 2 * hidden_size] = 1.0

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, input_size)`` to the hidden state after the last step, ``(B, hidden_size)``."""
        gates_in = self.input(x)
        hidden = x.new_zeros(x.shape[0], self.hidden_size)
        cell = torch.zeros_like(hidden)
        for step in range(x.shape[1]):
            gates = gates_in[:, step] + self.recurrent(hidden)
            input_gate, forget_gate, candidate, output_gate = gates.chunk(4, dim=1)
            cell = torch.sigmoid(forget_gate) * cell + torch.sigmoid(input_gate) * F.relu(candidate)
            hidden = torch.sigmoid(output_gate) * F.relu(cell)
        return hidden


class CNNLSTM(nn.Module):
    """ClimateBench CNN-LSTM: ``(B, T, in_channels, lat, lon)`` to ``(B, out_channels, lat, lon)``.

    Args:
        in_channels: forcing maps per year (ClimateBench: CO2, CH4, SO2, BC).
        out_channels: predicted fields (ClimateBench trains one model per field).
        img_size: ``(lat, lon)`` grid size (the dense output layer is built for it).
        hidden_channels: filters of the convolution.
        lstm_units: size of the LSTM state.
        periodic_lon: the grid is global (circular padding in longitude).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        img_size: tuple[int, int],
        hidden_channels: int = 20,
        lstm_units: int = 25,
        periodic_lon: bool = True,
    ) -> None:
        super().__init__()
        if min(in_channels, out_channels, hidden_channels, lstm_units, *img_size) < 1:
            raise ConfigError(
                "CNNLSTM: in_channels, out_channels, img_size, hidden_channels and lstm_units "
                "must be >= 1"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.img_size = (int(img_size[0]), int(img_size[1]))
        self.periodic_lon = periodic_lon
        self.conv = nn.Conv2d(in_channels, hidden_channels, 3)
        self.lstm = ReluLSTM(hidden_channels, lstm_units)
        self.dense = nn.Linear(lstm_units, out_channels * self.img_size[0] * self.img_size[1])

    def forward(self, x: Tensor) -> Tensor:
        """Map ``T`` years of forcing maps to the fields of the last year."""
        if x.ndim != 5 or tuple(x.shape[2:]) != (self.in_channels, *self.img_size):
            raise SchemaError(
                f"CNNLSTM: expected input (batch, years, {self.in_channels}, "
                f"{self.img_size[0]}, {self.img_size[1]}), found shape {tuple(x.shape)}"
            )
        batch, years = x.shape[:2]
        maps = pad_sphere(x.flatten(0, 1), 1, 1, 1, 1, self.periodic_lon)
        features = F.relu(self.conv(maps)).mean(dim=(-2, -1)).view(batch, years, -1)
        return self.dense(self.lstm(features)).view(batch, self.out_channels, *self.img_size)
