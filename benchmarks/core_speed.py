"""Speed of the ensemble core (issue 10): the compiled kernels and the fused torch paths against the plain step loop and torch.nn.

Workload (the issue's): a^n b^n next-symbol prediction with a start symbol,
3 inputs (a, b, ^), 3 outputs (a, b, $), the ten strings n = 1..10 as one batch
(B = 10, padded to T = 21 steps), full BPTT, cross-entropy summed over the real
positions (``training.losses.cross_entropy``, what ``BPTT`` uses), Adam (lr 0.01).
One iteration = forward + backward + update of every member.  Network-steps/s =
E * B * T / seconds (padded steps, as the ensembles compute them; 120 of the 210
steps per member are real symbols).

Variants, all in this one run:
* ``compiled`` - ``net(x)`` as it runs by default: the numba kernels of
  models/numba_srn.py, models/numba_lstm.py and training/numba_ce.py;
* ``torch fused`` - the same call with numba switched off (``models.fast._numba =
  False``): the fused torch-op nodes of models/fast_srn.py / fast_lstm.py from
  ``FUSED_MIN_ROWS`` rows, the plain loop below, the loss in torch ops (what runs
  on CUDA, or where numba is missing);
* ``plain`` - the same call inside ``models.fast.disabled()`` (the step loop with
  per-step ``bmm`` under autograd: the "plain einsum/bmm ensemble" of the issue);
* ``torch.nn loop`` - what a user would write: per member one ``torch.nn.RNN`` +
  ``torch.nn.Linear`` + ``torch.optim.Adam`` and ``F.cross_entropy``, looped;
  timed on up to ``LOOP_CAP`` members and scaled linearly beyond (its cost per
  member is constant).

The row "lengths given" runs the LSTM as ``BPTT`` does for a shared batch: with the
strings' lengths, so the 90 padded steps of the 210 hold the state instead of being
computed (same loss and gradients); its rate still counts all E * B * T steps, so it
is not comparable with the targets and is not used for them.

Last, the loss alone and ``training.BPTT.fit`` itself (SRN-2, E = 4096, the ten
strings as one minibatch per member, Adam, 2 epochs) with and without numba.

The script sets ``THP_MEM_ALLOC_ENABLE=1`` before torch loads (torch's switch for
transparent huge pages in its CPU allocator) and calls ``models.fast.keep_freed_memory()``
(glibc keeps freed blocks in the heap), as the ``dynrec`` command does: the
kernels write tens of MB of fresh state per call at these sizes, and page
faults on first touch otherwise cost about as much as the arithmetic.

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
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # before torch loads; see the docstring

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from dynrec import grammars, models, training  # noqa: E402
from dynrec.models import fast  # noqa: E402

fast.keep_freed_memory()  # as the dynrec command does (see its docstring)
from dynrec.training import losses  # noqa: E402
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

SECTION = "## core_speed.py"
LOOP_CAP = 64
LR = 0.01
VARIANTS = ("compiled", "torch fused", "plain")


@contextmanager
def variant(name: str):
    """Run the enclosed code with one of ``VARIANTS`` (see the module docstring)."""
    saved = fast._numba
    try:
        if name == "compiled":
            fast._numba = None
            assert fast.numba_available(), "numba is a dependency of dynrec"
            yield
        elif name == "torch fused":
            fast._numba = False
            yield
        else:
            with fast.disabled():
                yield
    finally:
        fast._numba = saved


def workload():
    """(x [B,T,I], targets [B,T] long clamped to >= 0, mask [B,T], targets [B,T] (-1 at padding), lengths [B])."""
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    batch = task.encode(["a" * n + "b" * n for n in range(1, 11)])
    return batch.inputs, batch.targets.clamp(min=0), batch.mask.to(batch.inputs.dtype), batch.targets, batch.lengths


def ce_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy through dynrec's own loss (``training.losses.cross_entropy``, what
    ``BPTT`` calls): the compiled kernel by default, the torch ops inside ``fast.disabled()``."""
    return (losses.cross_entropy(logits, targets.expand(logits.shape[:-1])) * mask).sum()


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


def ensemble_iteration(kind: str, E: int, H: int, data, forward_only: bool = False,
                       lengths: bool = False):
    """One iteration; ``lengths=True`` passes the strings' lengths, as ``BPTT`` does for a shared
    batch on the compiled path: padded steps hold the state and are not computed (same loss and
    gradients)."""
    x, safe, mask = data[:3]
    given = data[4] if lengths else None
    net = models.build(kind, 3, H, 3, ensemble=E, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=LR)

    def run():
        if forward_only:
            with torch.no_grad():
                net(x, lengths=given)
            return
        opt.zero_grad(set_to_none=True)
        logits, _ = net(x, lengths=given)
        ce_loss(logits, safe, mask).backward()
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
    x, safe, mask, _, lengths = data
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
            ce_loss(logits, safe[rows, None, :steps], mask[rows, None, :steps]).backward()
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
    """``F.cross_entropy`` (log_softmax), what a user would write."""
    return F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none").view(target.shape)


def loss_seconds(E: int, fn) -> float:
    """Best seconds of forward+backward of the per-position loss alone on the [E, 10, 21, 3] logits
    of an SRN-2 ensemble (the compiled path's layout: a view of [21, 10, 3, E])."""
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(21, 10, 3, E, generator=g) * 3).permute(3, 1, 0, 2)
    target = torch.randint(0, 3, (E, 10, 21), generator=g)

    def run():
        y = logits.detach().requires_grad_()
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

    def rate(kind, E, H, name, forward_only=False, best_of=1):
        with variant(name):
            return max(E * B * T / timeit(ensemble_iteration(kind, E, H, data, forward_only), min_time)
                       for _ in range(best_of))

    # 1. 2-unit SRN, full BPTT + Adam
    for E in (1, 256, 4096):
        r = {name: rate("srn", E, 2, name) for name in VARIANTS}
        n_loop = min(E, LOOP_CAP)
        loop = n_loop * B * T / timeit(loop_iteration("srn", n_loop, 2, data), min_time, reps=2)
        tag = "" if E <= LOOP_CAP else f" (timed on {LOOP_CAP}, scaled)"
        line("SRN-2 train, torch.nn loop" + tag, E, loop)
        line("SRN-2 train, plain ensemble", E, r["plain"], loop, "loop")
        line("SRN-2 train, torch fused" + (" (= plain below FUSED_MIN_ROWS)" if E * B < fast.FUSED_MIN_ROWS
                                            else ""), E, r["torch fused"], r["plain"], "plain")
        line("SRN-2 train, compiled (default)", E, r["compiled"], r["plain"], "plain")
        rows[-1] = rows[-1][:3] + (f"{r['compiled'] / r['plain']:.1f}x plain, {r['compiled'] / loop:.0f}x loop",)
        notes[("srn", E)] = (r["compiled"], r["plain"], loop)
    # 2. forward only, 3-unit SRN
    E = 4096
    r = {name: rate("srn", E, 3, name, forward_only=True) for name in VARIANTS}
    line("SRN-3 forward only, plain ensemble", E, r["plain"])
    line("SRN-3 forward only, torch fused", E, r["torch fused"], r["plain"], "plain")
    line("SRN-3 forward only, compiled (default)", E, r["compiled"], r["plain"], "plain")
    notes["fwd"] = r["compiled"]
    # 3. 10-unit LSTM, best of two each (shared CPU)
    E = 1024
    r = {name: rate("lstm", E, 10, name, best_of=2) for name in VARIANTS}
    line("LSTM-10 train, plain ensemble", E, r["plain"])
    line("LSTM-10 train, torch fused", E, r["torch fused"], r["plain"], "plain")
    line("LSTM-10 train, compiled (default)", E, r["compiled"], r["plain"], "plain")
    notes["lstm"] = r["compiled"]
    with variant("compiled"):
        given = max(E * B * T / timeit(ensemble_iteration("lstm", E, 10, data, lengths=True), min_time)
                    for _ in range(2))
    line("LSTM-10 train, compiled, lengths given (as BPTT runs it)", E, given, r["compiled"], "compiled")
    # 4. online learning, one string per update per member, E = 256
    E = 256
    real = int(data[4].sum())  # real steps per member per epoch
    t_on = {}
    for name in VARIANTS:
        with variant(name):
            t_on[name] = timeit(online_epoch_ensemble(E, data, torch.Generator().manual_seed(0)), min_time, reps=2)
    n_loop = 32
    t_loop = timeit(online_epoch_loop(n_loop, data, torch.Generator().manual_seed(0)), min_time, reps=1) * E / n_loop
    line(f"online SRN-2, torch.nn loop (timed on {n_loop}, scaled)", E, E * real / t_loop)
    line("online SRN-2, plain ensemble", E, E * real / t_on["plain"], E * real / t_loop, "loop")
    line("online SRN-2, torch fused (E * B = 256 < FUSED_MIN_ROWS: plain)", E, E * real / t_on["torch fused"],
         E * real / t_loop, "loop")
    line("online SRN-2, compiled (default)", E, E * real / t_on["compiled"], E * real / t_loop, "loop")
    notes["online"] = t_loop / t_on["compiled"]
    # 4b. the loss alone, and BPTT.fit, with and without the compiled kernels
    E = 4096
    with variant("compiled"):
        l_comp, f_comp = loss_seconds(E, losses.cross_entropy), fit_epoch_seconds(E)
    with variant("torch fused"):
        l_torch, f_torch = loss_seconds(E, losses.cross_entropy), fit_epoch_seconds(E)
    l_user = loss_seconds(E, _log_softmax_ce)
    fit_rows = [("per-position cross-entropy alone, fwd+bwd, [4096,10,21,3]", l_user, l_torch, l_comp),
                ("BPTT.fit, SRN-2, E = 4096, seconds per epoch", None, f_torch, f_comp)]
    for name, user, tor, comp in fit_rows:
        print(f"{name:60s} F.cross_entropy {'-' if user is None else f'{user * 1e3:.1f} ms'}  "
              f"torch {tor * 1e3:8.1f} ms   compiled {comp * 1e3:8.1f} ms   {tor / comp:.2f}x", flush=True)
    # 5. memory
    mem = peak_rss_child(10_000, 3)
    print(f"10,000 members: peak RSS {mem['peak_mb']:.0f} MB ({mem['before_mb']:.0f} MB before building), "
          f"{mem['seconds_per_iter']:.3f} s per iteration", flush=True)
    # 6. profiles
    prof = []
    if not args.no_profile:
        with variant("plain"):
            prof += profile_table(ensemble_iteration("srn", 4096, 2, data), "plain, E = 4096")
        with variant("torch fused"):
            prof += [""] + profile_table(ensemble_iteration("srn", 4096, 2, data), "torch fused, E = 4096")
        with variant("compiled"):
            prof += [""] + profile_table(ensemble_iteration("srn", 4096, 2, data), "compiled, E = 4096")

    f1, _, l1 = notes[("srn", 1)]
    f256, _, l256 = notes[("srn", 256)]
    f4096, p4096, _ = notes[("srn", 4096)]
    targets = [
        ("SRN-2 E=4096 train >= 30M steps/s", f"{f4096 / 1e6:.1f}M ({f4096 / p4096:.1f}x plain)", f4096 >= 30e6),
        ("SRN-2 E=256 train >= 100x torch.nn loop", f"{f256 / l256:.0f}x", f256 / l256 >= 100),
        ("LSTM-10 E=1024 train >= 3M steps/s", f"{notes['lstm'] / 1e6:.2f}M", notes["lstm"] >= 3e6),
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
        f"the strings n = 1..10 as one batch (B = {B}, T = {T}), full BPTT, summed cross-entropy "
        "(`training.losses.cross_entropy`), Adam; network-steps/s = E * B * T / best time of one "
        "forward+backward+update (online rows: real symbols / time of one epoch of 10 single-string "
        "updates).  'compiled' is the default `net(x)` (numba kernels: models/numba_srn.py, "
        "models/numba_lstm.py, training/numba_ce.py); 'torch fused' the same with numba off "
        "(models/fast_srn.py, models/fast_lstm.py from FUSED_MIN_ROWS rows: what runs on CUDA or "
        "without numba); 'plain' the same call inside `models.fast.disabled()`; the loop one "
        "torch.nn.RNN + Linear + Adam per member.  The LSTM rows are the best of two measurements. "
        "THP_MEM_ALLOC_ENABLE=1 and `models.fast.keep_freed_memory()` (set by the script as by the `dynrec` "
        "command; see its docstring).",
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
        f"Memory: 10,000 two-unit SRNs training (default path, 3 iterations, fresh process): peak RSS "
        f"{mem['peak_mb']:.0f} MB ({mem['before_mb']:.0f} MB after imports), "
        f"{mem['seconds_per_iter']:.2f} s per iteration.",
        "", *tt, "",
        "The loss alone (the logits in the compiled networks' layout) and the whole trainer "
        "(`BPTT.fit`: data, per-member optimiser, per-epoch metrics), same run:",
        "", "| | F.cross_entropy (log_softmax) | torch ops (numba off) | compiled | torch / compiled |",
        "|---|---:|---:|---:|---:|",
        *[f"| {n} | {'—' if u is None else f'{u * 1e3:.1f} ms'} | {t * 1e3:.1f} ms | {c * 1e3:.1f} ms | "
          f"{t / c:.2f}x |" for n, u, t, c in fit_rows], "",
        *(["Where the time goes (torch.profiler, top ops by self CPU time, one iteration of the SRN-2 "
           "workload):", "", *prof, ""] if prof else []),
    ])
    print("\n" + body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
