"""Unrolling a minibatch through time: full BPTT, truncated BPTT(k), Elman's one-step scheme.

All three cut a row's sequence of ``T`` steps into chunks and do one weight
update per chunk (Williams & Zipser 1995, "Gradient-based learning algorithms
for recurrent networks", give the family; the names below are theirs):

* ``"full"``  - one chunk: the gradient of the whole string's loss, back to the
  initial state (Rumelhart, Hinton & Williams 1986; Werbos 1990).
* ``"truncated"`` with ``k`` - chunks of ``k`` steps. The state is carried from
  chunk to chunk but detached, so each update follows the gradient of that
  chunk's loss with the chunk's starting state held fixed ("epochwise" BPTT on
  k-step epochs; in a stream this is Elman 1990 / Wiles & Elman 1995 training
  with k steps of memory for the gradient). ``k >= T`` is full BPTT.
* ``"elman"`` - Elman (1990), "Finding structure in time", Cognitive Science
  14: the context units are a copy of the previous hidden state, treated as
  extra input; the error at each step is backpropagated one step only and the
  weights change after every symbol. It is computed with ``net.step`` and
  ``net.readout`` directly; it equals ``"truncated"`` with ``k = 1``.

A chunk's loss per member is ``sum over its rows of that row's loss inside the
chunk / B`` (see ``training.losses``), so the chunk losses of a row add up to the
full BPTT loss and the gradients of a one-chunk run are exactly full BPTT's.
A member takes part in a chunk's update only if the chunk holds at least one of
its loss-bearing positions (prediction: real positions; recognition: the
position after its last symbol, or the initial state for the empty string).
"""

from __future__ import annotations

import torch

from .data import Data
from .losses import prediction_losses, recognition_losses

MODES = ("full", "truncated", "elman")


def chunk_bounds(steps: int, mode: str, k: int | None) -> list[tuple[int, int]]:
    """``[(t0, t1), ...]`` covering ``0..steps`` (at least one chunk, even for ``steps == 0``)."""
    if mode == "full" or steps == 0:
        return [(0, steps)]
    width = 1 if mode == "elman" else int(k)
    return [(t0, min(t0 + width, steps)) for t0 in range(0, steps, width)]


def chunk_forward(net, h_start: torch.Tensor, x: torch.Tensor, mode: str, lengths=None):
    """Run one chunk. ``x`` ``[E|1,B,L,I]``; returns logits ``[E,B,L,O]`` and states ``[E,B,L,S]``.

    ``"elman"`` steps once with the context detached (a copy, not a path for the
    gradient); the other modes call ``net(x, h0=h_start)``.  ``lengths``: the rows'
    real steps in this chunk (``[B]``, see :func:`chunk_lengths`) or None.
    """
    if mode == "elman":
        h = net.step(h_start.detach(), x[:, :, 0] if x.shape[0] > 1 else x[0, :, 0])
        return net.readout(h).unsqueeze(2), h.unsqueeze(2)
    xin = x[0] if x.shape[0] == 1 else x
    return net(xin, h0=h_start, lengths=lengths)


def chunk_lengths(net, data: Data, t0: int, t1: int):
    """The rows' real steps inside chunk ``[t0, t1)`` as ``[B]``, for the compiled networks, which
    then skip the padded steps (a padded step holds the state instead of running on a zero
    input; no loss reads those steps, so no number changes) - or None: rows of different
    lengths per member, or a network on the torch path, where holding the state costs a
    ``where`` per step instead of saving one."""
    from ..models import fast

    if data.lengths.shape[0] != 1 or t1 <= t0:
        return None
    if fast.select(net, data.inputs[0, :, t0:t1]) not in ("numba_srn", "numba_lstm", "numba_gru"):
        return None
    inside = (data.lengths[0] - t0).clamp(0, t1 - t0)
    return None if bool((inside == t1 - t0).all()) else inside


def chunk_loss(net, data: Data, t0: int, t1: int, logits, h_start, loss: str, activation: str,
               norm: torch.Tensor | None):
    """Per-member loss of chunk ``[t0, t1)`` and whether it holds any loss position.

    Returns ``(loss [E], has [E] bool)``. ``norm`` ``[E|1,B]`` divides each row's
    loss (its number of positions for ``reduction="mean"``), or None.
    """
    rows = data.rows
    if data.kind == "prediction":
        sl = slice(t0, t1)
        per = prediction_losses(logits, data.targets[:, :, sl], data.legal[:, :, sl],
                                data.mask[:, :, sl], loss, activation)
        row_loss = per.sum(-1)
        has = data.mask[:, :, sl].flatten(1).any(1)
    else:
        ends = data.lengths - 1
        inside = (ends >= t0) & (ends < t1)
        if t0 == 0:
            inside = inside | (ends < 0)
        ext = torch.cat([net.readout(h_start).unsqueeze(2), logits], dim=2)
        col = (ends - t0 + 1).clamp(0, ext.shape[2] - 1).expand(ext.shape[:2])
        final = ext.gather(2, col[..., None, None].expand(*ext.shape[:2], 1, ext.shape[-1])).squeeze(2)
        per = recognition_losses(final, data.labels, loss, activation)
        row_loss = torch.where(inside.expand(per.shape), per, torch.zeros((), dtype=per.dtype))
        has = inside.flatten(1).any(1)
    if norm is not None:
        row_loss = row_loss / norm
    E = logits.shape[0]
    return row_loss.sum(-1) / rows, has.expand(E)


def row_norm(data: Data, reduction: str):
    """Divisor of each row's loss: None for ``"sum"``; its number of positions for ``"mean"``."""
    if reduction == "sum" or data.kind == "recognition":
        return None
    return data.mask.sum(-1).clamp(min=1).to(data.inputs.dtype)


def chunk_gradients(net, data: Data, mode: str, k: int | None, loss: str, activation: str,
                    reduction: str = "sum"):
    """The gradient each update of a variant would follow, without updating.

    Returns a list, one entry per chunk, of ``(t0, t1, h_start, loss [E],
    [grad per parameter])``; ``h_start`` is the (detached) state the chunk starts
    from. Used by the tests against finite differences; the trainer interleaves
    the same computation with optimiser steps.
    """
    out = []
    norm = row_norm(data, reduction)
    h = net.initial_state(data.rows)
    params = [p for p in net.parameters() if p.requires_grad]
    for t0, t1 in chunk_bounds(data.steps, mode, k):
        logits, states = chunk_forward(net, h, data.inputs[:, :, t0:t1], mode)
        member_loss, _ = chunk_loss(net, data, t0, t1, logits, h, loss, activation, norm)
        grads = torch.autograd.grad(member_loss.sum(), params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        out.append((t0, t1, h.detach(), member_loss.detach(), grads))
        h = states[:, :, -1].detach() if t1 > t0 else h.detach()
    return out
