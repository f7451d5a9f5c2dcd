"""Where chunks run: in this process, in local processes (joblib's loky), on Dask or on Ray.

Every backend takes chunks (one grid cell's seeds, as plain data) and a
worker function ``worker(spec, seeds) -> list[record]``, and yields
``(chunk, records)`` pairs as chunks finish, in completion order. A chunk
never disappears: if its worker raises, or its worker process dies more often
than ``retries`` allows, the backend yields ``failed`` records for its seeds
that carry the error, and the run goes on.

* ``serial``: ``workers=1`` locally; no processes, no pickling.
* ``loky``: joblib's reusable loky executor, ``workers`` processes, one torch
  thread each. At most ``workers`` chunks are in flight, so memory stays
  bounded. When a process dies, every chunk in flight fails with it; those
  chunks are then rerun one at a time, so that the chunk that kills its
  worker is known, and it is retried ``retries`` more times before it is
  reported.
* ``dask``: ``dask.distributed``; a ``Client``, a scheduler address, or a
  ``LocalCluster`` of ``workers`` processes started here. The scheduler
  reschedules a chunk whose worker died and gives up after
  ``distributed.scheduler.allowed-failures`` deaths (set to ``retries`` for a
  cluster started here), which arrives here as ``KilledWorker``.
* ``ray``: one Ray task per chunk (one CPU each) on a Ray cluster at an
  address (``"auto"``, ``"ray://host:10001"``), on the Ray this process is
  already connected to, or on a local Ray of ``workers`` CPUs started here
  (and shut down afterwards). Ray reruns a task whose worker process died up
  to ``retries`` times (``max_retries``); after that the chunk arrives here as
  ``WorkerCrashedError`` and is reported. Only plain data crosses: the
  worker's records come back with their checkpoint bytes and this process
  writes every file.

Results do not depend on the backend: a chunk's records are a function of
(spec, seeds) alone (see ``dynrec.experiments.worker``).
"""

from __future__ import annotations

import sys
import traceback
from collections import deque
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

__all__ = ["Chunk", "serial", "loky", "dask", "ray", "check_ray", "failed_records"]

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
# Worker processes also get the memory settings of the ``dynrec`` command: torch's huge-page
# allocation and glibc's malloc keeping freed blocks for reuse (the environment form of
# ``models.fast.keep_freed_memory``; both are read at process start).
WORKER_ENV = {**THREAD_ENV, "THP_MEM_ALLOC_ENABLE": "1",
              "MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str((1 << 31) - 1)}


@dataclass(frozen=True)
class Chunk:
    """One unit of work: some seeds of one grid cell."""

    cell_id: str
    spec: dict
    seeds: tuple[int, ...]


def failed_records(chunk: Chunk, error: str) -> list[dict]:
    """``status = "failed"`` records for every seed of ``chunk`` (retried by the next run)."""
    return [{"cell_id": chunk.cell_id, "cell": dict(chunk.spec.get("cell", {})), "seed": s,
             "status": "failed", "error": error, "metrics": {}, "history": {}, "analysis": {},
             "checkpoint": None} for s in chunk.seeds]


def call(worker: Callable, spec: dict, seeds: tuple[int, ...]) -> dict:
    """What a worker process runs: one torch thread, exceptions returned as text (always picklable).

    torch is not imported here (a worker that needs it imports it, with
    ``OMP_NUM_THREADS=1`` from :data:`THREAD_ENV`; ``run_chunk`` also sets it)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    try:
        return {"records": worker(spec, list(seeds))}
    except Exception:  # noqa: BLE001 - reported in the chunk's records, never lost
        return {"error": traceback.format_exc()}


def _finish(chunk: Chunk, result: dict) -> tuple[Chunk, list[dict]]:
    if "error" in result:
        return chunk, failed_records(chunk, "worker raised:\n" + result["error"])
    return chunk, result["records"]


def serial(chunks: Iterable[Chunk], worker: Callable) -> Iterator[tuple[Chunk, list[dict]]]:
    """Run each chunk in this process (restoring torch's thread count afterwards)."""
    import torch

    threads = torch.get_num_threads()
    try:
        for chunk in chunks:
            yield _finish(chunk, call(worker, chunk.spec, chunk.seeds))
    finally:
        torch.set_num_threads(threads)


def loky(chunks: Iterable[Chunk], worker: Callable, workers: int,
         retries: int) -> Iterator[tuple[Chunk, list[dict]]]:
    """Run chunks on ``workers`` loky processes (see the module docstring for retries)."""
    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    pending = deque(chunks)
    suspects: deque[Chunk] = deque()
    deaths: dict[int, int] = {}
    in_flight: dict = {}
    isolated = False
    while pending or suspects or in_flight:
        if not in_flight:
            ex = get_reusable_executor(max_workers=workers, env=WORKER_ENV)
            isolated = bool(suspects)
            todo = [suspects.popleft()] if suspects else [pending.popleft() for _ in
                                                          range(min(workers, len(pending)))]
            for c in todo:
                in_flight[ex.submit(call, worker, c.spec, c.seeds)] = c
        elif not isolated and pending:
            ex = get_reusable_executor(max_workers=workers, env=WORKER_ENV)
            while pending and len(in_flight) < workers:
                c = pending.popleft()
                in_flight[ex.submit(call, worker, c.spec, c.seeds)] = c
        done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
        broken = False
        for f in done:
            c = in_flight.pop(f)
            try:
                result = f.result()
            except BrokenProcessPool as err:
                broken = True
                if isolated:
                    deaths[id(c)] = deaths.get(id(c), 0) + 1
                    if deaths[id(c)] > retries:
                        yield c, failed_records(c, f"worker process died {deaths[id(c)]} times "
                                                   f"running this chunk alone: {err}")
                        continue
                suspects.append(c)
            except Exception as err:  # noqa: BLE001 - e.g. an unpicklable result
                yield c, failed_records(c, f"{type(err).__name__}: {err}")
            else:
                yield _finish(c, result)
        if broken:  # the other chunks in flight die with the pool: rerun them alone
            wait(list(in_flight))
            for f, c in list(in_flight.items()):
                if f.exception() is None:
                    yield _finish(c, f.result())
                else:
                    suspects.append(c)
            in_flight.clear()


def dask(chunks: Iterable[Chunk], worker: Callable, workers: int, retries: int,
         scheduler=None) -> Iterator[tuple[Chunk, list[dict]]]:
    """Run chunks on Dask: ``scheduler`` is a ``Client``, an address, or None (a LocalCluster here)."""
    try:
        import dask as _dask
        from distributed import Client, LocalCluster, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ValueError("backend 'dask' needs dask.distributed: pip install 'dynrec[dask]'") from err

    cluster = client = None
    own = not isinstance(scheduler, Client)
    try:
        if isinstance(scheduler, Client):
            client = scheduler
        elif scheduler is not None:
            client = Client(scheduler)
        else:
            with _dask.config.set({"distributed.scheduler.allowed-failures": retries}):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       env=WORKER_ENV)
            client = Client(cluster)
        futures = {}
        for c in chunks:
            futures[client.submit(call, worker, c.spec, c.seeds, pure=False)] = c
        for f in as_completed(list(futures)):
            c = futures.pop(f)
            try:
                result = f.result()
            except KilledWorker as err:
                yield c, failed_records(c, f"Dask worker died running this chunk: {err}")
            except Exception as err:  # noqa: BLE001
                yield c, failed_records(c, f"{type(err).__name__}: {err}")
            else:
                yield _finish(c, result)
    finally:
        if own and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


RAY_MISSING = "backend 'ray' needs ray: pip install 'dynrec[ray]'"


def check_ray(scheduler=None):
    """Import ray and check ``scheduler`` (None or an address string); return the ``ray`` module.

    Called by the runner before any work starts, so that a missing ray or a
    bad scheduler is a ``ValueError`` before a run directory is made."""
    try:
        import ray as _ray
    except ImportError as err:
        raise ValueError(RAY_MISSING) from err
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"scheduler = {scheduler!r}: backend 'ray' needs a Ray address "
                         "('auto', 'ray://host:10001', 'host:6379') or None to start Ray here")
    if scheduler is not None and _ray.is_initialized():
        raise ValueError(f"scheduler = {scheduler!r}, but this process is already connected to "
                         "Ray; pass scheduler=None to use that connection, or ray.shutdown() first")
    return _ray


def ray(chunks: Iterable[Chunk], worker: Callable, workers: int, retries: int,
        scheduler: str | None = None) -> Iterator[tuple[Chunk, list[dict]]]:
    """Run chunks as Ray tasks (see the module docstring); yield them in completion order.

    ``scheduler``: a Ray address (``"auto"``, ``"ray://host:10001"``; the
    connection made here is closed when done, the cluster left running), or
    None: use the Ray this process is already connected to (left connected),
    else start a local Ray with ``workers`` CPUs and no dashboard, and shut it
    down when done. Each task needs one CPU and runs with one torch thread
    (:data:`WORKER_ENV` as the job's or the task's ``runtime_env``). At most
    twice the cluster's CPUs of tasks are in flight, so finished results never
    pile up in the object store. A remote cluster's nodes need dynrec (and the
    worker's modules) installed, as for Dask."""
    _ray = check_ray(scheduler)
    from ray.exceptions import RayError, WorkerCrashedError

    env = {"env_vars": dict(WORKER_ENV)}
    started = False
    task_options = {"num_cpus": 1, "max_retries": retries}
    if _ray.is_initialized():  # the caller's own connection: used as it is, never shut down
        task_options["runtime_env"] = env
    else:
        kwargs = {"num_cpus": workers} if scheduler is None else {"address": scheduler}
        _ray.init(**kwargs, include_dashboard=False, runtime_env=env, log_to_driver=False,
                  logging_level="warning")
        started = True
    in_flight: dict = {}
    try:
        remote = _ray.remote(call).options(**task_options)
        worker_ref = _ray.put(worker)  # pickled once, not once per chunk
        window = max(2, 2 * int(_ray.cluster_resources().get("CPU", workers)))
        pending = iter(chunks)
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < window:
                c = next(pending, None)
                if c is None:
                    exhausted = True
                else:
                    in_flight[remote.remote(worker_ref, c.spec, c.seeds)] = c
            if not in_flight:
                return
            refs = list(in_flight)
            ready, rest = _ray.wait(refs, num_returns=1)
            if rest:
                ready += _ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            for ref in ready:
                c = in_flight.pop(ref)
                try:
                    result = _ray.get(ref)
                except WorkerCrashedError as err:
                    yield c, failed_records(c, f"Ray worker process died {retries + 1} times "
                                               f"running this chunk: {err}")
                except RayError as err:  # e.g. killed for memory, node lost, unpicklable result
                    yield c, failed_records(c, f"{type(err).__name__}: {err}")
                else:
                    yield _finish(c, result)
    finally:
        for ref in in_flight:  # the consumer stopped early: do not leave work running
            _ray.cancel(ref)
        if started:
            _ray.shutdown()
