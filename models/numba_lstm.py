"""The one-layer LSTM of a whole sequence as one compiled kernel each way (numba, CPU).

Same cell and same BPTT as :mod:`.fast_lstm` (Hochreiter & Schmidhuber 1997 with
the forget gate of Gers, Schmidhuber & Cummins 2000 and the optional peepholes of
Gers & Schmidhuber 2001; gate rows (i, f, g, o); derivatives as written out in
that module's docstring, after Graves & Schmidhuber 2005):

    a_t = W x_t + b + U h_{t-1}
    i = s(a_i [+ w_i c_{t-1}]),  f = s(a_f [+ w_f c_{t-1}]),  g = tanh(a_g)
    c_t = f c_{t-1} + i g,       o = s(a_o [+ w_o c_t]),      h_t = o tanh(c_t)
    y_t = V h_t + c

Input projection, recurrence and readout all run inside the kernels, in loops
whose innermost index is the member e (contiguous everywhere, so LLVM
vectorises them).  Time is the outer loop and the strings of the batch the
inner one, so that each row of U (and of its gradient) is loaded once per step
for all B strings (:func:`.kernels.add_matvec_batch`, four terms of the sum
over k per pass: 6-7 -> 8-10 GFMA/s).  Measured and dropped (10 units,
E = 1024): walking the member axis in cache-sized tiles (64-256 members: 3.5-4.8
against 6.5 GFMA/s; ``range(e0, e1)`` loops do not vectorise at all); a
member-chunk-major layout with explicit 8-lane vectors (llvmlite intrinsics):
its matvec ran at 8.8 GFMA/s but the whole forward was no faster, and 3x slower
at 2 units (per-chunk overhead on 8-member rows); two strings per pass in the
backward's batched product (53 -> 60-79 ms).

Layouts (C-contiguous, float32 or float64): x [T,B,I,Ex] (Ex = E or 1);
wi [4H,I,E]; b [4H,E]; u [4H,H,E]; peep [3,H,E] (rows w_i, w_f, w_o; [0,H,E]
without peepholes); v [O,H,E]; c [O,E]; hc0 [B,2H,E] ([h, c]); keep [T,B] uint8
(a padded step holds (h, c) and computes nothing; its gradient passes straight
through); states [T,B,2H,E]; y [T,B,O,E].  The gate activations [T,B,4H,E]
(i, f, g, o) are kept for the backward, which recomputes tanh(c_t) from the
states rather than storing it, and keeps every step's gate gradients
[T,B,4H,E] only when the input gradient is wanted (one step's otherwise).

The logits leave as a C-contiguous [E,B,T,O] (one compiled transposing copy,
:func:`.kernels.copy_4d`): a user's loss of torch ops runs 2-3x faster on
it than on a member-innermost view, and for the LSTM the copy is small beside
the cell's work.  (The SRN keeps returning views: its whole step costs about
what such a copy would.)  Gradients arriving in any layout are brought to the
kernel layout by :func:`.numba_srn.kernel_layout`.
"""

from __future__ import annotations

import torch

from .kernels import lstm_backward_kernel, lstm_forward_kernel
from .numba_srn import _c, contiguous_logits, input_gradient, kernel_inputs, kernel_layout

__all__ = ["lstm_forward"]



class _LSTMKernel(torch.autograd.Function):
    """(logits [E,B,T,O] contiguous, states [T,B,2H,E]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, x, wi, b, u, peep, v, c, hc0, keep):
        # the kernel layout, made once: the backward reads the same copies (saved, so autograd's
        # check against in-place changes still covers the inputs that needed no copy)
        x, wi, b, u, peep, v, c, hc0 = (_c(t) for t in (x, wi, b, u, peep, v, c, hc0))
        steps, batch = x.shape[:2]
        rows, members = b.shape
        n = rows // 4
        states = torch.empty(steps, batch, 2 * n, members, dtype=x.dtype)
        y = torch.empty(steps, batch, c.shape[0], members, dtype=x.dtype)
        gates = torch.empty(steps, batch, rows, members, dtype=x.dtype)
        lstm_forward_kernel(x.numpy(), wi.numpy(), b.numpy(), u.numpy(), peep.numpy(), v.numpy(), c.numpy(),
                            hc0.numpy(), keep.numpy(), states.numpy(), y.numpy(), gates.numpy())
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, wi, u, peep, v, hc0, keep, states, gates)
        return contiguous_logits(y), states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, grad_s):
        x, wi, u, peep, v, hc0, keep, states, gates = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        # every step's gate gradients only when dL/dx is wanted; otherwise one step's worth
        dpre = torch.empty_like(gates) if need_x else torch.empty_like(gates[:1])
        grads = [torch.zeros(shape, dtype=x.dtype) for shape in
                 (wi.shape, gates.shape[2:], u.shape, peep.shape, v.shape, v[:, 0].shape, hc0.shape)]
        empty = states.new_empty(0, 0, 0, 0)
        lstm_backward_kernel(x.numpy(), wi.numpy(), u.numpy(), peep.numpy(), v.numpy(), hc0.numpy(), keep.numpy(),
                  states.numpy(),
                  gates.numpy(), kernel_layout(grad_y.permute(2, 1, 3, 0)) if grad_y is not None else empty.numpy(),
                  kernel_layout(grad_s) if grad_s is not None else empty.numpy(), grad_y is not None,
                  grad_s is not None,
                  *(g.numpy() for g in grads), dpre.numpy())
        gwi, gb, gu, gpeep, gv, gc, ghc0 = grads
        gx = input_gradient(wi, dpre, x) if need_x else None
        return gx, gwi, gb, gu, gpeep if peep.shape[0] else None, gv, gc, ghc0, None


def lstm_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                 mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,2H])`` of a one-layer standard CPU LSTM through the kernels.

    Arguments as :func:`.fast_lstm.lstm_forward`.  The logits are C-contiguous
    (copied out of the kernel layout: user losses on them run at torch's full
    speed), the states a permuted view of the kernel layout.
    """
    xt, keep = kernel_inputs(x, has_e, mask)
    if net.options["peephole"]:
        peep = net.w_peep.permute(1, 2, 0)
    else:
        peep = x.new_empty(0, net.n_hidden, net.ensemble)
    y, s = _LSTMKernel.apply(
        xt, net.w_ih.permute(1, 2, 0), net.b.T, net.w_hh.permute(1, 2, 0), peep,
        net.w_ho.permute(1, 2, 0), net.b_o.T, h.permute(1, 2, 0), keep)
    return y, s.permute(3, 1, 0, 2)
