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
        self,
        velocities: torch.Tensor,
        initial_code: torch.Tensor,
        *,
        time_major: bool = False,
    ) -> torch.Tensor:
        """Hidden activity h_1 ... h_T.

        Parameters
        ----------
        velocities : tensor, shape (B, T, 2)
            Displacement per step (m); shape (T, B, 2) if ``time_major``.
        initial_code : tensor, shape (B, N)
            The encoding p(x_0) at the initial positions.
        time_major : bool
            Time along the first axis of ``velocities`` and of the result
            (the trainer's layout: each time step is one contiguous block).

        Returns
        -------
        tensor, shape (B, T, H), or (T, B, H) if ``time_major``
        """
        h0 = self.encoder(initial_code)  # (B, H)
        if self.config.cell == "rnn":
            steps = velocities if time_major else velocities.transpose(0, 1)
            states = relu_recurrence(
                steps,
                h0,
                self.recurrent.weight_ih_l0,
                self.recurrent.weight_hh_l0,
            )  # (T, B, H)
            return states if time_major else states.transpose(0, 1)
        if self.config.cell == "lstm":
            state = (h0[None], self.cell_encoder(initial_code)[None])
        else:
            state = h0[None]
        steps = velocities.transpose(0, 1) if time_major else velocities
        states, _ = self.recurrent(steps, state)  # (B, T, H)
        return states.transpose(0, 1) if time_major else states

    def forward(
        self,
        velocities: torch.Tensor,
        initial_code: torch.Tensor,
        *,
        time_major: bool = False,
    ) -> torch.Tensor:
        """Readout y_1 ... y_T, shape (B, T, N) ((T, B, N) if ``time_major``)."""
        states = self.hidden_states(velocities, initial_code, time_major=time_major)
        return self.decoder(states)


class _ReluRecurrence(torch.autograd.Function):
    """h_t = relu(W_in v_t + W_rec h_{t-1}) for t = 1..T, time-major.

    The same arithmetic as ``nn.RNN(nonlinearity="relu", bias=False)``, with a
    backward pass written for a CPU: the states live in one (T + 1, B, H)
    block, each step is one fused multiply-add, and the weight gradients are
    one large product over all time steps, ``dW_rec = sum_t g_t^T h_{t-1}``,
    instead of T small ones accumulated (g_t: gradient of the loss with
    respect to the pre-activation at step t).
    """

    @staticmethod
    def forward(ctx, velocities, h0, w_in, w_rec):
        steps, batch, _ = velocities.shape
        hidden = w_rec.shape[0]
        states = h0.new_empty((steps + 1, batch, hidden))
        states[0] = h0
        inputs = velocities.view(steps * batch, -1)
        torch.mm(inputs, w_in.t(), out=states[1:].view(steps * batch, hidden))
        for t in range(steps):  # in place (out= its own input: no copy)
            torch.addmm(states[t + 1], states[t], w_rec.t(), out=states[t + 1])
            states[t + 1].relu_()
        ctx.save_for_backward(velocities, w_rec, states)
        return states[1:]

    @staticmethod
    def backward(ctx, grad_states):
        velocities, w_rec, states = ctx.saved_tensors
        steps, batch, hidden = grad_states.shape
        relu_backward = torch.ops.aten.threshold_backward.grad_input
        # g_t, computed in place over a copy (autograd's buffer is not ours).
        grad_pre = grad_states.clone(memory_format=torch.contiguous_format)
        relu_backward(grad_pre[-1], states[-1], 0, grad_input=grad_pre[-1])
        for t in range(steps - 1, 0, -1):
            # dL/dh_t = (direct gradient) + g_{t+1} W_rec, then through the
            # relu: g_t is zero where h_t is (the pre-activation was <= 0).
            torch.addmm(grad_pre[t - 1], grad_pre[t], w_rec, out=grad_pre[t - 1])
            relu_backward(grad_pre[t - 1], states[t], 0, grad_input=grad_pre[t - 1])
        grad_h0 = grad_pre[0] @ w_rec if ctx.needs_input_grad[1] else None
        flat = grad_pre.reshape(steps * batch, hidden)
        grad_w_in = grad_w_rec = None
        if ctx.needs_input_grad[2]:
            grad_w_in = flat.t() @ velocities.reshape(steps * batch, -1)
        if ctx.needs_input_grad[3]:
            grad_w_rec = flat.t() @ states[:-1].reshape(steps * batch, hidden)
        return None, grad_h0, grad_w_in, grad_w_rec


def relu_recurrence(
    velocities: torch.Tensor,
    h0: torch.Tensor,
    w_in: torch.Tensor,
    w_rec: torch.Tensor,
) -> torch.Tensor:
    """States h_1 ... h_T of the ReLU RNN without biases, shape (T, B, H).

    Parameters
    ----------
    velocities : tensor, shape (T, B, 2)
        Inputs, time-major (no gradient is computed for them).
    h0 : tensor, shape (B, H)
        Initial state.
    w_in : tensor, shape (H, 2)
    w_rec : tensor, shape (H, H)
    """
    if velocities.requires_grad:
        raise ValueError("relu_recurrence does not differentiate its inputs")
    return _ReluRecurrence.apply(velocities.contiguous(), h0, w_in, w_rec)


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
