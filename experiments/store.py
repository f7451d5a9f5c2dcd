"""The run directory: what survives a run, written so that nothing finished is ever lost.

Layout of a run directory::

    config.toml                    the resolved experiment (tomllib reads it back)
    manifest.json                  versions, host, git commit, config fingerprint, one entry per invocation
    records/c000/seed-17.json      one JSON record per (cell, seed) -- docs/CONTRACTS.md "Records"
    checkpoints/c000/seed-17.safetensors   that seed's trained network (a one-member model, models.load)
    summary.csv                    one row per record (and summary.parquet when pyarrow is installed)

Every file is written to a temporary name in the same folder, flushed to disk
and then ``os.replace``-d into place, which is atomic on POSIX and Windows: a
reader (or a rerun after ``kill -9``) sees either the whole file or none of it.
A record is written only after its checkpoint, so a record never points at a
missing checkpoint; a record's existence is what marks a (cell, seed) done.
Leftover temporary files of a killed run are removed when the directory is
opened again.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator

from dynrec.experiments.config import Experiment, load_config
from dynrec.experiments.toml_writer import dumps

__all__ = ["RunDir", "load", "atomic_write", "DONE_STATUSES"]

DONE_STATUSES = ("ok", "diverged")  # "failed" records are retried by the next run
_TMP_SUFFIX = ".tmp"


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` all-or-nothing: temp file in the same folder, fsync, ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")
    raw = data.encode() if isinstance(data, str) else data
    with open(tmp, "wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _versions() -> dict:
    import numpy
    import torch

    from dynrec import __version__

    return {"dynrec": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0], "platform": platform.platform(),
            "host": socket.gethostname(), "git_commit": _git_commit()}


def _flat(d: Any, prefix: str = "") -> dict:
    if not isinstance(d, dict):
        return {prefix: d}
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


class RunDir:
    """A run directory (see the module docstring). ``RunDir(path)`` opens an existing one."""

    last_run: dict | None = None  # set by experiments.run: counts of the invocation that returned it

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # ---- paths -----------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def record_path(self, cell_id: str, seed: int) -> Path:
        return self.path / "records" / cell_id / f"seed-{seed}.json"

    def checkpoint_path(self, cell_id: str, seed: int) -> Path:
        return self.path / "checkpoints" / cell_id / f"seed-{seed}.safetensors"

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ---- opening -----------------------------------------------------------------
    @classmethod
    def prepare(cls, exp: Experiment, out: str | Path, new: bool = False) -> "RunDir":
        """Create ``out`` for ``exp``, or reopen it to resume the same experiment.

        A directory that holds a different experiment (other than in its seeds)
        is refused with the differing keys named, or, with ``new=True``, the
        first of ``out-2``, ``out-3``, ... that is free or holds this experiment is used.
        """
        out = Path(out)
        candidates = [out] + ([out.with_name(f"{out.name}-{k}") for k in range(2, 1000)] if new else [])
        for path in candidates:
            rd = cls(path)
            if not rd.config_path.exists():
                if path.exists() and any(path.iterdir()):
                    if not new:
                        raise ValueError(f"{path} exists, is not empty and holds no config.toml; "
                                         "choose another --out")
                    continue
                rd._create(exp)
                return rd
            diff = rd._differences(exp)
            if not diff:
                rd._reopen(exp)
                return rd
            if not new:
                raise ValueError(
                    f"{path} holds a different experiment ({'; '.join(diff)}); "
                    "rerun with --new (new=True) to write to a new directory, or choose another --out")
        raise ValueError(f"no free directory beside {out} (tried {out.name}-2 ... -999)")

    def _create(self, exp: Experiment) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write(self.config_path, dumps(exp.to_dict()))
        manifest = {**_versions(), "name": exp.name, "fingerprint": exp.fingerprint(),
                    "created": _now(), "runs": []}
        atomic_write(self.manifest_path, json.dumps(manifest, indent=1))

    def _differences(self, exp: Experiment) -> list[str]:
        old = self.experiment()
        if old.fingerprint() == exp.fingerprint():
            return []
        a, b = old.to_dict(), exp.to_dict()
        for d in (a, b):
            for key in ("name", "seeds", "chunk_size"):
                d.pop(key)
        fa, fb = _flat(a), _flat(b)
        diff = []
        for key in sorted(set(fa) | set(fb)):
            if fa.get(key, "<unset>") != fb.get(key, "<unset>"):
                diff.append(f"{key}: {json.dumps(fa.get(key, '<unset>'))} here, "
                            f"{json.dumps(fb.get(key, '<unset>'))} now")
        return diff or ["config fingerprint differs"]

    def _reopen(self, exp: Experiment) -> None:
        for tmp in self.path.rglob(f".*{_TMP_SUFFIX}"):  # half-written files of a killed run
            tmp.unlink(missing_ok=True)
        old = self.experiment()
        seeds = list(old.seeds) + [s for s in exp.seeds if s not in set(old.seeds)]
        d = exp.to_dict()
        d["seeds"] = seeds
        atomic_write(self.config_path, dumps(d))

    # ---- reading -----------------------------------------------------------------
    def experiment(self) -> Experiment:
        """The resolved experiment stored here (structure checked, not re-checked against the parts)."""
        with open(self.config_path, "rb") as fh:
            data = tomllib.load(fh)
        return load_config(data, check=False)

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())

    def records(self) -> Iterator[dict]:
        """Every record in the directory (cell order, then seed order)."""
        root = self.path / "records"
        if not root.is_dir():
            return
        for cell_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            files = [f for f in cell_dir.glob("seed-*.json")]
            for f in sorted(files, key=lambda f: int(f.stem.split("-", 1)[1])):
                yield json.loads(f.read_text())

    def done_seeds(self, cell_id: str) -> set[int]:
        """Seeds of ``cell_id`` whose record is finished (status ok or diverged)."""
        out = set()
        folder = self.path / "records" / cell_id
        if folder.is_dir():
            for f in folder.glob("seed-*.json"):
                if json.loads(f.read_text()).get("status") in DONE_STATUSES:
                    out.add(int(f.stem.split("-", 1)[1]))
        return out

    # ---- writing -----------------------------------------------------------------
    def write_record(self, record: dict, checkpoint: bytes | dict | None = None) -> Path:
        """Write one record, after its checkpoint, each file atomically.

        ``checkpoint``: the bytes of one file, or ``{suffix: bytes}`` for a file and its
        sidecars (``""`` is the main file, ``".json"`` goes to ``<main>.json``; sidecars first).
        """
        cell_id, seed = record["cell_id"], int(record["seed"])
        record = dict(record)
        if checkpoint is not None:
            ck = self.checkpoint_path(cell_id, seed)
            files = checkpoint if isinstance(checkpoint, dict) else {"": checkpoint}
            for suffix in sorted(files, key=lambda k: k == ""):
                atomic_write(ck.with_name(ck.name + suffix), files[suffix])
            record["checkpoint"] = ck.relative_to(self.path).as_posix()
        else:
            record.setdefault("checkpoint", None)
        path = self.record_path(cell_id, seed)
        atomic_write(path, json.dumps(record, indent=1, allow_nan=True))
        return path

    def log_invocation(self, entry: dict) -> None:
        """Append (or update, by ``entry["id"]``) one invocation in the manifest."""
        manifest = self.manifest()
        runs = [r for r in manifest["runs"] if r.get("id") != entry["id"]]
        manifest["runs"] = runs + [entry]
        atomic_write(self.manifest_path, json.dumps(manifest, indent=1))

    def write_summary(self) -> Path:
        """``summary.csv`` (and ``summary.parquet`` when pyarrow is installed) from the records."""
        frame = load(self)
        out = self.path / "summary.csv"
        atomic_write(out, frame.to_csv(index=False))
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return out
        import io

        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        atomic_write(self.path / "summary.parquet", buf.getvalue())
        return out


def load(run_dir: str | Path | RunDir):
    """One row per (cell, seed) of a run directory, as a ``pandas.DataFrame``.

    Columns: ``cell_id``, the grid keys (dotted, e.g. ``model.n_hidden``), ``seed``,
    ``status``, every metric of the record (its own name), scalar analysis results
    (``analysis.<name>``), ``error`` (failed records), ``checkpoint`` and ``record``
    (absolute paths; the record file holds the training history).
    """
    import pandas as pd

    rd = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    if not (rd.path / "records").is_dir() and not rd.config_path.exists():
        raise FileNotFoundError(f"not a run directory (no config.toml, no records/): {rd.path}")
    rows = []
    for rec in rd.records():
        row = {"cell_id": rec["cell_id"], **rec.get("cell", {}), "seed": rec["seed"],
               "status": rec["status"]}
        for k, v in (rec.get("metrics") or {}).items():
            if not isinstance(v, (list, dict)):
                row[k] = v
        for k, v in _flat(rec.get("analysis") or {}).items():
            if not isinstance(v, (list, dict)):
                row[f"analysis.{k}"] = v
        row["error"] = rec.get("error")
        ck = rec.get("checkpoint")
        row["checkpoint"] = str(rd.path / ck) if ck else None
        row["record"] = str(rd.record_path(rec["cell_id"], rec["seed"]))
        rows.append(row)
    columns = ["cell_id", "seed", "status"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns + ["error", "checkpoint", "record"])
    return frame.sort_values(["cell_id", "seed"], kind="stable").reset_index(drop=True)
