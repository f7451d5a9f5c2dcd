"""Sliding window vs SRN vs LSTM on the embedded Reber grammar: success over seeds, small budgets.

The embedded Reber grammar (Cleeremans, Servan-Schreiber & McClelland 1989;
Hochreiter & Schmidhuber 1997, section 5.1) wraps a Reber string in
B T ... T E or B P ... P E: the second-to-last symbol repeats the second one
across the whole embedded string, a dependency of arbitrary length.  A window
of the last k symbols (NetTalk, Sejnowski & Rosenberg 1987) cannot hold it;
a recurrent state can.

Each model kind trains E seeds as one ensemble (``training.BPTT``, Adam, full
BPTT, cross-entropy on the next symbol, the same sampled training strings per
seed for every kind), then is scored on held-out strings:

* success: every deterministic prediction right on every held-out string
  (argmax of the output equals the one legal next symbol), the final T/P included;
* final T/P: fraction of held-out strings whose second-to-last symbol is predicted right;
* deterministic accuracy: fraction of all deterministic positions predicted right.

Run:  .venv/bin/python benchmarks/window_vs_recurrent.py [--seeds 16] [--epochs 250] [--no-write]
Writes (or replaces) the section ``## window_vs_recurrent.py`` in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from dynrec import grammars, models, training
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

SECTION = "## window_vs_recurrent.py"
MODELS = [  # (label, kind, n_hidden, options)
    ("window k=3", "window", 8, {"k": 3, "activation": "tanh", "init": "torch"}),
    ("window k=6", "window", 8, {"k": 6, "activation": "tanh", "init": "torch"}),
    ("SRN", "srn", 8, {"init": "torch"}),
    ("LSTM", "lstm", 4, {"init": "torch"}),
]


def score(net, task, strings) -> dict:
    """Per-member success, final-T/P accuracy and deterministic accuracy on ``strings``."""
    batch = task.encode(strings)
    with torch.no_grad():
        logits, _ = net(batch.inputs, lengths=batch.lengths)
    right = logits.argmax(-1) == batch.targets[None]                 # [E,B,T]
    det = batch.deterministic[None]
    all_det = (right | ~det).all(-1).all(-1)                         # [E]
    final = torch.tensor([len(s) - 2 for s in strings])              # input s[-3] predicts s[-2]
    rows = torch.arange(len(strings))
    final_ok = right[:, rows, final]                                 # [E,B]
    return {"success": all_det.numpy(), "final": final_ok.float().mean(-1).numpy(),
            "det_acc": ((right & det).sum((1, 2)) / det.sum()).numpy()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--epochs", type=int, default=250)
    ap.add_argument("--strings-per-epoch", type=int, default=64)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    task = grammars.PredictionTask(grammars.get("embedded_reber"), markers=True, max_len=30)
    held_out = task.sample(np.random.default_rng(12345), 300)
    trainer = training.BPTT(mode="full", loss="ce", optimizer="adam", lr=0.02, batch_size=16,
                            epochs=args.epochs, strings_per_epoch=args.strings_per_epoch, reduction="mean")
    rows, start = [], time.perf_counter()
    for label, kind, hidden, options in MODELS:
        net = models.build(kind, task.n_in, hidden, task.n_out, ensemble=args.seeds, seed=0, **options)
        t0 = time.perf_counter()
        trainer.fit(net, task, seed=1)
        seconds = time.perf_counter() - t0
        s = score(net, task, held_out)
        rows.append((label, net.n_params_per_member, int(s["success"].sum()), float(np.median(s["final"])),
                     float(s["final"].max()), float(np.median(s["det_acc"])), seconds))
        print(f"{label}: {rows[-1]}", flush=True)
    total = time.perf_counter() - start
    strings = args.epochs * args.strings_per_epoch
    lines = [
        SECTION, "",
        f"Command: `.venv/bin/python benchmarks/window_vs_recurrent.py --seeds {args.seeds} --epochs {args.epochs} "
        f"--strings-per-epoch {args.strings_per_epoch}`  ",
        "Machine: 2-core CPU, torch 2.13 CPU, 1 thread (shared with other jobs).",
        "",
        f"Embedded Reber grammar, next-symbol prediction with start/end markers (strings of at most 30 symbols). "
        f"Each kind trains {args.seeds} seeds as one ensemble: `training.BPTT(mode='full', loss='ce', "
        f"optimizer='adam', lr=0.02, batch_size=16)`, {strings} training strings per seed "
        f"({args.epochs} epochs x {args.strings_per_epoch}). Scored on 300 held-out strings: *success* = every "
        "deterministic prediction right on every held-out string (the final T/P included); *final T/P* = "
        "fraction of held-out strings whose second-to-last symbol is predicted right (0.5 is chance); "
        "*det. acc.* = fraction of deterministic positions right. The window sees only its last k inputs: "
        "it gets the final T/P right only on strings short enough that their second symbol is still in "
        "the window (k=6 reaches some of the shortest held-out strings), and no seed succeeds.",
        "",
        "| model | params/seed | success (seeds) | final T/P, median | final T/P, best seed | det. acc., median | train time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, p, succ, fmed, fmax, dmed, sec in rows:
        lines.append(f"| {label} | {p} | {succ}/{args.seeds} | {fmed:.2f} | {fmax:.2f} | {dmed:.3f} | {sec:.1f} |")
    lines += ["", f"Total run time {total:.0f} s.", ""]
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section(table)


if __name__ == "__main__":
    main()
