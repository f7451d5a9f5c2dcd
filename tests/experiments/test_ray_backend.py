"""The Ray backend: same numbers as the serial run, and no chunk ever lost.

Starting Ray costs about 10 s on 2 busy cores, so it is started twice only:
once by the runner itself in the first test (``scheduler=None`` and no
connection: a local Ray of ``workers`` CPUs, shut down afterwards), and once
by the fixture ``connected`` for the other run, which then uses this
process's connection and leaves it up. The first test must therefore run
before ``connected`` exists (pytest keeps the file's order; the test checks).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from dynrec import experiments
from dynrec.experiments import backends

# the end-to-end config and its comparison, from the neighbouring test file by path
# (tests are not a package; --import-mode=importlib)
_spec = importlib.util.spec_from_file_location("_dynrec_e2e", Path(__file__).with_name("test_end_to_end.py"))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)


def need_ray():
    """ray, with this file pickled by value (Ray's workers cannot import it, and Ray uses its
    own copy of cloudpickle)."""
    import ray  # a test dependency (`make test` installs the ray extra): missing ray fails here
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return ray


def flaky_worker(spec: dict, seeds: list[int]) -> list[dict]:
    """Raises for a chunk holding a ``raise`` seed; kills its process for a ``die`` seed
    (logging each attempt); else returns records whose score is ``100 * n_hidden + seed``,
    with the task's view of Ray's CPUs and of the thread settings."""
    import ray

    t = spec["training"]
    if set(seeds) & set(t.get("raise", [])):
        raise RuntimeError(f"training of seeds {seeds} blew up")
    if set(seeds) & set(t.get("die", [])):
        with open(t["log"], "a") as fh:
            fh.write(json.dumps({"seeds": seeds, "pid": os.getpid()}) + "\n")
        os._exit(3)
    seen = {"cpus": ray.cluster_resources()["CPU"], "omp": os.environ.get("OMP_NUM_THREADS"),
            "mkl": os.environ.get("MKL_NUM_THREADS")}
    return [{"seed": s, "status": "ok", "metrics": {"score": 100 * spec["model"]["n_hidden"] + s, **seen},
             "history": {}, "analysis": {}, "checkpoint_files": f"{spec['cell_id']}/{s}".encode()}
            for s in seeds]


def flaky_config(**training) -> dict:
    """One cell, five seeds in chunks (0, 1), (2, 3), (4,)."""
    return {"name": "flaky", "seeds": 5, "chunk_size": 2, "grammar": {"name": "tomita3"},
            "task": {"kind": "recognition"}, "model": {"kind": "srn", "n_hidden": 2},
            "training": {"method": "bptt", **training}}


@pytest.mark.slow
def test_ray_gives_the_same_numbers_as_the_serial_run(monkeypatch, tmp_path):
    """On a local Ray of ``workers`` CPUs started by the run itself, and shut down by it."""
    ray = need_ray()
    assert not ray.is_initialized(), "this test must run before the tests using `connected`"
    calls = []
    real_init = ray.init
    monkeypatch.setattr(ray, "init", lambda **kw: calls.append(kw) or real_init(**kw))
    ref = experiments.run(e2e.CONFIG, out=tmp_path / "ref", progress=False)
    rd = experiments.run(e2e.CONFIG, out=tmp_path / "ray", backend="ray", workers=2, progress=False)
    assert not ray.is_initialized()
    assert len(calls) == 1 and calls[0]["num_cpus"] == 2 and calls[0]["include_dashboard"] is False
    assert calls[0]["runtime_env"] == {"env_vars": backends.WORKER_ENV}
    assert rd.last_run["ok"] == 8 and rd.last_run["backend"] == "ray"
    assert e2e.numbers(rd) == e2e.numbers(ref)


@pytest.fixture(scope="module")
def connected():
    """A local Ray that this process is connected to, as a user's own ``ray.init()`` would be."""
    ray = need_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_worker_exceptions_and_dead_processes_become_failed_records(connected, tmp_path):
    log = tmp_path / "deaths.jsonl"
    cfg = flaky_config(log=str(log), die=[4], **{"raise": [1]})
    # chunks: seeds (0, 1) raise, (2, 3) succeed, (4,) kills its worker process
    with pytest.warns(experiments.FailedRecordsWarning, match="3 of 5"):
        rd = experiments.run(cfg, out=tmp_path / "run", backend="ray", workers=2, retries=1,
                             worker=flaky_worker, progress=False)
    recs = {r["seed"]: r for r in rd.records()}
    assert sorted(recs) == [0, 1, 2, 3, 4] and rd.last_run["failed"] == 3 and rd.last_run["ok"] == 2
    for s in (0, 1):
        assert recs[s]["status"] == "failed"
        assert "worker raised:" in recs[s]["error"]
        assert "RuntimeError: training of seeds [0, 1] blew up" in recs[s]["error"]
    assert recs[4]["status"] == "failed"
    assert "Ray worker process died 2 times running this chunk" in recs[4]["error"]
    for s in (2, 3):  # per-task thread settings on a Ray this run did not start
        assert recs[s]["status"] == "ok"
        assert recs[s]["metrics"] == {"score": 200 + s, "cpus": 2.0, "omp": "1", "mkl": "1"}
        assert (rd.path / recs[s]["checkpoint"]).read_bytes() == f"c000/{s}".encode()
    # the dying chunk ran 1 + retries times, each time in a fresh process
    deaths = [json.loads(line) for line in log.read_text().splitlines()]
    assert [d["seeds"] for d in deaths] == [[4], [4]] and deaths[0]["pid"] != deaths[1]["pid"]
    assert connected.is_initialized()  # the caller's connection is left alone
    # an address while connected is refused (ambiguous), before any work
    with pytest.raises(ValueError, match="scheduler = 'auto', but this process is already connected"):
        experiments.run(cfg, out=tmp_path / "x", backend="ray", scheduler="auto", worker=flaky_worker)
    assert not (tmp_path / "x").exists()


def test_bad_ray_schedulers_are_refused_before_any_work(tmp_path):
    need_ray()
    for scheduler in (8786, ""):
        msg = rf"scheduler = {scheduler!r}: backend 'ray' needs a Ray address"
        with pytest.raises(ValueError, match=msg):
            experiments.run(e2e.CONFIG, out=tmp_path / "x", backend="ray", scheduler=scheduler)
    assert not (tmp_path / "x").exists()


def test_missing_ray_is_a_clear_value_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(ValueError, match=r"^backend 'ray' needs ray: pip install 'dynrec\[ray\]'$"):
        experiments.run(e2e.CONFIG, out=tmp_path / "x", backend="ray", workers=2, progress=False)
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="needs ray"):
        next(backends.ray([], None, 2, 0))
