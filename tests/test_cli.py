"""The ``dynrec`` command, end to end through ``cli.main`` (tiny configs, seconds each).

One section per subcommand; append tests for report / analyze / reproduce / list
in their own section below.
"""

from __future__ import annotations

import json

import pytest

from dynrec import cli, experiments

# ---- dynrec run -------------------------------------------------------------------
RUN_TOML = """
name = "cli-tiny"
seeds = 3
chunk_size = 2

[grammar]
name = "tomita3"

[task]
kind = "recognition"
length_range = [0, 5]

[model]
kind = "srn"
n_hidden = 2

[training]
method = "bptt"
epochs = 2
strings_per_epoch = 6

[evaluation]
n_max = 3

[grid]
"model.n_hidden" = [2, 3]
"""


@pytest.fixture
def run_config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(RUN_TOML)
    return path


def test_run_writes_a_run_directory_and_prints_its_path(run_config, tmp_path, capsys):
    out = tmp_path / "runs" / "tiny"
    assert cli.main(["run", str(run_config), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    frame = experiments.load(out)
    assert sorted(zip(frame["model.n_hidden"], frame["seed"])) == [(h, s) for h in (2, 3) for s in range(3)]
    assert frame["status"].eq("ok").all() and frame["generalization_depth"].between(0, 3).all()
    assert (out / "summary.csv").is_file() and (out / "config.toml").is_file()
    # the same command again skips everything
    assert cli.main(["run", str(run_config), "--out", str(out), "--quiet"]) == 0
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert [r["skipped"] for r in runs] == [0, 6] and runs[1]["ok"] == 0


def test_run_seeds_and_set_override_the_file(run_config, tmp_path):
    out = tmp_path / "o"
    assert cli.main(["run", str(run_config), "--out", str(out), "--seeds", "1", "--quiet",
                     "--set", "grid.model.n_hidden=[4]", "--set", "training.lr=0.2"]) == 0
    frame = experiments.load(out)
    assert frame["model.n_hidden"].tolist() == [4] and frame["seed"].tolist() == [0]
    assert experiments.RunDir(out).experiment().training["lr"] == 0.2


def test_run_changed_config_is_refused_then_new_writes_beside(run_config, tmp_path, capsys):
    out = tmp_path / "o"
    assert cli.main(["run", str(run_config), "--out", str(out), "--seeds", "1", "--quiet"]) == 0
    capsys.readouterr()
    args = ["run", str(run_config), "--out", str(out), "--seeds", "1", "--quiet",
            "--set", "training.epochs=3"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("dynrec run: error: ") and "holds a different experiment" in err
    assert 'training.epochs: 2 here, 3 now' in err
    assert cli.main(args + ["--new"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "o-2")


@pytest.mark.parametrize("change,message", [
    (("n_hidden = 2", "n_hidden = -1"), "[model] n_hidden = -1: must be an integer >= 1"),
    (("epochs = 2", "epochs = 2\nlearning_rate = 1"),
     "[training] learning_rate = 1: unknown key for training.BPTT; valid keys: "),
    (('name = "tomita3"', 'name = "tomita8"'), '[grammar] name = "tomita8": unknown grammar; valid: '),
    (('"model.n_hidden" = [2, 3]', '"model.n_hiden" = [2, 3]'),
     "[model] n_hiden = 2: unknown option for model kind 'srn'"),
])
def test_run_validation_errors_name_the_file_key_and_value(run_config, tmp_path, capsys, change, message):
    run_config.write_text(RUN_TOML.replace(*change))
    assert cli.main(["run", str(run_config), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dynrec run: error: {run_config}: ") and message in err
    assert not (tmp_path / "o").exists()  # nothing started


def test_run_missing_file_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "none.toml")]) == 2
    assert "experiment file not found" in capsys.readouterr().err
