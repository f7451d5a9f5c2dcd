"""Output activations or prediction error along a sequence.

Elman (1990, Fig. 3): the error of an SRN predicting the next bit of the
temporal-XOR stream falls every third bit, where the next bit is determined;
Wiles & Elman (1995, Fig. 2) and Gers & Schmidhuber (2001): the activation of
each output unit along a^n b^n, against the legal next symbols.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import to_numpy
from .house import color, drawing, new_axes

KINDS = ("activations", "error")
LINE_GID = "outputs"


def outputs_over_time(values, *, inputs: str | Sequence[str] | None = None,
                      output_symbols: Sequence[str] | None = None, targets=None, kind: str = "activations",
                      period: int | None = None, legend: bool = True, ax=None):
    """Draw output activations ``[T,O]`` (or an error ``[T]``) against the step; return the Axes.

    Args:
        values: ``[T]`` or ``[T,O]`` (numpy or torch); step t is the output
            after reading input t (the prediction of symbol t+1).
        inputs: the input symbol at each step (a string of length T), shown
            as tick labels under the steps.
        output_symbols: names of the O output units (legend: "output a", ...).
        targets: ``[T,O]`` targets (e.g. ``Batch.legal`` multi-hot legal next
            symbols), drawn as open circles in each unit's colour.
        kind: ``"activations"`` or ``"error"`` (only the y label differs).
        period: draw a faint vertical line every ``period`` steps (3 for temporal XOR).
        ax: an Axes to draw on; a new house-style figure when None.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    v = to_numpy(values, float)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"values must be [T] or [T,O] with T >= 1, got shape {to_numpy(values).shape}")
    T, O = v.shape
    if inputs is not None and len(inputs) != T:
        raise ValueError(f"inputs has {len(inputs)} symbols but values has {T} steps")
    if output_symbols is not None and len(output_symbols) != O:
        raise ValueError(f"output_symbols names {len(output_symbols)} units but values has {O}")
    tg = None
    if targets is not None:
        tg = to_numpy(targets, float)
        tg = tg[:, None] if tg.ndim == 1 else tg
        if tg.shape != v.shape:
            raise ValueError(f"targets must have the shape of values {v.shape}, got {tg.shape}")
    if period is not None and not (isinstance(period, (int, np.integer)) and period >= 1):
        raise ValueError(f"period must be an int >= 1, got {period!r}")
    steps = np.arange(1, T + 1)
    with drawing(ax):
        fig, ax = new_axes(ax, columns=1, aspect=0.6)
        if period:
            for t in range(period, T + 1, period):
                ax.axvline(t, color="0.85", lw=0.6, zorder=0)
        for o in range(O):
            c = color(o) if O > 1 else "k"
            name = None if O == 1 else f"output {output_symbols[o]}" if output_symbols else f"unit {o + 1}"
            ax.plot(steps, v[:, o], marker="o", ms=3, color=c, label=name, gid=LINE_GID)
            if tg is not None:
                ax.scatter(steps, tg[:, o], s=22, facecolors="none", edgecolors=c, lw=0.8, zorder=4)
        if tg is not None:
            import matplotlib.lines as mlines

            handles, _ = ax.get_legend_handles_labels()
            handles.append(mlines.Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", label="target"))
        else:
            handles = ax.get_legend_handles_labels()[0]
        if inputs is not None:
            ax.set_xticks(steps, list(inputs))
            ax.set_xlabel("input symbol (step)")
        else:
            ax.set_xlabel("step")
        ax.set_ylabel("output activation" if kind == "activations" else "error")
        if legend and handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax
