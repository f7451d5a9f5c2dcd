"""Evolution: batched population fitness equals one-by-one evaluation; hill climbing is
monotone, independent per climber and solves a small task; DEAP's globals stay untouched."""

import random

import numpy as np
import pytest
import torch
from deap import creator

from dynrec import grammars, models, training

LANG = grammars.get("anbn")
TASK = grammars.PredictionTask(LANG, markers=True)
STRINGS = [LANG.member(n) for n in (1, 2, 3)]


def _net(ensemble, seed=0, hidden=3):
    return models.build("srn", TASK.n_in, hidden, TASK.n_out, ensemble=ensemble, seed=seed)


def test_population_evaluator_equals_one_by_one():
    net = _net(4)
    flat = net.to_flat().double().numpy()
    rng = np.random.default_rng(0)
    pop = flat[rng.integers(0, 4, size=7)] + rng.normal(0, 0.5, size=(7, flat.shape[1]))
    ev = training.PopulationEvaluator(net, 3, "ce", None)  # 7 rows through 3 members: chunks + padding
    from dynrec.training.data import shared
    got = ev(pop, shared(TASK, STRINGS))
    single = net.member(0)
    for j in range(7):
        single.load_flat(torch.from_numpy(pop[j:j + 1]).float())
        m = training.evaluate(single, TASK, STRINGS)
        for k in ("loss", "accuracy", "string_accuracy"):
            assert got[k][j] == pytest.approx(m[k][0], rel=1e-5)
    bad = pop.copy()
    bad[2, 0] = np.nan
    assert np.isnan(ev(bad, shared(TASK, STRINGS))["loss"][2])


def test_hill_climbing_is_monotone_and_solves_anbn_up_to_3():
    """Chalup & Blair's (1+1) climber on a^n b^n, n <= 3 (start and end markers), 20 climbers at
    once. With seed 0, 14 of the 20 climbers reach the criterion within 400 generations
    (sigma 0.1); the test asks for at least 10."""
    net = _net(20)
    res = training.Evolution("hill_climb", generations=400, sigma=0.1, fitness="loss",
                             stop="all_correct").fit(net, TASK, seed=0, strings=STRINGS)
    for h in res.history:
        f = np.array(h["fitness"])
        assert (np.diff(f) >= 0).all()
    assert sum(res.converged) >= 10
    m = training.evaluate(net, TASK, STRINGS)
    assert (m["string_accuracy"][np.array(res.converged)] == 1).all()
    for e in np.flatnonzero(res.converged):
        assert res.history[e]["generation"][-1] == res.epochs_to_criterion[e]


def test_climber_in_ensemble_equals_climber_alone():
    seed = 7
    ens = _net(4, seed)
    evo = training.Evolution("hill_climb", generations=15, sigma=0.2, n_strings=6)
    res = evo.fit(ens, TASK, seed=seed)
    alone = _net(1, models.member_seed(seed, 2))
    res2 = evo.fit(alone, TASK, seed=models.member_seed(seed, 2))
    torch.testing.assert_close(alone.to_flat()[0], ens.to_flat()[2], rtol=0, atol=1e-6)
    assert res2.history[0]["accepted"] == res.history[2]["accepted"]


@pytest.mark.parametrize("strategy,kw", [("es", {}), ("es", {"plus": False, "lambda_": 24}),
                                         ("cmaes", {}), ("ga", {})])
def test_population_strategies_improve(strategy, kw):
    net = _net(12)
    start = training.evaluate(net, TASK, STRINGS)["loss"].min()
    res = training.Evolution(strategy, generations=25, sigma=0.3, **kw).fit(
        net, TASK, seed=1, strings=STRINGS)
    assert len(res.log) == 25 and res.n_members == 12
    best = [r["max"] for r in res.log]
    if strategy == "es" and kw.get("plus", True):
        assert (np.diff(best) >= 0).all()  # (mu + lambda) is elitist
    final = training.evaluate(net, TASK, STRINGS)["loss"]
    assert final[0] < start                       # the best found beats the best at the start
    assert final[0] == pytest.approx(min(final), rel=1e-6)  # best first
    assert final[0] == pytest.approx(res.final[0]["loss"], rel=1e-6)


def test_population_stops_when_best_solves():
    net = _net(16)
    res = training.Evolution("es", generations=300, sigma=0.1, stop="all_correct").fit(
        net, TASK, seed=0, strings=["ab"])
    assert len(res.log) < 300 and res.converged[0]
    assert res.epochs_to_criterion[0] == len(res.log)


def test_randomness_is_isolated_and_seeded():
    random.seed(1234)
    np.random.seed(99)
    py_state, np_state = random.getstate(), np.random.get_state()
    classes = (creator.DynrecFitness, creator.DynrecIndividual)
    runs = []
    for seed in (3, 3, 4):
        net = _net(6)
        res = training.Evolution("ga", generations=5, sigma=0.3).fit(net, TASK, seed=seed,
                                                                        strings=STRINGS)
        runs.append((net.to_flat(), res.log))
        net = _net(6)
        training.Evolution("cmaes", generations=3).fit(net, TASK, seed=seed, strings=STRINGS)
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after[1:2], np_state[1:2])) and after[2] == np_state[2]
    assert torch.equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not torch.equal(runs[0][0], runs[2][0])
    assert (creator.DynrecFitness, creator.DynrecIndividual) == classes
    assert sorted(n for n in vars(creator) if n.startswith("Dynrec")) == ["DynrecFitness",
                                                                         "DynrecIndividual"]


def test_hill_climb_curriculum_advances_per_climber():
    cur = training.Curriculum([["ab"], ["ab", "aabb"]], advance="criterion")
    net = _net(6)
    res = training.Evolution("hill_climb", generations=60, sigma=0.2, curriculum=cur).fit(
        net, TASK, seed=0)
    stages = [max(h["stage"]) for h in res.history]
    assert 1 in stages
    for h in res.history:
        assert h["stage"] == sorted(h["stage"])


@pytest.mark.parametrize("kw,match", [
    ({"strategy": "pso"}, "strategy must be one of"),
    ({"fitness": "speed"}, "fitness must be one of"),
    ({"sigma": 0}, "sigma must be"),
    ({"generations": 0}, "generations must be"),
    ({"strategy": "es", "cxpb": 0.6, "mutpb": 0.6}, "cxpb \\+ mutpb"),
    ({"indpb": 0}, "indpb must be"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        training.Evolution(**kw)


def test_bad_fit_arguments():
    with pytest.raises(ValueError, match="seed must be an int"):
        training.Evolution("es", generations=1).fit(_net(2), TASK, seed=[1, 2])
    with pytest.raises(ValueError, match="lambda_"):
        training.Evolution("es", generations=1, plus=False, lambda_=2).fit(_net(4), TASK)


def test_hill_climb_curriculum_climbers_at_stages_of_different_sizes_equal_climbers_alone():
    """Climbers at stages whose evaluation sets differ in size are each scored on all of their
    own strings (a climber that moved on to the 3-string stage was once scored on only the
    first string while another climber was still at the 1-string stage)."""
    cur = training.Curriculum([["ab"], ["ab", "aabb", "aaabbb"]], advance="criterion")
    evo = training.Evolution("hill_climb", generations=80, sigma=0.2, curriculum=cur,
                             stop="all_correct")
    seed = 0
    ens = _net(6, seed)
    res = evo.fit(ens, TASK, seed=seed)
    stages = [h["stage"] for h in res.history]
    assert any(0 in s[1:] for s in stages) and any(1 in s for s in stages)  # both stages at once
    for i in range(6):
        alone = _net(1, models.member_seed(seed, i))
        res1 = evo.fit(alone, TASK, seed=models.member_seed(seed, i))
        assert res1.history[0]["stage"] == res.history[i]["stage"]
        assert res1.history[0]["fitness"] == pytest.approx(res.history[i]["fitness"], rel=1e-6)
        torch.testing.assert_close(alone.to_flat()[0], ens.to_flat()[i], rtol=0, atol=1e-6)
        assert res1.converged[0] == res.converged[i]
        assert res1.strings_seen[0] == res.strings_seen[i]
    final = training.evaluate(ens, TASK, ["ab", "aabb", "aaabbb"])
    for i in np.flatnonzero(res.converged):
        assert final["string_accuracy"][i] == 1
