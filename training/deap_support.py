"""Everything dynrec takes from DEAP's global machinery, kept in one place.

* ``creator`` classes: DEAP's ``creator.create`` writes classes into the global
  ``deap.creator`` module. dynrec creates exactly two, once, at import:
  ``creator.DynrecFitness`` (one objective, maximised) and
  ``creator.DynrecIndividual`` (a float64 ``numpy.ndarray`` with that fitness;
  DEAP's creator gives ndarray individuals a deep copy that keeps the fitness).
  Nothing else is created, ever, so repeated calls and tests see the same two
  classes and no individual outlives its run.
* Global random state: ``deap.algorithms`` (``varOr``, ``varAnd``) and
  ``deap.tools`` selections draw from Python's global ``random`` module, which
  cannot be handed a generator. :func:`private_random` runs such code on a
  private ``random.Random`` stream: it saves the global state, installs the
  private stream's state, runs, stores the advanced stream back and restores the
  global state - so results depend only on the seed and the caller's global
  random state is left exactly as it was. numpy's global state is saved and
  restored too (dynrec's own operators draw from a ``numpy.random.Generator``,
  and :class:`SeededCMA` replaces ``deap.cma.Strategy``'s global draws).
"""

from __future__ import annotations

import contextlib
import random

import numpy as np
from deap import base, cma, creator

if not hasattr(creator, "DynrecFitness"):
    creator.create("DynrecFitness", base.Fitness, weights=(1.0,))
if not hasattr(creator, "DynrecIndividual"):
    creator.create("DynrecIndividual", np.ndarray, fitness=creator.DynrecFitness)

Fitness = creator.DynrecFitness
Individual = creator.DynrecIndividual


def individual(values) -> "Individual":
    """A DEAP individual (float64 ndarray with an invalid fitness) holding ``values``."""
    return Individual(np.array(values, dtype=np.float64).reshape(-1))


def clone(ind: "Individual") -> "Individual":
    """A copy of an individual (weights, fitness, cached metrics) without ``copy.deepcopy``'s
    generic walk; registered as the toolbox's ``clone``."""
    new = Individual(np.array(ind, dtype=np.float64))
    if ind.fitness.valid:
        new.fitness.values = ind.fitness.values
    if "metrics" in ind.__dict__:
        new.metrics = ind.metrics
    return new


@contextlib.contextmanager
def private_random(stream: random.Random):
    """Run DEAP code that uses the global ``random`` module on ``stream`` instead (see module doc)."""
    saved_py = random.getstate()
    saved_np = np.random.get_state()
    random.setstate(stream.getstate())
    try:
        yield
    finally:
        stream.setstate(random.getstate())
        random.setstate(saved_py)
        np.random.set_state(saved_np)


class SeededCMA(cma.Strategy):
    """``deap.cma.Strategy`` (Hansen & Ostermeier 2001) drawing its samples from ``rng``.

    DEAP's ``generate`` samples ``numpy.random.standard_normal``; this one
    samples the same quantity, ``centroid + sigma * z @ (B D)^T`` with
    ``z ~ N(0, I)``, from the given ``numpy.random.Generator``. ``update`` is DEAP's.
    """

    def __init__(self, centroid, sigma, rng: np.random.Generator, **kwargs):
        super().__init__(centroid, sigma, **kwargs)
        self.rng = rng

    def generate(self, ind_init):
        arz = self.rng.standard_normal((self.lambda_, self.dim))
        arz = self.centroid + self.sigma * np.dot(arz, self.BD.T)
        return [ind_init(a) for a in arz]
