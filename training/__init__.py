"""Training whole ensembles at once: BPTT in its historical forms, evolution with DEAP, metrics.

>>> from dynrec import grammars, models, training
>>> task = grammars.PredictionTask(grammars.get("anbn"), n_range=(1, 10))
>>> net = models.build("srn", task.n_in, 2, task.n_out, ensemble=100, seed=0)
>>> result = training.BPTT(mode="full", loss="ce", lr=0.1, epochs=20).fit(net, task, seed=0)
>>> training.generalization_depth(net, task, n_max=20)      # per member
>>> result.to_frame()                                      # pandas, one row per (member, epoch)

Parts: :class:`BPTT` (``bptt``; unrolling in ``unroll``, per-member optimisers in
``optim``), :class:`Evolution` (``evolution``; DEAP glue in ``deap_support``),
:func:`evaluate` / :func:`generalization_depth` (``metrics``), losses
(``losses``), :class:`Curriculum` and stopping criteria (``curriculum``),
:class:`TrainResult` (``result``), per-member data streams (``data``).
Checkpoints are the networks' own (``net.save`` / ``models.load``).
"""

from .bptt import BPTT
from .curriculum import Curriculum, resolve_criterion
from .data import data_rng, resolve_member_seeds
from .evolution import FITNESS, STRATEGIES, Evolution, PopulationEvaluator
from .losses import LOSSES
from .metrics import CRITERIA, depth_strings, evaluate, generalization_depth, string_correct
from .optim import OPTIMIZERS, MemberOptimizer
from .result import TrainResult
from .unroll import MODES, chunk_gradients

__all__ = ["BPTT", "Evolution", "TrainResult", "Curriculum", "MemberOptimizer",
           "PopulationEvaluator", "evaluate", "generalization_depth", "string_correct",
           "depth_strings", "chunk_gradients", "resolve_criterion", "data_rng",
           "resolve_member_seeds", "MODES", "LOSSES", "OPTIMIZERS", "STRATEGIES", "FITNESS",
           "CRITERIA"]
