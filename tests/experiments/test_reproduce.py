"""`dynrec reproduce`: every preset is valid, its claims point at published numbers, and the
whole pipeline (run, measures, verdicts, figures, report) works on a tiny version of each.

These prove the pipeline, not the science: the tiny runs train for a few epochs.
"""

from __future__ import annotations

import json

import pytest

from dynrec import experiments
from dynrec.experiments import presets
from dynrec.experiments import reproduce as rep

PAPER_PRESETS = ["elman-1990-xor", "elman-1990-letters", "wiles-elman-1995", "rodriguez-1999",
                 "chalup-blair-2003", "pollack-1991", "giles-1992", "cleeremans-1989",
                 "hochreiter-1997", "gers-2001", "weiss-2018"]


def test_every_preset_of_the_issue_is_shipped():
    assert set(PAPER_PRESETS) <= set(presets.names())


@pytest.mark.parametrize("name", PAPER_PRESETS)
@pytest.mark.parametrize("quick", [False, True])
def test_preset_is_a_valid_experiment_with_sourced_claims(name, quick):
    config, preset = rep.prepare(name, quick)
    exp = experiments.load_config(config)  # checks every key against the registries
    assert exp.cells()
    assert preset["description"] and preset["title"]
    published = presets.published(preset["paper"])
    ids = {c["id"] for c in published["claims"]}
    for claim in published["claims"]:
        assert claim["source"], f"{name}: claim {claim['id']} has no source"
        assert isinstance(claim["confirmed"], bool)
    for spec in preset.get("claims", []):
        assert spec["id"] in ids
        assert spec["measure"] in rep.MEASURES
        rep.verdict(0.0, spec.get("reproduced"), spec.get("partly"))  # rules parse
        if spec.get("reproduced") is None:  # no rule only where the paper gives no number
            assert next(c for c in published["claims"] if c["id"] == spec["id"])["value"] is None
    for fig in preset.get("figures", []):
        from dynrec.experiments.figures import FIGURES

        assert fig in FIGURES


def test_verdict_rules():
    assert rep.verdict(18, ">= 18", ">= 13") == "reproduced"
    assert rep.verdict(15, ">= 18", ">= 13") == "partly"
    assert rep.verdict(3, ">= 18", ">= 13") == "not"
    assert rep.verdict(None, ">= 18") == "not measured"
    assert rep.verdict(0.3, "in [0.01, 0.5]") == "reproduced"
    assert rep.verdict(0.0, "in [0.01, 0.5]", "> 0") == "not"
    with pytest.raises(ValueError, match="verdict rule"):
        rep.verdict(1.0, "about 3")


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="wiles-elman-1995"):
        rep.prepare("no-such-paper")


def _tiny(name: str) -> list[str]:
    config, _ = rep.prepare(name, quick=True)
    t = config["training"]
    if t["method"] == "evolution":
        out = ["training.generations=3", "training.n_strings=6"]
    else:
        out = ["training.epochs=2", "training.strings_per_epoch=" + ("30" if config["task"].get("stream") else "8")]
    if config.get("evaluation", {}).get("n_max", 0) > 12:
        out.append("evaluation.n_max=12")
    if config.get("evaluation", {}).get("test_count", 0) > 0:
        out.append("evaluation.test_count=16")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_tiny_reproduction_writes_its_report(name, tmp_path):
    path = rep.reproduce(name, quick=True, seeds=2, out=tmp_path / name, overrides=_tiny(name),
                         progress=False)
    text = path.read_text()
    _, preset = rep.prepare(name, quick=True)
    paper = presets.published(preset["paper"])
    # Every claim the preset measures is in the table with a verdict; every seed is counted.
    for spec in preset.get("claims", []):
        claim = next(c for c in paper["claims"] if c["id"] == spec["id"])
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {rep._cell(claim['claim'])} |"))
        assert any(v in line for v in ("**reproduced**", "**partly**", "**not**", "**not measured**"))
    # Claims of the paper that the preset cannot measure are listed too, never hidden, with the reason.
    for claim in paper["claims"]:
        assert f"| {rep._cell(claim['claim'])} |" in text
    for claim_id, reason in preset.get("unmeasured", {}).items():
        claim = next(c for c in paper["claims"] if c["id"] == claim_id)
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| {rep._cell(claim['claim'])} |"))
        assert f"— ({rep._cell(reason)})" in line and line.endswith("**not measured** |")
    n_cells = len(experiments.load_config(path.parent / "config.toml").cells())
    assert f"Seeds run: {2 * n_cells} " in text
    # Every figure the preset names was drawn (a failure would be reported, not raised).
    assert "could not be drawn" not in text
    for fig in preset.get("figures", []):
        assert (path.parent / "figures" / f"{fig}.png").stat().st_size > 0
    frame = experiments.load(path.parent)
    assert len(frame) == 2 * n_cells


def test_reproduce_through_the_cli(tmp_path, capsys):
    from dynrec.cli import main

    out = tmp_path / "xor"
    code = main(["reproduce", "elman-1990-xor", "--quick", "--seeds", "1", "--out", str(out),
                 "--set", "training.epochs=1", "--set", "training.strings_per_epoch=20"])
    assert code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(out / "REPRODUCTION.md")
    text = (out / "REPRODUCTION.md").read_text()
    assert "--set training.epochs=1" in text  # the report names every change to the preset
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest


def test_list_presets_shows_every_preset(capsys):
    from dynrec.cli import main

    assert main(["list", "presets"]) == 0
    out = capsys.readouterr().out
    for name in PAPER_PRESETS:
        assert name in out


def test_measures_on_a_hand_made_frame():
    import pandas as pd

    frame = pd.DataFrame({
        "cell_id": ["c000"] * 4 + ["c001"] * 2, "model.kind": ["lstm"] * 4 + ["gru"] * 2,
        "seed": [0, 1, 2, 3, 0, 1], "status": ["ok", "ok", "ok", "diverged", "ok", "ok"],
        "generalization_depth": [12, 3, 15, 20, 2, 4],
        "raw": [5, 2, 9, 1, 3, 3], "minimal": [2, 2, 2, 2, 3, 3],
        "type": ["oscillating", "none", "monotonic", "oscillating", "none", "none"]})
    ctx = {}
    # a diverged seed counts as a failure, never as a success
    assert rep.measure_success_rate(frame, ctx, "generalization_depth", 10, {"model.kind": "lstm"})[0] == 0.5
    assert rep.measure_max(frame, ctx, "generalization_depth", {"model.kind": "gru"})[0] == 4
    got = rep.measure_fraction(frame, ctx, "type", "oscillating",
                               among_success={"metric": "generalization_depth", "at_least": 10})[0]
    assert got == 0.5  # seeds 0 and 2 of c000 succeed; one oscillates
    assert rep.measure_fraction_exceeding(frame, ctx, "raw", "minimal")[0] == 2 / 6
    diff = rep.measure_cell_difference(frame, ctx, "generalization_depth", "median",
                                       {"model.kind": "lstm"}, {"model.kind": "gru"})[0]
    assert diff == 13.5 - 3.0  # medians over every finished seed of each cell
    with pytest.raises(ValueError, match="not a grid key"):
        rep.measure_max(frame, ctx, "generalization_depth", {"model.n_hidden": 2})


# ----------------------------------------------------------- measures that open the networks
def _frame(rows):
    import pandas as pd

    base = {"cell_id": "c000", "status": "ok"}
    return pd.DataFrame([{**base, "seed": i, **r} for i, r in enumerate(rows)])


def _write_record(tmp_path, seed, record):
    path = tmp_path / f"seed-{seed}.json"
    path.write_text(json.dumps(record))
    return str(path)


def test_every_unmeasured_claim_says_why():
    for name in PAPER_PRESETS:
        _, preset = rep.prepare(name)
        measured = {spec["id"] for spec in preset.get("claims", [])}
        reasons = preset.get("unmeasured", {})
        assert not measured & set(reasons), f"{name}: a claim is both measured and unmeasured"
        for claim in presets.published(preset["paper"])["claims"]:
            assert claim["id"] in measured or reasons.get(claim["id"]), f"{name}: {claim['id']} has no reason"


def test_a_claim_without_a_published_number_is_measured_only():
    assert rep.verdict(3.0, None) == "measured only"
    assert rep.verdict(None, None) == "not measured"


def test_counting_point_stability_reads_the_chosen_point(tmp_path):
    def rec(seed, point_b, stabilities):
        fps = {"states": [[0.1, 0.1], [0.9, 0.4]], "stability": stabilities,
               "eigenvalues_abs": [[0.5, 0.2], [1.5, 0.1]]}
        st = {"type": "oscillating", "point_b": point_b} if point_b else {"type": "none"}
        return _write_record(tmp_path, seed, {"analysis": {"fixed_points": {"b": fps}, "solution_type": st}})

    frame = _frame([
        {"generalization_depth": 12, "record": rec(0, [0.9, 0.41], ["attracting", "saddle"])},  # saddle
        {"generalization_depth": 15, "record": rec(1, [0.1, 0.11], ["attracting", "saddle"])},  # attracting
        {"generalization_depth": 11, "record": rec(2, None, ["attracting", "saddle"])},  # no counting point
        {"generalization_depth": 3, "record": rec(3, [0.9, 0.4], ["attracting", "saddle"])}])  # not successful
    value, detail = rep.MEASURES["counting_point_stability"](
        frame, {}, point="b", among_success={"metric": "generalization_depth", "at_least": 10})
    assert value == 1 / 3 and "1 of 3" in detail
    assert rep.MEASURES["counting_point_stability"](frame, {})[0] == 2 / 4


def test_first_reached_counts_seeds_that_never_get_there(tmp_path):
    hist = [[0.5, 1.0, 1.0, 1.0, 1.0], [0.2, 0.5, 0.9, 1.0, 0.9], [0.1, 0.2, 0.2, 0.3, 0.4]]
    frame = _frame([{"record": _write_record(tmp_path, i, {"history": {"epoch": [1, 2, 3, 4, 5],
                                                                         "string_accuracy": h}})}
                    for i, h in enumerate(hist)])
    ctx = {"_cells": {"c000": ({"training": {"strings_per_epoch": 10}}, None)}}
    value, detail = rep.MEASURES["first_reached"](frame, ctx)
    assert value == 4.0 and "1 never reached" in detail  # median of 2, 4 and never
    assert rep.MEASURES["first_reached"](frame, ctx, stat="mean")[0] == float("inf")
    assert rep.MEASURES["first_reached"](frame, ctx, unit="strings")[0] == 40.0
    assert rep.MEASURES["first_reached"](frame, ctx, at_least=0.5)[0] == 2.0


def _second_order(tmp_path, name, w1, p_bias=-1.0):
    """A one-unit second-order net: under '0' x -> tanh(x), under '1' x -> tanh(w1[0] + w1[1] x)."""
    from dynrec import models

    net = models.SecondOrder.from_weights(W=[[[0.0, 1.0]], [w1]], P=[p_bias, 0.0], h0=[0.5])
    path = tmp_path / f"{name}.safetensors"
    net.save(path)
    return str(path)


def test_limit_cycle_tells_a_cycle_from_a_point(tmp_path):
    from dynrec import grammars

    task = grammars.RecognitionTask(grammars.get("parity"))
    frame = _frame([{"checkpoint": _second_order(tmp_path, "flip3", [0.0, -3.0])},   # x -> tanh(-3x): period 2
                    {"checkpoint": _second_order(tmp_path, "flip5", [0.0, -5.0])},   # period 2
                    {"checkpoint": _second_order(tmp_path, "point", [0.5, 0.5])}])   # a limit point
    ctx = {"_cells": {"c000": ({}, task)}}
    value, detail = rep.MEASURES["limit_cycle"](frame, ctx, symbol="1", period=2)
    assert value == 2 / 3 and "{'1': 1, '2': 2}" in detail
    assert rep.MEASURES["limit_cycle"](frame, ctx, symbol="1", period=1)[0] == 1 / 3


def test_extracted_automaton_against_its_network(tmp_path):
    from dynrec import analysis, grammars

    lang = grammars.get("tomita1")
    task = grammars.RecognitionTask(lang)
    net = _second_order(tmp_path, "rejects", [0.5, 0.5])  # rejects every string: wrong only on 1^n
    exact = analysis.DFA.from_dict(lang.minimal_dfa())
    accept_all = analysis.DFA(lang.alphabet, [[0, 0]], 0, [0])
    frame = _frame([{"checkpoint": net, "record": _write_record(tmp_path, i, {"analysis": {"dfa": {
        "automaton": d.to_dict()}}})} for i, d in enumerate([exact, accept_all])])
    ctx = {"_cells": {"c000": ({"training": {"loss": "sse"}}, task)}}
    value, detail = rep.MEASURES["extracted_beats_network"](frame, ctx, lengths=[11, 12])
    assert value == 0.5  # the exact automaton beats the network, accept-everything does not
    assert "(1.0, 0.9997), (0.0003, 0.9997)" in detail  # 2 members among the 6,144 strings


def test_cluster_purity_of_states_that_remember_the_last_symbol(tmp_path):
    import numpy as np

    from dynrec import grammars, models

    task = grammars.PredictionTask(grammars.get("reber"), max_len=30)
    eye = np.eye(7)
    net = models.SRN.from_weights(U=20 * eye, W=np.zeros((7, 7)), b=-10 * np.ones(7), V=np.zeros((7, 7)))
    path = tmp_path / "last.safetensors"
    net.save(path)
    value, detail = rep.MEASURES["cluster_purity"](_frame([{"checkpoint": str(path)}]), {"task": task},
                                                   count=50, seed=3)
    # expected: the node after each prefix, grouped by the prefix's last symbol (Reber's graph by hand)
    graph = {0: {"T": 1, "P": 2}, 1: {"S": 1, "X": 3}, 2: {"T": 2, "V": 4}, 3: {"X": 2, "S": 5},
             4: {"P": 3, "V": 5}}
    pairs = []
    for s in task.sample(np.random.default_rng(3), 50):
        node = 0
        for t in range(1, len(s)):
            node = node if t == 1 else graph[node][s[t - 1]]
            pairs.append((s[t - 1], node))
    by_symbol = {}
    for sym, node in pairs:
        by_symbol.setdefault(sym, []).append(node)
    expected = sum(max(v.count(n) for n in set(v)) for v in by_symbol.values()) / len(pairs)
    assert 0.5 < expected < 1  # the last symbol alone does not tell the node
    assert value == pytest.approx(expected)
    assert "6 nodes" in detail


def _oracle(states_of):
    """A stand-in for a trained network on a stream: outputs spread evenly over the legal next
    symbols (the best possible predictor); hidden states from ``states_of(batch)``."""
    def run(path, task, batch):
        legal = batch.legal[0].double()
        return legal / legal.sum(-1, keepdim=True), states_of(batch), batch.mask[0]
    return run


def test_feature_error_of_the_best_and_of_an_uninformed_predictor(monkeypatch):
    import torch

    from dynrec import grammars
    from dynrec.experiments import net_measures

    task = grammars.PredictionTask(grammars.get("elman_letters"), stream=True)
    ctx = {"task": task, "paper": presets.published("elman-1990-letters")}
    frame = _frame([{"checkpoint": "best"}])
    onset = {"coding": "letter_coding", "feature": "Consonant", "at_target": 1, "length": 600}
    versus = {"coding": "letter_coding", "feature": "Consonant", "versus": "High", "length": 600}
    monkeypatch.setattr(net_measures, "_stream_run", _oracle(lambda b: None))
    assert rep.MEASURES["feature_error"](frame, ctx, **onset)[0] == pytest.approx(0.0)
    assert rep.MEASURES["feature_error"](frame, ctx, **versus)[0] == 1.0
    uniform = lambda path, task, batch: (torch.full(batch.legal[0].shape, 1 / 6), None, batch.mask[0])  # noqa: E731
    monkeypatch.setattr(net_measures, "_stream_run", uniform)
    # predicting Consonant = 1/2 everywhere: error 1/4 before every consonant
    assert rep.MEASURES["feature_error"](frame, ctx, **onset)[0] == pytest.approx(0.25)
    assert rep.MEASURES["feature_error"](frame, ctx, **versus)[0] < 0.9
    with pytest.raises(ValueError, match="not in the coding"):
        rep.MEASURES["feature_error"](frame, ctx, coding="letter_coding", feature="Round", at_target=1)


def test_unit_roles_separates_run_and_alternation_units(monkeypatch):
    import numpy as np
    import torch

    from dynrec import grammars
    from dynrec.experiments import net_measures

    def roles(batch):  # unit 0 high on runs, unit 1 on alternations, as Elman describes
        bits = batch.inputs[0].argmax(-1).numpy()
        same = np.r_[False, bits[1:] == bits[:-1]]
        return torch.tensor(np.stack([same, ~same], 1).astype(float))

    task = grammars.PredictionTask(grammars.get("temporal_xor"), stream=True)
    frame = _frame([{"checkpoint": "a"}, {"checkpoint": "b"}])
    monkeypatch.setattr(net_measures, "_stream_run", _oracle(roles))
    value, detail = rep.MEASURES["unit_roles"](frame, {"task": task}, length=900)
    assert value == 1.0 and "2 of 2" in detail
    noise = lambda b: torch.tensor(np.random.default_rng(0).normal(size=(b.inputs.shape[1], 2)))  # noqa: E731
    monkeypatch.setattr(net_measures, "_stream_run", _oracle(noise))
    assert rep.MEASURES["unit_roles"](frame, {"task": task}, length=900)[0] == 0.0
    r = net_measures.run_correlations([0, 0, 0, 1, 0, 1, 1, 1], np.array([[0], [0], [1], [0], [0], [0], [0], [1.0]]))
    assert r[0] == pytest.approx(1.0)  # only steps 2 (000), 4 (010), 5 (101) and 7 (111) are labelled


def test_counter_dimension_finds_a_counting_cell(monkeypatch):
    import torch

    from dynrec import grammars
    from dynrec.experiments import net_measures

    task = grammars.PredictionTask(grammars.get("anbn"), markers=True, n_range=(1, 8))

    class Fake(torch.nn.Module):  # state [h, c]: c counts when ``counts``, else noise
        def __init__(self, counts):
            super().__init__()
            self.w, self.counts = torch.nn.Parameter(torch.zeros(1)), counts

        def forward(self, x):
            step = x[..., 0] - x[..., 1]
            c = step.cumsum(-1) if self.counts else torch.randn(step.shape, generator=torch.Generator().manual_seed(0))
            noise = torch.randn(step.shape, generator=torch.Generator().manual_seed(1))
            return None, torch.stack([noise, c], -1)[None]

    monkeypatch.setattr(net_measures, "_load", lambda path, task=None: Fake(path == "counts"))
    frame = _frame([{"checkpoint": "counts"}, {"checkpoint": "noise"}])
    ctx = {"_cells": {"c000": ({}, task)}}
    value, detail = rep.MEASURES["counter_dimension"](frame, ctx)
    assert value == 0.5 and "n <= 8" in detail
    assert rep.MEASURES["counter_dimension"](frame, ctx, part="all")[0] == 0.5
