"""One chunk of work: some seeds of one grid cell, trained as one ensemble, as plain records.

``run_chunk(spec, seeds) -> list[record]`` is the only place where the runner
calls the other parts (DESIGN.md, "How data flows through one experiment"):

    grammars.get -> Task(lang)                           the cell's task
    models.build(ensemble=1, seed=s) for each seed s,     member j is seed seeds[j]:
        stacked into one ensemble (to_flat / load_flat)   the same network whatever the chunk
    training.BPTT | Evolution (...).fit(net, task, seed=seeds)
                                                          member j draws its data from seeds[j]
    training.generalization_depth, training.evaluate      [evaluation]
    analysis.find_fixed_points (all members at once)      [analysis]

So the numbers of (cell, seed s) depend on the cell and on s alone: not on the
other seeds of the chunk, the worker count or the backend. (With the same
chunking they are bit for bit identical; a *different* chunk size can change
the last float32 bits of BPTT, whose batched kernels round differently for
different E. The runner's chunks are fixed by the config, see runner.py.)

``spec`` is :meth:`dynrec.experiments.config.Cell.spec` (plain data). A record
(docs/CONTRACTS.md, "Records") is returned per seed, with the member's
checkpoint as bytes under ``checkpoint_files`` (``{suffix: bytes}``; the
runner writes them beside the record, so workers need no shared filesystem).
"""

from __future__ import annotations

import math
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["run_chunk", "preflight", "build_task", "build_net", "build_trainer"]

# [training] keys read here rather than passed to the trainer's constructor.
FIT_KEYS = ("training_set", "population")


def _args(v):
    """TOML arrays -> tuples (ranges, ("loss", x) criteria), recursively."""
    if isinstance(v, list):
        return tuple(_args(x) for x in v)
    if isinstance(v, dict):
        return {k: _args(x) for k, x in v.items()}
    return v


def build_task(spec: dict):
    """(language, task) of a cell."""
    from dynrec import grammars

    g = {k: _args(v) for k, v in spec["grammar"].items() if k != "name"}
    lang = grammars.get(spec["grammar"]["name"], **g)
    t = {k: _args(v) for k, v in spec["task"].items() if k != "kind"}
    cls = grammars.PredictionTask if spec["task"]["kind"] == "prediction" else grammars.RecognitionTask
    return lang, cls(lang, **t)


def build_net(spec: dict, task, seeds):
    """One ensemble whose member j is ``models.build(..., ensemble=1, seed=seeds[j])``.

    Built member by member (a loop at set-up only) and stacked with
    ``to_flat`` / ``load_flat``, so member j does not depend on its neighbours.
    """
    from dynrec import models

    m = {k: _args(v) for k, v in spec["model"].items() if k not in ("kind", "n_hidden")}
    kind, hidden = spec["model"]["kind"], spec["model"]["n_hidden"]
    m["alphabet"] = tuple(task.input_symbols)
    singles = [models.build(kind, task.n_in, hidden, task.n_out, ensemble=1, seed=int(s), **m)
               for s in seeds]
    return singles[0] if len(singles) == 1 else _stack(singles)


def build_trainer(spec: dict):
    """(trainer, fit keyword arguments) of a cell."""
    from dynrec import grammars, training

    t = {k: _args(v) for k, v in spec["training"].items() if k != "method" and k not in FIT_KEYS}
    if isinstance(t.get("curriculum"), dict):
        t["curriculum"] = training.Curriculum(**t["curriculum"])
    cls = training.BPTT if spec["training"]["method"] == "bptt" else training.Evolution
    fit = {}
    if "training_set" in spec["training"]:
        fit["strings"] = grammars.training_set(spec["training"]["training_set"]).strings()
    return cls(**t), fit


def preflight(spec: dict, source: str = "<config>") -> None:
    """Build a cell's language, task, a one-member network and the trainer, so that bad
    pass-through values fail before any work starts, with the file and the cell named."""
    cell = ", ".join(f"{k}={v!r}" for k, v in spec.get("cell", {}).items())
    where = f"{source}: " + (f"grid cell {cell}: " if cell else "")
    step = "[grammar]/[task]"
    try:
        _, task = build_task(spec)
        step = "[model]"
        build_net(spec, task, [0])
        step = "[training]"
        build_trainer(spec)
    except (ValueError, TypeError, KeyError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise ValueError(f"{where}{step}: {msg}") from None


def _member_metrics(result, j: int) -> dict:
    m = {"converged": result.converged[j], "diverged": result.diverged[j],
         "epochs_to_criterion": result.epochs_to_criterion[j], "strings_seen": result.strings_seen[j]}
    for k, v in (result.final[j] or {}).items():
        m[f"final_{k}"] = v
    return m


def _plain(v):
    """JSON-safe copy: numpy/torch -> lists and numbers, complex -> [re, im], non-finite -> None."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):
        return _plain(v.tolist())
    if isinstance(v, complex):
        return [_plain(v.real), _plain(v.imag)]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return str(v)


def _evaluate(spec, net, lang, task, trainer, metrics: list[dict]) -> None:
    from dynrec import training

    ev = spec["evaluation"]
    kw = {"loss": getattr(trainer, "loss", "ce")}
    if getattr(trainer, "criterion", None) is not None:
        kw["criterion"] = trainer.criterion
    if ev["n_max"] > 0:
        depth = training.generalization_depth(net, task, ev["n_max"], **kw)
        for j, d in enumerate(depth):
            metrics[j]["generalization_depth"] = int(d)
    if ev["test_count"] > 0:
        strings = task.sample(np.random.default_rng(ev["test_seed"]), ev["test_count"])
        out = training.evaluate(net, task, strings, **kw)
        for k, values in out.items():
            for j, v in enumerate(np.asarray(values).tolist()):
                metrics[j][f"test_{k}"] = _plain(v)


def _member_starts(net, seeds, n_random: int):
    """``[E, n_random, S]`` random starts for the fixed-point finder, member j's drawn from its
    own seed (uniform in [-1, 1]^S), so that they do not depend on the chunk; None if 0."""
    import torch

    if n_random <= 0:
        return None
    return torch.as_tensor(np.stack([np.random.default_rng([int(s), 0xF1]).uniform(
        -1, 1, (n_random, net.state_size)) for s in seeds]))


def _fixed_points(net, task, seeds, opts: dict) -> list[dict]:
    """Per member: for each input symbol x, the fixed points of F_x (all members in one call).

    Random starts are drawn per member from its own seed (``n_random`` of them,
    uniform in [-1, 1]^S), so they too do not depend on the chunk.
    """
    from dynrec import analysis

    opts = dict(opts)
    starts = _member_starts(net, seeds, int(opts.pop("n_random", 64)))
    out = [{} for _ in seeds]
    for x, symbol in enumerate(task.input_symbols):
        fps = analysis.find_fixed_points(net, x, None, n_random=0, starts=starts, **opts)
        for j in range(len(seeds)):
            sel = np.nonzero(fps.member == j)[0]
            out[j][symbol] = {
                "count": int(sel.size),
                "states": _plain(fps.states[sel]),
                "stability": [str(v) for v in fps.stability[sel]],
                "dominant": [str(v) for v in fps.dominant[sel]],
                "kind": [str(v) for v in fps.kind[sel]],
                "eigenvalues_abs": _plain(np.abs(fps.eigenvalues[sel])),
                "eigenvalues_real": _plain(fps.eigenvalues[sel].real),
                "eigenvalues_imag": _plain(fps.eigenvalues[sel].imag)}
    return out


def _solution_type(net, task, seeds, opts: dict) -> list[dict]:
    """Per member: ``analysis.counting_solution`` (Wiles & Elman 1995; Rodriguez et al. 1999),
    all members in one call; its record (type, eigenvalues, predicted depth) as plain data."""
    from dynrec import analysis

    opts = dict(opts)
    starts = _member_starts(net, seeds, int(opts.pop("n_random", 64)))
    sol = analysis.counting_solution(net, task.language, None, n_random=0, starts=starts, **opts)
    return [_plain({k: v for k, v in r.items() if k != "member"}) for r in sol.records]


def _dfa(net, task, seeds, opts: dict) -> list[dict]:
    """Per member: ``analysis.extract_dfa`` (Giles et al. 1992), the automaton as a dict, the
    extraction's info and ``DFA.compare`` against the language (every string up to length 10)."""
    from dynrec import analysis

    out = []
    for j in range(len(seeds)):  # extraction is per member by design (analysis.extract_dfa)
        dfa = analysis.extract_dfa(net, task, member=j, **opts)
        out.append(_plain({"n_states": dfa.n_states, "automaton": dfa.to_dict(),
                           "info": {k: v for k, v in (getattr(dfa, "info", {}) or {}).items()
                                    if k != "member"},
                           "compare": dfa.compare(task.language)}))
    return out


ANALYSES = {"fixed_points": _fixed_points, "solution_type": _solution_type, "dfa": _dfa}


def _analyse(spec, net, task, seeds, alive) -> list[dict]:
    """Run the analyses switched on in ``[analysis]``; a failing analysis is recorded, not raised."""
    out = [{} for _ in seeds]
    for key, fn in ANALYSES.items():
        opts = spec["analysis"][key]
        if opts is False:
            continue
        opts = opts if isinstance(opts, dict) else {}
        try:
            per = fn(net, task, seeds, _args(opts))
        except Exception:  # noqa: BLE001 - recorded in every record of the chunk
            err = traceback.format_exc(limit=3)
            per = [{"error": err} for _ in seeds]
        for j in range(len(seeds)):
            out[j][key] = per[j] if alive[j] else {"skipped": "diverged"}
    return out


def _checkpoint(net, j: int, seed: int) -> dict:
    """Member j saved through ``net.member(j).save`` -> {suffix: bytes} (main file under "").

    Saved under the name the runner gives it (``seed-<s>.safetensors``), since the
    sidecar records the file name."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"seed-{seed}.safetensors"
        net.member(j).save(path)
        return {f.name[len(path.name):]: f.read_bytes() for f in Path(d).iterdir()
                if f.name.startswith(path.name)}


def _train(spec: dict, task, seeds: list[int]):
    """Train the chunk -> (net with member j = seed j, per-member training dicts, trainer).

    Per-member trainers (BPTT, the hill climber) train all seeds as one
    ensemble with ``seed=seeds``. Population strategies (es, cmaes, ga) make an
    ensemble a *population*, so each seed is one evolutionary run (a
    population of ``population`` networks built with that seed) whose best
    individual becomes that seed's network.
    """
    trainer, fit = build_trainer(spec)
    t = spec["training"]
    if t["method"] == "evolution" and t.get("strategy", "hill_climb") != "hill_climb":
        best, runs = [], []
        for s in seeds:
            pop = _population(spec, task, s)
            res = trainer.fit(pop, task, seed=int(s), **fit)
            best.append(pop.member(0))
            runs.append(_member_training(res, 0))
        net = best[0] if len(best) == 1 else _stack(best)
        return net, runs, trainer
    net = build_net(spec, task, seeds)
    res = trainer.fit(net, task, seed=list(seeds), **fit)
    return net, [_member_training(res, j) for j in range(len(seeds))], trainer


def _population(spec: dict, task, seed: int):
    from dynrec import models

    m = {k: _args(v) for k, v in spec["model"].items() if k not in ("kind", "n_hidden")}
    return models.build(spec["model"]["kind"], task.n_in, spec["model"]["n_hidden"], task.n_out,
                        ensemble=int(spec["training"].get("population", 20)), seed=int(seed),
                        alphabet=tuple(task.input_symbols), **m)


def _stack(nets):
    import torch

    net = nets[0].select([0] * len(nets))
    net.load_flat(torch.cat([n.to_flat() for n in nets], 0))
    return net


def _member_training(result, j: int) -> dict:
    return {"metrics": _member_metrics(result, j), "history": result.history[j],
            "diverged": bool(result.diverged[j])}


def run_chunk(spec: dict, seeds: list[int]) -> list[dict]:
    """Train, evaluate and analyse ``seeds`` of one cell; one record per seed (see the module doc)."""
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    seeds = [int(s) for s in seeds]
    lang, task = build_task(spec)
    net, runs, trainer = _train(spec, task, seeds)
    metrics = [r["metrics"] for r in runs]
    _evaluate(spec, net, lang, task, trainer, metrics)
    alive = [not r["diverged"] for r in runs]
    analysis = _analyse(spec, net, task, seeds, alive)
    seconds = time.perf_counter() - t0
    records = []
    for j, s in enumerate(seeds):
        records.append({
            "cell_id": spec["cell_id"], "cell": dict(spec["cell"]), "seed": s,
            "status": "ok" if alive[j] else "diverged",
            "metrics": metrics[j], "history": runs[j]["history"], "analysis": analysis[j],
            "timing": {"chunk_seconds": round(seconds, 3), "chunk_seeds": len(seeds)},
            "checkpoint_files": _checkpoint(net, j, s)})
    return records
