"""A deterministic stand-in worker for the runner's machinery, and tiny configs.

``fake_worker(spec, seeds)`` returns records whose numbers are a function of
(cell, seed) only, like the real worker, and obeys a few test switches read
from ``spec["training"]`` (the runner does not check pass-through keys when a
custom worker is given):

* ``log``: a file to which each call appends one JSON line (cell, seeds, pid);
* ``sleep``: seconds to sleep per chunk;
* ``diverge``: seeds reported as diverged;
* ``raise_if``: a path; if it exists the worker raises;
* ``die``: seeds whose chunk makes the worker process exit (``os._exit``);
* ``die_once``: a path; a chunk containing a ``die`` seed dies only while this
  file does not exist (and creates it first), so a retry succeeds.

It is pickled by value (cloudpickle) so loky and Dask processes can run it
although this file is not importable there.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def fake_score(cell: dict, seed: int) -> float:
    h = hashlib.sha256(json.dumps([cell, seed], sort_keys=True).encode()).digest()
    return int.from_bytes(h[:6], "little") / 2**48


def fake_worker(spec: dict, seeds: list[int]) -> list[dict]:
    t = spec["training"]
    if t.get("log"):
        with open(t["log"], "a") as fh:
            fh.write(json.dumps({"cell_id": spec["cell_id"], "seeds": list(seeds),
                                 "pid": os.getpid()}) + "\n")
    if t.get("raise_if") and Path(t["raise_if"]).exists():
        raise RuntimeError("fake training blew up")
    if set(seeds) & set(t.get("die", [])):
        marker = t.get("die_once")
        if marker is None or not Path(marker).exists():
            if marker is not None:
                Path(marker).touch()
            os._exit(3)
    time.sleep(t.get("sleep", 0.0))
    out = []
    for s in seeds:
        score = fake_score(spec["cell"], s)
        diverged = s in t.get("diverge", [])
        out.append({"seed": s, "status": "diverged" if diverged else "ok",
                    "metrics": {"score": None if diverged else score, "hidden": spec["model"]["n_hidden"]},
                    "history": {"loss": [score, score / 2]},
                    "analysis": {"fixed_points": {"count": s % 3}},
                    "checkpoint_files": f"weights of {spec['cell_id']} seed {s}".encode()})
    return out


def tiny_config(**training) -> dict:
    """Two grid cells (n_hidden 2, 3), five seeds, chunks of two."""
    return {"name": "tiny", "seeds": 5, "chunk_size": 2,
            "grammar": {"name": "tomita3"}, "task": {"kind": "recognition"},
            "model": {"kind": "srn", "n_hidden": 2},
            "training": {"method": "bptt", **training},
            "grid": {"model.n_hidden": [2, 3]}}


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()] if Path(path).exists() else []


@pytest.fixture
def worker():
    return fake_worker


@pytest.fixture
def fakes():
    """The helpers of this file: ``worker``, ``config`` (tiny_config), ``score``, ``read_log``."""
    return SimpleNamespace(worker=fake_worker, config=tiny_config, score=fake_score, read_log=read_log)
