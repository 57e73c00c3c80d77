"""The path-integrating recurrent network and its losses.

Vanilla RNN of Sorscher et al. (2019), with ReLU units and no biases::

    h_0 = W_enc p(x_0)
    h_t = relu(W_in v_t + W_rec h_{t-1})
    y_t = W_dec h_t

where ``p(x_0)`` is the target encoding at the initial position and ``v_t``
the displacement per step (m). GRU and LSTM cells are options (also without
biases; the LSTM's initial cell state has its own encoder).
"""

from __future__ import annotations

import torch
from torch import nn

from simulate.config import ModelConfig

#: Dimension of the velocity input (dx, dy).
VELOCITY_DIM = 2


class PathIntegrator(nn.Module):
    """Encoder, recurrent cell and linear decoder, all without biases."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        hidden, outputs = config.hidden, config.outputs
        self.encoder = nn.Linear(outputs, hidden, bias=False)  # W_enc
        if config.cell == "lstm":
            self.cell_encoder = nn.Linear(outputs, hidden, bias=False)
        recurrent = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[config.cell]
        options = {"nonlinearity": "relu"} if config.cell == "rnn" else {}
        self.recurrent = recurrent(
            VELOCITY_DIM, hidden, bias=False, batch_first=True, **options
        )  # W_in, W_rec
        self.decoder = nn.Linear(hidden, outputs, bias=False)  # W_dec

    @property
    def recurrent_weight(self) -> torch.Tensor:
        """W_rec, shape (H, H) (stacked gates for GRU and LSTM), for the L2 penalty."""
        return self.recurrent.weight_hh_l0

    def hidden_states(
        self, velocities: torch.Tensor, initial_code: torch.Tensor
    ) -> torch.Tensor:
        """Hidden activity h_1 ... h_T.

        Parameters
        ----------
        velocities : tensor, shape (B, T, 2)
            Displacement per step (m).
        initial_code : tensor, shape (B, N)
            The encoding p(x_0) at the initial positions.

        Returns
        -------
        tensor, shape (B, T, H)
        """
        h0 = self.encoder(initial_code)[None]  # (1, B, H)
        if self.config.cell == "lstm":
            state = (h0, self.cell_encoder(initial_code)[None])
        else:
            state = h0
        states, _ = self.recurrent(velocities, state)  # (B, T, H)
        return states

    def forward(
        self, velocities: torch.Tensor, initial_code: torch.Tensor
    ) -> torch.Tensor:
        """Readout y_1 ... y_T, shape (B, T, N): logits or real values."""
        return self.decoder(self.hidden_states(velocities, initial_code))


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over batch and time of -sum_i p_i log softmax(y)_i.

    The softmax lives inside the loss (``log_softmax``), so huge logits stay
    finite; cells whose target is exactly zero contribute exactly zero, even
    where their log-probability is -inf.

    Parameters
    ----------
    logits : tensor, shape (..., N)
    targets : tensor, shape (..., N)
        Probability vectors.
    """
    log_probabilities = torch.log_softmax(logits, dim=-1)
    terms = torch.where(targets > 0, targets * log_probabilities, 0.0)
    return -terms.sum(dim=-1).mean()


def mean_squared_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over batch, time and units of (y - p)^2."""
    return torch.mean((outputs - targets) ** 2)


LOSSES = {"cross_entropy": cross_entropy, "mse": mean_squared_error}


#: Gate blocks of each cell's input and recurrent matrices.
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def step_flops(config: ModelConfig, *, batch_size: int, sequence_length: int) -> float:
    """Matrix-multiply FLOPs of one training step (forward and backward).

    A product of an (m, k) and a (k, n) matrix costs 2 m k n FLOPs. The
    backward pass of ``X W`` costs one product for the weight gradient and one
    for the input gradient, the latter only where the input needs a gradient
    (not for the velocities, nor for the encoder's input p(x_0)). Elementwise
    work (nonlinearities, softmax, targets, Adam) is not counted.

    Parameters
    ----------
    config : ModelConfig
    batch_size, sequence_length : int
        B and T.

    Returns
    -------
    float
    """
    b, t, h, n = batch_size, sequence_length, config.hidden, config.outputs
    gates = GATES[config.cell]
    encoders = 2 if config.cell == "lstm" else 1
    encoder = encoders * 2 * b * n * h  # forward; backward: weight gradient only
    inputs = t * 2 * b * VELOCITY_DIM * gates * h  # likewise
    recurrent = t * 2 * b * h * gates * h  # backward: weight and state gradients
    decoder = t * 2 * b * h * n  # likewise
    return 2 * (encoder + inputs) + 3 * (recurrent + decoder)
