"""A fused whole-sequence Elman SRN: one autograd node with a hand-written BPTT backward.

The plain path (:meth:`RecurrentEnsemble.forward`) unrolls ``SRN._cell`` under
autograd: every step records graph nodes, and every step's 2x2 ``bmm`` runs E
tiny matrix products.  For the 2-10 unit networks of this field that
bookkeeping, not the arithmetic, is where the time goes.  This module computes
the same network (Elman 1990, "Finding structure in time", section 2)

    p_t = U x_t + b,    h_t = f(p_t + W h_{t-1}),    y_t = V h_t + c

for a whole sequence as ONE node of the autograd graph, whose backward is
backpropagation through time written out by hand (Rumelhart, Hinton &
Williams 1986; Werbos 1990, "Backpropagation through time: what it does and
how to do it", Proc. IEEE 78(10), eqs. 9-12):

    g_t    = dL/dh_t (direct) + V^T dL/dy_t
    dh_t   = g_t + W^T dpre_{t+1}              (dpre_{T+1} = 0)
    dpre_t = dh_t * f'(pre_t)                  (f' from h: 1-h^2, h(1-h), [h>0])
    dW = sum_t dpre_t h_{t-1}^T,  dU = sum_t dpre_t x_t^T,  db = sum_t dpre_t,
    dV = sum_t dL/dy_t h_t^T,  dc = sum_t dL/dy_t,  dh_0 = W^T dpre_1

Only the dh/dpre recursion runs step by step; every sum over t and b runs once
over the whole sequence afterwards.

Layout: time-major with the member axis innermost, ``[T, B, H, E]``.  Unit k's
state at step t is the block ``h[t, :, k]`` of shape [B, E] (contiguous along
E) and a weight W[:, j, k] is a length-E vector broadcast over B, so every
matrix-vector product is H*K fused multiply-adds (``addcmul``) over the whole
ensemble: no per-member 2x2 ``bmm``, and each op touches B*E numbers at once.
That is the right trade for the small H this path serves (``fast.SRN_MAX_HIDDEN``).
The results are returned as permuted views in the contract's shapes.

Padded batches (``keep`` mask from ``lengths``): where a row has ended its state
is held, h_t = h_{t-1}; the backward passes dh_t straight through and gives that
step no pre-activation gradient, exactly as autograd differentiates the plain
path's ``torch.where(keep, new, old)``.
"""

from __future__ import annotations

import torch

__all__ = ["srn_forward", "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "sigmoid", "relu")


def _activate_(a: torch.Tensor, act: str) -> None:
    if act == "tanh":
        a.tanh_()
    elif act == "sigmoid":
        a.sigmoid_()
    else:
        a.relu_()


def _derivative(y: torch.Tensor, act: str) -> torch.Tensor:
    """f'(pre) from the output y = f(pre), for every step at once."""
    if act == "tanh":
        return 1.0 - y * y
    if act == "sigmoid":
        return y * (1.0 - y)
    return (y > 0).to(y.dtype)


def _affine_into(out: torch.Tensor, bias, w, v: torch.Tensor) -> None:
    """out[..., j, :] = bias[j] + sum_k w[j][k] * v[..., k, :]  (blocks [..., E]; w[j][k], bias[j]: [E]).

    ``bias=None``: no bias; accumulates into ``out`` as it is when ``bias is False``.
    """
    n_out, n_in = len(w), v.shape[-2]
    for j in range(n_out):
        o = out[..., j, :]
        for k in range(n_in):
            if k == 0 and bias is not False:
                if bias is None:
                    torch.mul(v[..., 0, :], w[j][0], out=o)
                else:
                    torch.addcmul(bias[j], v[..., 0, :], w[j][0], out=o)
            else:
                o.addcmul_(v[..., k, :], w[j][k])


class _SRNSequence(torch.autograd.Function):
    """(logits [T,B,O,E], states [T,B,H,E]) of a whole sequence; see the module docstring."""

    @staticmethod
    def forward(ctx, x, u, b, w, v, c, h0, keep, act):
        # x [T,B,I,E|1]; u [H,I,E]; b [H,E]; w [H,H,E]; v [O,H,E]; c [O,E]; h0 [B,H,E];
        # keep [T,B,1,1] bool or None.  Weight [j,k,e] is member e's matrix entry (j,k).
        steps, batch = x.shape[:2]
        n, members = u.shape[0], u.shape[-1]
        u_l, w_l, v_l = (list(list(r.unbind(0)) for r in m.unbind(0)) for m in (u, w, v))
        out = x.new_empty(steps, batch, n, members)
        _affine_into(out, list(b.unbind(0)), u_l, x)          # p_t = U x_t + b, all t at once
        h = h0
        for t in range(steps):
            a = out[t]
            _affine_into(a, False, w_l, h)                     # + W h_{t-1}, in place
            _activate_(a, act)
            if keep is not None:
                torch.where(keep[t], a, h, out=a)
            h = a
        y = x.new_empty(steps, batch, v.shape[0], members)
        _affine_into(y, list(c.unbind(0)), v_l, out)           # y_t = V h_t + c
        ctx.act = act
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, u, w, v, h0, keep, out)
        return y, out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, grad_h):
        x, u, w, v, h0, keep, out = ctx.saved_tensors
        act = ctx.act
        steps = out.shape[0]
        need = ctx.needs_input_grad
        # g_t = dL/dh_t + V^T dL/dy_t (a fresh buffer the recursion accumulates into)
        g = grad_h.clone(memory_format=torch.contiguous_format) if grad_h is not None else torch.zeros_like(out)
        if grad_y is not None:
            grad_y = grad_y.contiguous()
            v_t = [list(r.unbind(0)) for r in v.transpose(0, 1).unbind(0)]  # [H][O] -> [E]
            _affine_into(g, False, v_t, grad_y)
        d = _derivative(out, act)
        if keep is not None:
            d = d * keep
            held = (~keep).to(out.dtype)  # held steps pass dh straight through
        w_t = [list(r.unbind(0)) for r in w.transpose(0, 1).unbind(0)]      # W^T
        n_h, batch, members = w.shape[0], out.shape[1], out.shape[-1]
        n_i, n_o = x.shape[-2], v.shape[0]
        shared_x = x.shape[-1] == 1
        # Gradient sums over (t, b) accumulate per step into [B, E] blocks with addcmul_
        # (no [T, B, J, K, E] temporaries); the sum over b runs once at the end.
        acc_w = out.new_zeros(n_h, n_h, batch, members) if need[3] else None
        acc_u = out.new_zeros(n_h, n_i, batch, members) if need[1] and not shared_x else None
        acc_v = out.new_zeros(n_o, n_h, batch, members) if need[4] and grad_y is not None else None
        dpre = torch.empty_like(out)
        dh0 = torch.zeros_like(h0) if need[6] else None
        for t in range(steps - 1, -1, -1):
            dp = dpre[t]
            torch.mul(g[t], d[t], out=dp)
            h_prev = out[t - 1] if t > 0 else h0
            if acc_w is not None:
                for j in range(n_h):
                    for k in range(n_h):
                        acc_w[j, k].addcmul_(dp[:, j], h_prev[:, k])
            if acc_u is not None:
                for j in range(n_h):
                    for i in range(n_i):
                        acc_u[j, i].addcmul_(dp[:, j], x[t][:, i])
            if acc_v is not None:
                for o in range(n_o):
                    for k in range(n_h):
                        acc_v[o, k].addcmul_(grad_y[t][:, o], out[t][:, k])
            prev = g[t - 1] if t > 0 else dh0
            if prev is None:
                continue
            _affine_into(prev, False, w_t, dp)
            if keep is not None:
                prev.addcmul_(g[t], held[t])
        gw = acc_w.sum(2) if acc_w is not None else None
        gu = None
        if need[1]:
            if shared_x:  # one GEMM: sum_n x[n, i] dpre[n, j, e]
                x2 = x.reshape(-1, n_i)
                gu = (x2.T @ dpre.reshape(x2.shape[0], n_h * members)).view(n_i, n_h, members).transpose(0, 1)
            else:
                gu = acc_u.sum(2)
        gb = dpre.sum((0, 1)) if need[2] else None
        gv = acc_v.sum(2) if acc_v is not None else None
        gc = grad_y.sum((0, 1)) if grad_y is not None and need[5] else None
        gx = None
        if need[0]:
            u_t = [list(r.unbind(0)) for r in u.transpose(0, 1).unbind(0)]  # U^T
            gx = x.new_empty(*dpre.shape[:2], u.shape[1], dpre.shape[-1])
            _affine_into(gx, None, u_t, dpre)
            if x.shape[-1] == 1:
                gx = gx.sum(-1, keepdim=True)
        return gx, gu, gb, gw, gv, gc, dh0, None, None


def srn_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor,
                mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logits [E,B,T,O], states [E,B,T,H])`` of a plain SRN through the fused node.

    x [B,T,I] or [E,B,T,I] (checked by the caller, T >= 1); h [E,B,H] the initial
    state; mask [T,1,B,1] bool (True at real inputs) or None, as built by
    ``RecurrentEnsemble.forward``.  The outputs are permuted views of the fused
    layout (non-contiguous; call ``.contiguous()`` where a copy is wanted).
    """
    act = net.options["activation"]
    if act not in ACTIVATIONS:
        raise ValueError(f"the fused SRN supports activations {ACTIVATIONS}, got {act!r}")
    xt = (x.permute(2, 1, 3, 0) if has_e else x.transpose(0, 1).unsqueeze(-1)).contiguous()  # [T,B,I,E|1]
    keep = None if mask is None else mask.reshape(mask.shape[0], mask.shape[2], 1, 1)
    y, s = _SRNSequence.apply(
        xt, net.w_ih.permute(1, 2, 0).contiguous(), net.b_h.T.contiguous(),
        net.w_hh.permute(1, 2, 0).contiguous(), net.w_ho.permute(1, 2, 0).contiguous(),
        net.b_o.T.contiguous(), h.permute(1, 2, 0).contiguous(), keep, act)
    return y.permute(3, 1, 0, 2), s.permute(3, 1, 0, 2)
