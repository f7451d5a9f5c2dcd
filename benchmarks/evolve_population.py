"""A (mu + lambda) ES with a population of 256 three-unit SRNs on a^n b^n c^n, one ensemble
forward pass per generation, against DEAP's default per-individual evaluation.

Task: next-symbol prediction on a^n b^n c^n with start and end markers (4 inputs, 4 outputs);
fitness = minus the mean cross-entropy per string over the fixed set n = 1..10 (Chalup & Blair
2003 evolve networks on this language). mu = lambda = 256, Gaussian mutation (sigma 0.1) of
every weight, 50 generations.

* dynrec: ``training.Evolution("es", ...)``: DEAP's ``eaMuPlusLambda`` with the toolbox's ``map``
  replaced by one forward pass of a 256-member ensemble.
* baseline: what a DEAP user writes: list individuals, ``tools.mutGaussian``,
  ``algorithms.eaMuPlusLambda`` with the default ``map``, and an ``evaluate(individual)`` that
  loads the weights into one ``torch.nn.RNN(4, 3)`` + ``torch.nn.Linear(3, 4)``
  (``vector_to_parameters``) and runs the same encoded strings. Timed for ``--baseline-gens``
  generations and scaled linearly to 50 (each generation does the same work).

Times are process CPU seconds (``time.process_time``; the machine is shared).

    .venv/bin/python benchmarks/evolve_population.py [--generations 50] [--baseline-gens 10] [--no-write]

Appends (or replaces) the section ``## evolve_population.py`` in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np
import torch
from deap import algorithms, base, creator, tools
from torch import nn

from dynrec import grammars, models, training
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

SECTION = "## evolve_population.py"
POP, H, SIGMA = 256, 3, 0.1


def dynrec_time(task, strings, generations):
    net = models.build("srn", task.n_in, H, task.n_out, ensemble=POP, seed=0)
    evo = training.Evolution("es", generations=generations, sigma=SIGMA, fitness="loss")
    t = time.process_time()
    result = evo.fit(net, task, seed=0, strings=strings)
    return time.process_time() - t, result


def torch_evaluator(task, strings):
    """evaluate(individual) with one torch.nn.RNN + Linear (the fastest per-individual code)."""
    batch = task.encode(strings)
    x, y, m = batch.inputs, batch.targets, batch.mask
    rnn, out = nn.RNN(task.n_in, H, batch_first=True), nn.Linear(H, task.n_out)
    params = list(rnn.parameters()) + list(out.parameters())

    @torch.no_grad()
    def evaluate(individual):
        torch.nn.utils.vector_to_parameters(torch.tensor(individual, dtype=torch.float32), params)
        states, _ = rnn(x)
        logits = out(states)
        per = nn.functional.cross_entropy(logits.flatten(0, 1), y.clamp(min=0).flatten(),
                                          reduction="none").view(y.shape)
        return (-float((per * m).sum()) / x.shape[0],)

    return evaluate, sum(p.numel() for p in params)


def dynrec_single_evaluator(task, strings):
    """evaluate(individual) with a one-member dynrec network and training.evaluate: the same
    model and metric code as the batched path, one individual at a time."""
    net = models.build("srn", task.n_in, H, task.n_out, ensemble=1, seed=0)

    def evaluate(individual):
        net.load_flat(torch.tensor(np.asarray(individual), dtype=torch.float32)[None])
        return (-float(training.evaluate(net, task, strings)["loss"][0]),)

    return evaluate, net.n_params_per_member


def baseline_time(task, strings, generations, which):
    evaluate, n_params = (torch_evaluator if which == "torch" else dynrec_single_evaluator)(
        task, strings)

    if not hasattr(creator, "BenchFitness"):
        creator.create("BenchFitness", base.Fitness, weights=(1.0,))
        creator.create("BenchIndividual", list, fitness=creator.BenchFitness)
    random.seed(0)
    toolbox = base.Toolbox()
    toolbox.register("attr", random.uniform, -0.5, 0.5)
    toolbox.register("individual", tools.initRepeat, creator.BenchIndividual, toolbox.attr, n_params)
    toolbox.register("evaluate", evaluate)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=SIGMA, indpb=1.0)
    toolbox.register("mate", tools.cxBlend, alpha=0.5)
    toolbox.register("select", tools.selBest)
    population = [toolbox.individual() for _ in range(POP)]
    t = time.process_time()
    algorithms.eaMuPlusLambda(population, toolbox, mu=POP, lambda_=POP, cxpb=0.0, mutpb=1.0,
                              ngen=generations, verbose=False)
    return (time.process_time() - t) * 50 / generations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--baseline-gens", type=int, default=10)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lang = grammars.get("anbncn")
    task = grammars.PredictionTask(lang, markers=True)
    strings = [lang.member(n) for n in range(1, 11)]
    dynrec_time(task, strings, 2)  # warm-up: numba compiles once per machine
    ours, result = dynrec_time(task, strings, args.generations)
    ours50 = ours * 50 / args.generations
    base_dyn = baseline_time(task, strings, args.baseline_gens, "dynrec")
    base_torch = baseline_time(task, strings, args.baseline_gens, "torch")
    print(f"dynrec {ours:.2f} s for {args.generations} generations; DEAP default map with a "
          f"one-member dynrec net {base_dyn:.1f} s, with torch.nn.RNN {base_torch:.1f} s (scaled "
          f"to 50); best loss {result.log[-1]['best_loss']:.3f}")
    table = ["| 50 generations, mu = lambda = 256 | time (s) | per generation (ms) | dynrec's speed-up |",
             "|---|---:|---:|---:|",
             f"| DEAP default `map`, per-individual `evaluate` = one-member dynrec network + "
             f"`training.evaluate` (same model and metric code), scaled from {args.baseline_gens} "
             f"generations | {base_dyn:.1f} | {base_dyn / 50 * 1000:.0f} | **{base_dyn / ours50:.0f}x** |",
             f"| DEAP default `map`, per-individual `evaluate` = one `torch.nn.RNN` + `Linear` "
             f"(C++ time loop), scaled from {args.baseline_gens} generations | {base_torch:.1f} | "
             f"{base_torch / 50 * 1000:.0f} | **{base_torch / ours50:.0f}x** |",
             f"| dynrec `Evolution(\"es\")`: population as one ensemble | {ours50:.2f} | "
             f"{ours50 / 50 * 1000:.0f} | 1x |"]
    body = "\n".join([
        SECTION, "",
        "(mu + lambda) ES, mu = lambda = 256 three-unit tanh SRNs, on a^n b^n c^n prediction with "
        "start/end markers (4 inputs, 4 outputs); fitness = minus the mean cross-entropy per string "
        "on n = 1..10; Gaussian mutation (sigma 0.1) of every weight; `deap.algorithms.eaMuPlusLambda` "
        "in both. dynrec registers a batched `map` that evaluates all offspring in one forward pass "
        "of a 256-member ensemble (its own vectorised mutation); the baseline is the DEAP tutorial "
        "code: list individuals, `tools.mutGaussian`, default `map`, and an `evaluate(individual)` "
        "that loads one network: either a one-member dynrec network (the same model and metric "
        "code, so the ratio isolates the batching) or a `torch.nn.RNN` + `Linear` (torch's C++ time "
        "loop, the fastest per-individual code a user could write). Times are process CPU seconds "
        "(`time.process_time`).",
        "",
        f"Command: `.venv/bin/python benchmarks/evolve_population.py --generations {args.generations} "
        f"--baseline-gens {args.baseline_gens}`",
        f"Machine: 2-core CPU, torch {torch.__version__.split('+')[0]} CPU, 1 thread; load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run.",
        "", *table, "",
        f"Best loss after {args.generations} generations (dynrec): "
        f"{result.log[-1]['best_loss']:.3f}. Target of the issue: >= 50x.", ""])
    print("\n" + body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    main()
