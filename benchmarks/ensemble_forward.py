"""Forward+backward throughput of model ensembles against a loop of torch.nn modules.

Workload: E two-unit networks (SRN, LSTM and GRU), 3 inputs, 3 outputs, a batch of
B = 16 strings of T = 20 steps shared by all members; one forward pass, a
squared-error loss on the sigmoid outputs, and backward to every parameter.
Throughput is network-steps per second: E * B * T / seconds.

The default ``net(x)`` runs the compiled kernels (models/numba_srn.py,
models/numba_lstm.py, models/numba_gru.py); the column "numba off" is the same
call with numba switched off (the fused torch ops from FUSED_MIN_ROWS rows, the
plain step loop below and for the GRU: what runs on CUDA or without numba),
measured in the same run.  The GRU uses torch's convention (``reset_after=True``)
so that it does the work of ``torch.nn.GRU``.

The baseline is what a user would write instead: a Python loop over E separate
``torch.nn.RNN`` / ``LSTM`` / ``GRU`` + ``torch.nn.Linear`` modules, each doing
the same forward and backward.  The loop is timed up to E = 256; its cost is
linear in E (the same work per network), so for larger E its rate is the
E = 256 per-network rate, marked "extrapolated" in the table.

Timing: the variants of one E are timed in three interleaved rounds and each
keeps its best call, so a slow spell of the shared machine falls on all of them
alike (timed one after the other, the E = 256 LSTM ratio swung from 41x to 66x
between runs on this machine).

Run:  .venv/bin/python benchmarks/ensemble_forward.py  [--quick]
Appends (or replaces) the section ``## ensemble_forward.py`` in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # before torch loads, as the dynrec command does

import torch  # noqa: E402

from dynrec import models  # noqa: E402
from dynrec.models import fast  # noqa: E402

fast.keep_freed_memory()  # as the dynrec command does (see its docstring)
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

B, T, I, H, O = 16, 20, 3, 2, 3
LOOP_CAP = 256
ROUNDS = 3
SECTION = "## ensemble_forward.py"
# dynrec family -> (the torch.nn module a user would loop over, the options that match its cell)
KINDS = {"srn": (torch.nn.RNN, {}), "lstm": (torch.nn.LSTM, {}), "gru": (torch.nn.GRU, {"reset_after": True})}
NAMES = {"srn": "SRN (tanh)", "lstm": "LSTM", "gru": "GRU"}


def _timeit(fn, min_time: float) -> float:
    """Best seconds per call over repeats lasting at least ``min_time`` in total (after one warm-up)."""
    fn()
    best, spent = float("inf"), 0.0
    while spent < min_time or best == float("inf"):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return best


def ensemble_case(kind: str, E: int, x, y, numba: bool = True):
    """One forward + backward of the ensemble (as ``net(x)`` runs by default, or with numba off)."""
    net = models.build(kind, I, H, O, ensemble=E, seed=0, **KINDS[kind][1])

    def run():
        saved = fast._numba
        fast._numba = None if numba else False
        try:
            net.zero_grad(set_to_none=True)
            logits, _ = net(x)
            ((torch.sigmoid(logits) - y) ** 2).mean().backward()
        finally:
            fast._numba = saved

    return run


def loop_case(kind: str, E: int, x, y):
    """The same work as a Python loop over E torch.nn modules."""
    cls = KINDS[kind][0]
    nets = [(cls(I, H, batch_first=True), torch.nn.Linear(H, O)) for _ in range(E)]  # values do not matter

    def run():
        for rnn, lin in nets:
            rnn.zero_grad(set_to_none=True)
            lin.zero_grad(set_to_none=True)
            hs, _ = rnn(x)
            ((torch.sigmoid(lin(hs)) - y) ** 2).mean().backward()

    return run


def rates(runs: dict, steps: int, min_time: float) -> dict:
    """Network-steps/s of each run, the best over ROUNDS interleaved rounds (each run timed for
    ``min_time / ROUNDS`` per round), so that a slow spell of the shared machine falls on every
    variant alike rather than on whichever happened to be timed then."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(ROUNDS):
        for name, run in runs.items():
            best[name] = min(best[name], _timeit(run, min_time / ROUNDS))
    return {name: steps / t for name, t in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timing (noisier), for a smoke run")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    torch.set_num_threads(1)
    min_time = 0.6 if args.quick else 3.0
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, I, generator=gen)
    y = torch.rand(B, T, O, generator=gen)

    rows = []
    for kind in KINDS:
        loop_rate = None
        for E in (1, 16, 256, 4096):
            runs = {"ens": ensemble_case(kind, E, x, y), "off": ensemble_case(kind, E, x, y, numba=False)}
            if E <= LOOP_CAP:
                runs["loop"] = loop_case(kind, E, x, y)
            r = rates(runs, E * B * T, min_time)
            ens, off = r["ens"], r["off"]
            if E <= LOOP_CAP:
                loop_rate, note = r["loop"], "measured"
            else:
                note = f"extrapolated from E = {LOOP_CAP} (per-network cost)"
            rows.append((kind, E, ens, off, loop_rate, ens / loop_rate, note))
            print(f"{kind:5s} E={E:5d}  ensemble {ens / 1e6:8.3f} M/s  numba off {off / 1e6:8.3f} M/s  loop {loop_rate / 1e6:8.3f} M/s  "
                  f"x{ens / loop_rate:7.1f}  ({note})", flush=True)

    table = ["| model (2 units) | E | ensemble, default (network-steps/s) | numba off | "
             "loop of torch.nn (network-steps/s) | ratio default / loop | ratio numba off / loop | loop |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for kind, E, ens, off, loop, ratio, note in rows:
        name = NAMES[kind]
        table.append(f"| {name} | {E} | {ens:,.0f} | {off:,.0f} | {loop:,.0f} | **{ratio:.1f}x** | "
                     f"{off / loop:.1f}x | {note} |")
    e256 = {kind: ratio for kind, E, _, _, _, ratio, _ in rows if E == 256 and kind != "gru"}
    body = "\n".join([
        SECTION, "",
        "Forward + backward (squared error on sigmoid outputs, gradients of every parameter) of E "
        f"two-unit networks on B = {B} strings of T = {T} steps (I = {I}, O = {O}); network-steps/s = "
        f"E * B * T / best time over {ROUNDS} interleaved rounds of every variant.  Baseline: a Python loop over E torch.nn.RNN / LSTM / GRU + "
        f"torch.nn.Linear modules doing the same work, timed up to E = {LOOP_CAP}.",
        "",
        "Command: `.venv/bin/python benchmarks/ensemble_forward.py`" + (" --quick" if args.quick else ""),
        f"Machine: 2-core CPU, torch {torch.__version__.split('+')[0]} CPU, 1 thread; load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run (other jobs share the cores: best-of-repeats "
        "favours the short E = 1 loop, so ratios at E >= 16 are conservative when the load is high).",
        "", *table, "",
        "Target of issue 3: at E = 256 the ensemble is at least 50x the loop: "
        + ", ".join(f"{'SRN' if k == 'srn' else 'LSTM'} {r:.0f}x ({'met' if r >= 50 else '**not met**'})"
                    for k, r in e256.items()) + ".", ""])
    print("\n" + body)
    if not args.no_write:
        write_section(body)


if __name__ == "__main__":
    main()
