"""Automaton extraction from a recognising network: quantisation (Giles et al. 1992) and L*.

``extract_dfa`` explores the network's states from h0 over every string up to
``max_len`` (plus one more level, so that every explored state has successors),
quantises the state space, and reads a DFA off the quantised states:

* ``method="grid"`` — Giles, Miller, Chen, Chen, Sun & Lee (1992), Sec. 4:
  each state unit's range is cut into ``q`` equal intervals; a state is the
  tuple of its units' intervals. Cells first met at the last level are expanded
  further from their first state (Giles's breadth-first exploration) until every
  cell has successors.
* ``method="kmeans"`` — k-means (scikit-learn) with ``n_clusters`` centres, as in
  later extraction work (e.g. Omlin & Giles 1996, Weiss et al. 2018's abstraction).

Transitions are the majority vote over the explored states of a cell; a cell
accepts when most of its states are accepted by the readout (the training rule:
one unit z > 0, several units argmax == 1). The result is minimised (Hopcroft).
With ``q``/``n_clusters`` left as None the smallest value whose DFA agrees with
the network on every explored string is chosen (the usual "raise q until the
automaton is consistent"). ``method="lstar"`` runs Angluin's L* (AALpy) with the
network as membership oracle and an exhaustive equivalence check over every
string up to ``max_len`` (Weiss, Goldberg & Yahav 2018 use the network the
same way).
"""

from __future__ import annotations

import numpy as np
import torch

from ._common import accept_decision, all_strings, analysis_copy, input_symbols, member_indices
from .dfa import DFA

METHODS = ("kmeans", "grid", "lstar")


def _check_member(net, member) -> None:
    if isinstance(member, bool) or not isinstance(member, (int, np.integer)):
        raise ValueError(f"member must be one int index, got {member!r}")
    member_indices(net, member)


def _symbols(net, task, alphabet):
    if task is not None:
        kind = getattr(task, "kind", "recognition")
        if kind != "recognition":
            raise ValueError(f"automaton extraction needs a recognition task (accept/reject), got kind={kind!r}")
        symbols = tuple(task.input_symbols)
        if len(symbols) != int(net.n_in):
            raise ValueError(f"task has {len(symbols)} input symbols but the network has n_in={net.n_in}")
        return symbols
    symbols = input_symbols(net, alphabet)
    if symbols is None:
        raise ValueError("no alphabet: pass a recognition task, alphabet=..., or a network with net.alphabet")
    return symbols


_START = -1  # provisional label of the initial state in _build


@torch.no_grad()
def explore(net, max_len: int, threshold=None):
    """States and verdicts of every string up to ``max_len`` (shortlex; node i*k+a of level l+1 is node i + symbol a).

    Returns ``(levels, verdicts)``: per length l, states ``[k**l, S]`` and accept bools ``[k**l]``.
    """
    k = int(net.n_in)
    eye = torch.eye(k, dtype=torch.float64)
    h = net.initial_state(1).to(torch.float64)
    levels, verdicts = [], []
    for level in range(max_len + 1):
        levels.append(h[0].clone())
        verdicts.append(accept_decision(net, net.readout(h), threshold)[0].numpy())
        if level < max_len:
            B = h.shape[1]
            h = net.step(h.repeat_interleave(k, dim=1), eye.repeat(B, 1)[None])
    return levels, verdicts


def _quantiser(method, states_fit, value, seed, state_range):
    """A function states [N,S] -> labels [N] (int), fitted on ``states_fit``."""
    X = states_fit.numpy()
    if method == "kmeans":
        from sklearn.cluster import KMeans

        n = min(int(value), len(np.unique(X.round(12), axis=0)))
        km = KMeans(n_clusters=n, n_init=10, random_state=int(seed)).fit(X)
        return lambda s: km.predict(s.numpy()).astype(np.int64)
    if state_range is None:
        lo, hi = X.min(axis=0), X.max(axis=0)
    else:
        lo, hi = (np.broadcast_to(np.asarray(v, dtype=np.float64), X.shape[1:]) for v in state_range)
    span = np.where(hi > lo, hi - lo, 1.0)
    cells: dict[tuple, int] = {}

    def label(s):
        c = np.clip(np.floor((s.numpy() - lo) / span * value), 0, value - 1).astype(np.int64)
        return np.array([cells.setdefault(tuple(row), len(cells)) for row in c], dtype=np.int64)

    return label


@torch.no_grad()
def _build(net, levels, verdicts, symbols, quant, max_len, threshold):
    k = len(symbols)
    eye = torch.eye(k, dtype=torch.float64)
    labels = [quant(s) for s in levels]
    # The initial state is a state of its own before minimisation: a k-means cluster or grid
    # cell must not overrule the verdict on the empty string, nor where the first symbol
    # leads. Minimisation merges it back when it behaves like its cell.
    labels[0] = np.array([_START], dtype=np.int64)
    src, sym, dst = [], [], []
    for l in range(len(levels) - 1):
        src.append(np.repeat(labels[l], k))
        sym.append(np.tile(np.arange(k), len(labels[l])))
        dst.append(labels[l + 1])
    acc_l, acc_v = list(labels), list(verdicts)
    # cells met only at the last level: expand from their first state until every cell has successors
    frontier_states, frontier_labels = levels[-1], labels[-1]
    for _ in range(max(max_len, 1) * 4):
        has_succ = set(np.concatenate(src).tolist()) if src else set()
        new = [i for i, c in enumerate(frontier_labels) if c not in has_succ]
        if not new:
            break
        _, first = np.unique(frontier_labels[new], return_index=True)
        pick = np.asarray(new)[first]
        h = frontier_states[pick][None]
        nxt = net.step(h.repeat_interleave(k, dim=1), eye.repeat(len(pick), 1)[None])
        child = quant(nxt[0])
        src.append(np.repeat(frontier_labels[pick], k))
        sym.append(np.tile(np.arange(k), len(pick)))
        dst.append(child)
        acc_l.append(child)
        acc_v.append(accept_decision(net, net.readout(nxt), threshold)[0].numpy())
        frontier_states, frontier_labels = nxt[0], child
    src, sym, dst = (np.concatenate(a) for a in (src, sym, dst))
    n = int(max(src.max(initial=0), dst.max(initial=0), *(l.max(initial=0) for l in labels))) + 2
    start = n - 1
    src, dst = np.where(src == _START, start, src), np.where(dst == _START, start, dst)
    acc_l = [np.where(l == _START, start, l) for l in acc_l]
    labels[0] = np.array([start], dtype=np.int64)
    counts = np.zeros((n, k, n), dtype=np.int64)
    np.add.at(counts, (src, sym, dst), 1)
    seen = counts.sum(axis=2) > 0
    trans = np.where(seen, counts.argmax(axis=2), np.arange(n)[:, None])  # unresolved: stay (reported)
    al, av = np.concatenate(acc_l), np.concatenate(acc_v).astype(np.int64)
    votes = np.bincount(al, weights=av, minlength=n)
    totals = np.bincount(al, minlength=n)
    accepting = votes * 2 > np.maximum(totals, 1)
    dfa = DFA(symbols, trans, int(labels[0][0]), accepting)
    return dfa, int((~seen).sum()), n


def extract_dfa(net, task=None, method: str = "kmeans", *, member: int = 0, max_len: int = 8,
                n_clusters: int | None = None, q: int | None = None, max_clusters: int = 16,
                state_range=None, alphabet=None, threshold=None, minimise: bool = True, seed: int = 0) -> DFA:
    """Extract a DFA from one member of a recognition network.

    Args:
        net: the network (ensemble; ``member`` picks one).
        task: a ``grammars.RecognitionTask`` (its ``input_symbols`` name the inputs); or None
            with ``alphabet`` / ``net.alphabet``.
        method: ``"kmeans"``, ``"grid"`` (Giles et al. 1992) or ``"lstar"`` (see `lstar_dfa`).
        max_len: explore every string up to this length (the L* equivalence depth too).
        n_clusters: k-means centres; None tries 2..max_clusters, keeping the first consistent one.
        q: grid intervals per unit; None tries 2..8 likewise.
        state_range: ``(low, high)`` per unit for the grid; default the explored states' range.
        threshold: readout threshold for one output unit (default 0, the training rule).
        minimise: return the minimal DFA (Hopcroft) rather than the raw quantised one.
        seed: k-means seed.

    Returns:
        `DFA`, with ``dfa.info``: ``fidelity`` (agreement with the network on every string up to
        max_len), the quantisation used, ``raw_states`` and ``unresolved`` transitions.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 0:
        raise ValueError(f"max_len must be an int >= 0, got {max_len!r}")
    _check_member(net, member)
    if method == "lstar":
        return lstar_dfa(net, task, member=member, max_len=max_len, alphabet=alphabet, threshold=threshold)
    symbols = _symbols(net, task, alphabet)
    sub, _ = analysis_copy(net, member)
    levels, verdicts = explore(sub, max_len + 1, threshold)
    fit_states = torch.cat(levels[:-1])
    given = n_clusters if method == "kmeans" else q
    if given is not None and (isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given < 1):
        raise ValueError(f"{'n_clusters' if method == 'kmeans' else 'q'} must be an int >= 1, got {given!r}")
    candidates = [int(given)] if given is not None else \
        (list(range(2, max_clusters + 1)) if method == "kmeans" else list(range(2, 9)))
    truth = np.concatenate(verdicts[:-1])
    best = None
    for value in candidates:
        quant = _quantiser(method, fit_states, value, seed, state_range)
        dfa, unresolved, raw = _build(sub, levels, verdicts, symbols, quant, max_len, threshold)
        _, mine = dfa.accepts_all_up_to(max_len)
        fidelity = float((mine == truth).mean())
        if best is None or fidelity > best[0]:
            best = (fidelity, value, dfa, unresolved, raw)
        if fidelity == 1.0:
            break
    fidelity, value, dfa, unresolved, raw = best
    out = dfa.minimise() if minimise else dfa
    out.info = {"method": method, ("n_clusters" if method == "kmeans" else "q"): value, "fidelity": fidelity,
                "max_len": max_len, "raw_states": raw, "unresolved": unresolved, "member": member}
    return out


def lstar_dfa(net, task=None, *, member: int = 0, max_len: int = 10, alphabet=None, threshold=None,
              max_rounds: int | None = None) -> DFA:
    """Angluin's L* (AALpy's ``run_Lstar``) with the network as membership oracle.

    Equivalence queries compare the hypothesis with the network on every string up to
    ``max_len`` (one batched exploration), returning the shortest disagreement. So the
    result agrees with the network up to ``max_len`` (``info["fidelity"] == 1``).
    """
    from aalpy.base import SUL, Oracle
    from aalpy.learning_algs import run_Lstar

    symbols = _symbols(net, task, alphabet)
    sub, _ = analysis_copy(net, member)
    levels, verdicts = explore(sub, max_len, threshold)
    _check_member(net, member)
    strings = all_strings(symbols, max_len)
    truth = np.concatenate(verdicts)
    eye = torch.eye(len(symbols), dtype=torch.float64)

    class NetworkSUL(SUL):
        def pre(self):
            self.h = sub.initial_state(1).to(torch.float64)

        def post(self):
            pass

        @torch.no_grad()
        def step(self, letter):
            if letter is not None:
                self.h = sub.step(self.h, eye[symbols.index(letter)][None, None])
            return bool(accept_decision(sub, sub.readout(self.h), threshold).reshape(-1)[0])

    class Exhaustive(Oracle):
        def find_cex(self, hypothesis):
            hyp = _from_aalpy(hypothesis, symbols)
            _, mine = hyp.accepts_all_up_to(max_len)
            wrong = np.nonzero(mine != truth)[0]
            return tuple(strings[wrong[0]]) if len(wrong) else None

    sul = NetworkSUL()
    learned = run_Lstar(list(symbols), sul, Exhaustive(list(symbols), sul), automaton_type="dfa",
                        max_learning_rounds=max_rounds, print_level=0)
    dfa = _from_aalpy(learned, symbols).minimise()
    _, mine = dfa.accepts_all_up_to(max_len)
    dfa.info = {"method": "lstar", "fidelity": float((mine == truth).mean()), "max_len": max_len,
                "membership_queries": sul.num_queries, "member": member}
    return dfa


def _from_aalpy(automaton, symbols) -> DFA:
    states = list(automaton.states)
    index = {id(s): i for i, s in enumerate(states)}
    trans = [[index[id(s.transitions[a])] for a in symbols] for s in states]
    return DFA(symbols, trans, index[id(automaton.initial_state)], np.array([bool(s.is_accepting) for s in states]))
