"""Fixtures of the analysis tests: the published Tomita-1 network and the stand-in import path."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # standins.py


@pytest.fixture(scope="session")
def tomita1_net(reference_dir):
    from dynrec import models

    ref = json.loads((reference_dir / "published_weights.json").read_text())["tomita1_dynamical_recognizer"]
    return models.SecondOrder.from_weights(W=ref["W"], P=ref["P"], h0=ref["h0"], alphabet=ref["symbols"]), ref
