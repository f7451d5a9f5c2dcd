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
        rep.verdict(0.0, spec["reproduced"], spec.get("partly"))  # rules parse
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
    # Claims of the paper that the preset cannot measure are listed too, never hidden.
    for claim in paper["claims"]:
        assert f"| {rep._cell(claim['claim'])} |" in text
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
