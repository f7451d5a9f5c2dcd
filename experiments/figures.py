"""The figures of the paper reproductions, drawn from a finished run.

Each maker takes ``(frame, ctx, folder)`` — the run's ``experiments.load``
frame, a context dict (``run_dir``, ``preset``, ``task``, and whatever the
measures left there) and the output folder — and returns ``[(caption, path)]``
of the PNG files it wrote (a PDF twin is written beside each). The network
shown is the best seed by generalization depth, ties broken by the lowest
seed, so the choice is reproducible and stated in the caption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["FIGURES"]


def _best(frame, metric: str = "generalization_depth"):
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        raise ValueError("no successfully trained seed to draw")
    if metric in ok.columns and ok[metric].notna().any():
        top = ok[metric].astype(float).max()
        return ok[ok[metric].astype(float) == top].sort_values("seed").iloc[0]
    return ok.sort_values("seed").iloc[0]


def _which(frame, row) -> str:
    """'seed 3' or, for a grid, 'seed 3 of grammar.name = tomita4' (the grid columns of the frame
    sit between cell_id and seed)."""
    cols = list(frame.columns)
    grid = cols[cols.index("cell_id") + 1:cols.index("seed")]
    where = ", ".join(f"{k} = {row[k]}" for k in grid)
    return f"seed {int(row['seed'])}" + (f" of {where}" if where else "")


def _task_of(ctx, row):
    """The task of the grid cell that ``row`` belongs to (cells may differ in grammar or task)."""
    from dynrec import experiments
    from dynrec.experiments.worker import build_task

    exp = experiments.load_config(Path(ctx["run_dir"]) / "config.toml")
    cell = next(c for c in exp.cells() if c.id == row["cell_id"])
    return build_task(cell.spec())[1]


def _save(fig, folder: Path, stem: str) -> Path:
    from dynrec import plots

    paths = plots.savefig(fig, folder / stem, formats=("png", "pdf"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return next(p for p in paths if p.suffix == ".png")


def _counting_string(task, n: int) -> str:
    lang = task.language
    k = len(lang.alphabet)
    return "".join(c * n for c in lang.alphabet[:k])


def state_space_best(frame, ctx, folder):
    """Trajectory of a^n b^n (c^n) through the best network's state space, with the fixed points
    of each input's map and their eigenvectors (Wiles & Elman 1995; Rodriguez et al. 1999;
    Chalup & Blair 2003)."""
    from dynrec import analysis, models, plots

    row = _best(frame)
    net = models.load(row["checkpoint"])
    task = _task_of(ctx, row)
    if net.alphabet is None:
        net.alphabet = tuple(task.input_symbols)
    depth = row.get("generalization_depth")
    n = int(min(max(depth if depth == depth and depth else 4, 3), 10))
    s = _counting_string(task, n)
    traj = analysis.trajectories(net, s, member=0)
    fps = {sym: analysis.find_fixed_points(net, sym, member=0) for sym in task.language.alphabet}
    ax = plots.state_space(traj, fixed_points=fps, member=0,
                           title=f"seed {int(row['seed'])}: {s[:2]}…, n = {n}")
    path = _save(ax.figure, folder, "state_space")
    return [(f"Hidden-state trajectory of {task.language.alphabet[0]}^{n}"
             f"{task.language.alphabet[1]}^{n}… in the best network ({_which(frame, row)}, "
             f"generalization depth {depth}); fixed points of each input's map with eigenvectors.",
             path)]


def _hashable_grid(frame):
    """Grid values that are lists or tables (e.g. curriculum stages) as short labels, so the
    cells can be grouped and named."""
    import json

    cols = list(frame.columns)
    frame = frame.copy()
    for k in cols[cols.index("cell_id") + 1:cols.index("seed")]:
        if frame[k].map(lambda v: isinstance(v, (list, dict))).any():
            def label(v):
                text = json.dumps(v, separators=(",", ":"))
                if len(text) <= 16:
                    return text
                return f"{len(v)} entries" if isinstance(v, list) else text[:13] + "…"

            frame[k] = frame[k].map(label)
    return frame


def generalization(frame, ctx, folder):
    """Generalization depth of every seed, the training range marked."""
    from dynrec import plots

    task = ctx["task"]
    rng = getattr(task, "n_range", None)
    ax = plots.generalization(_hashable_grid(frame), train_range=tuple(rng) if rng else None)
    return [("Generalization depth per seed (every seed run is shown); band: training range.",
             _save(ax.figure, folder, "generalization"))]


def learning_curves(frame, ctx, folder):
    """Training loss against strings seen: median and interquartile band over seeds."""
    from dynrec import plots

    ax = plots.learning_curves(frame, y="loss")
    return [("Training loss: median and interquartile band over seeds.",
             _save(ax.figure, folder, "learning_curves"))]


def stream_error(frame, ctx, folder):
    """Elman (1990) figures 2-3: squared error along the first steps of a fresh stream."""
    from dynrec import plots

    if "stream_errors" not in ctx:
        raise ValueError("stream_error needs the stream_error_ratio measure to run first")
    batch, errs = ctx["stream_errors"]
    T = min(36, len(errs[0]))
    mean_err = np.mean([e[:T] for e in errs], axis=0)
    stream = batch.strings[0]
    period = 3 if set(stream) <= {"0", "1"} else None
    ax = plots.outputs_over_time(mean_err, inputs=stream[:T], kind="error", period=period)
    return [(f"Squared prediction error along the first {T} steps of a fresh stream, "
             f"averaged over {len(errs)} seeds; x: the input read at each step.",
             _save(ax.figure, folder, "stream_error"))]


def dfa_best(frame, ctx, folder):
    """The automaton extracted from the best network (Giles et al. 1992), drawn as a graph."""
    from dynrec import analysis, models, plots

    metric = "generalization_depth" if "generalization_depth" in frame.columns else "test_accuracy"
    row = _best(frame, metric)
    net = models.load(row["checkpoint"])
    dfa = analysis.extract_dfa(net, _task_of(ctx, row), member=0).minimise()
    ax = plots.dfa(dfa)
    return [(f"Minimised automaton extracted from the best network ({_which(frame, row)}; "
             f"{dfa.n_states} states).", _save(ax.figure, folder, "dfa"))]


FIGURES = {
    "state_space": state_space_best,
    "generalization": generalization,
    "learning_curves": learning_curves,
    "stream_error": stream_error,
    "dfa": dfa_best,
}
