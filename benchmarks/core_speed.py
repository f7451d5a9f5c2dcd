"""Speed of the ensemble core (issue 10): the fused SRN/LSTM paths against the plain step loop and torch.nn.

Workload (the issue's): a^n b^n next-symbol prediction with a start symbol,
3 inputs (a, b, ^), 3 outputs (a, b, $), the ten strings n = 1..10 as one batch
(B = 10, padded to T = 21 steps), full BPTT, cross-entropy summed over the real
positions, Adam (lr 0.01).  One iteration = forward + backward + update of
every member.  Network-steps/s = E * B * T / seconds (padded steps, as the plain
ensemble computes them; 120 of the 210 steps per member are real symbols).

Variants, all in this one run:
* ``fused``  - ``net(x)``: the default path (``models.fast``: the fused SRN / LSTM nodes);
* ``plain``  - the same ``net(x)`` inside ``models.fast.disabled()`` (the step loop
  with per-step ``bmm`` under autograd: the "plain einsum/bmm ensemble");
* ``torch.nn loop`` - what a user would write: per member one ``torch.nn.RNN`` +
  ``torch.nn.Linear`` + ``torch.optim.Adam`` and ``F.cross_entropy``, looped;
  timed on up to ``LOOP_CAP`` members and scaled linearly beyond (its cost per
  member is constant).

Last, ``training.BPTT.fit`` itself on the SRN-2 E = 4096 workload (the ten strings as
one minibatch per member, Adam, 2 epochs) with the loss's cross-entropy as
``training.losses.cross_entropy`` (max + log-sum-exp over the output slices) and as
the previous ``F.cross_entropy`` (log_softmax), swapped in the same run.

The two ensemble variants use the same loss code (cross-entropy written over
the O output slices, so it costs the same in either memory layout).

Run:  .venv/bin/python benchmarks/core_speed.py [--quick] [--no-write] [--no-profile]
Writes the section ``## core_speed.py`` of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dynrec import grammars, models, training
from dynrec.models import fast
from dynrec.training import losses
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

SECTION = "## core_speed.py"
LOOP_CAP = 64
LR = 0.01


def workload():
    """(x [B,T,I], onehot targets [B,T,O], mask [B,T], targets [B,T] long, lengths [B])."""
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    batch = task.encode(["a" * n + "b" * n for n in range(1, 11)])
    tgt = batch.targets.clamp(min=0)
    onehot = F.one_hot(tgt, task.n_out).to(batch.inputs.dtype) * batch.mask[..., None]
    return batch.inputs, onehot, batch.mask.to(batch.inputs.dtype), batch.targets, batch.lengths


def ce_loss(logits: torch.Tensor, onehot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy, written over the O output slices (logits [E,B,T,O], onehot [(E,)B,T,O])."""
    ys = logits.unbind(-1)
    with torch.no_grad():
        top = ys[0]
        for y in ys[1:]:
            top = torch.maximum(top, y)
    total = sum(torch.exp(y - top) for y in ys)
    picked = sum(y * o for y, o in zip(ys, onehot.unbind(-1)))
    return ((top + torch.log(total) - picked) * mask).sum()


def timeit(fn, min_time: float, reps: int = 3) -> float:
    """Best seconds per call (one warm-up, then at least ``reps`` calls and ``min_time`` seconds)."""
    fn()
    best, spent, n = float("inf"), 0.0, 0
    while spent < min_time or n < reps:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return best


def ensemble_iteration(kind: str, E: int, H: int, data, forward_only: bool = False):
    x, onehot, mask = data[:3]
    net = models.build(kind, 3, H, 3, ensemble=E, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=LR)

    def run():
        if forward_only:
            with torch.no_grad():
                net(x)
            return
        opt.zero_grad(set_to_none=True)
        logits, _ = net(x)
        ce_loss(logits, onehot, mask).backward()
        opt.step()

    return run


def loop_iteration(kind: str, E: int, H: int, data):
    x, _, _, targets, _ = data
    cls = torch.nn.RNN if kind == "srn" else torch.nn.LSTM
    nets = []
    for _ in range(E):
        rnn, lin = cls(3, H, batch_first=True), torch.nn.Linear(H, 3)
        nets.append((rnn, lin, torch.optim.Adam([*rnn.parameters(), *lin.parameters()], lr=LR)))
    keep = targets >= 0

    def run():
        for rnn, lin, opt in nets:
            opt.zero_grad(set_to_none=True)
            logits = lin(rnn(x)[0])
            F.cross_entropy(logits[keep], targets[keep], reduction="sum").backward()
            opt.step()

    return run


def online_epoch_ensemble(E: int, data, gen):
    """One epoch of online learning: each member sees the 10 strings one at a time, in its own order."""
    x, onehot, mask, _, lengths = data
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    order = torch.stack([torch.randperm(x.shape[0], generator=gen) for _ in range(E)])  # [E, 10]

    def run():
        for k in range(order.shape[1]):
            rows = order[:, k]
            steps = int(lengths[rows].max())
            xs = x[rows, None, :steps]  # [E,1,T,I]: one string per member
            opt.zero_grad(set_to_none=True)
            logits, _ = net(xs)
            ce_loss(logits, onehot[rows, None, :steps], mask[rows, None, :steps]).backward()
            opt.step()

    return run


def online_epoch_loop(E: int, data, gen):
    x, _, _, targets, lengths = data
    nets = []
    for _ in range(E):
        rnn, lin = torch.nn.RNN(3, 2, batch_first=True), torch.nn.Linear(2, 3)
        nets.append((rnn, lin, torch.optim.Adam([*rnn.parameters(), *lin.parameters()], lr=LR),
                     torch.randperm(x.shape[0], generator=gen).tolist()))

    def run():
        for rnn, lin, opt, order in nets:
            for r in order:
                n = int(lengths[r])
                opt.zero_grad(set_to_none=True)
                logits = lin(rnn(x[r:r + 1, :n])[0])[0]
                F.cross_entropy(logits, targets[r, :n], reduction="sum").backward()
                opt.step()

    return run


def fit_epoch_seconds(E: int, epochs: int = 2) -> float:
    """Seconds per epoch of ``training.BPTT.fit`` (SRN-2, the ten strings, one minibatch, Adam)."""
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    strings = ["a" * n + "b" * n for n in range(1, 11)]
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    trainer = training.BPTT(mode="full", loss="ce", optimizer="adam", lr=LR, batch_size=10, epochs=epochs)
    t0 = time.perf_counter()
    trainer.fit(net, task, seed=0, strings=strings)
    return (time.perf_counter() - t0) / epochs


def _log_softmax_ce(logits, target):
    """The previous formula of ``training.losses.cross_entropy`` (for the before/after row)."""
    return F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none").view(target.shape)


def loss_seconds(E: int, fn) -> float:
    """Best seconds of forward+backward of the per-position loss alone on [E, 10, 21, 3] logits."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(E, 10, 21, 3, generator=g) * 3
    target = torch.randint(0, 3, (E, 10, 21), generator=g)

    def run():
        y = logits.clone().requires_grad_()
        fn(y, target).sum().backward()

    return timeit(run, 0.3)


def peak_rss_child(E: int, iters: int) -> dict:
    """Train a 2-unit SRN ensemble of E members for ``iters`` iterations in a fresh process; peak RSS."""
    code = f"""
import json, resource, time, torch
torch.set_num_threads(1)
import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})
import core_speed as cs
data = cs.workload()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run = cs.ensemble_iteration("srn", {E}, 2, data)
t0 = time.perf_counter()
for _ in range({iters}):
    run()
dt = (time.perf_counter() - t0) / {iters}
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "before_mb": base / 1024, "seconds_per_iter": dt}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def profile_table(run, label: str, rows: int = 8) -> list[str]:
    from torch.profiler import ProfilerActivity, profile

    run()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(2):
            run()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    lines = [f"| {label} | op | self CPU % | calls |", "|---|---|---:|---:|"]
    for e in events[:rows]:
        lines.append(f"| | `{e.key}` | {100 * e.self_cpu_time_total / total:.1f} | {e.count // 2} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing (noisier)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--no-profile", action="store_true", help="skip the torch.profiler tables")
    args = ap.parse_args()
    torch.set_num_threads(1)
    min_time = 0.3 if args.quick else 1.0
    data = workload()
    B, T = data[0].shape[:2]
    rows, notes = [], {}

    def line(name, E, rate, ref=None, ref_name=""):
        ratio = "" if ref is None else f"{rate / ref:.1f}x {ref_name}"
        rows.append((name, E, rate, ratio))
        print(f"{name:48s} E={E:6d} {rate / 1e6:9.3f} M steps/s  {ratio}", flush=True)

    # 1. 2-unit SRN, full BPTT + Adam
    for E in (1, 256, 4096):
        fused = E * B * T / timeit(ensemble_iteration("srn", E, 2, data), min_time)
        with fast.disabled():
            plain = E * B * T / timeit(ensemble_iteration("srn", E, 2, data), min_time)
        n_loop = min(E, LOOP_CAP)
        loop = n_loop * B * T / timeit(loop_iteration("srn", n_loop, 2, data), min_time, reps=2)
        tag = "" if E <= LOOP_CAP else f" (timed on {LOOP_CAP}, scaled)"
        line("SRN-2 train, torch.nn loop" + tag, E, loop)
        line("SRN-2 train, plain ensemble (fast.disabled)", E, plain, loop, "loop")
        line("SRN-2 train, fused (default)", E, fused, plain, "plain")
        notes[("srn", E)] = (fused, plain, loop)
    # 2. forward only, 3-unit SRN
    E = 4096
    fused = E * B * T / timeit(ensemble_iteration("srn", E, 3, data, forward_only=True), min_time)
    with fast.disabled():
        plain = E * B * T / timeit(ensemble_iteration("srn", E, 3, data, forward_only=True), min_time)
    line("SRN-3 forward only, plain ensemble", E, plain)
    line("SRN-3 forward only, fused (default)", E, fused, plain, "plain")
    notes["fwd"] = fused
    # 3. 10-unit LSTM: fused node (models/fast_lstm.py) against the plain loop, twice (shared CPU)
    E = 1024
    lstm, lstm_plain = 0.0, 0.0
    for _ in range(2):
        lstm = max(lstm, E * B * T / timeit(ensemble_iteration("lstm", E, 10, data), min_time))
        with fast.disabled():
            lstm_plain = max(lstm_plain, E * B * T / timeit(ensemble_iteration("lstm", E, 10, data), min_time))
    line("LSTM-10 train, plain ensemble (fast.disabled)", E, lstm_plain)
    line("LSTM-10 train, fused (default)", E, lstm, lstm_plain, "plain")
    notes["lstm"] = lstm
    # 4. online learning, one string per update per member, E = 256
    E = 256
    real = int(data[4].sum())  # real steps per member per epoch
    t_fused = timeit(online_epoch_ensemble(E, data, torch.Generator().manual_seed(0)), min_time, reps=2)
    with fast.disabled():
        t_plain = timeit(online_epoch_ensemble(E, data, torch.Generator().manual_seed(0)), min_time, reps=2)
    n_loop = 32
    t_loop = timeit(online_epoch_loop(n_loop, data, torch.Generator().manual_seed(0)), min_time, reps=1) * E / n_loop
    line(f"online SRN-2, torch.nn loop (timed on {n_loop}, scaled)", E, E * real / t_loop)
    line("online SRN-2, plain ensemble", E, E * real / t_plain, E * real / t_loop, "loop")
    line("online SRN-2, default net(x) (E * B = 256 < FUSED_MIN_ROWS: plain)", E, E * real / t_fused,
         E * real / t_loop, "loop")
    notes["online"] = t_loop / t_fused
    # 4b. the loss alone, and BPTT.fit, with the cross-entropy before / after
    E = 4096
    l_new, l_old = loss_seconds(E, losses.cross_entropy), loss_seconds(E, _log_softmax_ce)
    saved = losses.cross_entropy
    f_new, f_old = fit_epoch_seconds(E), 0.0
    try:
        losses.cross_entropy = _log_softmax_ce
        f_old = fit_epoch_seconds(E)
    finally:
        losses.cross_entropy = saved
    fit_rows = [("per-position cross-entropy alone, fwd+bwd, [4096,10,21,3]", l_old, l_new),
                ("BPTT.fit, SRN-2, seconds per epoch", f_old, f_new)]
    for name, old, new in fit_rows:
        print(f"{name:60s} log_softmax {old * 1e3:8.1f} ms   slices {new * 1e3:8.1f} ms   {old / new:.2f}x",
              flush=True)
    # 5. memory
    mem = peak_rss_child(10_000, 3)
    print(f"10,000 members: peak RSS {mem['peak_mb']:.0f} MB ({mem['before_mb']:.0f} MB before building), "
          f"{mem['seconds_per_iter']:.3f} s per iteration", flush=True)
    # 6. profiles
    prof = []
    if not args.no_profile:
        with fast.disabled():
            prof += profile_table(ensemble_iteration("srn", 4096, 2, data), "before (plain), E = 4096")
        prof += [""] + profile_table(ensemble_iteration("srn", 4096, 2, data), "after (fused), E = 4096")

    f1, p1, l1 = notes[("srn", 1)]
    f256, _, l256 = notes[("srn", 256)]
    f4096, p4096, _ = notes[("srn", 4096)]
    targets = [
        ("SRN-2 E=4096 train >= 30M steps/s", f"{f4096 / 1e6:.1f}M ({f4096 / p4096:.1f}x plain)", f4096 >= 30e6),
        ("SRN-2 E=256 train >= 100x torch.nn loop", f"{f256 / l256:.0f}x", f256 / l256 >= 100),
        ("LSTM-10 E=1024 train >= 3M steps/s", f"{notes['lstm'] / 1e6:.2f}M ({lstm / lstm_plain:.2f}x plain)",
         notes["lstm"] >= 3e6),
        ("SRN-3 E=4096 forward >= 60M steps/s", f"{notes['fwd'] / 1e6:.1f}M", notes["fwd"] >= 60e6),
        ("online E=256 >= 100x torch.nn loop", f"{notes['online']:.0f}x", notes["online"] >= 100),
        ("10,000 x SRN-2 trains, peak RSS < 2 GB", f"{mem['peak_mb']:.0f} MB", mem["peak_mb"] < 2048),
        ("E=1 within 1.5x of one torch.nn.RNN", f"{f1 / l1:.2f}x the RNN's rate", f1 / l1 >= 1 / 1.5),
    ]
    table = ["| case | E | network-steps/s | ratio |", "|---|---:|---:|---|"]
    table += [f"| {n} | {E} | {r:,.0f} | {q} |" for n, E, r, q in rows]
    tt = ["| target | measured | met |", "|---|---|---|"]
    tt += [f"| {n} | {m} | {'yes' if ok else '**no**'} |" for n, m, ok in targets]
    load = os.getloadavg()[0]
    body = "\n".join([
        SECTION, "",
        "The ensemble core on the issue-10 workload: a^n b^n prediction with a start symbol (3 in, 3 out), "
        f"the strings n = 1..10 as one batch (B = {B}, T = {T}), full BPTT, summed cross-entropy, Adam; "
        "network-steps/s = E * B * T / best time of one forward+backward+update (online rows: real "
        "symbols / time of one epoch of 10 single-string updates).  'fused' is the default `net(x)` "
        "(models/fast_srn.py, models/fast_lstm.py), 'plain' the same call inside `models.fast.disabled()`, "
        "the loop one torch.nn.RNN + Linear + Adam per member.  The LSTM rows are the best of two "
        "alternating measurements each.",
        "",
        "Command: `.venv/bin/python benchmarks/core_speed.py`" + (" --quick" if args.quick else ""),
        f"Machine: 2-core CPU, torch {torch.__version__.split('+')[0]} CPU, 1 thread; load average "
        f"{load:.1f} at the end (the cores are shared with other jobs; ratios come from "
        "one run).",
        *([] if load <= 2.0 else [
            "", f"**Loaded machine**: the load average was {load:.1f} on 2 cores during this run (other jobs "
            "shared them), so absolute rates are depressed and even same-run ratios are noisy (the "
            "torch.nn loop and the ensembles suffer the contention differently).  Re-run on a quiet "
            "machine before quoting a number; a 'yes' below that rests on a ratio is not established."]),
        "", *table, "",
        f"Memory: 10,000 two-unit SRNs training (fused path, 3 iterations, fresh process): peak RSS "
        f"{mem['peak_mb']:.0f} MB ({mem['before_mb']:.0f} MB after imports), "
        f"{mem['seconds_per_iter']:.2f} s per iteration.",
        "", *tt, "",
        "The training loss's cross-entropy (`training.losses.cross_entropy`, max + log-sum-exp over "
        "the O output slices) against the previous `F.cross_entropy` (log_softmax), same run; "
        "`BPTT.fit` is the whole trainer (data, per-member optimiser, per-epoch metrics), SRN-2, "
        "E = 4096, the ten strings as one minibatch, Adam, 2 epochs:",
        "", "| | log_softmax | output slices | ratio |", "|---|---:|---:|---:|",
        *[f"| {n} | {o * 1e3:.1f} ms | {w * 1e3:.1f} ms | {o / w:.2f}x |" for n, o, w in fit_rows], "",
        *(["Where the time goes (torch.profiler, top ops by self CPU time, one iteration of the SRN-2 "
           "workload):", "", *prof, ""] if prof else []),
    ])
    print("\n" + body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
