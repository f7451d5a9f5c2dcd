"""Training 256 two-unit SRNs on a^n b^n at once, against one torch.nn.RNN + optimiser per seed.

Task: next-symbol prediction on a^n b^n, n uniform in 1..10, with start and end markers
(Gers & Schmidhuber 2001 format: 3 inputs, 3 outputs), cross-entropy, full BPTT per string,
plain SGD (lr 0.1).

* dynrec: ``training.BPTT(...).fit`` on one ensemble of E = 256 (sampling, encoding and the
  end-of-epoch evaluation included in its time).
* baseline: the loop a user would write: for each seed a ``torch.nn.RNN(3, 2)`` +
  ``torch.nn.Linear(2, 3)`` with its own ``torch.optim.SGD``, trained on the same number of
  strings, sampled with the seed and encoded batch by batch (as in dynrec, data preparation is
  timed). Timed on ``--baseline-seeds``
  seeds and scaled linearly to 256 (every seed does the same work).

Online: one string per update. Minibatch: 32 strings per update (rows padded, loss masked).
Times are process CPU seconds (``time.process_time``; the machine is shared).

    .venv/bin/python benchmarks/train_ensemble.py [--strings 100] [--baseline-seeds 32] [--no-write]

Appends (or replaces) the section ``## train_ensemble.py`` in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn

from dynrec import grammars, models, training
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

SECTION = "## train_ensemble.py"
E, H = 256, 2


def dynrec_time(task, strings, batch_size):
    net = models.build("srn", task.n_in, H, task.n_out, ensemble=E, seed=0)
    trainer = training.BPTT(mode="full", loss="ce", optimizer="sgd", lr=0.1, epochs=1,
                            strings_per_epoch=strings, batch_size=batch_size)
    t = time.process_time()
    result = trainer.fit(net, task, seed=0)
    return time.process_time() - t, result


def baseline_time(task, strings, batch_size, seeds):
    b = 1 if batch_size is None else batch_size
    t = time.process_time()
    for s in range(seeds):
        torch.manual_seed(s)
        rng = np.random.default_rng(s)
        data = task.sample(rng, strings)
        rnn, out = nn.RNN(task.n_in, H, batch_first=True), nn.Linear(H, task.n_out)
        opt = torch.optim.SGD(list(rnn.parameters()) + list(out.parameters()), lr=0.1)
        for lo in range(0, strings, b):
            enc = task.encode(data[lo:lo + b])
            x, y, m = enc.inputs, enc.targets, enc.mask
            opt.zero_grad()
            states, _ = rnn(x)
            logits = out(states)
            per = nn.functional.cross_entropy(logits.flatten(0, 1), y.clamp(min=0).flatten(),
                                              reduction="none").view(y.shape)
            loss = (per * m).sum() / x.shape[0]
            loss.backward()
            opt.step()
    return (time.process_time() - t) * E / seeds



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--strings", type=int, default=100, help="online strings per member")
    ap.add_argument("--batch-strings", type=int, default=640, help="minibatch run: strings per member")
    ap.add_argument("--baseline-seeds", type=int, default=32)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True, n_range=(1, 10))
    rows = []
    for label, strings, bs in (("online (1 string / update)", args.strings, None),
                               ("minibatch 32", args.batch_strings, 32)):
        dynrec_time(task, 2 if bs is None else 2 * bs, bs)  # warm-up: numba compiles once per machine
        ours, result = dynrec_time(task, strings, bs)
        base = baseline_time(task, strings, bs, args.baseline_seeds)
        updates = strings // (1 if bs is None else bs)
        rows.append((label, strings, updates, ours, base, base / ours))
        print(f"{label}: dynrec {ours:.2f} s, loop {base:.2f} s (scaled), {base / ours:.1f}x; "
              f"{result.summary()}")
    table = ["| updates | strings per seed | updates per seed | dynrec, 256 at once (s) | "
             "loop of 256 torch.nn.RNN (s, scaled) | speed-up |", "|---|---:|---:|---:|---:|---:|"]
    for label, strings, updates, ours, base, ratio in rows:
        table.append(f"| {label} | {strings} | {updates} | {ours:.2f} | {base:.1f} | **{ratio:.0f}x** |")
    body = "\n".join([
        SECTION, "",
        "256 two-unit tanh SRNs trained on a^n b^n (n uniform in 1..10, start/end markers, 3 inputs, "
        "3 outputs), cross-entropy, full BPTT per string, SGD lr 0.1. dynrec: one "
        "`training.BPTT(...).fit` on an ensemble of 256 (its own sampling, encoding and end-of-epoch "
        "evaluation included). Baseline: per seed a `torch.nn.RNN(3, 2)` + `torch.nn.Linear(2, 3)` "
        "with its own `torch.optim.SGD` and its own strings (sampled and encoded in the loop, as dynrec "
        "does), "
        f"timed on {args.baseline_seeds} seeds and scaled linearly to 256. Times are process CPU "
        "seconds (`time.process_time`).",
        "",
        f"Command: `.venv/bin/python benchmarks/train_ensemble.py --strings {args.strings} "
        f"--batch-strings {args.batch_strings} --baseline-seeds {args.baseline_seeds}`",
        f"Machine: 2-core CPU, torch {torch.__version__.split('+')[0]} CPU, 1 thread; load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run.",
        "", *table, "",
        "Targets of the issue: >= 50x online, >= 10x with minibatches of 32.", ""])
    print("\n" + body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    main()
