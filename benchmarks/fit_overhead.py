"""Where the time of the default training loop goes: ``training.BPTT.fit`` against the network's own work.

Workload: issue 10's (core_speed.py): 2-unit SRN ensembles trained on a^n b^n
prediction with a start symbol, the ten strings n = 1..10 as a fixed training
set, one minibatch of the ten per member per epoch, full BPTT, cross-entropy,
Adam.  An epoch of ``fit`` is one update per member plus what the trainer does
around it: each member's order of the strings, the data tensors, the
end-of-epoch metrics (loss, accuracy, string accuracy per member: what the
stopping criteria and the history read), the history, and once per fit the
``TrainResult``.

Columns: ``fit`` - wall seconds per epoch of ``BPTT.fit`` (warm: a short fit
runs first, so compilation and the heap's first-touch faults are not counted);
``update`` - one forward + loss + backward + Adam step of the same network on
the same batch, the part no trainer can skip; ``fit / update`` - the trainer's
overhead factor.  Then a cProfile of one fit, by component (profiling inflates
the Python-heavy parts; the wall column is the number to compare).

Last, Elman's one-step scheme (``mode="elman"``, SGD: a weight update after
every symbol) on the temporal XOR stream of elman-1990-xor (2-unit sigmoid SRN,
squared error, lr 0.5, 1,000 triples = 3,000 symbols per member per epoch,
E = 20 as the preset trains its seeds): seconds per epoch of ``BPTT.fit`` with
the compiled one-step kernel (training/numba_elman.py, the default) and with the
torch path (``models.fast.disabled()``: forward step, loss, backward and
optimiser step per symbol; timed on 300 symbols and scaled).

Run:  .venv/bin/python benchmarks/fit_overhead.py [--epochs N] [--tag TEXT] [--no-write]
Writes the section ``## fit_overhead.py`` (``## fit_overhead.py - TEXT`` with ``--tag``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import time

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # as core_speed.py

import torch  # noqa: E402

from dynrec import grammars, models, training  # noqa: E402
from dynrec.models import fast  # noqa: E402
from dynrec.training import losses  # noqa: E402
from dynrec.training.data import shared  # noqa: E402
from _results import write_section  # noqa: E402

fast.keep_freed_memory()
LR = 0.01
STRINGS = ["a" * n + "b" * n for n in range(1, 11)]
TASK = grammars.PredictionTask(grammars.get("anbn"), markers=True)

# (label, qualified function name as cProfile reports it) - the trainer's parts
COMPONENTS = [
    ("order of the strings per member", "bptt.py", "_epoch_strings"),
    ("data tensors", "data.py", "per_member_index"),
    ("forward + loss + backward + update", "bptt.py", "_train_rows"),
    ("end-of-epoch metrics", "metrics.py", "indexed_string_metrics"),
    ("TrainResult (plain data), once", "result.py", "__post_init__"),
]


def trainer(epochs: int) -> training.BPTT:
    return training.BPTT(mode="full", loss="ce", optimizer="adam", lr=LR, batch_size=10, epochs=epochs)


def fit_seconds(E: int, epochs: int) -> float:
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    trainer(2).fit(net, TASK, seed=0, strings=STRINGS)   # warm-up: compilation, heap
    t0 = time.perf_counter()
    trainer(epochs).fit(net, TASK, seed=0, strings=STRINGS)
    return (time.perf_counter() - t0) / epochs


def update_seconds(E: int, reps: int = 20) -> float:
    """Best time of one forward + summed CE + backward + Adam step on the same batch."""
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    data = shared(TASK, STRINGS)
    x, tgt, mask = data.inputs[0], data.targets, data.mask
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    best = float("inf")
    for _ in range(reps + 2):
        t0 = time.perf_counter()
        logits, _ = net(x, lengths=data.lengths[0])
        per = losses.cross_entropy(logits, tgt.clamp(min=0).expand(logits.shape[:-1]))
        loss = torch.where(mask, per, torch.zeros(())).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    return best


def profile(E: int, epochs: int) -> list[tuple[str, float]]:
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    trainer(2).fit(net, TASK, seed=0, strings=STRINGS)
    prof = cProfile.Profile()
    prof.enable()
    t0 = time.perf_counter()
    trainer(epochs).fit(net, TASK, seed=0, strings=STRINGS)
    total = time.perf_counter() - t0
    prof.disable()
    stats = pstats.Stats(prof).stats   # {(file, line, name): (cc, nc, tt, ct, callers)}
    rows, counted = [], 0.0
    for label, file, name in COMPONENTS:
        ct = sum(v[3] for (f, _, n), v in stats.items() if n == name and f.endswith(file))
        rows.append((label, ct))
        counted += ct
    rows.append(("the rest (history, bookkeeping)", total - counted))
    rows.append(("whole fit (profiled)", total))
    return rows


def elman_seconds() -> tuple[float, float]:
    """(compiled, torch) seconds per epoch of Elman one-step training on the temporal XOR stream."""
    task = grammars.PredictionTask(grammars.get("temporal_xor"), stream=True)

    def net():
        return models.build("srn", task.n_in, 2, task.n_out, ensemble=20, seed=0, activation="sigmoid",
                            h0=0.5, init_range=1.0)

    def per_epoch(triples: int, epochs: int) -> float:
        trainer = training.BPTT(mode="elman", loss="sse", optimizer="sgd", lr=0.5, epochs=epochs,
                                strings_per_epoch=triples)
        trainer.fit(net(), task, seed=0)          # warm-up
        t0 = time.perf_counter()
        trainer.fit(net(), task, seed=0)
        return (time.perf_counter() - t0) / epochs * (1000 / triples)

    compiled = per_epoch(1000, 3)
    with fast.disabled():
        plain = per_epoch(100, 1)
    return compiled, plain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 4096])
    ap.add_argument("--tag", default="")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    table = ["| E | fit, s/epoch | update, s | fit / update | network-steps/s in fit |",
             "|---:|---:|---:|---:|---:|"]
    for E in args.sizes:
        f, u = fit_seconds(E, args.epochs), update_seconds(E)
        steps = E * len(STRINGS) * 21 / f
        table.append(f"| {E} | {f:.4f} | {u:.4f} | {f / u:.1f}x | {steps:,.0f} |")
        print(table[-1], flush=True)
    E = max(args.sizes)
    prof = profile(E, args.epochs)
    whole = prof[-1][1]
    ptable = [f"| part of `fit` (E = {E}, {args.epochs} epochs, cProfile) | s per epoch | share |",
              "|---|---:|---:|"]
    for label, sec in prof:
        ptable.append(f"| {label} | {sec / args.epochs:.4f} | {100 * sec / whole:.0f}% |")
    print("\n".join(ptable))
    comp, plain = elman_seconds()
    etable = ["| Elman one-step, temporal XOR, E = 20 | s per epoch (3,000 symbols) |",
              "|---|---:|",
              f"| torch path (`models.fast.disabled()`) | {plain:.3f} |",
              f"| compiled (default) | {comp:.3f} |",
              f"| ratio | {plain / comp:.0f}x |"]
    print("\n".join(etable))
    head = "## fit_overhead.py" + (f" - {args.tag}" if args.tag else "")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    load = os.getloadavg()[0]
    body = "\n".join([
        head, "",
        __doc__.split("\n\n")[1].replace("\n", " ").strip(), "",
        f"Command: `.venv/bin/python benchmarks/fit_overhead.py --epochs {args.epochs}"
        + (f" --tag \"{args.tag}\"" if args.tag else "") + "`  ",
        f"Machine: 2-core CPU, torch {torch.__version__.split('+')[0]} CPU, 1 thread; commit {commit}; "
        f"load average {load:.1f} at the end.", "",
        *table, "", *ptable, "", *etable, ""])
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    main()
