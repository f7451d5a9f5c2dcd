"""Generalization depth over seeds, per grid cell, with the training range marked.

The measure of Wiles & Elman (1995), Rodriguez, Wiles & Elman (1999, Table 1)
and Gers & Schmidhuber (2001, Table 2): the largest N such that every string
a^n b^n (c^n) with n <= N is predicted right. A network generalizes when its
depth exceeds the largest n it was trained on -- the band drawn here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .house import color, drawing, new_axes
from .learning_curves import _grid_keys, cell_label

POINTS_GID = "depths"
KINDS = ("strip", "hist")


def generalization(data, *, depth: str = "generalization_depth", by: str | Sequence[str] | None = None,
                   train_range: tuple[float, float] | None = None, kind: str = "strip", seed: int = 0,
                   ax=None):
    """Distribution of generalization depth over seeds per cell; return the Axes.

    Args:
        data: a DataFrame with one row per (cell, seed), e.g. ``experiments.load(run_dir)``;
            or a mapping ``{cell label: depths}``; or one sequence of depths.
        depth: the column holding the depth.
        by: the column(s) naming the cell (default: the grid keys of an
            ``experiments.load`` frame, i.e. the columns between ``cell_id`` and ``seed``).
        train_range: ``(n_min, n_max)`` of the training strings, drawn as a band.
        kind: ``"strip"`` (cells along x, one jittered dot per seed, median bar)
            or ``"hist"`` (one step histogram per cell).
        seed: seed of the horizontal jitter (numpy Generator), so files are reproducible.
        ax: an Axes to draw on; a new house-style figure when None.
    """
    import pandas as pd

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if isinstance(data, pd.DataFrame):
        if depth not in data.columns:
            raise ValueError(f"column {depth!r} not in the data; columns: {list(data.columns)}")
        keys = _grid_keys(data) if by is None else [by] if isinstance(by, str) else list(by)
        if keys:
            groups = [(cell_label(dict(zip(keys, k if isinstance(k, tuple) else (k,))), keys),
                       g[depth].to_numpy(float))
                      for k, g in data.groupby(keys if len(keys) > 1 else keys[0], sort=True)]
        else:
            groups = [("all", data[depth].to_numpy(float))]
    elif isinstance(data, dict):
        groups = [(str(k), np.asarray(v, float).reshape(-1)) for k, v in data.items()]
    else:
        groups = [("all", np.asarray(data, float).reshape(-1))]
    if not groups:
        raise ValueError("no depths to draw (empty data)")
    rng = np.random.default_rng(seed)
    with drawing(ax):
        fig, ax = new_axes(ax)
        if kind == "strip":
            for i, (label, d) in enumerate(groups):
                d = d[np.isfinite(d)]
                jitter = rng.uniform(-0.18, 0.18, size=len(d))
                ax.scatter(i + jitter, d, s=10, color=color(i), alpha=0.8, edgecolors="none", zorder=3,
                           gid=POINTS_GID)
                if len(d):
                    ax.hlines(np.median(d), i - 0.3, i + 0.3, color="k", lw=1.5, zorder=4)
            ax.set_xticks(range(len(groups)), [g[0] for g in groups],
                          rotation=30 if len(groups) > 3 else 0, ha="right" if len(groups) > 3 else "center")
            ax.set_xlim(-0.6, len(groups) - 0.4)
            ax.set_ylabel("generalization depth $N$")
            if train_range is not None:
                import matplotlib.transforms as mtransforms

                ax.axhspan(*train_range, color="0.88", zorder=0, lw=0, gid="training-range")
                ax.text(0.99, max(train_range), "training range", ha="right", va="top", fontsize=6, color="0.3",
                        transform=mtransforms.blended_transform_factory(ax.transAxes, ax.transData))
            if len(groups) == 1 and groups[0][0] == "all":
                ax.set_xticks([])
            ax.set_xlabel("cell" if len(groups) > 1 or groups[0][0] != "all" else f"{len(groups[0][1])} seeds")
        else:
            finite = np.concatenate([d[np.isfinite(d)] for _, d in groups])
            top = int(finite.max()) if finite.size else 1
            bins = np.arange(-0.5, top + 1.5, 1.0)
            for i, (label, d) in enumerate(groups):
                ax.hist(d[np.isfinite(d)], bins=bins, histtype="step", color=color(i), lw=1.2, label=label)
            if train_range is not None:
                ax.axvspan(*train_range, color="0.88", zorder=0, lw=0, label="training range")
            ax.set_xlabel("generalization depth $N$")
            ax.set_ylabel("seeds")
            ax.legend(loc="best")
    return ax
