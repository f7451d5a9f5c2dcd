"""Real training through the runner: tiny configs, seconds each.

The numbers of (cell, seed) must not depend on how seeds are chunked, on the
worker count or on the backend (local processes vs a Dask LocalCluster).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dynrec import experiments, grammars, models, training

CONFIG = {
    "name": "e2e", "seeds": 4, "chunk_size": 3,
    "grammar": {"name": "tomita3"},
    "task": {"kind": "recognition", "length_range": [0, 6]},
    "model": {"kind": "srn", "n_hidden": 2},
    "training": {"method": "bptt", "epochs": 2, "strings_per_epoch": 8, "lr": 0.3},
    "evaluation": {"n_max": 4, "test_count": 16},
    "grid": {"model.n_hidden": [2, 3]},
}


def numbers(rd) -> dict:
    """What must be reproducible: everything but the timing, plus the checkpoint's tensors
    (as bytes) and sidecar. (The safetensors header's metadata order is not stable, so the
    file bytes themselves are not compared.)"""
    out = {}
    for r in rd.records():
        path = rd.path / r["checkpoint"]
        tensors = {k: v.numpy().tobytes() for k, v in load_file(path).items()}
        sidecar = json.loads(path.with_name(path.name + ".json").read_text())
        assert sidecar.pop("file", path.name) == path.name
        sidecar.pop("weights_sha256", None)
        out[(r["cell_id"], r["seed"])] = ({k: v for k, v in r.items() if k != "timing"}, tensors,
                                          sidecar)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The config run serially in this process (chunks of 3: seeds (0,1,2) and (3,))."""
    return experiments.run(CONFIG, out=tmp_path_factory.mktemp("ref") / "run", progress=False)


def test_records_match_training_each_seed_alone(reference):
    frame = experiments.load(reference)
    assert len(frame) == 8 and frame["status"].eq("ok").all()
    # seed 2 of the n_hidden=3 cell trained alone, straight through the parts' own API
    lang = grammars.get("tomita3")
    task = grammars.RecognitionTask(lang, length_range=(0, 6))
    net = models.build("srn", task.n_in, 3, task.n_out, ensemble=1, seed=2,
                       alphabet=task.input_symbols)
    result = training.BPTT(epochs=2, strings_per_epoch=8, lr=0.3).fit(net, task, seed=[2])
    row = frame[(frame.cell_id == "c001") & (frame.seed == 2)].iloc[0]
    assert row["final_loss"] == pytest.approx(result.final[0]["loss"], rel=1e-6)
    assert row["generalization_depth"] == training.generalization_depth(net, task, 4)[0]
    saved = models.load(row["checkpoint"])
    assert saved.ensemble == 1 and torch.equal(saved.to_flat(), net.to_flat())
    assert saved.alphabet == tuple(task.input_symbols)
    assert math.isfinite(row["test_accuracy"]) and row["model.n_hidden"] == 3


def test_same_numbers_whatever_the_chunking(reference, tmp_path):
    """Chunk size changes the ensemble size E of each forward pass. Member i's arithmetic is
    the same, but the batched matrix kernels may round float32 sums differently for a
    different E (models' tests: 1e-13 in float64), so weights agree to float32 rounding
    and everything discrete (statuses, depths, which seeds converged) agrees exactly.
    Worker count and backend keep the chunking, and give the very same bits (tests below)."""
    ones = experiments.run(CONFIG, out=tmp_path / "ones", overrides=["chunk_size=1"], progress=False)
    got, want = numbers(ones), numbers(reference)
    assert got.keys() == want.keys()
    for key in want:
        (rec_a, t_a, side_a), (rec_b, t_b, side_b) = got[key], want[key]
        assert side_a == side_b
        assert rec_a["status"] == rec_b["status"]
        for name in ("generalization_depth", "converged", "epochs_to_criterion", "strings_seen"):
            assert rec_a["metrics"][name] == rec_b["metrics"][name], (key, name)
        for name in ("final_loss", "test_loss", "test_accuracy"):
            assert rec_a["metrics"][name] == pytest.approx(rec_b["metrics"][name], rel=1e-5, abs=1e-6)
        for name in t_b:
            a = np.frombuffer(t_a[name], dtype=np.float32)
            b = np.frombuffer(t_b[name], dtype=np.float32)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_same_numbers_with_two_worker_processes(reference, tmp_path):
    two = experiments.run(CONFIG, out=tmp_path / "two", workers=2, progress=False)
    assert numbers(two) == numbers(reference)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_numbers(reference, tmp_path):
    pytest.importorskip("distributed", reason="the dask extra (dynrec[dask]) is required")
    rd = experiments.run(CONFIG, out=tmp_path / "dask", backend="dask", workers=2, progress=False)
    assert rd.last_run["ok"] == 8
    assert numbers(rd) == numbers(reference)


def test_an_unknown_training_key_is_refused_with_the_valid_ones(tmp_path):
    with pytest.raises(ValueError) as err:
        experiments.run(CONFIG, out=tmp_path / "x", overrides=["training.lrate=0.1"], progress=False)
    msg = str(err.value)
    assert msg.startswith("<dict>: [training] lrate = 0.1: unknown key for training.BPTT; valid keys: ")
    assert "epochs" in msg and "strings_per_epoch" in msg and "population" not in msg
    assert not (tmp_path / "x").exists()


def test_a_bad_pass_through_value_fails_before_any_work_naming_the_cell(tmp_path):
    with pytest.raises(ValueError) as err:
        experiments.run(CONFIG, out=tmp_path / "x", overrides=["grid.training.epochs=[2, 0]"],
                        progress=False)
    msg = str(err.value)
    assert msg.startswith("<dict>: grid cell model.n_hidden=2, training.epochs=0: [training]: ")
    assert "epochs must be an integer >= 1, got 0" in msg
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="unknown grammar; valid: .*tomita3"):
        experiments.run(CONFIG, out=tmp_path / "x", overrides=["grammar.name=tomita9"])
    with pytest.raises(ValueError, match=r"\[model\] gain = 2: unknown option for model kind 'srn'"):
        experiments.run(CONFIG, out=tmp_path / "x", overrides=["model.gain=2"])


ANALYSED = {
    "name": "anbn-analysed", "seeds": [5, 9, 11], "chunk_size": 3,
    "grammar": {"name": "anbn"},
    "task": {"kind": "prediction", "n_range": [1, 4]},
    "model": {"kind": "srn", "n_hidden": 2},
    "training": {"method": "bptt", "epochs": 2, "strings_per_epoch": 8},
    "evaluation": {"n_max": 4},
    "analysis": {"fixed_points": {"n_random": 6}, "solution_type": {"n_random": 6}},
}


def test_analysis_records_are_per_seed_and_do_not_depend_on_the_chunk(tmp_path):
    together = experiments.run(ANALYSED, out=tmp_path / "a", progress=False)
    alone = experiments.run(ANALYSED, out=tmp_path / "b", overrides=["chunk_size=1"], progress=False)
    # Trained in float32 batches of 3 vs 1, BPTT can differ in the last bits (batched kernels
    # round differently); everything else (data, init, analysis starts) is per seed.
    a, b = numbers(together), numbers(alone)
    assert a.keys() == b.keys()
    for key in a:
        (ra, wa, _), (rb, wb, _) = a[key], b[key]
        for name in wa:
            x = torch.frombuffer(bytearray(wa[name]), dtype=torch.float32)
            y = torch.frombuffer(bytearray(wb[name]), dtype=torch.float32)
            assert torch.allclose(x, y, rtol=1e-5, atol=1e-6)
        for m, v in ra["metrics"].items():
            assert rb["metrics"][m] == (v if v is None else pytest.approx(v, rel=1e-4, abs=1e-6)), m
        for sym in ("a", "b"):
            pa, pb = ra["analysis"]["fixed_points"][sym], rb["analysis"]["fixed_points"][sym]
            assert pa["count"] == pb["count"] and pa["stability"] == pb["stability"]
            assert np.allclose(pa["states"], pb["states"], atol=1e-4)
        assert ra["analysis"]["solution_type"]["type"] == rb["analysis"]["solution_type"]["type"]
    rec = next(r for r in together.records() if r["seed"] == 9)
    fp = rec["analysis"]["fixed_points"]
    assert set(fp) == {"a", "b"}
    # each reported point really is a fixed point of F_x of that seed's saved network
    net = models.load(together.path / rec["checkpoint"]).to(torch.float64)
    for x, symbol in enumerate(("a", "b")):
        assert fp[symbol]["count"] == len(fp[symbol]["states"]) >= 1
        h = torch.tensor(fp[symbol]["states"], dtype=torch.float64)[None]  # [1, N, S]
        onehot = torch.zeros(1, h.shape[1], net.n_in, dtype=torch.float64)
        onehot[..., x] = 1
        assert torch.allclose(net.step(h, onehot), h, atol=1e-6)
    assert rec["analysis"]["solution_type"]["type"] in {"oscillating", "monotonic", "spiral", "mixed", "none"}


def test_population_evolution_runs_one_population_per_seed_and_extracts_dfas(tmp_path):
    cfg = {"name": "evo", "seeds": 2, "grammar": {"name": "tomita3"}, "task": {"kind": "recognition"},
           "model": {"kind": "srn", "n_hidden": 2},
           "training": {"method": "evolution", "strategy": "es", "population": 4, "generations": 2},
           "analysis": {"dfa": {"max_len": 4}}}
    rd = experiments.run(cfg, out=tmp_path / "evo", progress=False)
    recs = {r["seed"]: r for r in rd.records()}
    assert sorted(recs) == [0, 1]
    for s, r in recs.items():
        dfa = r["analysis"]["dfa"]
        assert dfa["n_states"] == len(dfa["automaton"]["states"]) >= 1
        assert 0.0 <= dfa["compare"]["accuracy"] <= 1.0
    # seed 1's network is the best of its own population, whatever seed 0 did
    alone = experiments.run(cfg, seeds=[1], out=tmp_path / "alone", progress=False)
    assert numbers(alone)[("c000", 1)] == numbers(rd)[("c000", 1)]
    with pytest.raises(ValueError, match=r"\[training\] population = 4: unknown key for training.BPTT"):
        experiments.run({**cfg, "training": {"method": "bptt", "population": 4}}, out=tmp_path / "x")
