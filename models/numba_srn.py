"""The Elman SRN of a whole sequence as one compiled kernel each way (numba, CPU).

Same network and same BPTT as :mod:`.fast_srn` (Elman 1990; Werbos 1990, eqs. 9-12):

    h_t = f(U x_t + b + W h_{t-1}),    y_t = V h_t + c
    g_t = dL/dh_t + V^T dL/dy_t + W^T dpre_{t+1},   dpre_t = g_t * f'(pre_t)

but where that module issues a few torch ops per step and unit (each touching
all B*E rows, so it only pays from a few thousand rows up), here the whole
sequence is one loop nest compiled by numba: no per-step dispatch at all, so it
serves every size from a single network to 10^4 members.  The innermost loop
always runs along the member axis E, contiguous in every array, so LLVM turns
it into vector instructions; weights of member e sit at [..., e].

Layouts (all C-contiguous, dtype float32 or float64):
x [T,B,I,Ex] (Ex = E, or 1 when all members read the same inputs); u [H,I,E];
b [H,E]; w [H,H,E]; v [O,H,E]; c [O,E]; h0 [B,H,E]; keep [T,B] uint8
(1 at real inputs; a padded step holds the state, h_t = h_{t-1}, and the
backward passes its gradient straight through, exactly as autograd
differentiates the plain path's ``torch.where``); states [T,B,H,E]; y [T,B,O,E].

Shared inputs that are zero are skipped (one-hot symbols: one input column of I
is read per step).  Gradients of every parameter accumulate inside the
backward kernel (sums over t and b); the pre-activation gradients of every
step, dpre [T,B,H,E], are kept only when x requires a gradient (torch forms
dL/dx from them outside), one step's worth otherwise.
"""

from __future__ import annotations

import numpy as np
import torch

from .kernels import CODES, copy_4d, srn_backward_kernel, srn_forward_kernel

__all__ = ["srn_forward"]


def kernel_layout(grad: torch.Tensor) -> np.ndarray:
    """A gradient of kernel shape [T,B,K,E] (any strides) as the C-contiguous array the kernels read:
    itself when it already is one, else one compiled transposing copy (torch's own costs 3-4x
    more for these shapes; the usual case is the contiguous [E,B,T,K] gradient of a loss taken
    on the networks' outputs)."""
    if grad.is_contiguous():
        return grad.numpy()
    out = torch.empty(grad.shape, dtype=grad.dtype).numpy()
    copy_4d(grad.numpy(), out)
    return out


def kernel_inputs(x: torch.Tensor, has_e: bool, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x [T,B,I,E|1] C-contiguous, keep [T,B] uint8)`` for the kernels, from the arguments of a
    fast path (x [B,T,I] shared or [E,B,T,I] per member; mask [T,1,B,1] bool or None)."""
    xt = (x.permute(2, 1, 3, 0) if has_e else x.transpose(0, 1).unsqueeze(-1)).contiguous()
    steps, batch = xt.shape[:2]
    keep = torch.ones(steps, batch, dtype=torch.uint8) if mask is None \
        else mask.reshape(steps, batch).to(torch.uint8)
    return xt, keep


def contiguous_logits(y: torch.Tensor) -> torch.Tensor:
    """Kernel-layout outputs y [T,B,O,E] as a C-contiguous [E,B,T,O] (one compiled transposing
    copy): what the gated networks return (see numba_lstm's docstring)."""
    steps, batch, n_out, members = y.shape
    logits = torch.empty(members, batch, steps, n_out, dtype=y.dtype)
    copy_4d(y.numpy(), logits.numpy().transpose(2, 1, 3, 0))
    return logits


def input_gradient(wi: torch.Tensor, dpre: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """dL/dx [T,B,I,E|1] from the input weights wi [R,I,E] and every step's pre-activation
    gradients dpre [T,B,R,E] (summed over the members where all read the same x)."""
    gx = torch.einsum("rie,tbre->tbie", wi, dpre)
    return gx.sum(-1, keepdim=True) if x.shape[-1] == 1 else gx


def _c(t: torch.Tensor) -> torch.Tensor:
    """``t`` detached and C-contiguous (itself, sharing its version counter, when it already is)."""
    return t.detach().contiguous()


class _SRNKernel(torch.autograd.Function):
    """(y [T,B,O,E], states [T,B,H,E]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, x, u, b, w, v, c, h0, keep, act):
        # the kernel layout, made once and saved for the backward (see numba_lstm._LSTMKernel)
        x, u, b, w, v, c, h0 = (_c(t) for t in (x, u, b, w, v, c, h0))
        steps, batch = x.shape[:2]
        n_h, members = b.shape
        states = torch.empty(steps, batch, n_h, members, dtype=x.dtype)
        y = torch.empty(steps, batch, c.shape[0], members, dtype=x.dtype)
        srn_forward_kernel(x.numpy(), u.numpy(), b.numpy(), w.numpy(), v.numpy(), c.numpy(), h0.numpy(), keep.numpy(), act,
                 states.numpy(), y.numpy())
        ctx.act = act
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, u, w, v, h0, keep, states)
        return y, states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, grad_h):
        x, u, w, v, h0, keep, states = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        dpre = torch.empty_like(states) if need_x else torch.empty_like(states[:1])  # all steps only for dL/dx
        grads = [torch.zeros(t.shape, dtype=t.dtype) for t in (u, u[:, 0], w, v, v[:, 0], h0)]  # gu gb gw gv gc gh0
        empty = states.new_empty(0, 0, 0, 0).numpy()
        gy = kernel_layout(grad_y) if grad_y is not None else empty
        gh = kernel_layout(grad_h) if grad_h is not None else empty
        srn_backward_kernel(x.numpy(), u.numpy(), w.numpy(), v.numpy(), h0.numpy(), keep.numpy(), ctx.act,
                  states.numpy(),
                  gy, gh, grad_y is not None, grad_h is not None,
                  *(t.numpy() for t in grads), dpre.numpy())
        gu, gb, gw, gv, gc, gh0 = grads
        gx = input_gradient(u, dpre, x) if need_x else None
        return gx, gu, gb, gw, gv, gc, gh0, None, None


def srn_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,H])`` of a plain CPU SRN through the compiled kernels.

    Arguments as :func:`.fast_srn.srn_forward`; the outputs are permuted views of
    the kernel layout (non-contiguous).
    """
    act = CODES[net.options["activation"]]
    xt, keep = kernel_inputs(x, has_e, mask)
    y, s = _SRNKernel.apply(
        xt, net.w_ih.permute(1, 2, 0), net.b_h.T, net.w_hh.permute(1, 2, 0), net.w_ho.permute(1, 2, 0),
        net.b_o.T, h.permute(1, 2, 0), keep, act)
    return y.permute(3, 1, 0, 2), s.permute(3, 1, 0, 2)
