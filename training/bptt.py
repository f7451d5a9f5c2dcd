"""`BPTT`: train every member of an ensemble at once by backpropagation through time.

One loop trains the E members of ``net`` (the seeds of an experiment cell) as E
independent networks:

* each member draws its own strings (``training.data``: member ``i`` uses the data
  seed ``models.member_seed(seed, i)``, so it sees exactly what it would see
  trained alone with that seed);
* the loss is the SUM of the member losses, so member ``i``'s gradient is its
  own; clipping, momentum, Adam and weight decay act per member
  (``training.optim.MemberOptimizer``);
* a member that meets the stopping criterion, or whose loss, gradient or weights
  go non-finite, is frozen (weights and optimiser state untouched from then on)
  and marked in the :class:`~dynrec.training.result.TrainResult`.

Updates: ``batch_size=None`` is online learning, one string per update per member
(Elman 1990; Wiles & Elman 1995); an int is a minibatch of that many strings per
member. Within a string (or a stream, for ``task.stream``) the unrolling ``mode``
sets where the gradient is cut and how often weights change
(``training.unroll``): ``"full"`` once per string, ``"truncated"`` every ``k``
symbols, ``"elman"`` every symbol.

An epoch is ``strings_per_epoch`` strings per member, freshly sampled from the
task (or the curriculum stage), or the fixed training set ``strings`` passed to
``fit`` in a per-member random order (``shuffle=True``) or as given. When
``batch_size`` holds the whole fixed set, the order changes nothing (the rows of
a minibatch are summed) and every member reads the same tensors, encoded once.
"""

from __future__ import annotations

import numpy as np
import torch

from .curriculum import Curriculum, describe, resolve_criterion
from .data import Data, data_rng, index_strings, per_member_index, resolve_member_seeds
from .losses import REDUCTIONS, check_loss
from .metrics import activation_of, evaluate, indexed_string_metrics
from .metrics import resolve_criterion as resolve_pred_criterion
from .numba_elman import elman_sgd
from .optim import OPTIMIZERS, MemberOptimizer
from .result import MemberHistory, TrainResult
from .unroll import MODES, chunk_bounds, chunk_forward, chunk_lengths, chunk_loss, row_norm


def _check_int(name, value, minimum, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return int(value)


class BPTT:
    """Backpropagation through time for a whole ensemble.

    Parameters
    ----------
    mode : ``"full"`` | ``"truncated"`` | ``"elman"`` (see ``training.unroll``).
    k : truncation length, required for (and only for) ``"truncated"``.
    loss : ``"ce"`` | ``"sse"`` | ``"bce"`` (see ``training.losses``).
    optimizer : ``"sgd"`` (with ``momentum``) | ``"adam"``.
    lr, momentum : a number, or one value per member.
    weight_decay : L2 coefficient; clip : max gradient norm per member (or None).
    batch_size : None (online: one string per update per member) or strings per update.
    epochs : maximum number of epochs.
    strings_per_epoch : strings per member per epoch when sampling from the task.
    stop : stopping criterion per member (``training.curriculum``): None, "all_correct",
        "accuracy", ("loss", x) or a callable; checked after every epoch on that
        epoch's training strings (on the last curriculum stage only).
    curriculum : a :class:`~dynrec.training.curriculum.Curriculum` or None.
    reduction : ``"sum"`` (a string's loss is the sum over its positions) or ``"mean"``.
    criterion : what counts as a right prediction in the metrics (``training.metrics``);
        None picks ``"threshold"`` for ``loss="bce"``, else ``"argmax"``.
    shuffle : with a fixed training set, present it in a fresh per-member order each epoch.
    betas, eps : Adam's.
    """

    def __init__(self, mode: str = "full", k: int | None = None, loss: str = "ce",
                 optimizer: str = "sgd", lr=0.1, momentum=0.0, weight_decay: float = 0.0,
                 clip=None, batch_size: int | None = None, epochs: int = 10,
                 strings_per_epoch: int = 100, stop=None, curriculum: Curriculum | None = None,
                 reduction: str = "sum", criterion=None, shuffle: bool = True,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if mode == "truncated":
            k = _check_int("k", k, 1)
        elif k is not None:
            raise ValueError(f"k applies only to mode='truncated' (mode={mode!r} got k={k!r}); "
                             f"'elman' is one step, 'full' the whole sequence")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if curriculum is not None and not isinstance(curriculum, Curriculum):
            raise ValueError(f"curriculum must be a training.Curriculum or None, got {curriculum!r}")
        self.mode, self.k = mode, k
        self.loss = check_loss(loss)
        self.optimizer = optimizer
        self.lr, self.momentum = lr, momentum
        self.weight_decay, self.clip = weight_decay, clip
        self.batch_size = _check_int("batch_size", batch_size, 1, allow_none=True)
        self.epochs = _check_int("epochs", epochs, 1)
        self.strings_per_epoch = _check_int("strings_per_epoch", strings_per_epoch, 1)
        self.stop = stop
        self._stop = resolve_criterion(stop)
        self.curriculum = curriculum
        self.reduction = reduction
        self.criterion = resolve_pred_criterion(criterion, self.loss) if criterion else None
        self.shuffle = bool(shuffle)
        self.betas, self.eps = betas, eps

    def config(self) -> dict:
        """The settings as plain data (stored in the TrainResult)."""
        lr = self.lr if np.ndim(self.lr) == 0 else list(np.asarray(self.lr, dtype=float))
        mom = self.momentum if np.ndim(self.momentum) == 0 else list(np.asarray(self.momentum, dtype=float))
        return {"trainer": "BPTT", "mode": self.mode, "k": self.k, "loss": self.loss,
                "optimizer": self.optimizer, "lr": lr, "momentum": mom,
                "weight_decay": self.weight_decay, "clip": self.clip, "batch_size": self.batch_size,
                "epochs": self.epochs, "strings_per_epoch": self.strings_per_epoch,
                "stop": describe(self.stop), "reduction": self.reduction,
                "criterion": self.criterion, "shuffle": self.shuffle,
                "curriculum": None if self.curriculum is None else self.curriculum.to_config()}

    # ------------------------------------------------------------------ data
    def _epoch_strings(self, task, source_of, rngs, stage, fixed):
        """This epoch's strings of every member as ``(unique, index [E, n])``
        (``training.data.index_strings``): member ``e``'s ``j``-th string is ``unique[index[e, j]]``.

        ``fixed``: None, or the fixed training set as ``(unique, base)`` with ``base [n]`` its
        strings' positions in ``unique``; each member then sees it in its own random order
        (``shuffle``) or as given.
        """
        E = len(rngs)
        if fixed is not None:
            unique, base = fixed
            if not self.shuffle:
                return unique, np.broadcast_to(base, (E, len(base)))
            return unique, np.stack([base[rng.permutation(len(base))] for rng in rngs])
        lists = []
        for e, rng in enumerate(rngs):
            src = source_of(int(stage[e]))
            if isinstance(src, list):
                order = rng.permutation(len(src)) if self.shuffle else range(len(src))
                lists.append([src[j] for j in order])
            else:
                lists.append(list(src.sample(rng, self.strings_per_epoch)))
        if len({len(s) for s in lists}) > 1:  # fixed corpora of different sizes per stage
            m = min(len(s) for s in lists)
            lists = [s[:m] for s in lists]
        return index_strings(lists)

    # ----------------------------------------------------------------- update
    def _train_rows(self, net, opt, data: Data, live, diverged, activation):
        """One pass over the rows of ``data`` (one minibatch): chunked forward/backward and
        updates. Returns the per-member loss of the rows (before their updates)."""
        norm = row_norm(data, self.reduction)
        if self.mode == "elman":     # the whole minibatch in one compiled call where it applies
            total = elman_sgd(net, opt, data, live, diverged, self.loss, activation, norm)
            if total is not None:
                return total
        h = net.initial_state(data.rows)
        total = torch.zeros(net.ensemble, dtype=data.inputs.dtype)
        for t0, t1 in chunk_bounds(data.steps, self.mode, self.k):
            logits, states = chunk_forward(net, h, data.inputs[:, :, t0:t1], self.mode,
                                           chunk_lengths(net, data, t0, t1))
            member_loss, has = chunk_loss(net, data, t0, t1, logits, h, self.loss, activation, norm)
            take = live & has
            if bool(take.any()):
                opt.zero_grad()
                torch.where(take, member_loss, torch.zeros((), dtype=member_loss.dtype)).sum().backward()
                bad_loss = take & ~torch.isfinite(member_loss.detach())
                bad = opt.step(take & ~bad_loss) | bad_loss
                if bool(bad.any()):
                    diverged |= bad
                    live &= ~bad
            total += member_loss.detach()
            if t1 > t0:
                h = states[:, :, -1].detach()
        return total

    # -------------------------------------------------------------------- fit
    def fit(self, net, task, seed=0, strings=None, eval_strings=None) -> TrainResult:
        """Train ``net`` in place on ``task``; returns a :class:`TrainResult`.

        seed : int (member ``i`` draws its data from ``models.member_seed(seed, i)``)
            or a list of E member seeds.
        strings : a fixed training set (list of str) used every epoch instead of sampling.
        eval_strings : strings for the final metrics (shared by all members); default:
            each member's training strings of the last epoch.
        """
        E = net.ensemble
        seeds = resolve_member_seeds(seed, E)
        if strings is not None:
            strings = list(strings)
            if not strings:
                raise ValueError("strings (the fixed training set) must not be empty")
            if self.curriculum is not None:
                raise ValueError("give either a fixed training set (strings) or a curriculum, "
                                 "not both; a curriculum stage may itself be a list of strings")
        stream = bool(getattr(task, "stream", False))
        if stream and self.batch_size is not None:
            raise ValueError(f"a stream task gives each member one row (its strings concatenated); "
                             f"batch_size must be None, got {self.batch_size}")
        param = next(net.parameters())
        rngs = None    # made when first drawn from (50 us a member: not for a fixed set in one minibatch)
        fixed = whole = None
        if strings is not None:
            unique, base = index_strings([strings])
            fixed = (unique, base[0])
            if not stream:    # [1, n, ...]: see the epoch loop
                whole = per_member_index(task, unique, base).to(param.dtype, param.device)
        activation = activation_of(net)
        opt = MemberOptimizer(net.parameters(), E, self.optimizer, lr=self.lr,
                              momentum=self.momentum, weight_decay=self.weight_decay,
                              clip=self.clip, betas=self.betas, eps=self.eps)
        cur = self.curriculum
        n_stages = 1 if cur is None else cur.n_stages
        sources = {}

        def source_of(s):
            if s not in sources:
                sources[s] = task if cur is None else cur.stage_source(task, s)
            return sources[s]

        advance = None if cur is None or cur.advance != "criterion" else resolve_criterion(cur.criterion)
        stage = np.zeros(E, dtype=np.int64)
        live = torch.ones(E, dtype=torch.bool)
        diverged = torch.zeros(E, dtype=torch.bool)
        converged = np.zeros(E, dtype=bool)
        to_criterion: list = [None] * E
        seen = np.zeros(E, dtype=np.int64)
        history = MemberHistory(E, {"epoch": int, "stage": int, "train_loss": float, "loss": float,
                                    "accuracy": float, "string_accuracy": float})
        last = None
        for epoch in range(1, self.epochs + 1):
            if not bool(live.any()):
                break
            if cur is not None and cur.advance == "epochs":
                stage[:] = cur.stage_at_epoch(epoch)
            b = 1 if self.batch_size is None else self.batch_size
            if whole is not None and b >= whole.rows:
                # the whole fixed set in one minibatch: a member's order of its strings changes
                # nothing, so every member reads the same (broadcast) tensors, encoded once
                unique, index = fixed[0], fixed[1][None]
                data = whole
            else:
                rngs = rngs or [data_rng(s) for s in seeds]
                unique, index = self._epoch_strings(task, source_of, rngs, stage, fixed)
                data = per_member_index(task, unique, index).to(param.dtype, param.device)
            n = index.shape[1]
            train_loss = torch.zeros(E, dtype=torch.float64)
            updates = 0
            live_at_start = live.clone()
            for lo in range(0, data.rows, b):
                rows = data.select_rows(slice(lo, lo + b)).trim()
                seen += live.numpy() * (n if stream else rows.rows)
                train_loss += self._train_rows(net, opt, rows, live, diverged, activation).double()
                updates += 1
                if not bool(live.any()):
                    break
            metrics = indexed_string_metrics(net, task, unique, index, self.loss, self.criterion,
                                             self.reduction, streams=data if stream else None)
            last = metrics
            history.record(live_at_start.numpy(), epoch=epoch, stage=stage,
                           train_loss=train_loss.numpy() / max(updates, 1), loss=metrics["loss"],
                           accuracy=metrics["accuracy"], string_accuracy=metrics["string_accuracy"])
            alive = live.numpy().copy()
            if advance is not None:
                moved = advance(metrics) & alive & (stage < n_stages - 1)
                stage[moved] += 1
            on_last = stage == n_stages - 1
            if self._stop is not None:
                done = self._stop(metrics) & alive & on_last & ~converged
                if advance is not None:
                    done &= ~moved
                for e in np.flatnonzero(done):
                    to_criterion[e] = epoch
                converged |= done
                live &= ~torch.from_numpy(converged)
        final = self._final(net, task, eval_strings, last)
        return TrainResult(method="bptt", config=self.config(), member_seeds=seeds,
                           history=history.lists(), converged=converged.tolist(),
                           epochs_to_criterion=to_criterion, strings_seen=seen.tolist(),
                           diverged=diverged.tolist(),
                           final=[{k: float(v[e]) for k, v in final.items()} for e in range(E)])

    def _final(self, net, task, eval_strings, last) -> dict:
        if eval_strings is not None:
            return evaluate(net, task, list(eval_strings), loss=self.loss, criterion=self.criterion,
                            reduction=self.reduction)
        return last  # metrics on each member's last-epoch strings (no update since)

    def __repr__(self) -> str:
        cfg = self.config()
        keys = ("mode", "k", "loss", "optimizer", "lr", "batch_size", "epochs")
        return "BPTT(" + ", ".join(f"{k}={cfg[k]!r}" for k in keys) + ")"

