"""Learning curves over seeds: median and interquartile band per grid cell.

Seeds stop at different times (a member that meets its criterion is frozen,
training.BPTT), so each seed's curve is held at its last value after it stops
and read as a step function at the union of x values before the quantiles are
taken: the median at x is over every seed that had started by x, not only the
slow ones still training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._common import to_numpy
from .house import color, drawing, new_axes

CELL = "cell"
SEED = "seed"
EPOCH = "epoch"


def cell_label(row, keys: Sequence[str]) -> str:
    """``"n_hidden=2, lr=0.1"`` from a row and its grid keys (dotted keys shortened to their last part)."""
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={row[k]}" for k in keys) if keys else "all"


def _history_rows(history, **fixed) -> list[dict]:
    """Rows per epoch from a history as a dict of lists or a list of per-epoch dicts."""
    if history is None:
        return []
    if isinstance(history, dict):
        keys = [k for k, v in history.items() if isinstance(v, (list, tuple)) or hasattr(v, "__len__")]
        n = max((len(history[k]) for k in keys), default=0)
        rows = [{k: (history[k][i] if i < len(history[k]) else np.nan) for k in keys} for i in range(n)]
    else:
        rows = [dict(r) if isinstance(r, dict) else {"loss": float(r)} for r in history]
    out = []
    for i, r in enumerate(rows):
        r = {k: v for k, v in r.items() if not isinstance(v, (list, dict))}
        r.setdefault(EPOCH, i + 1)
        out.append({**fixed, **r})
    return out


def history_frame(source, grid_keys: Sequence[str] | None = None):
    """Long pandas DataFrame (one row per cell x seed x epoch) of training histories.

    ``source`` is one of:

    * the frame of ``experiments.load(run_dir)``: each row's record file
      (column ``record``) is read for its ``history``; the cell is labelled by
      ``grid_keys`` (default: the columns between ``cell_id`` and ``seed``);
    * a ``training.TrainResult`` (attribute ``history``: one history per member;
      the member index is the seed);
    * a list of histories (one per seed).

    A history is a dict of per-epoch lists (``{"loss": [...], "accuracy": [...]}``)
    or a list of per-epoch dicts. Columns: ``cell``, ``seed``, ``epoch`` and the
    history's own keys (e.g. ``loss``, ``accuracy``, ``strings_seen``).
    """
    import pandas as pd

    rows: list[dict] = []
    if isinstance(source, pd.DataFrame):
        if "record" not in source.columns:
            raise ValueError("a frame needs a 'record' column (experiments.load); columns: "
                             f"{list(source.columns)}")
        keys = list(grid_keys) if grid_keys is not None else _grid_keys(source)
        for _, row in source.iterrows():
            path = row["record"]
            if not isinstance(path, str) or not Path(path).is_file():
                continue
            rec = json.loads(Path(path).read_text())
            rows += _history_rows(rec.get("history"), **{CELL: cell_label(row, keys), SEED: int(row[SEED])})
    else:
        histories = getattr(source, "history", source)
        for i, h in enumerate(histories):
            rows += _history_rows(h, **{CELL: "all", SEED: i})
    return pd.DataFrame(rows)


def _grid_keys(frame) -> list[str]:
    cols = list(frame.columns)
    if "cell_id" in cols and SEED in cols and cols.index(SEED) > cols.index("cell_id"):
        return cols[cols.index("cell_id") + 1: cols.index(SEED)]
    return []


def quantile_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], q=(25, 50, 75)):
    """Quantiles over seeds of step-held curves: ``(x [N], values [len(q), N])``.

    Each curve ``(x_s, y_s)`` holds ``y_s`` from each x to the next, and its last
    value after its end; before its first x it is missing (NaN, not counted).
    """
    grid = np.unique(np.concatenate([to_numpy(x, float) for x, _ in curves]))
    stack = np.full((len(curves), len(grid)), np.nan)
    for i, (x, y) in enumerate(curves):
        x, y = to_numpy(x, float), to_numpy(y, float)
        order = np.argsort(x, kind="stable")
        x, y = x[order], y[order]
        pos = np.searchsorted(x, grid, side="right") - 1
        ok = pos >= 0
        stack[i, ok] = y[pos[ok]]
    with np.errstate(all="ignore"):
        vals = np.nanpercentile(stack, q, axis=0) if stack.size else np.zeros((len(q), 0))
    return grid, np.asarray(vals)


def learning_curves(data, *, y: str = "loss", x: str | None = None, by: str | Sequence[str] | None = None,
                    logy: bool | None = None, legend: bool = True, ax=None):
    """Median (line) and interquartile range (band) over seeds of ``y`` against ``x``, one line per cell.

    Args:
        data: a long DataFrame with columns ``seed``, ``x``, ``y`` and the cell
            column(s) ``by`` (e.g. from :func:`history_frame`), or anything
            :func:`history_frame` accepts.
        y: the metric (``"loss"``, ``"accuracy"``, ...).
        x: ``"strings_seen"`` when present, else ``"epoch"``.
        by: column(s) naming the cell (default ``"cell"`` when present, else one group).
        logy: log scale for y (default: for "loss"/"error" metrics, positive, spanning over a decade).
        ax: an Axes to draw on; a new house-style figure when None.
    """
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) and "record" not in data.columns else history_frame(data)
    if frame.empty:
        raise ValueError("no history to draw (empty data)")
    if x is None:
        x = "strings_seen" if "strings_seen" in frame.columns else EPOCH
    for col in (x, y, SEED):
        if col not in frame.columns:
            raise ValueError(f"column {col!r} not in the data; columns: {list(frame.columns)}")
    by = [CELL] if by is None and CELL in frame.columns else [] if by is None else \
        [by] if isinstance(by, str) else list(by)
    groups = [("all", frame)] if not by else [
        (cell_label(dict(zip(by, key if isinstance(key, tuple) else (key,))), by) if by != [CELL] else key, g)
        for key, g in frame.groupby(by if len(by) > 1 else by[0], sort=True)]
    if logy is None:  # losses spanning more than a decade read best on a log scale
        vals = frame[y].dropna()
        logy = (any(w in y.lower() for w in ("loss", "error")) and bool((vals > 0).all()) and len(vals) > 0
                and vals.max() > 10 * vals.min())
    with drawing(ax):
        fig, ax = new_axes(ax)
        for i, (label, g) in enumerate(groups):
            curves = [(s[x].to_numpy(), s[y].to_numpy()) for _, s in g.groupby(SEED, sort=True)]
            grid, (lo, med, hi) = quantile_band(curves)
            c = color(i)
            ax.fill_between(grid, lo, hi, color=c, alpha=0.25, lw=0, step="post")
            ax.step(grid, med, where="post", color=c, label=f"{label} (n={len(curves)})")
        ax.set_xlabel(x.replace("_", " "))
        ax.set_ylabel(y.replace("_", " ") + " (median, IQR)")
        if logy:
            ax.set_yscale("log")
        if legend and (len(groups) > 1 or groups[0][0] != "all"):
            ax.legend(loc="best")
    return ax
