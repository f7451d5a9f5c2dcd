"""The run directory: atomic writes, kill -9 then resume, refusing a changed config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dynrec import experiments
from dynrec.experiments import RunDir, store


def test_atomic_write_keeps_the_old_file_when_the_rename_never_happens(tmp_path, monkeypatch):
    target = tmp_path / "a" / "record.json"
    store.atomic_write(target, '{"old": 1}')

    def crash(src, dst):
        raise OSError("killed between write and rename")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(OSError, match="killed between"):
        store.atomic_write(target, '{"new": 2}')
    assert json.loads(target.read_text()) == {"old": 1}  # never half-written
    monkeypatch.undo()
    leftovers = list(target.parent.glob(".*.tmp"))
    assert len(leftovers) == 1  # what a killed run leaves: a hidden temp file ...
    exp = experiments.load_config({"grammar": {"name": "g"}, "task": {"kind": "recognition"},
                                   "model": {"kind": "srn", "n_hidden": 2},
                                   "training": {"method": "bptt"}}, check=False)
    rd = RunDir.prepare(exp, tmp_path / "run")
    stale = rd.path / "records" / "c000" / ".seed-0.json.123.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_text("{half")
    RunDir.prepare(exp, tmp_path / "run")  # ... which reopening removes
    assert not stale.exists()


def test_checkpoint_sidecars_are_written_before_the_main_file_and_the_record(tmp_path, monkeypatch):
    exp = experiments.load_config({"grammar": {"name": "g"}, "task": {"kind": "recognition"},
                                   "model": {"kind": "srn", "n_hidden": 2},
                                   "training": {"method": "bptt"}}, check=False)
    rd = RunDir.prepare(exp, tmp_path / "run")
    order = []
    real = store.os.replace
    monkeypatch.setattr(store.os, "replace", lambda a, b: (order.append(Path(b).name), real(a, b)))
    rd.write_record({"cell_id": "c000", "cell": {}, "seed": 7, "status": "ok"},
                    {"": b"main", ".json": b"{}"})
    assert order == ["seed-7.safetensors.json", "seed-7.safetensors", "seed-7.json"]
    rec = json.loads(rd.record_path("c000", 7).read_text())
    assert rec["checkpoint"] == "checkpoints/c000/seed-7.safetensors"
    assert (rd.path / rec["checkpoint"]).read_bytes() == b"main"


def test_a_directory_with_other_files_is_not_taken_over(tmp_path):
    exp = experiments.load_config({"grammar": {"name": "g"}, "task": {"kind": "recognition"},
                                   "model": {"kind": "srn", "n_hidden": 2},
                                   "training": {"method": "bptt"}}, check=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(ValueError, match="is not empty and holds no config.toml"):
        RunDir.prepare(exp, tmp_path / "mine")
    assert RunDir.prepare(exp, tmp_path / "mine", new=True).path == tmp_path / "mine-2"


def test_load_of_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        experiments.load(tmp_path / "nothing")


SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from dynrec import experiments

    out, log = sys.argv[1], sys.argv[2]

    def worker(spec, seeds):
        with open(log, "a") as fh:
            fh.write(json.dumps([spec["cell_id"], seeds]) + "\\n")
        time.sleep(0.15)
        return [{"seed": s, "status": "ok", "metrics": {"x": s * 10 + spec["model"]["n_hidden"]},
                 "checkpoint_files": {"": b"w" * 1000, ".json": b"{}"}} for s in seeds]

    cfg = {"name": "k", "seeds": 12, "chunk_size": 2, "grammar": {"name": "g"},
           "task": {"kind": "recognition"}, "model": {"kind": "srn", "n_hidden": 2},
           "training": {"method": "bptt"}, "grid": {"model.n_hidden": [2, 3]}}
    experiments.run(cfg, out=out, worker=worker, progress=False)
""")


@pytest.mark.slow
def test_kill_minus_9_then_rerun_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    out, log = tmp_path / "run", tmp_path / "log.jsonl"
    proc = subprocess.Popen([sys.executable, str(script), str(out), str(log)])
    records = out / "records"
    deadline = time.monotonic() + 60
    while len(list(records.rglob("seed-*.json"))) < 5:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p: (p.stat().st_mtime_ns, p.read_text()) for p in records.rglob("seed-*.json")}
    assert 5 <= len(before) < 24  # killed in the middle
    for text in (t for _, t in before.values()):
        json.loads(text)  # every record on disk is whole
    calls_before = log.read_text().splitlines()

    subprocess.run([sys.executable, str(script), str(out), str(log)], check=True)
    after = sorted(records.rglob("seed-*.json"))
    assert len(after) == 24  # 2 cells x 12 seeds, each exactly once
    for p, (mtime, text) in before.items():
        assert p.stat().st_mtime_ns == mtime and p.read_text() == text  # finished ones untouched
    got = {(r["cell_id"], r["seed"]): r["metrics"]["x"] for r in RunDir(out).records()}
    assert got == {(c, s): s * 10 + h for c, h in (("c000", 2), ("c001", 3)) for s in range(12)}
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # the rerun ran only the chunks without records: no finished chunk twice
    calls = [(c[0], tuple(c[1])) for c in map(json.loads, log.read_text().splitlines())]
    rerun = calls[len(calls_before):]
    done_before = {(p.parent.name, int(p.stem.split("-")[1])) for p in before}
    assert all(not ({(cell, s) for s in seeds} <= done_before) for cell, seeds in rerun)
    assert len(RunDir(out).manifest()["runs"]) == 2
    frame = experiments.load(out)
    assert len(frame) == 24 and frame["status"].eq("ok").all()
