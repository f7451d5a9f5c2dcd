"""A fused whole-sequence LSTM recurrence: one autograd node with a hand-written BPTT backward.

The plain path (:meth:`RecurrentEnsemble.forward`) unrolls ``LSTM._cell`` under
autograd: every step records about ten graph nodes and the backward replays
them one by one, with the state pieces concatenated and copied at the end.
This module computes the same one-layer LSTM (Hochreiter & Schmidhuber 1997
with the forget gate of Gers, Schmidhuber & Cummins 2000 and the optional
peepholes of Gers & Schmidhuber 2001, IEEE TNN 12(6), section II; gate rows
(i, f, g, o) as in :mod:`.lstm`)

    a_t = p_t + U h_{t-1}                               (p_t = W x_t + b, computed outside)
    i_t = s(a_i [+ w_i c_{t-1}]),  f_t = s(a_f [+ w_f c_{t-1}]),  g_t = tanh(a_g)
    c_t = f_t c_{t-1} + i_t g_t
    o_t = s(a_o [+ w_o c_t]),      h_t = o_t tanh(c_t)

for a whole sequence as ONE node, whose backward is backpropagation through
time written out (Werbos 1990, Proc. IEEE 78(10); for the LSTM cell the
derivatives of Graves & Schmidhuber 2005, "Framewise phoneme classification
with bidirectional LSTM", Neural Networks 18, appendix, full-gradient form):

    dh_t  = dL/dh_t (direct) + U^T da_{t+1}
    da_o  = dh_t tanh(c_t) s'(o)
    dc_t  = dL/dc_t (direct) + dc_{t+1} f_{t+1} [+ w_i da_i,t+1 + w_f da_f,t+1]
            + dh_t o_t (1 - tanh^2 c_t)  [+ w_o da_o,t]
    da_i  = dc_t g_t s'(i),   da_f = dc_t c_{t-1} s'(f),   da_g = dc_t i_t (1 - g_t^2)
    dU = sum_t da_t h_{t-1}^T,   dp_t = da_t,   d(h_0, c_0) from step 1,
    dw_i = sum da_i c_{t-1},  dw_f = sum da_f c_{t-1},  dw_o = sum da_o c_t

with s' = s (1 - s) taken from the stored activations.  Only the dh/dc
recursion runs step by step (a dozen elementwise ops and two ``bmm`` per step: U^T da_t
and the running sum dU^T += h_{t-1} da_t^T, whose [E,H,4H] orientation MKL runs ~4x
faster than a whole-sequence GEMM after a transposing copy).  The input
projection p and the readout stay outside the node under autograd, exactly as
on the plain path (one GEMM each).

Layout: time-major ``[T, E, B, .]`` so that each step's blocks are contiguous
(the per-member ``bmm`` is ~10x slower writing into a strided output).  h and
c live side by side in one buffer ``[T+1, E, B, 2H]`` (slot 0 the initial
state), so the states the contract asks for, [h, c] of width S = 2H, are a
permuted view of it and need no concatenation.

Padded batches (``keep`` mask): where a row has ended its state is held,
(h_t, c_t) = (h_{t-1}, c_{t-1}); the backward passes the gradient of a held
step straight to the step before and gives it no gate gradient, as autograd
differentiates the plain path's ``torch.where(keep, new, old)``.
"""

from __future__ import annotations

import torch

__all__ = ["lstm_forward"]


def _step_forward(pre, a, c, hc_next, tc, peep, n):
    """One step into the buffers: a (gate activations), hc_next ([h_t, c_t]), tc (tanh c_t)."""
    c_next, h_next = hc_next[..., n:], hc_next[..., :n]
    if peep is None:
        torch.sigmoid(pre, out=a)  # i, f, o (the g block is overwritten next)
    else:
        p_i, p_f, _ = peep
        pre[..., :n].addcmul_(p_i, c)
        pre[..., n:2 * n].addcmul_(p_f, c)
        torch.sigmoid(pre[..., :2 * n], out=a[..., :2 * n])
    torch.tanh(pre[..., 2 * n:3 * n], out=a[..., 2 * n:3 * n])
    i, f, g, o = a.split(n, -1)
    torch.mul(f, c, out=c_next)
    c_next.addcmul_(i, g)
    if peep is not None:
        pre[..., 3 * n:].addcmul_(peep[2], c_next)
        torch.sigmoid(pre[..., 3 * n:], out=o)
    torch.tanh(c_next, out=tc)
    torch.mul(o, tc, out=h_next)


class _LSTMSequence(torch.autograd.Function):
    """States [T,E,B,2H] ([h_t, c_t]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, p, w_hh, w_peep, hc0, keep):
        # p [T,E,B,4H] input projections (any strides, last dim contiguous); w_hh [E,4H,H];
        # w_peep [E,3,H] or None; hc0 [E,B,2H] initial (h, c); keep [T,1,B,1] bool or None.
        steps, members, batch, rows = p.shape
        n = rows // 4
        hc = p.new_empty(steps + 1, members, batch, 2 * n)
        hc[0] = hc0
        acts = p.new_empty(p.shape)
        tcs = p.new_empty(steps, members, batch, n)
        pre = p.new_empty(members, batch, rows)
        w_t = w_hh.transpose(1, 2)
        peep = None if w_peep is None else tuple(w_peep[:, None].unbind(-2))  # 3 x [E,1,H]
        for t in range(steps):
            h, c = hc[t][..., :n], hc[t][..., n:]
            torch.baddbmm(p[t], h, w_t, out=pre)
            _step_forward(pre, acts[t], c, hc[t + 1], tcs[t], peep, n)
            if keep is not None:
                torch.where(keep[t], hc[t + 1], hc[t], out=hc[t + 1])
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w_hh, w_peep, keep, hc, acts, tcs)
        ctx.p_meta = (p.shape, p.stride())
        return hc[1:]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_states):
        w_hh, w_peep, keep, hc, acts, tcs = ctx.saved_tensors
        steps, members, batch, rows = acts.shape
        n = rows // 4
        need = ctx.needs_input_grad
        # g[t + 1] = dL/d(h_t, c_t), accumulated: the direct gradient plus what flows back from t + 1.
        g = hc.new_zeros(hc.shape)
        if grad_states is not None:
            g[1:] = grad_states
        # dL/dp with the strides of p, so the backward of p's producer (a view of one GEMM) copies nothing
        dpre = torch.empty_strided(*ctx.p_meta, dtype=acts.dtype, device=acts.device)
        # dU^T = sum_{t,b} h_{t-1} da_t^T, accumulated step by step ([E,H,4H]: the fast GEMM orientation)
        gw_t = hc.new_zeros(members, n, rows) if need[1] else None
        deriv = torch.empty_like(acts[0])
        scratch = hc.new_empty(members, batch, n)
        back = hc.new_empty(members, batch, n)
        one = torch.ones((), dtype=hc.dtype)
        peep = None if w_peep is None else tuple(w_peep[:, None].unbind(-2))
        if keep is not None:
            keep_f = keep.to(hc.dtype)
            held = 1.0 - keep_f
            gk = hc.new_empty(members, batch, 2 * n)
        for t in range(steps - 1, -1, -1):
            a, tc, dp = acts[t], tcs[t], dpre[t]
            i, f, gg, o = a.split(n, -1)
            c_prev = hc[t][..., n:]
            gt = g[t + 1]
            if keep is not None:
                torch.mul(gt, keep_f[t], out=gk)
                g[t].addcmul_(gt, held[t])  # a held step passes its gradient straight back
                gt = gk
            dh, dc = gt[..., :n], gt[..., n:]
            # s'(.) = s (1 - s) for i, f, o; 1 - g^2 for g
            torch.addcmul(a, a, a, value=-1, out=deriv)
            torch.addcmul(one, gg, gg, value=-1, out=deriv[..., 2 * n:3 * n])
            dp_i, dp_f, dp_g, dp_o = dp.split(n, -1)
            torch.mul(dh, tc, out=dp_o)
            dp_o.mul_(deriv[..., 3 * n:])
            # dc_t (total) = direct + carried (already in dc) + dh o (1 - tanh^2 c) [+ w_o da_o]
            torch.addcmul(one, tc, tc, value=-1, out=scratch)
            scratch.mul_(o)
            dc_tot = back
            torch.addcmul(dc, dh, scratch, out=dc_tot)
            if peep is not None:
                dc_tot.addcmul_(dp_o, peep[2])
            torch.mul(dc_tot, gg, out=dp_i)
            torch.mul(dc_tot, i, out=dp_g)
            torch.mul(dc_tot, c_prev, out=dp_f)
            dp[..., :3 * n].mul_(deriv[..., :3 * n])
            # to step t - 1: dc_{t-1} += dc_t f [+ w_i da_i + w_f da_f];  dh_{t-1} += U^T da_t
            prev = g[t]
            prev[..., n:].addcmul_(dc_tot, f)
            if peep is not None:
                prev[..., n:].addcmul_(dp_i, peep[0])
                prev[..., n:].addcmul_(dp_f, peep[1])
            torch.bmm(dp, w_hh, out=scratch)
            prev[..., :n].add_(scratch)
            if gw_t is not None:
                gw_t.baddbmm_(hc[t][..., :n].transpose(1, 2), dp)
        gw = gw_t.transpose(1, 2) if gw_t is not None else None
        gpeep = None
        if need[2] and w_peep is not None:
            c_prev, c_now = hc[:-1, ..., n:], hc[1:, ..., n:]
            gpeep = torch.stack([(dpre[..., :n] * c_prev).sum((0, 2)),
                                 (dpre[..., n:2 * n] * c_prev).sum((0, 2)),
                                 (dpre[..., 3 * n:] * c_now).sum((0, 2))], 1)
        return dpre if need[0] else None, gw, gpeep, g[0] if need[3] else None, None


def _projection(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, has_e: bool) -> torch.Tensor:
    """``W x_t + b`` for every step as a [T,E,B,4H] view (the GEMM of ``base.linear_seq``, same
    numbers, without its copy into time-major order; each step's [E,B,4H] slice is a valid
    strided operand for ``baddbmm``, and autograd's backward of the view needs no copy either)."""
    e, rows, k = w.shape
    if has_e:
        _, batch, steps, _ = x.shape
        out = torch.baddbmm(b[:, None, :], x.reshape(e, batch * steps, k), w.transpose(1, 2))
        return out.view(e, batch, steps, rows).permute(2, 0, 1, 3)
    batch, steps, _ = x.shape
    out = torch.addmm(b.reshape(1, e * rows), x.transpose(0, 1).reshape(steps * batch, k), w.reshape(e * rows, k).T)
    return out.view(steps, batch, e, rows).transpose(1, 2)


def lstm_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                 mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,2H])`` of a one-layer standard LSTM through the fused node.

    x [B,T,I] or [E,B,T,I] (checked by the caller, T >= 1); h [E,B,2H] the
    initial (h, c); mask [T,1,B,1] bool (True at real inputs) or None, as built
    by ``RecurrentEnsemble.forward``.  The input projection (``net._project_seq``)
    and the readout (``net.readout``) are the plain path's own calls; ``states``
    is a permuted view of the fused layout (non-contiguous).
    """
    p = _projection(x, net.w_ih, net.b, has_e)
    w_peep = net.w_peep if net.options["peephole"] else None
    states = _LSTMSequence.apply(p, net.w_hh, w_peep, h, mask).permute(1, 2, 0, 3)
    return net.readout(states), states
