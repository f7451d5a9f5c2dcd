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

import numba as nb
import numpy as np
import torch

from ._numba_math import (CODES, activate_block, add_input, add_matvec, add_outer_input,
                          backprop_matvec, derivative, set_rows)

__all__ = ["srn_forward"]

_JIT = dict(nogil=True, cache=True, error_model="numpy")


@nb.njit(**_JIT)
def _forward(x, u, b, w, v, c, h0, keep, act, states, y):
    steps, batch = x.shape[:2]
    size = states.shape[2] * states.shape[3]
    for bb in range(batch):
        for t in range(steps):
            hp = h0[bb] if t == 0 else states[t - 1, bb]
            a = states[t, bb]
            set_rows(a, b)                     # b + U x_t + W h_{t-1}
            add_input(a, u, x[t, bb])
            add_matvec(a, w, hp)
            activate_block(a.reshape(size), act)
            if not keep[t, bb]:
                a[:] = hp
            set_rows(y[t, bb], c)              # y_t = V h_t + c
            add_matvec(y[t, bb], v, a)


@nb.njit(**_JIT)
def _backward(x, u, w, v, h0, keep, act, states, grad_y, grad_h, has_gy, has_gh,
              gu, gb, gw, gv, gc, gh0, dpre):
    steps, batch = x.shape[:2]
    n_h, members = gb.shape
    whole = dpre.shape[0] == steps                     # keep every step's dpre (for dL/dx)
    g = np.empty((n_h, members), states.dtype)
    carry = np.zeros((n_h, members), states.dtype)   # W^T dpre_{t+1}
    for bb in range(batch):
        carry[:] = 0
        for t in range(steps - 1, -1, -1):
            h = states[t, bb]
            hp = h0[bb] if t == 0 else states[t - 1, bb]
            # g_t = carry + dL/dh_t + V^T dL/dy_t;  dV += dL/dy_t h_t^T,  dc += dL/dy_t
            g[:] = carry
            if has_gh:
                g += grad_h[t, bb]
            if has_gy:
                gc += grad_y[t, bb]
                backprop_matvec(gv, g, v, grad_y[t, bb], h)
            dp = dpre[t if whole else 0, bb]
            if not keep[t, bb]:       # held step: dh passes to h_{t-1}, no pre-activation gradient
                dp[:] = 0
                carry[:] = g
                continue
            for j in range(n_h):
                dpj, gj, hj = dp[j], g[j], h[j]
                for e in range(members):
                    dpj[e] = gj[e] * derivative(hj[e], act)
            # db += dpre_t,  dW += dpre_t h_{t-1}^T,  dU += dpre_t x_t^T,  carry = W^T dpre_t
            gb += dp
            add_outer_input(gu, dp, x[t, bb])
            carry[:] = 0
            backprop_matvec(gw, carry, w, dp, hp)
        gh0[bb] = carry


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class _SRNKernel(torch.autograd.Function):
    """(y [T,B,O,E], states [T,B,H,E]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, x, u, b, w, v, c, h0, keep, act):
        steps, batch = x.shape[:2]
        n_h, members = b.shape
        states = torch.empty(steps, batch, n_h, members, dtype=x.dtype)
        y = torch.empty(steps, batch, c.shape[0], members, dtype=x.dtype)
        _forward(_np(x), _np(u), _np(b), _np(w), _np(v), _np(c), _np(h0), keep.numpy(), act,
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
        gy = grad_y if grad_y is not None else states.new_empty(0, 0, 0, 0)
        gh = grad_h if grad_h is not None else states.new_empty(0, 0, 0, 0)
        _backward(_np(x), _np(u), _np(w), _np(v), _np(h0), keep.numpy(), ctx.act, states.numpy(),
                  _np(gy), _np(gh), grad_y is not None, grad_h is not None,
                  *(t.numpy() for t in grads), dpre.numpy())
        gu, gb, gw, gv, gc, gh0 = grads
        gx = None
        if need_x:
            gx = torch.einsum("jie,tbje->tbie", u, dpre)
            if x.shape[-1] == 1:
                gx = gx.sum(-1, keepdim=True)
        return gx, gu, gb, gw, gv, gc, gh0, None, None


def srn_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,H])`` of a plain CPU SRN through the compiled kernels.

    Arguments as :func:`.fast_srn.srn_forward`; the outputs are permuted views of
    the kernel layout (non-contiguous).
    """
    act = CODES[net.options["activation"]]
    xt = (x.permute(2, 1, 3, 0) if has_e else x.transpose(0, 1).unsqueeze(-1)).contiguous()  # [T,B,I,E|1]
    steps, batch = xt.shape[:2]
    if mask is None:
        keep = torch.ones(steps, batch, dtype=torch.uint8)
    else:
        keep = mask.reshape(steps, batch).to(torch.uint8)
    y, s = _SRNKernel.apply(
        xt, net.w_ih.permute(1, 2, 0), net.b_h.T, net.w_hh.permute(1, 2, 0), net.w_ho.permute(1, 2, 0),
        net.b_o.T, h.permute(1, 2, 0), keep, act)
    return y.permute(3, 1, 0, 2), s.permute(3, 1, 0, 2)
