"""The one-layer GRU of a whole sequence as one compiled kernel each way (numba, CPU).

The cell of :class:`.gru.GRU` (Chung et al. 2014; gate rows r, z, n):

    r = s(W_r x_t + b_r + U_r h_{t-1}),   z = s(W_z x_t + b_z + U_z h_{t-1})
    n = tanh(W_n x_t + b_n + U_n (r h_{t-1}))                 (reset_after=False)
    n = tanh(W_n x_t + b_n + r (U_n h_{t-1} + b_hn))          (reset_after=True)
    h_t = (1 - z) h_{t-1} + z n,          y_t = V h_t + c

and its BPTT, written out: with g = dL/dh_t,

    dL/da_n = g z (1 - n^2),   dL/da_z = g (n - h_{t-1}) z (1 - z),   g (1 - z) -> h_{t-1};
    reset before: d(r h) = U_n^T dL/da_n, dL/da_r = d(r h) h r (1 - r), d(r h) r -> h_{t-1};
    reset after:  dL/da_r = dL/da_n (U_n h + b_hn) r (1 - r), d(U_n h) = dL/da_n r = d b_hn;
    then dU, dW, db and U^T (dL/da) -> h_{t-1} as for any affine map.

Same layout and loop order as :mod:`.numba_lstm` (member axis innermost; time
outer, the batch's strings inner so that each row of U is read once per step;
padded steps hold the state and compute nothing): x [T,B,I,Ex]; wi [3H,I,E];
b [3H,E]; u [3H,H,E]; bhn [H,E] ([0,E] without reset_after); v [O,H,E];
c [O,E]; h0 [B,H,E]; keep [T,B] uint8; states [T,B,H,E]; y [T,B,O,E]; the
activated gates [T,B,3H,E] and, with reset_after, U_n h + b_hn [T,B,H,E] are
kept for the backward.  The logits leave C-contiguous, as the LSTM's.
"""

from __future__ import annotations

import torch

from .kernels import gru_backward_kernel, gru_forward_kernel
from .numba_srn import _c, contiguous_logits, input_gradient, kernel_inputs, kernel_layout

__all__ = ["gru_forward"]


class _GRUKernel(torch.autograd.Function):
    """(logits [E,B,T,O] contiguous, states [T,B,H,E]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, x, wi, b, u, bhn, v, c, h0, keep):
        x, wi, b, u, bhn, v, c, h0 = (_c(t) for t in (x, wi, b, u, bhn, v, c, h0))
        steps, batch = x.shape[:2]
        rows, members = b.shape
        n = rows // 3
        states = torch.empty(steps, batch, n, members, dtype=x.dtype)
        y = torch.empty(steps, batch, c.shape[0], members, dtype=x.dtype)
        gates = torch.empty(steps, batch, rows, members, dtype=x.dtype)
        hn = torch.empty((steps, batch, n, members) if bhn.shape[0] else (0, 0, 0, 0), dtype=x.dtype)
        gru_forward_kernel(x.numpy(), wi.numpy(), b.numpy(), u.numpy(), bhn.numpy(), v.numpy(), c.numpy(),
                           h0.numpy(), keep.numpy(), states.numpy(), y.numpy(), gates.numpy(), hn.numpy())
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, wi, u, bhn, v, h0, keep, states, gates, hn)
        return contiguous_logits(y), states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, grad_s):
        x, wi, u, bhn, v, h0, keep, states, gates, hn = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        dpre = torch.empty_like(gates) if need_x else torch.empty_like(gates[:1])
        grads = [torch.zeros(shape, dtype=x.dtype) for shape in
                 (wi.shape, gates.shape[2:], u.shape, bhn.shape, v.shape, v[:, 0].shape, h0.shape)]
        empty = states.new_empty(0, 0, 0, 0)
        gru_backward_kernel(x.numpy(), wi.numpy(), u.numpy(), bhn.numpy(), v.numpy(), h0.numpy(),
                            keep.numpy(), states.numpy(), gates.numpy(), hn.numpy(),
                            kernel_layout(grad_y.permute(2, 1, 3, 0)) if grad_y is not None else empty.numpy(),
                            kernel_layout(grad_s) if grad_s is not None else empty.numpy(),
                            grad_y is not None, grad_s is not None,
                            *(g.numpy() for g in grads), dpre.numpy())
        gwi, gb, gu, gbhn, gv, gc, gh0 = grads
        gx = input_gradient(wi, dpre, x) if need_x else None
        return gx, gwi, gb, gu, gbhn if bhn.shape[0] else None, gv, gc, gh0, None


def gru_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,H])`` of a one-layer CPU GRU through the kernels.

    Arguments as :func:`.fast_lstm.lstm_forward`; the logits C-contiguous, the states a
    permuted view of the kernel layout.
    """
    xt, keep = kernel_inputs(x, has_e, mask)
    bhn = net.b_hn.T if net.options["reset_after"] else x.new_empty(0, net.ensemble)
    y, s = _GRUKernel.apply(
        xt, net.w_ih.permute(1, 2, 0), net.b.T, net.w_hh.permute(1, 2, 0), bhn,
        net.w_ho.permute(1, 2, 0), net.b_o.T, h.permute(1, 2, 0), keep)
    return y, s.permute(3, 1, 0, 2)
