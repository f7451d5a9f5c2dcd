"""The runner's machinery with a deterministic stand-in worker (conftest.fake_worker).

Grid x seeds x chunks, records and checkpoints on disk, resume, failures,
dying worker processes, and identical results across worker counts.
"""

from __future__ import annotations

import json
import os

import pytest

from dynrec import experiments
from dynrec.experiments import FailedRecordsWarning, RunDir


def _records(rd: RunDir) -> dict:
    return {(r["cell_id"], r["seed"]): r for r in rd.records()}


def test_plan_cuts_each_cell_into_chunks_in_seed_order(fakes):
    exp = experiments.load_config(fakes.config(), check=False)
    chunks = experiments.plan(exp)
    assert [(c.cell_id, c.seeds) for c in chunks] == [
        ("c000", (0, 1)), ("c000", (2, 3)), ("c000", (4,)),
        ("c001", (0, 1)), ("c001", (2, 3)), ("c001", (4,))]
    assert chunks[0].spec["model"]["n_hidden"] == 2 and chunks[3].spec["model"]["n_hidden"] == 3


def test_run_writes_one_record_and_checkpoint_per_cell_and_seed(tmp_path, fakes):
    log = tmp_path / "log.jsonl"
    rd = experiments.run(fakes.config(log=str(log)), out=tmp_path / "run", worker=fakes.worker, progress=False)
    recs = _records(rd)
    assert sorted(recs) == [(c, s) for c in ("c000", "c001") for s in range(5)]
    for (cell_id, seed), r in recs.items():
        hidden = 2 if cell_id == "c000" else 3
        assert r["cell"] == {"model.n_hidden": hidden}
        assert r["metrics"] == {"score": fakes.score({"model.n_hidden": hidden}, seed), "hidden": hidden}
        ck = rd.path / r["checkpoint"]
        assert ck.read_bytes() == f"weights of {cell_id} seed {seed}".encode()
    # one worker call per planned chunk, with exactly the planned seeds
    calls = sorted((c["cell_id"], tuple(c["seeds"])) for c in fakes.read_log(log))
    assert calls == sorted([("c000", (0, 1)), ("c000", (2, 3)), ("c000", (4,)),
                            ("c001", (0, 1)), ("c001", (2, 3)), ("c001", (4,))])
    assert rd.last_run["ok"] == 10 and rd.last_run["skipped"] == 0
    # the manifest and resolved config sit beside the records
    man = rd.manifest()
    assert man["runs"][0]["finished"] is not None and man["torch"] and man["python"]
    assert rd.experiment().fingerprint() == experiments.load_config(
        fakes.config(log=str(log)), check=False).fingerprint()
    assert not list(rd.path.rglob("*.tmp"))


def test_load_gives_one_row_per_cell_and_seed_with_grid_columns(tmp_path, fakes):
    rd = experiments.run(fakes.config(diverge=[3]), out=tmp_path / "run", worker=fakes.worker, progress=False)
    frame = experiments.load(rd.path)
    assert len(frame) == 10
    assert list(frame[["cell_id", "seed"]].itertuples(index=False, name=None)) == [
        (c, s) for c in ("c000", "c001") for s in range(5)]
    assert set(frame["model.n_hidden"]) == {2, 3}
    assert (frame["hidden"] == frame["model.n_hidden"]).all()
    assert frame.loc[frame.seed == 3, "status"].tolist() == ["diverged", "diverged"]
    assert frame.loc[frame.seed != 3, "status"].eq("ok").all()
    assert frame.loc[frame.seed == 1, "analysis.fixed_points.count"].tolist() == [1, 1]
    assert all(os.path.isfile(p) for p in frame["checkpoint"])
    assert json.loads(open(frame["record"][0]).read())["history"]["loss"][1] == frame["score"][0] / 2
    summary = (rd.path / "summary.csv").read_text().splitlines()
    assert len(summary) == 11 and summary[0].startswith("cell_id,")
    # pyarrow is a test dependency, so the Parquet twin is always written and checked here.
    import pandas as pd

    parquet, csv = pd.read_parquet(rd.path / "summary.parquet"), pd.read_csv(rd.path / "summary.csv")
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv) == 10
    for col in ("cell_id", "seed", "status", "model.n_hidden", "score"):
        assert parquet[col].tolist() == csv[col].tolist() or parquet[col].equals(csv[col])


def test_rerun_skips_finished_records_and_runs_new_seeds(tmp_path, fakes):
    log = tmp_path / "log.jsonl"
    cfg = fakes.config(log=str(log))
    rd = experiments.run(cfg, seeds=3, out=tmp_path / "run", worker=fakes.worker, progress=False)
    stamp = {k: rd.record_path(*k).stat().st_mtime_ns for k in _records(rd)}
    n_calls = len(fakes.read_log(log))
    rd = experiments.run(cfg, seeds=3, out=tmp_path / "run", worker=fakes.worker, progress=False)
    assert len(fakes.read_log(log)) == n_calls and rd.last_run["skipped"] == 6
    rd = experiments.run(cfg, seeds=5, out=tmp_path / "run", worker=fakes.worker, progress=False)
    new_calls = fakes.read_log(log)[n_calls:]
    assert sorted(s for c in new_calls for s in c["seeds"]) == [3, 3, 4, 4]
    assert len(_records(rd)) == 10 and rd.last_run["skipped"] == 6
    assert all(rd.record_path(*k).stat().st_mtime_ns == t for k, t in stamp.items())
    assert rd.experiment().seeds == (0, 1, 2, 3, 4)


def test_changed_config_in_same_dir_is_refused_or_goes_to_new_dir(tmp_path, fakes):
    experiments.run(fakes.config(), out=tmp_path / "run", worker=fakes.worker, progress=False)
    with pytest.raises(ValueError) as err:
        experiments.run(fakes.config(), out=tmp_path / "run", worker=fakes.worker, progress=False,
                        overrides=["training.lr=0.5"])
    msg = str(err.value)
    assert "holds a different experiment" in msg and "training.lr" in msg and "--new" in msg
    rd = experiments.run(fakes.config(), out=tmp_path / "run", worker=fakes.worker, progress=False,
                         overrides=["training.lr=0.5"], new=True)
    assert rd.path == tmp_path / "run-2" and rd.experiment().training["lr"] == 0.5
    # --new again with the same change resumes run-2 instead of making run-3
    rd = experiments.run(fakes.config(), out=tmp_path / "run", worker=fakes.worker, progress=False,
                         overrides=["training.lr=0.5"], new=True)
    assert rd.path == tmp_path / "run-2" and rd.last_run["skipped"] == 10
    assert not (tmp_path / "run-3").exists()


def test_worker_exception_is_recorded_as_failed_then_retried_by_rerun(tmp_path, fakes):
    flag = tmp_path / "broken"
    flag.touch()
    cfg = fakes.config(raise_if=str(flag))
    with pytest.warns(FailedRecordsWarning, match="10 of 10"):
        rd = experiments.run(cfg, out=tmp_path / "run", worker=fakes.worker, progress=False)
    recs = _records(rd)
    assert len(recs) == 10 and all(r["status"] == "failed" for r in recs.values())
    assert "RuntimeError: fake training blew up" in recs[("c000", 0)]["error"]
    assert experiments.load(rd)["error"].str.contains("fake training blew up").all()
    flag.unlink()
    rd = experiments.run(cfg, out=tmp_path / "run", worker=fakes.worker, progress=False)
    assert rd.last_run["ok"] == 10 and all(r["status"] == "ok" for r in rd.records())


def test_two_workers_give_the_same_records_as_one(tmp_path, fakes):
    one = experiments.run(fakes.config(), out=tmp_path / "one", worker=fakes.worker, progress=False)
    two = experiments.run(fakes.config(), out=tmp_path / "two", workers=2, worker=fakes.worker,
                          progress=False)
    a, b = _records(one), _records(two)
    assert a == b and len(a) == 10


def test_dying_worker_process_is_retried_alone(tmp_path, fakes):
    log = tmp_path / "log.jsonl"
    cfg = fakes.config(log=str(log), die=[2], die_once=str(tmp_path / "died"))
    rd = experiments.run(cfg, out=tmp_path / "run", workers=2, worker=fakes.worker, progress=False)
    assert (tmp_path / "died").exists()  # it did die once
    assert all(r["status"] == "ok" for r in rd.records()) and len(_records(rd)) == 10
    # Both cells have a chunk (2, 3); whichever ran first killed its worker (once) and ran again
    # (a chunk that was in flight beside it when the pool broke is rerun too, at most once).
    calls = [(c["cell_id"], tuple(c["seeds"])) for c in fakes.read_log(log)]
    runs = sorted(calls.count((cell, (2, 3))) for cell in ("c000", "c001"))
    assert runs in ([1, 2], [2, 2])


def test_worker_that_keeps_dying_is_reported_not_fatal(tmp_path, fakes):
    cfg = fakes.config(die=[4])
    cfg["grid"] = {"model.n_hidden": [2]}
    with pytest.warns(FailedRecordsWarning, match="1 of 5"):
        rd = experiments.run(cfg, out=tmp_path / "run", workers=2, retries=1, worker=fakes.worker,
                             progress=False)
    recs = _records(rd)
    failed = sorted(k for k, r in recs.items() if r["status"] == "failed")
    assert failed == [("c000", 4)]
    assert "worker process died 2 times running this chunk alone" in recs[("c000", 4)]["error"]
    assert sum(r["status"] == "ok" for r in recs.values()) == 4


def test_bad_arguments_are_refused_before_any_work(tmp_path, fakes):
    for kwargs, msg in [({"backend": "spark"}, "backend = 'spark': must be one of 'local', 'dask', 'ray'"),
                        ({"workers": 0}, "workers = 0: must be an integer >= 1"),
                        ({"retries": -1}, "retries = -1: must be an integer >= 0"),
                        ({"scheduler": "tcp://x:1"}, "a scheduler needs backend 'dask'")]:
        with pytest.raises(ValueError, match=msg):
            experiments.run(fakes.config(), out=tmp_path / "run", worker=fakes.worker, **kwargs)
    assert not (tmp_path / "run").exists()
