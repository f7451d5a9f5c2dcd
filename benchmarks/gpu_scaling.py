"""The issue-10 workloads on a GPU, for ensembles of 10^3 to 10^6 members.

Same workload as benchmarks/core_speed.py (a^n b^n prediction with a start
symbol, the ten strings n = 1..10 as one batch, B = 10, T = 21; summed
cross-entropy through ``training.losses.cross_entropy``; Adam), with the
networks and data on ``--device`` (default ``cuda``).  On CUDA ``net(x)`` takes
the fused torch-op paths (models/fast_srn.py, models/fast_lstm.py) from
``FUSED_MIN_ROWS`` rows, the plain step loop below; the compiled numba kernels
are CPU-only.  Rows:

* SRN-2 train (forward + backward + Adam), E = 10^3 .. --max-e;
* LSTM-10 train (peephole off), E = 10^3 .. --max-e / 4 (its saved gate
  activations alone take T*B*4H*E*4 bytes: 34 GB at E = 10^6);
* SRN-3 forward only, E = 10^3 .. --max-e.

Network-steps/s = E * B * T / best time (``torch.cuda.synchronize`` around each
call), and the peak memory the device allocated.  A size that runs out of
memory is reported as such and the larger ones of that row are skipped.  For
comparison the same rows run once on this host's CPU at E = 4096 (the compiled
kernels), in the same run.

Run:  .venv/bin/python benchmarks/gpu_scaling.py [--device cuda] [--max-e 1000000] [--quick]
Without a CUDA device it says so and exits with status 2, writing nothing;
``--device cpu --max-e 4096 --no-write`` exercises the script on any machine.
Writes the section ``## gpu_scaling.py`` of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")  # before torch loads, as the dynrec command does

import torch  # noqa: E402

from dynrec import grammars, models  # noqa: E402
from dynrec.models import fast  # noqa: E402
from dynrec.training import losses  # noqa: E402
from _results import write_section  # noqa: E402 - benchmarks/ is on sys.path

fast.keep_freed_memory()
SECTION = "## gpu_scaling.py"
LR = 0.01


def workload(device):
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    batch = task.encode(["a" * n + "b" * n for n in range(1, 11)])
    mask = batch.mask.to(batch.inputs.dtype)
    return batch.inputs.to(device), batch.targets.clamp(min=0).to(device), mask.to(device)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def rate(kind: str, H: int, E: int, data, device, train: bool, min_time: float) -> float:
    """Network-steps/s of one training iteration (or one forward pass) of E members."""
    x, safe, mask = data
    net = models.build(kind, 3, H, 3, ensemble=E, seed=0, device=device)
    opt = torch.optim.Adam(net.parameters(), lr=LR)

    def run():
        if not train:
            with torch.no_grad():
                net(x)
            return
        opt.zero_grad(set_to_none=True)
        logits, _ = net(x)
        (losses.cross_entropy(logits, safe.expand(logits.shape[:-1])) * mask).sum().backward()
        opt.step()

    run()
    sync(device)
    best, spent, n = float("inf"), 0.0, 0
    while spent < min_time or n < 3:
        t0 = time.perf_counter()
        run()
        sync(device)
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
    return E * x.shape[0] * x.shape[1] / best


def sizes(largest: int) -> list[int]:
    out, e = [], 1000
    while e <= largest:
        out.append(e)
        e *= 10
    if out and out[-1] < largest:
        out.append(largest)
    return out


ROWS = (("SRN-2 train", "srn", 2, True, 1), ("LSTM-10 train", "lstm", 10, True, 4),
        ("SRN-3 forward", "srn", 3, False, 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", help="torch device (default cuda)")
    ap.add_argument("--max-e", type=int, default=1_000_000, help="largest ensemble (default 10^6)")
    ap.add_argument("--quick", action="store_true", help="shorter timing (noisier)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_scaling.py: no CUDA device on this machine (torch.cuda.is_available() is False); "
              "nothing measured. Use --device cpu to exercise the script.", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    min_time = 0.3 if args.quick else 1.0
    data = workload(device)
    cpu_data = workload("cpu")
    lines = []
    for name, kind, H, train, shrink in ROWS:
        cpu = rate(kind, H, 4096, cpu_data, "cpu", train, min_time)
        print(f"{name:14s} CPU E=4096: {cpu / 1e6:9.2f} M/s", flush=True)
        for E in sizes(args.max_e // shrink):
            if device.type == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            try:
                r = rate(kind, H, E, data, device, train, min_time)
            except torch.OutOfMemoryError:
                lines.append(f"| {name} | {E:,} | out of memory | | |")
                print(f"{name:14s} E={E:>9,}: out of memory", flush=True)
                break
            peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f}" if device.type == "cuda" else "n/a"
            lines.append(f"| {name} | {E:,} | {r:,.0f} | {peak} | {r / cpu:.1f}x |")
            print(f"{name:14s} E={E:>9,}: {r / 1e6:9.2f} M/s  peak {peak} GiB  {r / cpu:.1f}x CPU", flush=True)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none (CPU run)"
    body = "\n".join([
        SECTION, "",
        "The issue-10 workload (a^n b^n, B = 10 strings, T = 21, summed cross-entropy, Adam) on "
        f"`{args.device}`; network-steps/s = E * B * T / best time; the last column against this "
        "host's CPU (compiled kernels, E = 4096) in the same run.",
        "",
        "Command: `.venv/bin/python benchmarks/gpu_scaling.py`"
        + "".join(f" {a}" for a in sys.argv[1:]),
        f"Machine: {gpu}; host {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__.split('+')[0]}.",
        "",
        "| row | E | network-steps/s | peak device memory (GiB) | vs CPU E = 4096 |",
        "|---|---:|---:|---:|---:|", *lines, ""])
    print("\n" + body)
    if not args.no_write:
        write_section(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
