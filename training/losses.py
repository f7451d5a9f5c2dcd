"""Per-position and per-member losses for next-symbol prediction and recognition.

Three losses, each as the papers used it:

* ``"ce"``  - cross-entropy of the softmax over the outputs against the symbol
  that actually comes next (``batch.targets``): the modern default.
* ``"sse"`` - sum-squared error ``1/2 * sum_o (y_o - t_o)^2`` of squashed
  outputs against the one-hot next symbol (Rumelhart, Hinton & Williams 1986;
  Elman 1990; Wiles & Elman 1995). The squashing is the network's
  ``output_activation``; a network that reports ``"identity"`` is squashed with
  the logistic sigmoid (the 1990s setting). With ``"tanh"`` outputs (the
  second-order networks of Giles et al. 1992 / Pollack 1991) targets are
  ``+1``/``-1`` instead of ``1``/``0``.
* ``"bce"`` - binary cross-entropy of sigmoid outputs against the multi-hot set
  of *legal* next symbols (``batch.legal``), summed over outputs: the
  criterion of Gers & Schmidhuber (2001), where every legal continuation must be
  "on". For ``"tanh"`` outputs ``(tanh(z)+1)/2 = sigmoid(2z)`` is used as the
  probability.

Recognition (``task.kind == "recognition"``) puts one loss on the output read
after the last real symbol (for the empty string: the readout of the initial
state). With one output unit the label is the target of that unit (``ce`` and
``bce`` are then both the binary cross-entropy); with two or more units the
label indexes the class (0 reject, 1 accept).

A string's loss is the sum over its loss-bearing positions (``reduction="sum"``,
the total error of the papers) or their mean (``"mean"``); a member's loss is the
mean over the strings of its minibatch; the ensemble's loss is the SUM over
members, so each member's gradient is exactly what it would be alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("ce", "sse", "bce")
REDUCTIONS = ("sum", "mean")
ACTIVATIONS = ("identity", "sigmoid", "tanh")


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    return loss


def check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"output_activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def squash(logits: torch.Tensor, activation: str) -> torch.Tensor:
    """The outputs ``y`` that ``"sse"`` compares with targets (sigmoid for ``"identity"``)."""
    return torch.tanh(logits) if activation == "tanh" else torch.sigmoid(logits)


def compiled_ok(logits: torch.Tensor) -> bool:
    """Whether the compiled kernel (training/numba_ce.py) may compute this cross-entropy."""
    from ..models import fast

    return logits.device.type == "cpu" and logits.dtype in (torch.float32, torch.float64) \
        and logits.numel() > 0 and fast.is_enabled() and fast.numba_available() and not fast.functorch_active()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-position cross-entropy of the softmax over the last axis: ``logits [..., O]``, ``target [...]``
    long in ``[0, O)`` -> ``[...]``; the numbers of ``F.cross_entropy(..., reduction="none")``.

    Written as ``(m - y_target) + log(sum_o exp(y_o - m))`` with ``m = max_o y_o`` over the O
    output slices: for the handful of outputs of these tasks (O = 2..7) that is a few
    elementwise ops over all positions at once, where ``log_softmax`` runs a reduction
    kernel per row of length O and materialises an [..., O] result and its gradient
    (3x slower for the E = 4096 ensembles of benchmarks/core_speed.py).  ``m`` is held
    constant for the gradient: the derivative, softmax minus one-hot, does not depend on it.
    """
    if compiled_ok(logits):
        from .numba_ce import cross_entropy as compiled

        return compiled(logits, target)
    ys = logits.unbind(-1)
    with torch.no_grad():
        top = ys[0]
        for y in ys[1:]:
            top = torch.maximum(top, y)
    total = torch.exp(ys[0] - top)
    for y in ys[1:]:
        total = total + torch.exp(y - top)
    picked = logits.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return (top - picked) + torch.log(total)  # shift first: no rounding at the scale of |y|


def _sse_targets(onehot: torch.Tensor, activation: str) -> torch.Tensor:
    return 2.0 * onehot - 1.0 if activation == "tanh" else onehot


def _bce_logits(logits: torch.Tensor, activation: str) -> torch.Tensor:
    return 2.0 * logits if activation == "tanh" else logits


def prediction_losses(logits, targets, legal, mask, loss: str, activation: str) -> torch.Tensor:
    """Loss at every position of next-symbol prediction.

    logits ``[E,B,L,O]``; targets ``[E|1,B,L]`` long (-1 where undefined);
    legal ``[E|1,B,L,O]``; mask ``[E|1,B,L]`` bool. Returns ``[E,B,L]``, exactly
    zero (and with zero gradient) where ``mask`` is False.
    """
    n_out = logits.shape[-1]
    safe = targets.clamp(min=0).expand(logits.shape[:-1])
    if loss == "ce":
        per = cross_entropy(logits, safe)
    elif loss == "sse":
        t = _sse_targets(F.one_hot(safe, n_out).to(logits.dtype), activation)
        per = 0.5 * (squash(logits, activation) - t).pow(2).sum(-1)
    else:
        per = F.binary_cross_entropy_with_logits(
            _bce_logits(logits, activation), legal.expand(logits.shape), reduction="none").sum(-1)
    return torch.where(mask, per, torch.zeros((), dtype=per.dtype))


def recognition_losses(final_logits, labels, loss: str, activation: str) -> torch.Tensor:
    """Loss of the output read after each string. final_logits ``[E,B,O]``, labels ``[E|1,B]``
    (1 member, 0 non-member). Returns ``[E,B]``."""
    n_out = final_logits.shape[-1]
    labels = labels.to(final_logits.dtype).expand(final_logits.shape[:-1])
    if n_out == 1:
        z = final_logits[..., 0]
        if loss == "sse":
            return 0.5 * (squash(z, activation) - _sse_targets(labels, activation)).pow(2)
        return F.binary_cross_entropy_with_logits(_bce_logits(z, activation), labels,
                                                  reduction="none")
    classes = labels.round().long()
    if loss == "ce":
        return cross_entropy(final_logits, classes)
    onehot = F.one_hot(classes, n_out).to(final_logits.dtype)
    if loss == "sse":
        return 0.5 * (squash(final_logits, activation) - _sse_targets(onehot, activation)).pow(2).sum(-1)
    return F.binary_cross_entropy_with_logits(_bce_logits(final_logits, activation), onehot,
                                              reduction="none").sum(-1)


def recognition_decision(final_logits: torch.Tensor) -> torch.Tensor:
    """Accept (True) / reject per string: one unit -> ``z > 0`` (sigmoid > 1/2, tanh > 0);
    several units -> ``argmax == 1``. ``[E,B,O] -> [E,B]``."""
    if final_logits.shape[-1] == 1:
        return final_logits[..., 0] > 0
    return final_logits.argmax(-1) == 1


def gather_final(logits: torch.Tensor, h0_logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The output after each string's last real symbol.

    logits ``[E,B,T,O]`` (output after input t), h0_logits ``[E,B,O]`` (readout of the
    initial state, used for the empty string), lengths ``[E|1,B]``. Returns ``[E,B,O]``.
    """
    ext = torch.cat([h0_logits.unsqueeze(2), logits], dim=2)
    idx = lengths.expand(ext.shape[:2]).clamp(max=ext.shape[2] - 1)
    return ext.gather(2, idx[..., None, None].expand(*ext.shape[:2], 1, ext.shape[-1])).squeeze(2)
