"""Measures of `dynrec reproduce` that open the trained networks or the full records.

The measures of :mod:`dynrec.experiments.reproduce` read the results frame; the
ones here load every chosen seed's checkpoint (``checkpoint`` column) or its
record file (``record`` column: training history, list-valued analysis) and
compute the paper's quantity afresh, on data drawn from a fixed seed. Each
returns ``(value, detail)`` like the others: ``value`` None when the run cannot
give the number (no seed qualifies), ``detail`` saying what was counted.
Which seeds count is always stated (``among_success`` restricts to the
successful ones, by the preset's own criterion); none is dropped silently.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["NET_MEASURES"]


# ------------------------------------------------------------------ helpers
def _select(frame, cell=None, among_success=None):
    """Finished seeds of ``cell`` (optionally only the successful ones), trained networks only."""
    from dynrec.experiments.reproduce import _rows, _success_mask

    rows = _rows(frame, cell)
    if among_success:
        rows = rows[_success_mask(rows, **among_success)]
    return rows[rows["status"] == "ok"]


def _which(cell, among_success) -> str:
    out = [f"cell {cell}"] if cell else []
    if among_success:
        out.append(f"{among_success['metric']} >= {among_success['at_least']:g}")
    return " (" + ", ".join(out) + ")" if out else ""


def _load(path, task=None):
    """The one-member network saved at ``path``, its input alphabet set from ``task`` if missing."""
    from dynrec import models

    net = models.load(path)
    if getattr(net, "alphabet", None) is None and task is not None:
        net.alphabet = tuple(task.input_symbols)
    return net


def _rounded(values) -> list:
    return np.round(np.asarray(values, dtype=np.float64), 3).tolist()


def _record(path) -> dict:
    return json.loads(Path(path).read_text())


def _cell_spec(ctx, cell_id: str):
    """(spec, task) of a grid cell (cells may differ in grammar), cached in ``ctx``."""
    from dynrec import experiments
    from dynrec.experiments.worker import build_task

    cache = ctx.setdefault("_cells", {})
    if cell_id not in cache:
        exp = experiments.load_config(Path(ctx["run_dir"]) / "config.toml")
        spec = next(c for c in exp.cells() if c.id == cell_id).spec()
        cache[cell_id] = (spec, build_task(spec)[1])
    return cache[cell_id]


def _paper(ctx) -> dict:
    from dynrec.experiments import presets

    return ctx.get("paper") or presets.published(ctx["preset"]["paper"])


# ------------------------------------------------------- streams (Elman 1990)
def _stream(task, length: int, seed: int):
    """One fresh stream of at least ``length`` symbols (strings of ``task`` concatenated)."""
    rng = np.random.default_rng(seed)
    strings = []
    while sum(map(len, strings)) < length:
        strings += task.sample(rng, 64)
    return task.encode(strings)


def _stream_run(path, task, batch):
    """(squashed outputs ``[T, O]``, hidden states ``[T, S]``, valid-step mask ``[T]``) of one
    checkpoint on the stream: the outputs the 1990 SSE setting compares with the targets."""
    import torch

    from dynrec.training.losses import squash
    from dynrec.training.metrics import activation_of

    net = _load(path, task)
    with torch.no_grad():
        logits, states = net(batch.inputs.to(next(net.parameters()).dtype))
        out = squash(logits, activation_of(net))[0, 0]
    return out, states[0, 0], batch.mask[0]


def _step_errors(out, mask, batch, task) -> np.ndarray:
    """Squared error of the outputs ``[T, O]`` against the one-hot next symbol, summed over the
    outputs, at each valid step."""
    import torch

    onehot = torch.nn.functional.one_hot(batch.targets[0].clamp(min=0), task.n_out).to(out.dtype)
    return ((out - onehot) ** 2).sum(-1)[mask].numpy()


def _stream_errors(frame, ctx, length, seed, cell):
    """Per trained seed: ``_step_errors`` along one fresh stream, and the deterministic-step mask.
    Leaves ``ctx["stream_errors"]`` for the stream figure."""
    rows = _select(frame, cell)
    task = ctx["task"]
    batch = _stream(task, length, seed)
    errs, det = [], batch.deterministic[0][batch.mask[0]].numpy()
    for path in rows["checkpoint"]:
        out, _, mask = _stream_run(path, task, batch)
        errs.append(_step_errors(out, mask, batch, task))
    if errs:
        ctx["stream_errors"] = (batch, errs)
    return errs, det, batch


def measure_stream_error_ratio(frame, ctx, length: int = 3000, seed: int = 12345, cell: dict | None = None,
                               which: str = "ratio"):
    """Elman (1990): mean squared error at deterministic positions / at the others, on a fresh stream.

    ``which="ratio"`` (default) gives that ratio; ``"predictable"`` and
    ``"unpredictable"`` give the mean error at those positions alone.

    Computed for every seed's checkpoint on the same fresh stream of ``length``
    symbols; the median over seeds is returned (small ratio: only the
    predictable symbols are learnt). The error is that of the squashed outputs
    (sigmoid for the 1990 SSE setting) against the one-hot next symbol, summed
    over output units, as in Elman's figures.
    """
    if which not in ("ratio", "predictable", "unpredictable"):
        raise ValueError(f"which must be 'ratio', 'predictable' or 'unpredictable', got {which!r}")
    errs, det, _ = _stream_errors(frame, ctx, length, seed, cell)
    if not errs:
        return None, "no trained network"
    values = [{"ratio": e[det].mean() / e[~det].mean(), "predictable": e[det].mean(),
               "unpredictable": e[~det].mean()}[which] for e in errs]
    return float(np.median(values)), f"median over {len(values)} seeds; per seed: {_rounded(values)}"


def run_correlations(bits, states) -> list[float]:
    """Per unit: correlation of its activation (``states [T, S]``, after reading ``bits[t]``) with
    'the last three bits are a run' (000, 111: 1) against 'an alternation' (010, 101: 0);
    other steps are left out. A constant unit gets 0."""
    bits = np.asarray(bits)
    same = bits[1:] == bits[:-1]
    run = np.zeros(len(bits), dtype=bool)
    alt = np.zeros(len(bits), dtype=bool)
    run[2:], alt[2:] = same[1:] & same[:-1], ~same[1:] & ~same[:-1]
    label = run[run | alt].astype(float)
    h = np.asarray(states)[run | alt]
    return [float(np.corrcoef(h[:, j], label)[0, 1]) if h[:, j].std() > 0 else 0.0 for j in range(h.shape[1])]


def measure_unit_roles(frame, ctx, threshold: float = 0.3, learnt_ratio: float = 0.5, length: int = 3000,
                       seed: int = 12345, cell: dict | None = None):
    """Elman (1990), temporal XOR: fraction of the networks that learnt the task in which one hidden
    unit tracks runs of identical bits and another alternation.

    On a fresh stream, every step whose last three input bits are a run (000,
    111) or an alternation (010, 101) is labelled 1 or 0; each unit's
    activation there is correlated with the label (point-biserial r). A
    network separates the roles when some unit has ``r >= threshold`` (high on
    runs) and another ``r <= -threshold`` (high on alternation). Only networks
    that learnt the task count (error ratio predictable/unpredictable below
    ``learnt_ratio`` on the same stream, the paper's "trained net").
    """
    rows = _select(frame, cell)
    task = ctx["task"]
    batch = _stream(task, length, seed)
    mask = batch.mask[0]
    bits = batch.inputs[0].argmax(-1)[mask].numpy()
    det = batch.deterministic[0][mask].numpy()
    separated, per_seed, n_learnt = 0, [], 0
    for path in rows["checkpoint"]:
        out, states, m = _stream_run(path, task, batch)
        err = _step_errors(out, m, batch, task)
        if not err[det].mean() / err[~det].mean() < learnt_ratio:
            per_seed.append("not learnt")
            continue
        n_learnt += 1
        r = run_correlations(bits, states[m].numpy())
        per_seed.append(_rounded(r))
        separated += int(max(r) >= threshold and min(r) <= -threshold)
    if not n_learnt:
        return None, f"no network learnt the task (error ratio < {learnt_ratio:g}) among {len(rows)} seeds"
    return separated / n_learnt, (f"{separated} of {n_learnt} networks that learnt the task (of {len(rows)}) "
                                  f"have units with r >= {threshold:g} and r <= -{threshold:g}; "
                                  f"r per unit: {per_seed}")


def _feature_errors(frame, ctx, coding: str, features: list[str], length: int, seed: int, cell):
    """Per seed: squared error of each named feature of the predicted next letter ``[T, F]``, and
    each step's target feature bits ``[T, F]``.

    The network predicts one unit per letter; its feature prediction is the
    output-weighted mix of the letters' feature vectors (outputs normalised to
    sum 1), the paper's coding (published.json ``setup[coding]``) read as data.
    """
    import torch

    table = _paper(ctx)["setup"][coding]["value"]
    names = table["features"]
    bad = [f for f in features if f not in names]
    if bad:
        raise ValueError(f"features {bad} not in the coding's {names}")
    task = ctx["task"]
    cols = [names.index(f) for f in features]
    codes = torch.tensor([[table[s][c] for c in cols] for s in task.output_symbols], dtype=torch.float64)
    batch = _stream(task, length, seed)
    target = codes[batch.targets[0].clamp(min=0)]
    out = []
    for path in _select(frame, cell)["checkpoint"]:
        y, _, mask = _stream_run(path, task, batch)
        y = y.double()
        pred = (y / y.sum(-1, keepdim=True).clamp(min=1e-12)) @ codes
        out.append(((pred - target) ** 2)[mask].numpy())
    return out, target[batch.mask[0]].numpy()


def measure_feature_error(frame, ctx, coding: str, feature: str, versus: str | None = None,
                          at_target: int | None = None, tie: float = 0.01, length: int = 3000,
                          seed: int = 12345, cell: dict | None = None):
    """Elman (1990), letters: error on one feature of the predicted next letter (median over seeds).

    With ``versus``: the fraction of steps of a fresh stream where the error on
    ``feature`` is below that on ``versus`` (steps where both are below ``tie``,
    both predicted right, count as below). Without: the mean squared error on
    ``feature`` at the steps whose next letter has ``feature == at_target``
    (e.g. Consonant at consonant onsets). See ``_feature_errors`` for the coding.
    """
    if (versus is None) == (at_target is None):
        raise ValueError("give exactly one of versus= (compare two features) or at_target= (steps to average)")
    errs, target = _feature_errors(frame, ctx, coding, [feature] + ([versus] if versus else []), length, seed, cell)
    if not errs:
        return None, "no trained network"
    if versus:
        values = [float(np.mean((e[:, 0] < e[:, 1]) | (e.max(1) < tie))) for e in errs]
        what = f"fraction of steps with error({feature}) < error({versus})"
    else:
        at = target[:, 0] == at_target
        values = [float(e[at, 0].mean()) for e in errs]
        what = f"mean squared {feature} error at the {int(at.sum())} steps before a letter with {feature} = {at_target}"
    return float(np.median(values)), f"median over {len(values)} seeds of the {what}; per seed: {_rounded(values)}"


# ------------------------------------------------------- fixed points, limit sets
def measure_counting_point_stability(frame, ctx, point: str = "b", stability: str = "saddle",
                                     cell: dict | None = None, among_success: dict | None = None):
    """Rodriguez et al. (1999): fraction of seeds whose counting fixed point of one input's map
    (``analysis.solution_type.point_<point>``) has the given stability in the fixed-point analysis
    (``saddle``: one eigenvalue modulus above 1, one below). Seeds with no such point count as not."""
    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    hits, seen = 0, []
    for path in rows["record"]:
        an = _record(path).get("analysis", {})
        fps = an.get("fixed_points", {}).get(point)
        if fps is None or "error" in an.get("fixed_points", {}):
            return None, f"no fixed-point analysis of the {point!r} map in the records"
        chosen = an.get("solution_type", {}).get(f"point_{point}")
        if chosen is None or not fps["states"]:
            seen.append("none")
            continue
        d = np.linalg.norm(np.asarray(fps["states"]) - np.asarray(chosen), axis=1)
        i = int(np.argmin(d))
        seen.append(f"{fps['stability'][i]}, moduli {_rounded(fps['eigenvalues_abs'][i])}")
        hits += fps["stability"][i] == stability
    return hits / len(rows), f"{hits} of {len(rows)} seeds{_which(cell, among_success)}: {seen[:12]}"


def _period(states: np.ndarray, max_period: int, tol: float) -> int | None:
    """Smallest p <= max_period with the last states repeating every p steps (None: no cycle)."""
    for p in range(1, max_period + 1):
        if all(np.linalg.norm(states[-1 - k] - states[-1 - k - p]) <= tol for k in range(p)):
            return p
    return None


def measure_limit_cycle(frame, ctx, symbol: str, period: int = 2, steps: int = 1000, max_period: int = 8,
                        tol: float = 1e-6, cell: dict | None = None, among_success: dict | None = None):
    """Pollack (1991): fraction of seeds whose state, driven by ``symbol`` repeated ``steps`` times
    from the initial state, ends on a limit cycle of exactly ``period`` (1 = a limit point)."""
    from dynrec import analysis

    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    periods = []
    for _, row in rows.iterrows():
        net = _load(row["checkpoint"], _cell_spec(ctx, row["cell_id"])[1])
        states = analysis.trajectories(net, symbol * steps, member=0).of(0)
        periods.append(_period(states, max_period, tol))
    hits = sum(p == period for p in periods)
    counts = {str(p): periods.count(p) for p in sorted(set(periods), key=str)}
    return hits / len(rows), (f"{hits} of {len(rows)} seeds{_which(cell, among_success)} end on a cycle of period "
                              f"{period} under {symbol!r}; periods (None: none up to {max_period}): {counts}")


def measure_counter_dimension(frame, ctx, threshold: float = 0.9, part: str = "cell", n_max: int | None = None,
                              cell: dict | None = None, among_success: dict | None = None):
    """Weiss et al. (2018): fraction of seeds with a state dimension that tracks the count.

    Along a^n b^n (n = 1..``n_max``, default the training maximum) every valid
    step's count (#a - #b read so far) is correlated with each state
    dimension; a seed counts when some dimension has ``|r| >= threshold``.
    ``part="cell"``: only the LSTM cell values (the second half of the state
    [h, c]); ``"all"``: every dimension.
    """
    import torch

    if part not in ("cell", "all"):
        raise ValueError(f"part must be 'cell' or 'all', got {part!r}")
    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    task = _cell_spec(ctx, rows["cell_id"].iloc[0])[1]
    a, b = task.language.alphabet[:2]
    n_max = int(n_max or task.sample_kwargs["n_range"][1])
    batch = task.encode([a * n + b * n for n in range(1, n_max + 1)])
    sym = batch.inputs.argmax(-1)
    step = (sym == task.input_symbols.index(a)).double() - (sym == task.input_symbols.index(b)).double()
    count = step.cumsum(1)[batch.mask].numpy()
    hits, best = 0, []
    for path in rows["checkpoint"]:
        net = _load(path, task)
        with torch.no_grad():
            _, states = net(batch.inputs.to(next(net.parameters()).dtype))
        h = states[0][batch.mask].double().numpy()
        h = h[:, h.shape[1] // 2:] if part == "cell" else h
        r = max(abs(float(np.corrcoef(h[:, j], count)[0, 1])) if h[:, j].std() > 0 else 0.0
                for j in range(h.shape[1]))
        best.append(r)
        hits += r >= threshold
    return hits / len(rows), (f"{hits} of {len(rows)} seeds{_which(cell, among_success)} with a {part} dimension "
                              f"at |r| >= {threshold:g} with the count on a^n b^n, n <= {n_max}; "
                              f"best |r| per seed: {_rounded(best)}")


# ------------------------------------------------------------- training history
def measure_first_reached(frame, ctx, metric: str = "string_accuracy", at_least: float = 1.0,
                          unit: str = "epochs", stat: str = "median", cell: dict | None = None,
                          among_success: dict | None = None):
    """Epochs (or training strings, ``unit="strings"``) until the training history's ``metric``
    first reached ``at_least`` (e.g. every training string right): ``stat`` (median | mean) over
    the seeds; a seed that never reached it counts as infinitely slow, never as dropped."""
    if unit not in ("epochs", "strings") or stat not in ("median", "mean"):
        raise ValueError(f"unit must be 'epochs' or 'strings' and stat 'median' or 'mean', got {unit!r}, {stat!r}")
    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    values = []
    for _, row in rows.iterrows():
        hist = _record(row["record"]).get("history") or {}
        if metric not in hist:
            return None, f"no {metric!r} in the training history"
        hit = next((e for e, v in zip(hist["epoch"], hist[metric]) if v is not None and v >= at_least), None)
        if hit is not None and unit == "strings":
            hit *= _cell_spec(ctx, row["cell_id"])[0]["training"]["strings_per_epoch"]
        values.append(math.inf if hit is None else float(hit))
    never = sum(math.isinf(v) for v in values)
    shown = [int(v) if math.isfinite(v) else "never" for v in values][:20]
    return float(getattr(np, stat)(values)), (f"{stat} over {len(values)} seeds{_which(cell, among_success)}, "
                                              f"{never} never reached {metric} >= {at_least:g}; per seed: {shown}")


# ------------------------------------------------------------------ automata
def measure_extracted_beats_network(frame, ctx, lengths=(11, 14), cell: dict | None = None,
                                    among_success: dict | None = None):
    """Giles et al. (1992): fraction of seeds whose extracted automaton (``analysis.dfa`` in the
    record) classifies unseen strings, every string with length in ``lengths`` (longer than
    the training strings), more accurately than the network it came from."""
    from dynrec import training
    from dynrec.analysis import DFA

    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    better, pairs, truths = 0, [], {}
    for _, row in rows.iterrows():
        dfa = _record(row["record"]).get("analysis", {}).get("dfa", {})
        if "automaton" not in dfa:
            return None, "no extracted automaton in the records"
        spec, task = _cell_spec(ctx, row["cell_id"])
        auto = DFA.from_dict(dfa["automaton"])
        strings, says = auto.accepts_all_up_to(int(lengths[1]))  # shortlex: the same list for every seed
        keep = np.array([len(s) >= lengths[0] for s in strings])
        strings = [s for s, k in zip(strings, keep) if k]
        if row["cell_id"] not in truths:
            truths[row["cell_id"]] = task.language.accepts_many(strings)
        truth = truths[row["cell_id"]]
        acc_dfa = float(np.mean(np.asarray(says)[keep] == truth))
        net = _load(row["checkpoint"], task)
        acc_net = float(training.evaluate(net, task, strings, loss=spec["training"].get("loss", "ce"),
                                          batch_size=4096)["accuracy"][0])
        better += acc_dfa > acc_net
        pairs.append((round(acc_dfa, 4), round(acc_net, 4)))
    return better / len(rows), (f"{better} of {len(rows)} seeds{_which(cell, among_success)}; "
                                f"(automaton, network) accuracy on all strings of length {lengths[0]}-{lengths[1]}: "
                                f"{pairs[:12]}")


def measure_cluster_purity(frame, ctx, count: int = 200, seed: int = 7, cell: dict | None = None,
                           among_success: dict | None = None):
    """Cleeremans et al. (1989): how well the hidden states cluster by grammar node (median over seeds).

    Along ``count`` fresh strings, each hidden state after a prefix is labelled
    with the node the grammar is in (the state of the language's minimal DFA,
    which for the Reber grammar is its graph's node); the states are clustered
    by k-means with k = the number of nodes, and the purity (fraction of states
    whose cluster's most common node is their own) is returned.
    """
    from sklearn.cluster import KMeans

    from dynrec import analysis

    rows = _select(frame, cell, among_success)
    if rows.empty:
        return None, "no seeds to count" + _which(cell, among_success)
    task = ctx["task"]
    strings = task.sample(np.random.default_rng(seed), count)
    nodes = analysis.DFA.from_dict(task.language.minimal_dfa())
    # states after each prefix that still predicts a next symbol (positions 1..len-1)
    labels = np.array([nodes.run(s[:t]) for s in strings for t in range(1, len(s))])
    k = len(set(labels.tolist()))
    purities = []
    for path in rows["checkpoint"]:
        traj = analysis.trajectories(_load(path, task), list(strings), member=0)
        X = np.concatenate([traj.of(i)[1:len(s)] for i, s in enumerate(strings)])
        cluster = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)
        hits = sum(np.bincount(labels[cluster == c]).max() for c in np.unique(cluster))
        purities.append(hits / len(labels))
    return float(np.median(purities)), (f"median over {len(purities)} seeds{_which(cell, among_success)}; "
                                        f"{k} nodes, {len(labels)} states; per seed: {_rounded(purities)}")


NET_MEASURES = {
    "stream_error_ratio": measure_stream_error_ratio,
    "unit_roles": measure_unit_roles,
    "feature_error": measure_feature_error,
    "counting_point_stability": measure_counting_point_stability,
    "limit_cycle": measure_limit_cycle,
    "counter_dimension": measure_counter_dimension,
    "first_reached": measure_first_reached,
    "extracted_beats_network": measure_extracted_beats_network,
    "cluster_purity": measure_cluster_purity,
}
