"""Batched root finding for F(h) - h: autograd Jacobians of ``net.step`` and Levenberg–Marquardt.

All starts of all members run as one tensor ``h [E, B, S]``; each (e, b) row is an
independent problem, so one forward pass plus one backward pass gives every
Jacobian at once (the state is replicated S times along the batch and row i of
copy i is differentiated — reverse-mode autograd through ``net.step`` itself,
never a closed form per model family).

The solver is Levenberg–Marquardt on ``r(h) = F(h) - h`` with ``A = dF/dh - I``:
``dh = -(AᵀA + μI)⁻¹ Aᵀ r``. A step is kept only where it lowers |r| (μ /= 10),
otherwise μ *= 10 and the step is retried — a damped, least-squares fallback
far from a root that becomes plain Newton (μ -> 0, quadratic convergence) near
one. Points where the iteration stalls with ``Aᵀr ≈ 0`` and ``|r| > 0`` are
local minima of ``q = |F(h)-h|²/2``: the slow points of Sussillo & Barak (2013).
"""

from __future__ import annotations

import torch


def value_and_jacobian(f, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``F(h) [E,B,S]`` and ``J [E,B,S,S]`` with ``J[e,b,i,j] = dF_i/dh_j`` at ``h [E,B,S]``.

    ``f`` must treat rows independently (true of ``net.step`` and its compositions).
    """
    E, B, S = h.shape
    hr = h.detach().unsqueeze(2).expand(E, B, S, S).reshape(E, B * S, S).clone().requires_grad_(True)
    with torch.enable_grad():
        out = f(hr).reshape(E, B, S, S)  # [e, b, copy i, :]
        picked = out.diagonal(dim1=2, dim2=3).sum()  # sum over e,b,i of F_i(copy i)
        (grad,) = torch.autograd.grad(picked, hr)
    return out[:, :, 0, :].detach(), grad.reshape(E, B, S, S)


def solve(f, h: torch.Tensor, *, tol: float = 1e-10, max_iter: int = 60, mu0: float = 1e-3,
          stall_ratio: float = 0.99, grad_tol: float = 0.0):
    """Levenberg–Marquardt on ``f(h) - h`` for every row of ``h [E,B,S]`` at once.

    Returns ``(h, r, J, grad)``: final states, residual vectors ``F(h)-h``,
    Jacobians ``dF/dh`` ``[E,B,S,S]`` at the final states, and ``Aᵀr`` (the
    gradient of q). A row stops once ``|r| <= tol * 1e-3``; or ``|r| <= tol`` and
    a step no longer gains a factor 10 (the rounding floor); or the damping
    saturates (no decrease possible); or ``|Aᵀr| <= grad_tol`` (a stationary
    point of q); or 5 steps in a row each kept more than ``stall_ratio`` of |r|
    while |r| > tol (no root nearby: Newton's convergence near a simple root is
    quadratic). Pass ``stall_ratio`` close to 1 to let slow points converge.
    Only rows still moving are computed (compacted per member along B).
    """
    E, B, S = h.shape
    eye = torch.eye(S, dtype=h.dtype, device=h.device)
    F, J = value_and_jacobian(f, h)
    r = F - h
    rn = _norm(r)
    gn = _norm(((J - eye).transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1))
    mu = torch.full((E, B), mu0, dtype=h.dtype, device=h.device)
    floor = torch.zeros(E, B, dtype=torch.bool, device=h.device)
    stalled = torch.zeros(E, B, dtype=torch.long, device=h.device)
    target = tol * 1e-3
    for _ in range(max_iter):
        active = (rn > target) & (mu < 1e12) & ~((rn <= tol) & floor) & (stalled < 5) & ~(gn <= grad_tol)
        n_act = int(active.sum(dim=1).max())
        if n_act == 0:
            break
        # work only on the columns that still move (per member; inactive padding is masked)
        cols = torch.argsort((~active).to(torch.int8), dim=1, stable=True)[:, :n_act]

        def take(t):
            return torch.gather(t, 1, cols.view(E, n_act, *([1] * (t.dim() - 2))).expand(E, n_act, *t.shape[2:]))

        def put(t, v):
            return t.scatter(1, cols.view(E, n_act, *([1] * (t.dim() - 2))).expand(E, n_act, *t.shape[2:]), v)

        hc, rc, Jc, rnc, gnc, muc, actc = (take(t) for t in (h, r, J, rn, gn, mu, active))
        A = Jc - eye
        At = A.transpose(-1, -2)
        step, _info = torch.linalg.solve_ex(At @ A + muc[..., None, None] * eye, -(At @ rc.unsqueeze(-1)))
        trial = hc + step.squeeze(-1)
        Ft, Jt = value_and_jacobian(f, trial)
        rt = Ft - trial
        rtn = _norm(rt)
        better = actc & torch.isfinite(rtn) & (rtn < rnc)
        ratio = torch.where(better, rtn / rnc, torch.ones_like(rnc))
        gtn = _norm(((Jt - eye).transpose(-1, -2) @ rt.unsqueeze(-1)).squeeze(-1))
        b3 = better[..., None]
        h = put(h, torch.where(b3, trial, hc))
        r = put(r, torch.where(b3, rt, rc))
        J = put(J, torch.where(b3[..., None], Jt, Jc))
        rn = put(rn, torch.where(better, rtn, rnc))
        gn = put(gn, torch.where(better, gtn, gnc))
        mu = put(mu, torch.where(better, (muc * 0.1).clamp_min(1e-15), torch.where(actc, muc * 10.0, muc)))
        floor = put(floor, actc & (ratio > 0.1))
        far = actc & (ratio > stall_ratio) & (rnc > tol)
        stalled = put(stalled, torch.where(far, take(stalled) + 1, torch.zeros_like(cols)))
    A = J - eye
    grad = (A.transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1)
    return h, r, J, grad


def _norm(r: torch.Tensor) -> torch.Tensor:
    n = torch.linalg.vector_norm(r, dim=-1)
    return torch.where(torch.isfinite(n), n, torch.full_like(n, float("inf")))
