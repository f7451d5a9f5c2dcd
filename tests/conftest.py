"""Shared test set-up: one torch thread (tiny networks run fastest that way) and headless plots."""

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch

torch.set_num_threads(1)

CHECKOUT = Path(__file__).resolve().parents[1]


def _reference_candidates() -> list[Path]:
    """Where shared/reference may be: $DYNREC_SHARED/reference, beside this checkout, or beside
    the repository this one was cloned from when that is a local path (a scratch clone elsewhere)."""
    out = []
    if os.environ.get("DYNREC_SHARED"):
        out.append(Path(os.environ["DYNREC_SHARED"]) / "reference")
    out.append(CHECKOUT.parent / "shared" / "reference")
    try:
        import subprocess

        origin = subprocess.run(["git", "-C", str(CHECKOUT), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        origin = ""
    if origin and "://" not in origin and Path(origin).is_dir():
        out.append(Path(origin).resolve().parent / "shared" / "reference")
    return out


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The shared reference data (published training sets and weights); see _reference_candidates."""
    candidates = _reference_candidates()
    for path in candidates:
        if path.is_dir():
            return path
    pytest.fail("reference data not found; looked in " + ", ".join(map(str, candidates))
                + " (the checkout must sit beside shared/, or set DYNREC_SHARED)")
