"""`find_fixed_points`: every fixed point of F_x(h) = net.step(h, x), all members at once.

With the input held at one symbol x, a recurrent network is an autonomous map
F_x on its state space; its fixed points and their linearisation explain how
it counts and remembers (Wiles & Elman 1995; Rodriguez, Wiles & Elman 1999;
Sussillo & Barak 2013). The finder

1. collects starts — the states visited from ``net.initial_state`` over every
   string up to ``explore_len``, the orbit of F_x from h0, the states along
   ``strings`` (if given), explicit ``starts``, and ``n_random`` states drawn
   uniformly in ``state_range`` — one ``[E, B, S]`` tensor for all members;
2. runs Levenberg–Marquardt/Newton on F(h) - h in float64 (a converted copy of
   the network) with Jacobians from autograd through ``net.step``
   (`dynrec.analysis.newton`);
3. keeps points with |F(h) - h| <= tol, merges duplicates closer than
   ``dedupe_tol`` per member, reports the starts that converged to nothing;
4. linearises: eigenvalues/eigenvectors of dF/dh at each point, labels.

Periodic points (Pollack 1991's limit cycles) are fixed points of a composed
map: ``symbol="ab"`` is F_b∘F_a, and ``period=k`` repeats the word k times
(F_x^k). Each point of a k-cycle is returned (they are distinct fixed points of
the composed map); ``minimal_period`` says how many repetitions of the word
really close the orbit.
"""

from __future__ import annotations

import numpy as np
import torch

from . import newton
from ._common import analysis_copy, compose, encode_strings, input_word, run_states, word_label
from .points import FixedPoints, classify


def _as_generator(seed) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        return torch.Generator().manual_seed(int(seed.integers(2**62)))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return torch.Generator().manual_seed(int(seed))
    raise ValueError(f"seed must be an int, a numpy Generator or a torch.Generator, got {seed!r}")


@torch.no_grad()
def explored_states(net, explore_len: int, dtype=torch.float64) -> torch.Tensor:
    """States ``[E, N, S]`` reached from h0 by every input word (one-hot symbols) of length <= explore_len."""
    h = net.initial_state(1).to(dtype)
    E, _, S = h.shape
    eye = torch.eye(int(net.n_in), dtype=dtype)
    levels = [h]
    for _ in range(explore_len):
        B = h.shape[1]
        hh = h.repeat_interleave(eye.shape[0], dim=1)
        xx = eye.repeat(B, 1).expand(E, -1, -1)
        h = net.step(hh, xx)
        levels.append(h)
    return torch.cat(levels, dim=1)


@torch.no_grad()
def _collect_starts(net, f, strings, starts, n_random, explore_len, orbit_len, state_range, gen, alphabet):
    E = int(net.ensemble)
    dtype = torch.float64
    parts = [explored_states(net, explore_len)]
    S = parts[0].shape[-1]
    h = net.initial_state(1).to(dtype)
    for _ in range(orbit_len):
        h = f(h)
        parts.append(h)
    if strings is not None:
        x, lengths = encode_strings(net, strings, alphabet)
        st = run_states(net, x, lengths)  # [E, B, T+1, S]
        valid = (torch.arange(st.shape[2])[None, :] <= lengths[:, None])
        parts.append(st[:, valid])
    if starts is not None:
        s = torch.as_tensor(np.asarray(starts) if not isinstance(starts, torch.Tensor) else starts).to(dtype)
        if s.dim() == 2:
            s = s.expand(E, -1, -1)
        if s.dim() != 3 or s.shape[0] != E or s.shape[2] != S:
            raise ValueError(f"starts must have shape [B, S] or [E, B, S] with E={E}, S={S}; got {tuple(s.shape)}")
        parts.append(s)
    visited = torch.cat(parts, dim=1)
    if n_random:
        if state_range is None:
            finite = torch.where(torch.isfinite(visited), visited, torch.zeros_like(visited))
            lo = torch.minimum(finite.amin(dim=(0, 1)), torch.full((S,), -1.0, dtype=dtype))
            hi = torch.maximum(finite.amax(dim=(0, 1)), torch.full((S,), 1.0, dtype=dtype))
        else:
            try:
                lo, hi = (torch.as_tensor(v, dtype=dtype).expand(S) for v in state_range)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(f"state_range must be (low, high) scalars or length-{S} vectors, got {state_range!r}") from None
            if bool((hi <= lo).any()):
                raise ValueError(f"state_range needs low < high, got {state_range!r}")
        u = torch.rand(E, n_random, S, generator=gen, dtype=dtype)
        visited = torch.cat([visited, lo + (hi - lo) * u], dim=1)
    return visited


def _dedupe(h: torch.Tensor, ok: torch.Tensor, tol: float, radius: torch.Tensor, rank: torch.Tensor,
            chunk: int = 2_000_000) -> torch.Tensor:
    """``keep [E, B]``: one ok row per cluster of each member, the one of lowest ``rank``.

    Rows i, j of a member are one point when ``|h_i - h_j| < max(tol, radius_i, radius_j)``;
    ``radius`` is each row's own uncertainty (the length of one more Newton step, large
    near degenerate roots such as a pitchfork, where converged starts spread out).
    """
    E, B, _ = h.shape
    order = torch.argsort(torch.where(ok, rank, torch.full_like(rank, float("inf"))), dim=1, stable=True)
    hs_all = torch.gather(h, 1, order[..., None].expand_as(h))
    ok_all, rad_all = torch.gather(ok, 1, order), torch.gather(radius.clamp_min(tol), 1, order)
    keep_sorted = torch.zeros_like(ok)
    n_ok = int(ok.sum(dim=1).max()) if ok.numel() else 0  # ok rows come first after the sort
    hs_all, ok_all, rad_all, B = hs_all[:, :n_ok], ok_all[:, :n_ok], rad_all[:, :n_ok], n_ok
    per = max(1, chunk // max(1, B * B))
    earlier = torch.ones(B, B, dtype=torch.bool).tril(-1)  # [j, i]: i < j
    for e0 in range(0, E, per):
        hs, oks, rad = hs_all[e0:e0 + per], ok_all[e0:e0 + per], rad_all[e0:e0 + per]
        hs = torch.where(oks[..., None], hs, torch.zeros_like(hs))
        close = torch.cdist(hs, hs) < torch.maximum(rad[:, :, None], rad[:, None, :])  # [e, j, i]
        dup = (close & earlier & oks[:, None, :]).any(dim=-1)
        keep_sorted[e0:e0 + per, :B] = oks & ~dup
    return torch.zeros_like(ok).scatter(1, order, keep_sorted)


def find_fixed_points(net, symbol, member=None, *, period: int = 1, n_random: int = 64, starts=None,
                      strings=None, explore_len: int = 4, orbit_len: int = 16, state_range=None,
                      tol: float = 1e-10, dedupe_tol: float = 1e-6, max_iter: int = 60,
                      slow_points: bool = False, slow_grad_tol: float = 1e-8, max_q: float | None = None,
                      marginal_tol: float = 1e-8, seed=0, alphabet=None, dtype=torch.float64) -> FixedPoints:
    """Fixed points of ``F_x(h) = net.step(h, x)`` (or of a composed map) for the chosen members.

    Args:
        net: an ensemble network obeying the models contract (any kind).
        symbol: the input held fixed — an index, a symbol of ``net.alphabet`` (or
            ``alphabet``), a word (``"ab"`` = F_b∘F_a; a list of indices), or an explicit
            input vector ``[I]`` / word of vectors ``[K, I]``.
        member: None (every member, batched), an int, or a list of ints.
        period: repeat the word this many times (``period=2`` finds 2-cycles of F_x).
        n_random: random starts per member, uniform in ``state_range``.
        starts: extra starts ``[B, S]`` (shared) or ``[E, B, S]`` (per selected member).
        strings: strings whose visited states are added as starts.
        explore_len: all input words up to this length from h0 give starts.
        orbit_len: steps of the composed map from h0 added as starts.
        state_range: ``(low, high)`` box for random starts; default: the box spanning
            [-1, 1] and every visited state.
        tol: a point is kept when |F(h*) - h*| <= tol (2-norm, in ``dtype``).
        dedupe_tol: points of one member closer than this are one point.
        slow_points: also return slow points (Sussillo & Barak 2013): stalled starts with
            |∇q| <= slow_grad_tol and |F(h)-h| > tol (and q <= max_q when given).
        seed: int / numpy Generator / torch.Generator for the random starts.
        dtype: computation dtype (float64 by default; a converted copy of ``net``).

    Returns:
        `FixedPoints`; ``member`` holds indices into the original ensemble.
    """
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period must be an int >= 1, got {period!r}")
    for name, v in (("n_random", n_random), ("explore_len", explore_len), ("orbit_len", orbit_len),
                    ("max_iter", max_iter)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be an int >= 0, got {v!r}")
    if not tol > 0 or not dedupe_tol > 0:
        raise ValueError(f"tol and dedupe_tol must be > 0, got tol={tol!r}, dedupe_tol={dedupe_tol!r}")
    gen = _as_generator(seed)
    sub, idx = analysis_copy(net, member, dtype)
    word = input_word(sub, symbol, alphabet, dtype)
    label = word_label(sub, symbol, alphabet)
    f = compose(sub, word.repeat(int(period), 1))

    h0 = _collect_starts(sub, f, strings, starts, n_random, explore_len, orbit_len, state_range, gen, alphabet)
    if slow_points:  # let minima of q converge (linearly) instead of dropping slow movers
        h, r, J, grad = newton.solve(f, h0, tol=tol, max_iter=max(max_iter, 300), stall_ratio=1 - 1e-12,
                                     grad_tol=slow_grad_tol * 1e-3)
    else:
        h, r, J, grad = newton.solve(f, h0, tol=tol, max_iter=max_iter)
    rn = torch.linalg.vector_norm(r, dim=-1)
    finite = torch.isfinite(h).all(-1) & torch.isfinite(rn)
    fixed = finite & (rn <= tol)
    slow = torch.zeros_like(fixed)
    if slow_points:
        slow = finite & ~fixed & (torch.linalg.vector_norm(grad, dim=-1) <= slow_grad_tol)
        if max_q is not None:
            slow &= 0.5 * rn**2 <= max_q
    n_dropped = (~(fixed | slow)).sum(dim=1)
    S = h.shape[-1]
    A = J - torch.eye(S, dtype=J.dtype)
    nstep, _ = torch.linalg.solve_ex(A, r.unsqueeze(-1))
    radius = 10 * torch.nan_to_num(torch.linalg.vector_norm(nstep.squeeze(-1), dim=-1), nan=0.0, posinf=0.0)
    kind_slow = _dedupe(h, slow, dedupe_tol, torch.zeros_like(rn), rn)
    keep = _dedupe(h, fixed, dedupe_tol, radius, rn) | kind_slow

    e_idx, b_idx = torch.nonzero(keep, as_tuple=True)
    states = h[e_idx, b_idx]
    jac = J[e_idx, b_idx]
    if states.shape[0]:
        ev, evec = torch.linalg.eig(jac)
        order = torch.argsort(ev.abs(), dim=-1, descending=True)
        ev = torch.gather(ev, -1, order)
        evec = torch.gather(evec, -1, order[:, None, :].expand_as(evec))
    else:
        S = h.shape[-1]
        ev = torch.zeros(0, S, dtype=torch.complex128)
        evec = torch.zeros(0, S, S, dtype=torch.complex128)
    eigenvalues = ev.numpy().astype(np.complex128)
    stability, dominant = classify(eigenvalues, marginal_tol)
    minimal = _minimal_period(sub, word, int(period), e_idx, states, tol=max(dedupe_tol, 1e-8))
    kind = np.where(kind_slow[e_idx, b_idx].numpy(), "slow", "fixed").astype("<U5")
    members = np.asarray(idx)
    return FixedPoints(
        member=members[e_idx.numpy()], states=states.numpy().astype(np.float64),
        residuals=rn[e_idx, b_idx].numpy().astype(np.float64), jacobians=jac.numpy().astype(np.float64),
        eigenvalues=eigenvalues, eigenvectors=evec.numpy().astype(np.complex128),
        stability=stability, dominant=dominant, kind=kind, minimal_period=minimal,
        members=members, n_starts=int(h0.shape[1]), n_dropped=n_dropped.numpy(), word=label, period=int(period),
        meta={"tol": tol, "dedupe_tol": dedupe_tol, "dtype": str(dtype)})


@torch.no_grad()
def _minimal_period(net, word, period, e_idx, states, tol):
    """Smallest d | period with (F_word)^d(h) == h (within tol), per point; ``[N]`` ints."""
    N = states.shape[0]
    out = np.full(N, period, dtype=np.int64)
    if period == 1 or N == 0:
        return np.ones(N, dtype=np.int64) if period == 1 else out
    h_ebs, slot = _scatter(states, e_idx, int(net.ensemble))
    for d in sorted(d for d in range(1, period) if period % d == 0):
        g = compose(net, word.repeat(d, 1))(h_ebs)
        back = torch.linalg.vector_norm(g - h_ebs, dim=-1)[e_idx, slot].numpy()
        out = np.where((back <= tol) & (out == period), d, out)
    return out


def _scatter(states, e_idx, E):
    """Pack points ``[N, S]`` of members ``e_idx`` into ``[E, Bmax, S]`` (zeros elsewhere) and their slots."""
    N, S = states.shape
    counts = torch.bincount(e_idx, minlength=E)
    Bmax = int(counts.max()) if N else 0
    start = torch.cumsum(counts, 0) - counts
    order = torch.argsort(e_idx, stable=True)
    slot = torch.empty(N, dtype=torch.long)
    slot[order] = torch.arange(N) - start[e_idx[order]]
    out = torch.zeros(E, max(Bmax, 1), S, dtype=states.dtype)
    out[e_idx, slot] = states
    return out, slot
