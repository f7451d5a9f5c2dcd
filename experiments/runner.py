"""``experiments.run``: an experiment's grid x seeds, chunked, run, stored, resumable.

The unit of work is a *chunk*: up to ``chunk_size`` seeds of one grid cell,
trained as one ensemble by :func:`dynrec.experiments.worker.run_chunk`.
Chunks are cut from each cell's seed list in order (``seeds[0:chunk_size]``,
``seeds[chunk_size:2*chunk_size]``, ...), a function of the config alone, so
neither the worker count nor the backend changes which seeds share an
ensemble: results are bit for bit the same with 1 or K workers, locally, on
Dask or on Ray. A seed's numbers do not depend on the other seeds of its chunk
either, up to float32 rounding (see the worker module).

As each chunk finishes, its records (and checkpoints) are written atomically
into the run directory (:class:`dynrec.experiments.store.RunDir`). A rerun
skips every (cell, seed) with a finished record (``ok`` or ``diverged``) and
runs the rest, ``failed`` ones included.
"""

from __future__ import annotations

import sys
import uuid
import warnings
from pathlib import Path
from typing import Callable, Iterable, Mapping

from dynrec.experiments import backends
from dynrec.experiments.backends import Chunk
from dynrec.experiments.config import Experiment, load_config
from dynrec.experiments.store import RunDir, _now

__all__ = ["run", "plan", "FailedRecordsWarning"]

BACKENDS = ("local", "dask", "ray")


class FailedRecordsWarning(UserWarning):
    """Some (cell, seed) records of a run failed; they are in the run directory and retried on rerun."""


def plan(exp: Experiment, run_dir: RunDir | None = None) -> list[Chunk]:
    """The chunks still to run: each cell's seeds cut into ``chunk_size`` blocks, done seeds removed."""
    chunks = []
    for cell in exp.cells():
        spec = cell.spec()
        done = run_dir.done_seeds(cell.id) if run_dir is not None else set()
        for start in range(0, len(exp.seeds), exp.chunk_size):
            todo = tuple(s for s in exp.seeds[start:start + exp.chunk_size] if s not in done)
            if todo:
                chunks.append(Chunk(cell.id, spec, todo))
    return chunks


def run(config: str | Path | Mapping | Experiment, *, seeds: int | Iterable[int] | None = None,
        workers: int = 1, backend: str = "local", scheduler=None, out: str | Path | None = None,
        overrides: Iterable[str] = (), new: bool = False, progress: bool = True, retries: int = 2,
        worker: Callable | None = None) -> RunDir:
    """Run an experiment; return its :class:`RunDir` (``.path``; ``.last_run`` counts this invocation).

    Parameters
    ----------
    config : a TOML path, a dict of the same layout, or an :class:`Experiment`.
    seeds : replaces the config's seeds (a count or a list). Seeds may grow
        between runs into the same directory; that is not a changed config.
    workers : processes (local), LocalCluster workers (dask) or the CPUs of a
        local Ray started here (ray). ``1`` locally runs in this process.
    backend : ``"local"`` (joblib/loky processes), ``"dask"`` or ``"ray"``.
    scheduler : for ``"dask"``: a ``dask.distributed.Client``, a scheduler
        address (``"tcp://host:8786"``), or None to start a LocalCluster here.
        For ``"ray"``: a Ray address (``"auto"``, ``"ray://host:10001"``), or
        None to use this process's Ray connection or else start a local Ray
        of ``workers`` CPUs (shut down when the run ends).
    out : run directory; default ``runs/<name>``.
    overrides : ``"section.key=value"`` strings (the CLI's ``--set``).
    new : if ``out`` holds a different experiment, use ``out-2``, ``out-3``, ...
        instead of refusing.
    progress : tqdm bar (cells, seeds, ETA) on stderr, shown only on a terminal.
    retries : how often a chunk whose worker *process* died is rerun before it
        is recorded as failed.
    worker : replaces :func:`dynrec.experiments.worker.run_chunk`
        (``worker(spec, seeds) -> list[record]``; tests and custom pipelines).
        The config is then only checked for structure, not against the other parts.

    Everything is validated before any work starts: config errors, an unknown
    backend, a refused directory all raise ``ValueError`` first.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend = {backend!r}: must be one of {', '.join(map(repr, BACKENDS))}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers = {workers!r}: must be an integer >= 1")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries = {retries!r}: must be an integer >= 0")
    if scheduler is not None and backend not in ("dask", "ray"):
        raise ValueError(f"scheduler = {scheduler!r} given with backend = {backend!r}; "
                         "a scheduler needs backend 'dask' or 'ray'")
    if backend == "ray":
        backends.check_ray(scheduler)
    exp = load_config(config, overrides, seeds=seeds, check=worker is None)
    if worker is None:
        from dynrec.experiments.worker import preflight, run_chunk

        for cell in exp.cells():
            preflight(cell.spec(), source=exp.source)
        worker = run_chunk

    rd = RunDir.prepare(exp, Path("runs") / exp.name if out is None else out, new=new)
    chunks = plan(exp, rd)
    n_cells = len(exp.cells())
    total = n_cells * len(exp.seeds)
    todo = sum(len(c.seeds) for c in chunks)
    entry = {"id": uuid.uuid4().hex[:12], "started": _now(), "finished": None, "seeds": list(exp.seeds), "workers": workers,
             "backend": backend, "skipped": total - todo, "ok": 0, "diverged": 0, "failed": 0}
    rd.log_invocation(entry)

    left = {}  # cell_id -> seeds still to finish, for the "cells done" count
    for c in chunks:
        left[c.cell_id] = left.get(c.cell_id, 0) + len(c.seeds)
    cells_done = n_cells - len(left)
    bar = _progress(progress, todo, n_cells, cells_done)

    if backend == "dask":
        stream = backends.dask(chunks, worker, workers, retries, scheduler)
    elif backend == "ray":
        stream = backends.ray(chunks, worker, workers, retries, scheduler)
    elif workers == 1:
        stream = backends.serial(chunks, worker)
    else:
        stream = backends.loky(chunks, worker, workers, retries)
    try:
        for chunk, records in stream:
            for rec in _checked(chunk, records):
                blob = rec.pop("checkpoint_files", None)
                rd.write_record(rec, blob)
                entry[rec["status"]] += 1
            left[chunk.cell_id] -= len(chunk.seeds)
            if left[chunk.cell_id] == 0:
                cells_done += 1
            if bar is not None:
                bar.update(len(chunk.seeds))
                bar.set_postfix_str(f"cells {cells_done}/{n_cells}")
    finally:
        if bar is not None:
            bar.close()
        entry["finished"] = _now()
        rd.log_invocation(entry)
    rd.write_summary()
    if entry["failed"]:
        warnings.warn(f"{entry['failed']} of {todo} (cell, seed) records failed in {rd.path}; "
                      "their errors are in the records (summary.csv, column 'error'); "
                      "run the same command again to retry them", FailedRecordsWarning, stacklevel=2)
    rd.last_run = entry
    return rd


def _checked(chunk: Chunk, records: list[dict]) -> list[dict]:
    """The worker's records for exactly the chunk's seeds; a missing seed becomes a failed record."""
    by_seed = {}
    for rec in records:
        rec = dict(rec)
        rec.setdefault("cell_id", chunk.cell_id)
        rec.setdefault("cell", dict(chunk.spec.get("cell", {})))
        if rec["cell_id"] != chunk.cell_id or rec.get("seed") not in chunk.seeds:
            raise RuntimeError(f"worker returned a record for cell {rec['cell_id']} seed "
                               f"{rec.get('seed')} in chunk {chunk.cell_id} {list(chunk.seeds)}")
        if rec.get("status") not in ("ok", "diverged", "failed"):
            raise RuntimeError(f"worker returned status {rec.get('status')!r}; "
                               "allowed: 'ok', 'diverged', 'failed'")
        by_seed[rec["seed"]] = rec
    missing = [s for s in chunk.seeds if s not in by_seed]
    if missing:
        lost = Chunk(chunk.cell_id, chunk.spec, tuple(missing))
        for rec in backends.failed_records(lost, "worker returned no record for this seed"):
            by_seed[rec["seed"]] = rec
    return [by_seed[s] for s in chunk.seeds]


def _progress(enabled: bool, todo: int, n_cells: int, cells_done: int):
    if not enabled or not sys.stderr.isatty() or todo == 0:
        return None
    from tqdm.auto import tqdm

    bar = tqdm(total=todo, unit="seed", desc="dynrec run", dynamic_ncols=True, file=sys.stderr)
    bar.set_postfix_str(f"cells {cells_done}/{n_cells}")
    return bar
