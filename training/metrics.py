"""Per-member metrics: loss, prediction accuracy, whole-string correctness, recognition
accuracy, and the generalisation depth of counting-language networks.

What counts as a right prediction (``criterion``):

* ``"argmax"`` - at every *deterministic* position (exactly one legal next
  symbol, ``batch.deterministic``) the largest output is that symbol. This is the
  measure of Wiles & Elman (1995) and Rodriguez, Wiles & Elman (1999): in
  a^n b^n the first b cannot be predicted, every later b and the end can.
  ``accuracy`` is the fraction of deterministic positions predicted right.
* ``"threshold"`` - at *every* real position the set of outputs that are "on"
  (logit > 0, i.e. sigmoid > 1/2 or tanh > 0) equals the set of legal next
  symbols: the criterion of Gers & Schmidhuber (2001) for networks trained with
  ``"bce"`` on the multi-hot legal targets. ``accuracy`` is the fraction of real
  positions right.

The default is ``"threshold"`` for ``loss="bce"`` and ``"argmax"`` otherwise. A
string is correct when every position that counts is right. Recognition: a
string is classified by the output read after its last symbol
(``losses.recognition_decision``).
"""

from __future__ import annotations

import numpy as np
import torch

from .data import Data, index_strings, per_member, per_member_index, shared
from .losses import (check_activation, check_loss, compiled_ok, gather_final, prediction_losses,
                     recognition_decision, recognition_losses)
from .unroll import chunk_lengths

CRITERIA = ("argmax", "threshold")


def resolve_criterion(criterion, loss: str) -> str:
    if criterion is None:
        return "threshold" if loss == "bce" else "argmax"
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA} or None, got {criterion!r}")
    return criterion


def activation_of(net) -> str:
    return check_activation(getattr(net, "output_activation", "identity"))


def _forward(net, data: Data):
    """logits ``[E,B,T,O]`` and the readout of the initial state ``[E,B,O]``."""
    x = data.inputs[0] if data.inputs.shape[0] == 1 else data.inputs
    h0 = net.initial_state(data.rows)
    logits, _ = net(x, h0=h0, lengths=chunk_lengths(net, data, 0, data.steps))
    return logits, net.readout(h0)


def is_argmax(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(-1) == targets`` (ties go to the first index, as ``argmax``), written over the
    O output slices: the fast networks return logits as a view with the member axis innermost,
    where ``argmax`` over the last axis is a strided reduction (170 ms against a few ms here for
    [4096, 10, 21, 3]).  Targets outside [0, O) give False."""
    ys = logits.unbind(-1)
    picked = ys[0]
    for o, y in enumerate(ys[1:], 1):
        picked = torch.where(targets == o, y, picked)
    ok = (targets >= 0) & (targets < len(ys))
    for o, y in enumerate(ys):
        ok = ok & torch.where(targets > o, y < picked, y <= picked)
    return ok


@torch.no_grad()
def data_metrics(net, data: Data, loss: str = "ce", criterion=None, reduction: str = "sum") -> dict:
    """Metrics of ``net`` on ``data`` (leading axis E or 1), as tensors.

    Returns ``string_loss [E,B]``, ``string_correct [E,B]`` bool, and for prediction
    ``positions_right [E]``, ``positions_counted [E]`` (the accuracy's numerator and
    denominator).
    """
    check_loss(loss)
    criterion = resolve_criterion(criterion, loss)
    activation = activation_of(net)
    data = data.to(next(net.parameters()).dtype, next(net.parameters()).device).trim()
    logits, h0_logits = _forward(net, data)
    if data.kind == "recognition":
        final = gather_final(logits, h0_logits, data.lengths)
        string_loss = recognition_losses(final, data.labels, loss, activation)
        correct = recognition_decision(final) == (data.labels > 0.5)
        return {"string_loss": string_loss, "string_correct": correct}
    if loss == "ce" and criterion == "argmax" and compiled_ok(logits):
        # one compiled pass (training/numba_ce.py): 3 ms against 30 ms of torch ops at E = 4096
        from .numba_ce import prediction_metrics

        string_loss, string_right, string_counted = prediction_metrics(
            logits, data.targets, data.mask, data.deterministic)
        if reduction == "mean":
            string_loss = string_loss / data.mask.sum(-1).clamp(min=1)
        return {"string_loss": string_loss,
                "string_correct": string_right == string_counted,
                "string_right": string_right,
                "string_counted": string_counted,
                "positions_right": string_right.sum(1),
                "positions_counted": string_counted.sum(1)}
    per = prediction_losses(logits, data.targets, data.legal, data.mask, loss, activation)
    string_loss = per.sum(-1)
    if reduction == "mean":
        string_loss = string_loss / data.mask.sum(-1).clamp(min=1)
    if criterion == "argmax":
        counted = data.deterministic.expand(per.shape)
        right = is_argmax(logits, data.targets) & counted
    else:
        counted = data.mask.expand(per.shape)
        right = ((logits > 0) == (data.legal > 0.5)).all(-1) & counted
    return {"string_loss": string_loss,
            "string_correct": (right == counted).all(-1),
            "string_right": right.sum(-1),
            "string_counted": counted.sum(-1),
            "positions_right": right.flatten(1).sum(1),
            "positions_counted": counted.flatten(1).sum(1)}


def summarize(raw: dict, kind: str) -> dict:
    """Tensors from :func:`data_metrics` -> per-member numpy arrays ``[E]``."""
    out = {"loss": raw["string_loss"].mean(1).double().cpu().numpy(),
           "string_accuracy": raw["string_correct"].double().mean(1).cpu().numpy()}
    if kind == "recognition":
        out["accuracy"] = out["string_accuracy"].copy()
        out["recognition_accuracy"] = out["string_accuracy"].copy()
    else:
        counted = raw["positions_counted"].double().cpu().numpy()
        right = raw["positions_right"].double().cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            out["accuracy"] = np.where(counted > 0, right / np.maximum(counted, 1), np.nan)
    return out


def evaluate(net, task, strings, *, loss: str = "ce", criterion=None, reduction: str = "sum",
             batch_size: int | None = None) -> dict:
    """Per-member metrics of ``net`` on ``strings``.

    ``strings``: one list shared by every member, or a list of E lists (one per member).
    Returns a dict of numpy arrays ``[E]``: ``loss`` (mean per-string loss, see
    ``training.losses``), ``accuracy`` (prediction: deterministic-prediction or
    per-position accuracy per ``criterion``; recognition: fraction classified
    right), ``string_accuracy`` (fraction of strings entirely right) and, for
    recognition, ``recognition_accuracy``. ``batch_size`` bounds the rows per
    forward pass.
    """
    strings = list(strings)
    if not strings:
        raise ValueError("strings must not be empty")
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    per = isinstance(strings[0], (list, tuple))
    if per and len(strings) != net.ensemble:
        raise ValueError(f"per-member strings need one list per member ({net.ensemble}), "
                         f"got {len(strings)}")
    n = len(strings[0]) if per else len(strings)
    step = n if batch_size is None else int(batch_size)
    if step < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    parts = []
    for lo in range(0, n, step):
        if per:
            data = per_member(task, [s[lo:lo + step] for s in strings])
        else:
            data = shared(task, strings[lo:lo + step])
        parts.append(data_metrics(net, data, loss, criterion, reduction))
    raw = {k: torch.cat([p[k] for p in parts], 1) if parts[0][k].dim() == 2
           else sum(p[k] for p in parts) for k in parts[0]}
    return summarize(raw, task.kind)


def member_string_metrics(net, task, lists, loss: str = "ce", criterion=None,
                          reduction: str = "sum") -> dict:
    """Per-member metrics on per-member strings (``lists``: E lists of equal length), as
    :func:`evaluate` returns them.

    Every distinct string is run once through all members and each member's metrics
    are the count-weighted means over its own strings - exact, since a string's
    outcome depends only on the string and the weights. (Training sets of counting
    languages repeat a handful of strings thousands of times.) Stream tasks are
    evaluated row by row.
    """
    unique, index = index_strings(lists)
    return indexed_string_metrics(net, task, unique, index, loss, criterion, reduction)


def indexed_string_metrics(net, task, unique, index, loss: str = "ce", criterion=None,
                           reduction: str = "sum", streams: Data | None = None) -> dict:
    """:func:`member_string_metrics` for strings given as ``(unique, index [E, n])``
    (``training.data.index_strings``).  ``streams``: for a stream task, these strings already
    encoded (``per_member_index``), so they are not encoded again."""
    if getattr(task, "stream", False):
        if streams is None:
            streams = per_member_index(task, unique, index)
        return summarize(data_metrics(net, streams, loss, criterion, reduction), task.kind)
    E, n = index.shape
    counts = np.bincount((np.arange(E)[:, None] * len(unique) + index).reshape(-1),
                         minlength=E * len(unique)).reshape(E, len(unique)).astype(np.float64)
    raw = data_metrics(net, shared(task, unique), loss, criterion, reduction)

    def weighted(key):
        return (counts * raw[key].double().cpu().numpy()).sum(1)

    out = {"loss": weighted("string_loss") / n,
           "string_accuracy": weighted("string_correct") / n}
    if task.kind == "recognition":
        out["accuracy"] = out["string_accuracy"].copy()
        out["recognition_accuracy"] = out["string_accuracy"].copy()
    else:
        counted = weighted("string_counted")
        with np.errstate(invalid="ignore", divide="ignore"):
            out["accuracy"] = np.where(counted > 0, weighted("string_right") / np.maximum(counted, 1),
                                       np.nan)
    return out


def string_correct(net, task, strings, *, loss: str = "ce", criterion=None) -> np.ndarray:
    """bool ``[E, N]``: whether each member gets each (shared) string entirely right."""
    raw = data_metrics(net, shared(task, list(strings)), loss, criterion)
    return raw["string_correct"].cpu().numpy()


def leading_true(correct: np.ndarray) -> np.ndarray:
    """Per row of a bool ``[E, N]`` matrix, the number of leading True entries."""
    correct = np.asarray(correct, dtype=bool)
    wrong = ~correct
    first = np.where(wrong.any(1), wrong.argmax(1), correct.shape[1])
    return first.astype(np.int64)


def depth_strings(lang, n_max: int, kind: str = "prediction") -> list[list[str]]:
    """The test strings of :func:`generalization_depth`, grouped by level 1..n_max.

    Counting languages (with ``member(n)``): level n holds a1^n ... ak^n.
    Other languages: level L holds every string of length L that is a member
    (prediction) or every string over the alphabet (recognition). In recognition
    the empty string is scored with level 1 (Tomita's languages and Pollack's
    training sets decide it too), so a network that misclassifies it has depth 0;
    prediction has nothing to score in an empty string.
    """
    if isinstance(n_max, bool) or not isinstance(n_max, (int, np.integer)) or n_max < 1:
        raise ValueError(f"n_max must be an integer >= 1, got {n_max!r}")
    if hasattr(lang, "member"):
        return [[lang.member(n)] for n in range(1, n_max + 1)]
    if kind == "prediction":
        by_len: dict[int, list[str]] = {}
        for s in lang.enumerate(n_max):
            by_len.setdefault(len(s), []).append(s)
        return [by_len.get(n, []) for n in range(1, n_max + 1)]
    levels, layer = [], [""]
    for _ in range(n_max):
        layer = [p + c for p in layer for c in lang.alphabet]
        levels.append(layer)
    levels[0] = [""] + levels[0]
    return levels


def default_task(net, lang):
    """The task :func:`generalization_depth` uses when given only a Language.

    With one more input than the alphabet: ``PredictionTask(lang, markers=True)``
    (start marker in, end predicted: Gers & Schmidhuber 2001). Otherwise a counting
    language is scored in a stream (``stream=True``: after a^n b^n the network must
    predict the first symbol of the next string, the test of Wiles & Elman 1995 and
    Rodriguez et al. 1999; without it the b's after the first are trivially
    predictable and the depth would say nothing), and other languages per string.
    """
    from dynrec import grammars

    if net.n_in == len(lang.alphabet) + 1:
        return grammars.PredictionTask(lang, markers=True)
    return grammars.PredictionTask(lang, stream=hasattr(lang, "member"))


def generalization_depth(net, lang_or_task, n_max: int = 20, task=None, *, loss: str = "ce",
                         criterion=None) -> np.ndarray:
    """Per member, the largest N such that every level n <= N is entirely right (``[E]`` int).

    For counting languages (a^n b^n, a^n b^n c^n) level n is the string
    a^n b^n (c^n): the measure of Wiles & Elman (1995), Rodriguez et al. (1999)
    and Gers & Schmidhuber (2001) - all deterministic predictions right
    (``criterion="argmax"``) or every output on the right side of 1/2
    (``"threshold"``, the Gers & Schmidhuber criterion). Each string is presented
    from the initial state. With a stream task the string is followed by the
    shortest member, and the positions up to the prediction of that next
    string's first symbol are scored (so the end of a^n b^n must be predicted);
    with ``markers=True`` the end marker is a scored target. For regular
    languages level L holds all strings of length L (members for prediction
    tasks, every string for recognition), so the depth is the longest length up
    to which everything is right. Empty levels (no member of that length) count
    as right. 0 means level 1 fails.

    ``lang_or_task`` is a Language (the task is then :func:`default_task`) or a
    task; ``task`` overrides the task used to encode the strings (e.g. the one the
    network was trained with).
    """
    if task is None:
        if hasattr(lang_or_task, "encode"):
            task = lang_or_task
        else:
            task = default_task(net, lang_or_task)
    lang = getattr(lang_or_task, "language", lang_or_task)
    levels = depth_strings(lang, n_max, task.kind)
    flat = [s for level in levels for s in level]
    if not flat:
        return np.full(net.ensemble, n_max, dtype=np.int64)
    if getattr(task, "stream", False):
        ok = _stream_correct(net, task, lang, flat, loss, criterion)
    else:
        ok = string_correct(net, task, flat, loss=loss, criterion=criterion)
    per_level = np.ones((net.ensemble, len(levels)), dtype=bool)
    pos = 0
    for j, level in enumerate(levels):
        if level:
            per_level[:, j] = ok[:, pos:pos + len(level)].all(1)
            pos += len(level)
    return leading_true(per_level)


def _stream_correct(net, task, lang, strings, loss, criterion) -> np.ndarray:
    """bool ``[E, N]``: each string, followed in the stream by the shortest member, right up to
    and including the prediction of that member's first symbol."""
    import dataclasses

    nxt = min(lang.enumerate(max(len(s) for s in strings) + 1) or [""], key=len)
    if not nxt:
        raise ValueError(f"{lang.name} has no non-empty member to follow a string in a stream")
    batch = task.encode_streams([[s, nxt] for s in strings])
    data = Data(inputs=batch.inputs[None], targets=batch.targets[None], legal=batch.legal[None],
                mask=batch.mask[None], deterministic=batch.deterministic[None],
                labels=batch.labels[None], lengths=batch.lengths[None], kind=task.kind)
    limit = torch.tensor([len(s) for s in strings])
    inside = torch.arange(data.steps)[None, :] < limit[:, None]
    data = dataclasses.replace(data, mask=data.mask & inside,
                               deterministic=data.deterministic & inside)
    return data_metrics(net, data, loss, criterion)["string_correct"].cpu().numpy()
