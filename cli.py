"""The ``dynrec`` command: run, report, reproduce, analyze, list.

Each subcommand is a thin wrapper over a function of the Python API, so the
command line and the API cannot drift apart:

    dynrec run CONFIG.toml      -> dynrec.experiments.run
    dynrec report RUN_DIR       -> dynrec.experiments.report.write_report
    dynrec reproduce NAME       -> dynrec.experiments.reproduce.reproduce
    dynrec analyze CHECKPOINT   -> dynrec.experiments.analyze.analyze_checkpoint
    dynrec list [WHAT]          -> the registries of grammars, models and presets
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Before torch loads: its CPU allocator then backs large tensors with transparent huge pages
# (torch's own switch).  The compiled kernels write tens of MB of fresh state per call for big
# ensembles, and first-touch page faults on 4 KB pages cost as much as the arithmetic (measured:
# 10-unit LSTM, E = 1024, forward 61 -> 34 ms).  Worker processes inherit it.  Scripts that
# import dynrec directly can set THP_MEM_ALLOC_ENABLE=1 in their environment for the same effect.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

LISTABLE = ("grammars", "models", "presets")


def _parser() -> argparse.ArgumentParser:
    from dynrec import __version__

    p = argparse.ArgumentParser(
        prog="dynrec",
        description="Recurrent networks as dynamical recognisers of formal languages.",
    )
    p.add_argument("--version", action="version", version=f"dynrec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="run an experiment (TOML) over its grid and seeds")
    r.add_argument("config", type=Path, help="experiment file (TOML)")
    r.add_argument("--seeds", type=int, default=None, help="number of seeds (overrides the file)")
    r.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    r.add_argument("--backend", choices=("local", "dask", "ray"), default="local",
                   help="where chunks run: local processes, Dask, or Ray")
    r.add_argument("--scheduler", default=None,
                   help="Dask scheduler (tcp://host:8786) or Ray address (auto, ray://host:10001); "
                        "default: start one here")
    r.add_argument("--out", type=Path, default=None, help="run directory (default runs/<name>)")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.n_hidden=3 (repeatable)")
    r.add_argument("--new", action="store_true", help="write to a new directory if the config changed")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    rep = sub.add_parser("report", help="tables and figures for a run directory")
    rep.add_argument("run_dir", type=Path)

    rp = sub.add_parser("reproduce", help="reproduce a classic paper (see `dynrec list presets`)")
    rp.add_argument("name")
    rp.add_argument("--quick", action="store_true", help="a reduced version that runs in minutes")
    rp.add_argument("--seeds", type=int, default=None)
    rp.add_argument("--workers", type=int, default=1)
    rp.add_argument("--out", type=Path, default=None)
    rp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a preset value (the report lists it)")

    a = sub.add_parser("analyze", help="analyse one trained network from a checkpoint")
    a.add_argument("checkpoint", type=Path)
    a.add_argument("--member", type=int, default=0)
    a.add_argument("--fixed-points", action="store_true")
    a.add_argument("--dfa", action="store_true")
    a.add_argument("--plot", type=Path, default=None, metavar="DIR")

    ls = sub.add_parser("list", help="list grammars, models or presets")
    ls.add_argument("what", nargs="?", choices=LISTABLE, default=None)
    return p


def _list(what: str | None) -> str:
    lines: list[str] = []
    for part in LISTABLE if what is None else (what,):
        lines.append(f"{part}:")
        if part == "grammars":
            from dynrec import grammars

            for name in grammars.names():
                lang = grammars.get(name)
                alphabet = "".join(lang.alphabet)
                lines.append(f"  {name:<16} {{{alphabet}}}  {lang.description}")
        elif part == "models":
            from dynrec import models

            for name in models.names():
                lines.append(f"  {name:<16} {models.describe(name)}")
        else:
            from dynrec.experiments import presets

            for name in presets.names():
                lines.append(f"  {name:<20} {presets.describe(name)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import torch

    from dynrec.models import fast

    torch.set_num_threads(1)
    fast.keep_freed_memory()  # see its docstring: freed tensors stay in the heap for the next call
    try:
        if args.command == "list":
            print(_list(args.what))
        elif args.command == "run":
            from dynrec import experiments

            run_dir = experiments.run(
                args.config, seeds=args.seeds, workers=args.workers, backend=args.backend,
                scheduler=args.scheduler, out=args.out, overrides=args.overrides,
                new=args.new, progress=not args.quiet,
            )
            print(run_dir.path)
            failed = (getattr(run_dir, "last_run", None) or {}).get("failed", 0)
            if failed:
                print(f"dynrec run: {failed} record(s) failed; rerun the same command to retry them",
                      file=sys.stderr)
                return 1
        elif args.command == "report":
            from dynrec.experiments.report import write_report

            print(write_report(args.run_dir))
        elif args.command == "reproduce":
            from dynrec.experiments.reproduce import reproduce

            path = reproduce(args.name, quick=args.quick, seeds=args.seeds,
                             workers=args.workers, out=args.out, overrides=args.overrides)
            print(path)
        elif args.command == "analyze":
            from dynrec.experiments.analyze import analyze_checkpoint

            print(analyze_checkpoint(args.checkpoint, member=args.member,
                                     fixed_points=args.fixed_points, dfa=args.dfa,
                                     plot_dir=args.plot))
    except (ValueError, FileNotFoundError, KeyError) as err:
        # User errors: one clear line, no traceback. Programming errors still raise.
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"dynrec {args.command}: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
