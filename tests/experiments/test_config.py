"""Experiment files: parsing, grid expansion, overrides, and every validation message."""

from __future__ import annotations

import math
import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynrec import experiments
from dynrec.experiments.toml_writer import dumps

GOOD = """
name = "t3"
seeds = [4, 7, 9]
chunk_size = 2

[grammar]
name = "tomita3"

[task]
kind = "recognition"
length_range = [0, 8]

[model]
kind = "srn"
n_hidden = 2

[training]
method = "bptt"
epochs = 3
lr = 0.5

[evaluation]
n_max = 6

[analysis]
fixed_points = { n_random = 8 }

[grid]
"model.n_hidden" = [2, 3, 5]
"training.lr" = [0.1, 0.5]
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_file_loads_into_a_typed_experiment_and_expands_its_grid(tmp_path):
    exp = experiments.load_config(write(tmp_path, GOOD), check=False)
    assert exp.name == "t3" and exp.seeds == (4, 7, 9) and exp.chunk_size == 2
    assert exp.task == {"kind": "recognition", "length_range": [0, 8]}
    assert exp.evaluation == {"n_max": 6, "test_count": 0, "test_seed": 1}
    assert exp.analysis == {"fixed_points": {"n_random": 8}, "solution_type": False, "dfa": False}
    cells = exp.cells()
    # itertools.product order: the last grid key varies fastest
    assert [c.values for c in cells] == [{"model.n_hidden": h, "training.lr": lr}
                                         for h in (2, 3, 5) for lr in (0.1, 0.5)]
    assert [c.id for c in cells] == [f"c{i:03d}" for i in range(6)]
    for c in cells:
        assert c.config.model["n_hidden"] == c.values["model.n_hidden"]
        assert c.config.training["lr"] == c.values["training.lr"] and c.config.grid == {}
        spec = c.spec()
        assert spec["cell"] == c.values and "seeds" not in spec and spec["training"]["epochs"] == 3


def test_name_defaults_to_the_file_stem_and_seeds_count_to_range(tmp_path):
    text = GOOD.replace('name = "t3"\n', "").replace("seeds = [4, 7, 9]", "seeds = 4")
    exp = experiments.load_config(write(tmp_path, text, "my_run.toml"), check=False)
    assert exp.name == "my_run" and exp.seeds == (0, 1, 2, 3)
    assert experiments.load_config(exp, seeds=[5, 1], check=False).seeds == (5, 1)


def test_overrides_read_toml_values_and_fall_back_to_strings(tmp_path):
    path = write(tmp_path, GOOD)
    exp = experiments.load_config(path, ["training.epochs=7", "grammar.name=tomita4",
                                         "task.length_range=[1, 3]", "model.bias=false",
                                         "grid.model.n_hidden=[4]"], check=False)
    assert exp.training["epochs"] == 7 and exp.grammar["name"] == "tomita4"
    assert exp.task["length_range"] == [1, 3] and exp.model["bias"] is False
    assert exp.grid["model.n_hidden"] == (4,) and len(exp.cells()) == 2


def test_resolved_config_round_trips_through_the_toml_writer(tmp_path):
    exp = experiments.load_config(write(tmp_path, GOOD), check=False)
    back = experiments.load_config(tomllib.loads(dumps(exp.to_dict())), check=False)
    assert back.to_dict() == exp.to_dict() and back.fingerprint() == exp.fingerprint()


def test_fingerprint_ignores_seeds_name_and_chunking_but_not_the_rest(tmp_path):
    a = experiments.load_config(write(tmp_path, GOOD), check=False)
    b = experiments.load_config(a, ["name=other", "chunk_size=9"], seeds=50, check=False)
    c = experiments.load_config(a, ["training.epochs=4"], check=False)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


ERRORS = [
    ("", "colour = 1", "colour = 1: unknown key; valid keys: analysis, chunk_size, evaluation, grammar, "
                       "grid, model, name, seeds, task, training"),
    ("[training]\nmethod = \"bptt\"", "", "[training] = None: missing section"),
    ('n_hidden = 2', 'n_hidden = 0', "[model] n_hidden = 0: must be an integer >= 1"),
    ('n_hidden = 2', 'n_hidden = "two"', '[model] n_hidden = "two": must be an integer >= 1'),
    ('n_hidden = 2', 'n_hidden = 2\nn_in = 3', "[model] n_in = 3: set by the runner"),
    ('kind = "recognition"', 'kind = "parsing"',
     "[task] kind = \"parsing\": must be one of 'prediction', 'recognition'"),
    ('method = "bptt"', 'method = "hebb"', "[training] method = \"hebb\": must be one of 'bptt', 'evolution'"),
    ("seeds = [4, 7, 9]", "seeds = [4, 4]", "seeds = [4, 4]: must not repeat a seed"),
    ("seeds = [4, 7, 9]", "seeds = 0", "seeds = 0: must be an integer >= 1"),
    ("seeds = [4, 7, 9]", "seeds = [1, -2]", "seeds = [1, -2]: must be a count >= 1 or a list"),
    ("chunk_size = 2", "chunk_size = 0", "chunk_size = 0: must be an integer >= 1"),
    ("n_max = 6", "n_max = 6\nlength = 3", "[evaluation] length = 3: unknown key; valid keys: n_max, test_count, test_seed"),
    ("n_max = 6", "n_max = -1", "[evaluation] n_max = -1: must be an integer >= 0"),
    ("fixed_points = { n_random = 8 }", "fixed_points = 1",
     "[analysis] fixed_points = 1: must be true, false or a table of options"),
    ("fixed_points = { n_random = 8 }", "lyapunov = true",
     "[analysis] lyapunov = true: unknown key; valid keys: dfa, fixed_points, solution_type"),
    ('"training.lr" = [0.1, 0.5]', '"trainin.lr" = [0.1]', '[grid] "trainin.lr" = [0.1]: grid keys are'),
    ('"training.lr" = [0.1, 0.5]', '"training.lr" = 0.1', '[grid] "training.lr" = 0.1: must be a non-empty list'),
    ('"training.lr" = [0.1, 0.5]', '"training.lr" = []', '[grid] "training.lr" = []: must be a non-empty list'),
    ('"training.lr" = [0.1, 0.5]', '"model.n_hidden" = [2, 0]', None),  # duplicate key: TOML error
    ('"training.lr" = [0.1, 0.5]', '"evaluation.n_max" = [3, -1]',
     'grid cell model.n_hidden=2, evaluation.n_max=-1: [evaluation] n_max = -1: must be an integer >= 0'),
]


@pytest.mark.parametrize("old,new,message", ERRORS)
def test_each_bad_value_is_named_with_the_file_and_what_is_allowed(tmp_path, old, new, message):
    path = write(tmp_path, GOOD.replace(old, new, 1) if old else new + "\n" + GOOD)
    with pytest.raises(ValueError) as err:
        experiments.load_config(path, check=False)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    if message is None:
        assert "not valid TOML" in text
    else:
        assert message in text


def test_missing_file_and_bad_overrides_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="experiment file not found: .*nope.toml"):
        experiments.load_config(tmp_path / "nope.toml")
    path = write(tmp_path, GOOD)
    with pytest.raises(ValueError, match=re.escape("override 'epochs': expected KEY=VALUE")):
        experiments.load_config(path, ["epochs"], check=False)
    with pytest.raises(ValueError, match=re.escape("'model.n_hidden' is a grid axis; set grid.model.n_hidden")):
        experiments.load_config(path, ["model.n_hidden=4"], check=False)


# ---- the TOML writer -------------------------------------------------------------
scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=8),
                    st.floats(allow_nan=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
keys = st.text(min_size=1, max_size=6)
tables = st.recursive(st.dictionaries(keys, values, max_size=4),
                      lambda inner: st.dictionaries(keys, st.one_of(values, inner), max_size=3),
                      max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_toml_writer_round_trips_through_tomllib(data):
    assert tomllib.loads(dumps(data)) == data


def test_toml_writer_special_floats_quoting_and_refusals():
    text = dumps({"a": math.inf, "b": -math.inf, "grid": {"model.n_hidden": [1, 2]}, "s": 'q"\n\\'})
    back = tomllib.loads(text)
    assert back["a"] == math.inf and back["b"] == -math.inf and back["s"] == 'q"\n\\'
    assert '"model.n_hidden" = [1, 2]' in text
    assert math.isnan(tomllib.loads(dumps({"x": math.nan}))["x"])
    with pytest.raises(TypeError, match=r"cannot write t\.x = .*set"):
        dumps({"t": {"x": {1, 2}}})
