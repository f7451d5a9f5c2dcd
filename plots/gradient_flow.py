"""Gradient norm against distance in time: vanishing and exploding gradients, SRN versus LSTM.

Pascanu, Mikolov & Bengio (2013, Fig. 1 and section 2): the norm of
dL_t/dh_tau falls (or grows) geometrically with the distance t - tau when the
Jacobian products shrink (or grow); on a log axis that is a straight line
whose slope is the log of the typical Jacobian's contraction.  Hochreiter &
Schmidhuber (1997, section 3) built the LSTM's cell so that its line stays
flat.  Draws :class:`dynrec.analysis.GradientFlow` results (read through
``by_distance(what)`` [E, D], ``members``, ``kind``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .house import color, drawing, new_axes

LINE_GID = "gradient_flow"
WHAT = {"norms": r"$\|\partial L_t / \partial h_\tau\|$",
        "radius": r"spectral radius of $\prod_k \partial h_k/\partial h_{k-1}$",
        "spectral_norm": r"$\|\prod_k \partial h_k/\partial h_{k-1}\|_2$"}


def _series(results) -> list[tuple[str, object]]:
    if isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif hasattr(results, "by_distance"):
        items = [(None, results)]
    else:
        items = [(None, r) for r in results]
    if not items:
        raise ValueError("results must hold at least one GradientFlow")
    out = []
    for i, (label, r) in enumerate(items):
        if not hasattr(r, "by_distance"):
            raise ValueError(f"results[{i}] is a {type(r).__name__}, not a GradientFlow (analysis.gradient_flow)")
        out.append((label if label is not None else str(getattr(r, "kind", f"series {i + 1}")), r))
    return out


def gradient_flow(results, *, what: str = "norms", members=None, legend: bool = True, ax=None):
    """Draw ``what`` against the distance t - tau on a log y axis, one line per member per series.

    Args:
        results: one ``GradientFlow``, a list of them, or a mapping ``{label: GradientFlow}``
            (e.g. ``{"SRN": analysis.gradient_flow(srn, s), "LSTM": analysis.gradient_flow(lstm, s)}``
            on the same strings).  Each series gets one colour; its members share it.
        what: "norms" (||dL_t/dh_tau||, default), "radius" or "spectral_norm" of the Jacobian products.
        members: positions (0..E-1 within each result) of the members to draw; None draws all.
        ax: an Axes to draw on; a new house-style figure when None.
    Each line is the geometric mean over strings and loss positions at each distance
    (``GradientFlow.by_distance``); zero and missing values are left out.
    """
    if what not in WHAT:
        raise ValueError(f"what must be one of {list(WHAT)}, got {what!r}")
    series = _series(results)
    with drawing(ax):
        fig, ax = new_axes(ax, columns=1, aspect=0.7)
        for i, (label, r) in enumerate(series):
            curve = np.asarray(r.by_distance(what), dtype=float)
            rows = range(curve.shape[0]) if members is None else list(members)
            for j, e in enumerate(rows):
                if not 0 <= e < curve.shape[0]:
                    raise ValueError(f"member position {e} out of range for series {label!r} "
                                     f"with {curve.shape[0]} members")
                d = np.nonzero(np.isfinite(curve[e]) & (curve[e] > 0))[0]
                ax.plot(d, curve[e, d], color=color(i), lw=1.0, alpha=0.85 if curve.shape[0] > 1 else 1.0,
                        label=label if j == 0 else None, gid=LINE_GID)
        ax.set_yscale("log")
        ax.set_xlabel(r"distance in time $t - \tau$")
        ax.set_ylabel(WHAT[what])
        if legend and len(series) > 1:
            ax.legend(frameon=False)
    return ax
