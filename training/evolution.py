"""`Evolution`: train networks by evolutionary search (DEAP), a whole population per forward pass.

Individuals are flat weight vectors (``net.to_flat()`` layout, ``[P]``). Fitness
comes from the same metrics as BPTT (``training.metrics``) on a set of strings:

* ``fitness="loss"``: minus the mean per-string loss (``loss`` = "ce" | "sse" | "bce");
* ``"accuracy"``: the prediction (or recognition) accuracy;
* ``"correct"``: the fraction of strings entirely right.

The population is evaluated as ONE ensemble: the individuals are loaded into a
scratch copy of the network with one member per individual
(``net.select(...).load_flat(...)``) and every string is run through all of them
in one forward pass. The batched evaluation is plugged into DEAP as the
toolbox's ``map`` (DEAP calls ``toolbox.map(toolbox.evaluate, individuals)``).

Strategies:

* ``"hill_climb"`` - Chalup & Blair (2003), "Incremental training of first order
  recurrent neural networks to predict a context-sensitive language", Neural
  Networks 16: a (1+1) climber; every weight is perturbed with Gaussian noise of
  standard deviation ``sigma`` and the child replaces the parent if its fitness is
  not worse. The E members of ``net`` are E independent climbers, run at once;
  climber ``i`` draws its noise and its strings from its member seed
  (``models.member_seed(seed, i)``), so it is the same as climbing alone.
* ``"es"`` - (mu + lambda) (``plus=True``, ``deap.algorithms.eaMuPlusLambda``) or
  (mu, lambda) (``plus=False``, ``eaMuCommaLambda``) evolution strategy, Gaussian
  mutation; mu = E, the initial parents are the members of ``net``.
* ``"cmaes"`` - CMA-ES (Hansen & Ostermeier 2001) with ``deap.cma.Strategy``
  through ``deap.algorithms.eaGenerateUpdate``; the centroid starts at the mean
  of the members of ``net``, step size ``sigma``, ``lambda_`` samples per
  generation (default ``max(E, 4 + 3 ln P)``).
* ``"ga"`` - ``deap.algorithms.eaSimple``: tournament selection, blend crossover
  (``alpha``) and Gaussian mutation (``sigma``, per-weight probability ``indpb``);
  population E.

For the population strategies the result's members are the E best individuals
found (best first) on the final evaluation set, loaded into ``net``; the
per-generation statistics are in ``TrainResult.log``.

Randomness: everything comes from ``seed``. dynrec's operators (Gaussian
mutation, blend crossover, CMA sampling) draw from ``numpy.random.Generator``s;
DEAP's own choices (which individuals vary, tournaments) use Python's global
``random``, which runs on a private stream (``deap_support.private_random``) and
is restored afterwards.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from deap import algorithms, base, tools

from . import deap_support as ds
from .curriculum import Curriculum, describe, resolve_criterion
from .data import per_member, resolve_member_seeds, data_rng, shared
from .losses import check_loss
from .metrics import data_metrics, resolve_criterion as resolve_pred_criterion, summarize
from .result import MemberHistory, TrainResult

STRATEGIES = ("hill_climb", "es", "cmaes", "ga")
FITNESS = ("loss", "accuracy", "correct")
_NOISE_STREAM = 0x45564F4C  # "EVOL": separates mutation noise from the data stream


def _noise_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_NOISE_STREAM,)))


def _check_number(name, value, minimum, integer=False, strict=False, maximum=None):
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.floating, np.integer))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) or \
            (value <= minimum if strict else value < minimum) or (maximum is not None and value > maximum):
        rng = f"{'>' if strict else '>='} {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'} {rng}, got {value!r}")
    return int(value) if integer else float(value)


class PopulationEvaluator:
    """Evaluate many weight vectors at once through one ensemble copy of ``net``.

    ``__call__(flat [N, P], data)`` returns per-row numpy metrics ``[N]``
    (``training.metrics.summarize``). Rows are processed ``size`` at a time; a
    last short chunk is padded with copies of its first row. ``data`` has a
    leading axis of 1 (shared strings) or N (one data set per row).
    """

    def __init__(self, net, size: int, loss: str, criterion, reduction: str = "sum"):
        self.size = int(size)
        self.scratch = net.select([i % net.ensemble for i in range(self.size)])
        for p in self.scratch.parameters():
            p.requires_grad_(False)
        self.loss, self.criterion, self.reduction = loss, criterion, reduction
        self.evaluations = 0

    def __call__(self, flat, data) -> dict:
        flat = torch.as_tensor(flat, dtype=self.scratch.dtype)
        n = flat.shape[0]
        finite = torch.isfinite(flat).all(1)
        flat = torch.where(finite[:, None], flat, torch.zeros((), dtype=flat.dtype))
        parts = []
        for lo in range(0, n, self.size):
            chunk = flat[lo:lo + self.size]
            m = chunk.shape[0]
            if m < self.size:
                chunk = torch.cat([chunk, chunk[:1].expand(self.size - m, -1)])
            sub = data
            if data.inputs.shape[0] > 1:
                sub = _rows_of(data, lo, m, self.size)
            self.scratch.load_flat(chunk)
            raw = data_metrics(self.scratch, sub, self.loss, self.criterion, self.reduction)
            parts.append({k: v[:m] for k, v in summarize(raw, data.kind).items()})
        self.evaluations += n
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        bad = ~finite.numpy()
        for k in out:
            out[k] = out[k].astype(np.float64)
            out[k][bad] = np.nan
        return out


def _rows_of(data, lo, m, size):
    """Members ``lo..lo+m`` of per-member data, padded to ``size`` with copies of the first."""
    idx = torch.arange(lo, lo + m)
    if m < size:
        idx = torch.cat([idx, idx[:1].expand(size - m)])
    fields = {k: getattr(data, k).index_select(0, idx) for k in
              ("inputs", "targets", "legal", "mask", "deterministic", "labels", "lengths")}
    return type(data)(kind=data.kind, **fields)


class Evolution:
    """Evolutionary training of an ensemble's weights; see the module docstring.

    Parameters
    ----------
    strategy : ``"hill_climb"`` | ``"es"`` | ``"cmaes"`` | ``"ga"``.
    generations : maximum number of generations.
    sigma : standard deviation of the Gaussian mutation (CMA-ES: the initial step size).
    fitness : ``"loss"`` | ``"accuracy"`` | ``"correct"``; loss : ``"ce"`` | ``"sse"`` | ``"bce"``.
    criterion : what counts as a right prediction (``training.metrics``).
    n_strings : size of the evaluation set drawn from the task (or curriculum stage)
        when no fixed ``strings`` are given; drawn once per stage.
    stop : stopping criterion (``training.curriculum``), checked every generation on
        the current evaluation set at the last curriculum stage: per climber for
        ``hill_climb`` (a climber that meets it is frozen), on the best individual
        for the population strategies (the run stops).
    curriculum : ``training.Curriculum``; ``advance="epochs"`` counts generations;
        ``"criterion"`` moves a climber (hill_climb) or the population (on its best) on.
    lambda_ : offspring per generation (es: default E; cmaes: default max(E, 4+3 ln P)).
    plus : (mu + lambda) if True, else (mu, lambda) (es only).
    cxpb, mutpb : crossover / mutation probabilities (es default 0 and 1; ga 0.5 and 0.2).
    indpb : probability that a weight is mutated (default 1: every weight).
    alpha : blend-crossover extent (Eshelman & Schaffer 1993, BLX-alpha, as ``tools.cxBlend``).
    tournsize : tournament size (ga).
    eval_size : individuals per forward pass (default: one pass for the whole population).
    """

    def __init__(self, strategy: str = "hill_climb", generations: int = 100, sigma: float = 0.1,
                 fitness: str = "loss", loss: str = "ce", criterion=None, n_strings: int = 50,
                 stop=None, curriculum: Curriculum | None = None, lambda_: int | None = None,
                 plus: bool = True, cxpb=None, mutpb=None, indpb: float = 1.0, alpha: float = 0.5,
                 tournsize: int = 3, reduction: str = "sum", eval_size: int | None = None):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if fitness not in FITNESS:
            raise ValueError(f"fitness must be one of {FITNESS}, got {fitness!r}")
        if curriculum is not None and not isinstance(curriculum, Curriculum):
            raise ValueError(f"curriculum must be a training.Curriculum or None, got {curriculum!r}")
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.strategy = strategy
        self.generations = _check_number("generations", generations, 1, integer=True)
        self.sigma = _check_number("sigma", sigma, 0, strict=True)
        self.fitness, self.loss = fitness, check_loss(loss)
        self.criterion = resolve_pred_criterion(criterion, self.loss) if criterion else None
        self.n_strings = _check_number("n_strings", n_strings, 1, integer=True)
        self.stop, self._stop = stop, resolve_criterion(stop)
        self.curriculum = curriculum
        self.lambda_ = None if lambda_ is None else _check_number("lambda_", lambda_, 1, integer=True)
        self.plus = bool(plus)
        default_cx, default_mut = (0.5, 0.2) if strategy == "ga" else (0.0, 1.0)
        self.cxpb = default_cx if cxpb is None else _check_number("cxpb", cxpb, 0, maximum=1)
        self.mutpb = default_mut if mutpb is None else _check_number("mutpb", mutpb, 0, maximum=1)
        if strategy == "es" and self.cxpb + self.mutpb > 1:
            raise ValueError(f"es needs cxpb + mutpb <= 1 (varOr), got {self.cxpb} + {self.mutpb}")
        self.indpb = _check_number("indpb", indpb, 0, strict=True, maximum=1)
        self.alpha = _check_number("alpha", alpha, 0)
        self.tournsize = _check_number("tournsize", tournsize, 1, integer=True)
        self.reduction = reduction
        self.eval_size = None if eval_size is None else _check_number("eval_size", eval_size, 1, integer=True)

    def config(self) -> dict:
        return {"trainer": "Evolution", "strategy": self.strategy, "generations": self.generations,
                "sigma": self.sigma, "fitness": self.fitness, "loss": self.loss,
                "criterion": self.criterion, "n_strings": self.n_strings, "stop": describe(self.stop),
                "lambda_": self.lambda_, "plus": self.plus, "cxpb": self.cxpb, "mutpb": self.mutpb,
                "indpb": self.indpb, "alpha": self.alpha, "tournsize": self.tournsize,
                "reduction": self.reduction,
                "curriculum": None if self.curriculum is None else self.curriculum.to_config()}

    # ----------------------------------------------------------------- pieces
    def _fitness_of(self, metrics: dict) -> np.ndarray:
        key = {"loss": "loss", "accuracy": "accuracy", "correct": "string_accuracy"}[self.fitness]
        f = np.asarray(metrics[key], dtype=np.float64)
        f = -f if self.fitness == "loss" else f
        return np.where(np.isfinite(f), f, -np.inf)

    def _stage_strings(self, task, stage: int, rng, fixed):
        if fixed is not None:
            return list(fixed)
        src = task if self.curriculum is None else self.curriculum.stage_source(task, stage)
        if isinstance(src, list):
            return list(src)
        return list(src.sample(rng, self.n_strings))

    def _mutate(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Gaussian mutation of ``x`` ``[..., P]`` in place (each weight with probability indpb)."""
        noise = rng.standard_normal(x.shape) * self.sigma
        if self.indpb < 1.0:
            noise *= rng.random(x.shape) < self.indpb
        x += noise
        return x

    def _stage_at(self, generation: int, current: int) -> int:
        cur = self.curriculum
        if cur is not None and cur.advance == "epochs":
            return cur.stage_at_epoch(generation)
        return current

    # -------------------------------------------------------------------- fit
    def fit(self, net, task, seed=0, strings=None) -> TrainResult:
        """Evolve ``net``'s weights on ``task``; ``net`` ends holding the result (see module doc).

        seed : int (or, for hill_climb, a list of member seeds).
        strings : a fixed evaluation set (list of str) instead of sampling ``n_strings``.
        """
        if strings is not None:
            strings = list(strings)
            if not strings:
                raise ValueError("strings (the evaluation set) must not be empty")
            if self.curriculum is not None:
                raise ValueError("give either a fixed evaluation set (strings) or a curriculum")
        if self.strategy == "hill_climb":
            return self._hill_climb(net, task, seed, strings)
        if isinstance(seed, (list, tuple)) or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an int for strategy {self.strategy!r}, got {seed!r}")
        return self._population(net, task, int(seed), strings)

    # ------------------------------------------------------------ hill climb
    def _hill_climb(self, net, task, seed, fixed) -> TrainResult:
        E = net.ensemble
        seeds = resolve_member_seeds(seed, E)
        data_rngs = [data_rng(s) for s in seeds]
        noise_rngs = [_noise_rng(s) for s in seeds]
        evaluator = PopulationEvaluator(net, E if self.eval_size is None else self.eval_size,
                                        self.loss, self.criterion, self.reduction)
        n_stages = 1 if self.curriculum is None else self.curriculum.n_stages
        advance = (resolve_criterion(self.curriculum.criterion)
                   if self.curriculum is not None and self.curriculum.advance == "criterion" else None)
        stage = np.zeros(E, dtype=np.int64)
        cache: dict = {}

        def strings_of(e, s):
            if (e, s) not in cache:
                cache[(e, s)] = self._stage_strings(task, s, data_rngs[e], fixed)
            return cache[(e, s)]

        def build_data():
            """Each climber's current strings, grouped by how many there are (stages may hold
            evaluation sets of different sizes; every climber is scored on all of its own)."""
            lists = [strings_of(e, int(stage[e])) for e in range(E)]
            sizes = np.array([len(x) for x in lists], dtype=np.int64)
            groups = [np.flatnonzero(sizes == n) for n in np.unique(sizes)]
            return [(idx, per_member(task, [lists[e] for e in idx])) for idx in groups], sizes

        def evaluate(pop, groups):
            if len(groups) == 1:
                return evaluator(pop, groups[0][1])
            out: dict = {}
            for idx, part in groups:
                got = evaluator(pop[idx], part)
                for k, v in got.items():
                    out.setdefault(k, np.full(E, np.nan))[idx] = v
            return out

        toolbox = base.Toolbox()
        toolbox.register("mutate", lambda pop: np.stack(
            [self._mutate(pop[e].copy(), noise_rngs[e]) for e in range(E)]))
        toolbox.register("evaluate", evaluate)
        logbook = tools.Logbook()
        parent = net.to_flat().double().numpy()
        data, n_eval = build_data()
        pm = toolbox.evaluate(parent, data)
        pf = self._fitness_of(pm)
        live = np.ones(E, dtype=bool)
        converged = np.zeros(E, dtype=bool)
        to_criterion: list = [None] * E
        seen = n_eval.copy()
        history = MemberHistory(E, {"generation": int, "stage": int, "fitness": float, "loss": float,
                                    "accuracy": float, "string_accuracy": float, "accepted": bool})
        for gen in range(1, self.generations + 1):
            if not live.any():
                break
            if self.curriculum is not None and advance is None:
                new_stage = np.where(live, self.curriculum.stage_at_epoch(gen), stage)
                if (new_stage != stage).any():
                    stage = new_stage
                    data, n_eval = build_data()
                    pm = toolbox.evaluate(parent, data)
                    pf = self._fitness_of(pm)
            child = toolbox.mutate(parent)
            cm = toolbox.evaluate(child, data)
            cf = self._fitness_of(cm)
            accept = live & (cf >= pf)
            parent[accept] = child[accept]
            pf = np.where(accept, cf, pf)
            for k in pm:
                pm[k] = np.where(accept, cm[k], pm[k])
            seen += live * n_eval
            history.record(live, generation=gen, stage=stage, fitness=pf, loss=pm["loss"],
                           accuracy=pm["accuracy"], string_accuracy=pm["string_accuracy"],
                           accepted=accept)
            logbook.record(gen=gen, nevals=int(live.sum()), accepted=int(accept.sum()),
                           max=float(pf[live].max()), avg=float(np.mean(pf[live])),
                           min=float(pf[live].min()))
            moved = np.zeros(E, dtype=bool)
            if advance is not None:
                moved = advance(pm) & live & (stage < n_stages - 1)
                stage = stage + moved
                if moved.any():
                    data, n_eval = build_data()
                    pm = toolbox.evaluate(parent, data)
                    pf = self._fitness_of(pm)
            if self._stop is not None:
                done = self._stop(pm) & live & (stage == n_stages - 1) & ~moved
                for e in np.flatnonzero(done):
                    to_criterion[e] = gen
                converged |= done
                live &= ~done
        net.load_flat(torch.from_numpy(parent).to(net.dtype))
        final = [{k: float(v[e]) for k, v in pm.items()} | {"fitness": float(pf[e])} for e in range(E)]
        return TrainResult(method="evolution", config=self.config(), member_seeds=seeds,
                           history=history.lists(), converged=converged.tolist(),
                           epochs_to_criterion=to_criterion, strings_seen=seen.tolist(),
                           diverged=[False] * E, final=final, log=list(logbook))

    # ----------------------------------------------------------- populations
    def _population(self, net, task, seed: int, fixed) -> TrainResult:
        E, P = net.ensemble, net.n_params_per_member
        np_rng = _noise_rng(seed)
        py_rng = random.Random(int(np_rng.integers(2 ** 63)))
        drng = data_rng(seed)
        n_stages = 1 if self.curriculum is None else self.curriculum.n_stages
        advance = (resolve_criterion(self.curriculum.criterion)
                   if self.curriculum is not None and self.curriculum.advance == "criterion" else None)
        if self.strategy == "cmaes":
            lam = self.lambda_ if self.lambda_ is not None else max(E, int(4 + 3 * math.log(P)))
            if lam < E:
                raise ValueError(f"cmaes needs lambda_ >= the ensemble size {E} (the result keeps the "
                                 f"E best), got lambda_={lam}")
        elif self.strategy == "es":
            lam = self.lambda_ if self.lambda_ is not None else E
            if not self.plus and lam < E:
                raise ValueError(f"a (mu, lambda) ES needs lambda_ >= mu = E = {E}, got {lam}")
        else:
            lam = E
        size = self.eval_size if self.eval_size is not None else max(E, lam)
        evaluator = PopulationEvaluator(net, size, self.loss, self.criterion, self.reduction)
        state = {"stage": 0}
        stage_data = {}
        keys: list = []  # metric names, in the order of each individual's ``metrics`` tuple

        def current_data():
            s = state["stage"]
            if s not in stage_data:
                strings = self._stage_strings(task, s, drng, fixed)
                stage_data[s] = (shared(task, strings), len(strings))
            return stage_data[s][0]

        def batched_map(func, individuals):
            individuals = list(individuals)
            if func is not toolbox.evaluate:
                return list(map(func, individuals))
            if not individuals:
                return []
            metrics = evaluator(np.stack(individuals), current_data())
            fit = self._fitness_of(metrics)
            keys[:] = list(metrics)
            rows = np.stack([metrics[k] for k in keys], 1).tolist()
            for ind, row in zip(individuals, rows):
                ind.metrics = tuple(row)  # a tuple of floats: cheap for DEAP's deep copies
            return [(float(f),) for f in fit]

        def evaluate_one(ind):
            return batched_map(toolbox.evaluate, [ind])[0]

        def mate(a, b):
            g = (1.0 + 2.0 * self.alpha) * np_rng.random(a.shape) - self.alpha
            a[:], b[:] = (1.0 - g) * a + g * b, g * a + (1.0 - g) * b
            return a, b

        toolbox = base.Toolbox()
        toolbox.register("clone", ds.clone)
        toolbox.register("evaluate", evaluate_one)
        toolbox.register("map", batched_map)
        toolbox.register("mutate", lambda ind: (self._mutate(ind, np_rng),))
        toolbox.register("mate", mate)
        if self.strategy == "ga":
            toolbox.register("select", tools.selTournament, tournsize=self.tournsize)
        else:
            toolbox.register("select", tools.selBest)
        stats = tools.Statistics(lambda ind: ind.fitness.values[0])
        for name, fn in (("max", np.max), ("avg", np.mean), ("min", np.min)):
            stats.register(name, fn)
        start = net.to_flat().double().numpy()
        if self.strategy == "cmaes":
            strategy = ds.SeededCMA(start.mean(0), self.sigma, np_rng, lambda_=lam)
            toolbox.register("generate", strategy.generate, ds.Individual)
            toolbox.register("update", strategy.update)
            population = []
        else:
            population = [ds.individual(row) for row in start]
        hof = tools.HallOfFame(1, similar=np.array_equal)  # the best so far (stage-wise)
        log, solved_at = [], None
        gens_run = 0
        for gen in range(1, self.generations + 1):
            new_stage = self._stage_at(gen, state["stage"])
            if new_stage != state["stage"]:
                self._restage(state, new_stage, population, hof)
            with ds.private_random(py_rng):
                if self.strategy == "cmaes":
                    population, lb = algorithms.eaGenerateUpdate(toolbox, ngen=1, stats=stats,
                                                                 halloffame=hof, verbose=False)
                elif self.strategy == "es":
                    run = algorithms.eaMuPlusLambda if self.plus else algorithms.eaMuCommaLambda
                    population, lb = run(population, toolbox, mu=E, lambda_=lam, cxpb=self.cxpb,
                                         mutpb=self.mutpb, ngen=1, stats=stats, halloffame=hof,
                                         verbose=False)
                else:
                    population, lb = algorithms.eaSimple(population, toolbox, cxpb=self.cxpb,
                                                         mutpb=self.mutpb, ngen=1, stats=stats,
                                                         halloffame=hof, verbose=False)
            gens_run = gen
            rec = dict(lb[-1])
            best_metrics = {k: np.array([v]) for k, v in zip(keys, hof[0].metrics)}
            rec.update(gen=gen, stage=state["stage"], nevals=int(sum(r["nevals"] for r in lb)),
                       best_loss=float(best_metrics["loss"][0]),
                       best_accuracy=float(best_metrics["accuracy"][0]))
            log.append(rec)
            if advance is not None and state["stage"] < n_stages - 1 and advance(best_metrics)[0]:
                self._restage(state, state["stage"] + 1, population, hof)
                continue
            if (self._stop is not None and state["stage"] == n_stages - 1
                    and self._stop(best_metrics)[0]):
                solved_at = gen
                break
        # the E best of the final population and the best found (current stage), best first
        stale = [ind for ind in population if not ind.fitness.valid]
        for ind, fit in zip(stale, batched_map(toolbox.evaluate, stale)):
            ind.fitness.values = fit
        pool = sorted(population, key=lambda i: i.fitness, reverse=True)
        if len(hof) and hof[0].fitness > pool[0].fitness:
            pool.insert(0, hof[0])  # the best found, lost by a (mu, lambda) ES or the GA
        pool = pool[:E]
        flat = np.stack(pool)
        net.load_flat(torch.from_numpy(flat).to(net.dtype))
        final_m = evaluator(flat, current_data())
        fit = self._fitness_of(final_m)
        n_eval = stage_data[state["stage"]][1]
        done = self._stop(final_m) if self._stop is not None and state["stage"] == n_stages - 1 \
            else np.zeros(E, dtype=bool)
        history = [{"generation": [gens_run], "stage": [state["stage"]], "fitness": [float(fit[e])],
                    "loss": [float(final_m["loss"][e])], "accuracy": [float(final_m["accuracy"][e])],
                    "string_accuracy": [float(final_m["string_accuracy"][e])]} for e in range(E)]
        final = [{k: float(v[e]) for k, v in final_m.items()} | {"fitness": float(fit[e])}
                 for e in range(E)]
        return TrainResult(method="evolution", config=self.config(), member_seeds=[seed] * E,
                           history=history, converged=done.tolist(),
                           epochs_to_criterion=[solved_at if d else None for d in done],
                           strings_seen=[n_eval * gens_run] * E, diverged=[False] * E,
                           final=final, log=log)

    @staticmethod
    def _restage(state, new_stage, population, hof):
        """Move to another evaluation set: every fitness is stale."""
        state["stage"] = new_stage
        for ind in population:
            del ind.fitness.values
        hof.clear()

    def __repr__(self) -> str:
        return (f"Evolution(strategy={self.strategy!r}, generations={self.generations}, "
                f"sigma={self.sigma}, fitness={self.fitness!r})")
