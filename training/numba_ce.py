"""Cross-entropy of a softmax as one compiled kernel each way (numba, CPU).

The numbers of :func:`.losses.cross_entropy` (``F.cross_entropy(..., reduction="none")``):
for logits y over O outputs and the target symbol k,

    loss = m + log(sum_o exp(y_o - m)) - y_k,    m = max_o y_o,
    dloss/dy_o = softmax(y)_o - [o == k].

The forward pass keeps the softmax, so the backward is one multiply-subtract
per logit.  The kernel works in the logits' own memory layout: the ensemble's
fused networks return logits [E,B,T,O] as a view of a [T,B,O,E] buffer (member
axis innermost), and a copy into the usual layout would cost more than the loss.
Any layout in which the tensor is a permutation of a contiguous one is read as
[N1, O, N2] (N2 the axes stored after the output axis), so the loops along N2
vectorise; the gradient is returned in the same layout, which is what the
networks' backward kernels read without a copy.  Logits with the output axis
innermost (the LSTM's contiguous [E,B,T,O], or any [N, O]) are read as one
transposed [O, N] block (one compiled copy each way: a loop of length 1 along
N2 would run scalar).  Other layouts are copied.
"""

from __future__ import annotations

import math

import torch

from ..models.kernels import (ce_backward_kernel, ce_forward_kernel, prediction_metrics_kernel,
                              transpose_rows)

__all__ = ["cross_entropy", "prediction_metrics"]



def _targets_2d(t: torch.Tensor, pos: int, n1: int, n2: int) -> torch.Tensor:
    """Targets ``t`` (in the logits' memory order, output axis dropped) as [n1, n2] without copying
    the members' broadcast: targets shared by all members (stride 0 along the axes stored after
    the output axis, the ensemble's usual case) become [n1, 1] expanded to [n1, n2]."""
    inner = t.shape[pos:]
    if n2 > 1 and all(st == 0 or size == 1 for st, size in zip(t.stride()[pos:], inner)):
        head = t[(Ellipsis,) + (0,) * len(inner)]            # [outer dims]
        return head.reshape(n1, 1).expand(n1, n2)
    return t.reshape(n1, n2)


def _memory_order(t: torch.Tensor) -> list[int]:
    """Axes of ``t`` from outermost to innermost in memory."""
    return sorted(range(t.dim()), key=lambda d: (-t.stride(d), -t.shape[d]))


def _inverse(order: list[int]) -> list[int]:
    inv = [0] * len(order)
    for i, d in enumerate(order):
        inv[d] = i
    return inv


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target):
        order = _memory_order(logits)
        if not logits.permute(order).is_contiguous():
            logits = logits.contiguous()
            order = list(range(logits.dim()))
        out_axis = logits.dim() - 1
        pos = order.index(out_axis)
        shape = [logits.shape[d] for d in order]
        n1, n2 = math.prod(shape[:pos]), math.prod(shape[pos + 1:])
        n_out = logits.shape[-1]
        rest = [d for d in order if d != out_axis]
        tgt = _targets_2d(target.expand(logits.shape[:-1]).permute(rest), pos, n1, n2)
        rows = n2 == 1 and n1 > 1           # output axis innermost: the kernel reads [1, O, N]
        if rows:
            y = logits.new_empty(1, n_out, n1)
            transpose_rows(logits.detach().permute(order).reshape(n1, n_out).numpy(), y[0].numpy())
            tgt = tgt.reshape(1, n1)
        else:
            y = logits.detach().permute(order).reshape(n1, n_out, n2)
        loss = logits.new_empty(tgt.shape)
        prob = torch.empty_like(y)
        bad = ce_forward_kernel(y.numpy(), tgt.numpy(), loss.numpy(), prob.numpy())
        if bad >= 0:
            value = int(tgt.reshape(-1)[bad])
            raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[-1]}) (the output units), "
                             f"got {value}")
        ctx.save_for_backward(prob, tgt)
        ctx.layout = (order, rest, shape, rows)
        return loss.view([logits.shape[d] for d in rest]).permute(_inverse(rest))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        prob, tgt = ctx.saved_tensors
        order, rest, shape, rows = ctx.layout
        g = grad.permute(rest).reshape(tgt.shape)
        if g.stride(-1) != 1:   # e.g. a broadcast mask: one copy, then the loops vectorise
            g = g.contiguous()
        out = torch.empty_like(prob)
        ce_backward_kernel(prob.numpy(), tgt.numpy(), g.numpy(), out.numpy())
        if rows:
            back = prob.new_empty(prob.shape[2], prob.shape[1])
            transpose_rows(out[0].numpy(), back.numpy())
            out = back
        return out.view(shape).permute(_inverse(order)), None


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-position cross-entropy, ``logits [..., O]`` (CPU, float32/float64), ``target [...]``
    long in ``[0, O)`` (broadcast to the logits' leading shape) -> ``[...]``."""
    return _CrossEntropy.apply(logits, target.long())


def prediction_metrics(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                       counted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per string, in one compiled pass: the cross-entropy summed over its real positions and
    the argmax criterion's counts (``training.metrics.data_metrics`` with ``loss="ce"``,
    ``criterion="argmax"``).

    logits ``[E,B,T,O]`` (CPU float32/float64, any layout: the SRN's member-innermost view
    is read in place, others copied once); targets ``[E|1,B,T]`` long; mask, counted
    ``[E|1,B,T]`` bool.  Returns ``(string_loss [E,B], right [E,B], count [E,B])``: loss in
    the logits' dtype, counts int64.  No gradient.
    """
    E, B, T, _ = logits.shape
    lead = max(targets.shape[0], mask.shape[0], counted.shape[0])

    def kernel_order(t, dtype):       # [E|1,B,T] -> contiguous [T,B,E|1]
        return t.expand(lead, B, T).permute(2, 1, 0).to(dtype).contiguous()

    y = logits.detach().permute(2, 1, 3, 0).contiguous()           # [T,B,O,E]
    tgt = kernel_order(targets, torch.int64)
    m, c = kernel_order(mask, torch.uint8), kernel_order(counted, torch.uint8)
    loss = torch.zeros(B, E, dtype=logits.dtype)
    right = torch.zeros(B, E, dtype=torch.int64)
    count = torch.zeros(B, E, dtype=torch.int64)
    bad = prediction_metrics_kernel(y.numpy(), tgt.numpy(), m.numpy(), c.numpy(), loss.numpy(),
                                    right.numpy(), count.numpy())
    if bad >= 0:
        raise ValueError(f"prediction metrics: targets at real positions must lie in "
                         f"[0, {logits.shape[-1]}) (the output units), got {int(tgt.reshape(-1)[bad])}")
    return loss.T, right.T, count.T
