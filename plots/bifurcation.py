"""Eigenvalues of fixed points along a path in weight space.

Pollack (1991, Sec. 4) saw a network's induction of a language happen as a
phase transition: as the weights move during training, a fixed point changes
stability (an eigenvalue of the Jacobian crosses the unit circle) and the
attractor changes from a point to a limit cycle or a fractal. Evaluating the
fixed points' eigenvalues along a line between two weight vectors (e.g. two
checkpoints) and drawing them against the interpolation parameter locates the
transition: where a modulus crosses 1 (the dashed line).
"""

from __future__ import annotations

import numpy as np

from ._common import to_numpy
from .house import color, drawing, new_axes

PARTS = ("modulus", "real", "imag")
POINTS_GID = "eigenvalues"


def _path(path, eigenvalues):
    if eigenvalues is None and hasattr(path, "alphas") and hasattr(path, "points"):
        # analysis.WeightPath: FixedPoints whose member index is the position on the path
        alphas = to_numpy(path.alphas, float).reshape(-1)
        member = to_numpy(path.points.member).reshape(-1)
        ev = to_numpy(path.points.eigenvalues)
        return alphas, [ev[member == i] for i in range(len(alphas))]
    if eigenvalues is None:
        if not hasattr(path, "eigenvalues"):
            raise ValueError("give (alphas, eigenvalues) or an object with attributes alphas and eigenvalues")
        alphas = getattr(path, "alphas", None)
        if alphas is None:
            alphas = getattr(path, "t")
        eigenvalues = path.eigenvalues
    else:
        alphas = path
    alphas = to_numpy(alphas, float).reshape(-1)
    if isinstance(eigenvalues, np.ndarray) or hasattr(eigenvalues, "detach"):
        ev = to_numpy(eigenvalues)
        per = [ev[i].reshape(-1, ev.shape[-1]) if ev.ndim >= 2 else ev[i].reshape(1, 1) for i in range(len(ev))]
    else:
        per = [to_numpy(e).reshape(-1, np.shape(e)[-1]) if np.size(e) else np.zeros((0, 1)) for e in eigenvalues]
    if len(per) != len(alphas):
        raise ValueError(f"{len(alphas)} path positions but eigenvalues for {len(per)}")
    return alphas, per


def bifurcation(path, eigenvalues=None, *, part: str = "modulus", legend: bool = True, ax=None):
    """Draw every fixed point's eigenvalues against the position along a weight path; return the Axes.

    Args:
        path: positions ``alphas [P]`` along the path (0 at the first weight
            vector, 1 at the second); or an ``analysis.weight_path`` result
            (attributes read: ``alphas``, ``points.member`` = position index,
            ``points.eigenvalues``).
        eigenvalues: per position, the eigenvalues of each fixed point found
            there, ``[K_p, S]`` (K_p may differ between positions; NaN rows are skipped).
        part: ``"modulus"`` (|lambda|, unit line at 1), ``"real"`` (lines at +-1)
            or ``"imag"``.
        ax: an Axes to draw on; a new house-style figure when None.

    Points are coloured by rank of modulus within their fixed point
    (dominant eigenvalue first).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    alphas, per = _path(path, eigenvalues)
    S = max((e.shape[1] for e in per if e.size), default=1)
    xs = [[] for _ in range(S)]
    ys = [[] for _ in range(S)]
    for a, ev in zip(alphas, per):
        for row in ev:
            row = np.asarray(row)
            if not np.all(np.isfinite(row)):
                continue
            order = np.argsort(-np.abs(row), kind="stable")
            for rank, i in enumerate(order):
                lam = row[i]
                y = abs(lam) if part == "modulus" else np.real(lam) if part == "real" else np.imag(lam)
                xs[rank].append(a)
                ys[rank].append(float(y))
    with drawing(ax):
        fig, ax = new_axes(ax)
        if part == "modulus":
            ax.axhline(1.0, color="0.4", ls="--", lw=0.8, zorder=0)
        elif part == "real":
            for y in (-1.0, 1.0):
                ax.axhline(y, color="0.4", ls="--", lw=0.8, zorder=0)
        for rank in range(S):
            if xs[rank]:
                ax.scatter(xs[rank], ys[rank], s=8, color=color(rank), edgecolors="none", zorder=3,
                           label=r"$\lambda_{%d}$" % (rank + 1), gid=POINTS_GID)
        ax.set_xlabel(r"position along the weight path $\alpha$")
        ax.set_ylabel({"modulus": r"$|\lambda|$", "real": r"Re $\lambda$", "imag": r"Im $\lambda$"}[part])
        if legend and S > 1:
            ax.legend(loc="best")
    return ax
