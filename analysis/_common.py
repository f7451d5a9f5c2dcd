"""Shared helpers of the analysis part: members, float64 copies, inputs, states along strings.

Everything here speaks the models contract only (docs/CONTRACTS.md):
``net.step(h [E,B,S], x [E,B,I])``, ``net.readout``, ``net.initial_state``,
``net.state_size``, ``net.ensemble``, ``net.n_in``, ``net.alphabet``,
``net.member(i)``, ``net.select(indices)``.
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch


def member_indices(net, member) -> list[int]:
    """Validate ``member`` (None = every member, an int, or a sequence of ints) -> list of indices."""
    E = int(net.ensemble)
    if member is None:
        return list(range(E))
    if isinstance(member, (int, np.integer)) and not isinstance(member, bool):
        idx = [int(member)]
    elif isinstance(member, (list, tuple, range, np.ndarray)):
        idx = [int(m) for m in member]
        if not idx:
            raise ValueError("member must not be an empty sequence")
    else:
        raise ValueError(f"member must be None, an int or a sequence of ints, got {member!r}")
    bad = [m for m in idx if not 0 <= m < E]
    if bad:
        raise ValueError(f"member index {bad[0]} out of range: the ensemble has {E} members (0..{E - 1})")
    return idx


def analysis_copy(net, member=None, dtype=torch.float64):
    """A frozen copy of ``net`` restricted to ``member`` (None: all) in ``dtype``.

    Returns ``(copy, indices)`` where ``indices[e]`` is the original member index of
    member ``e`` of the copy. Parameters of the copy do not require gradients, so
    autograd only tracks the state.
    """
    idx = member_indices(net, member)
    if idx == list(range(int(net.ensemble))):
        sub = copy.deepcopy(net)
    elif len(idx) == 1 and hasattr(net, "member"):
        sub = net.member(idx[0])
    else:
        sub = net.select(idx)
    sub = sub.to(dtype)
    for p in sub.parameters():
        p.requires_grad_(False)
    return sub, idx


def input_symbols(net, alphabet=None) -> tuple[str, ...] | None:
    """The symbols naming the one-hot inputs: ``alphabet`` if given, else ``net.alphabet``."""
    if alphabet is not None:
        alphabet = tuple(alphabet)
        if len(alphabet) != int(net.n_in):
            raise ValueError(f"alphabet {alphabet!r} has {len(alphabet)} symbols but the network has n_in={net.n_in}")
        return alphabet
    a = getattr(net, "alphabet", None)
    return tuple(a) if a is not None else None


def symbol_index(net, symbol, alphabet=None) -> int:
    """Index of one input symbol: an int in [0, n_in) or a symbol of the alphabet."""
    n_in = int(net.n_in)
    if isinstance(symbol, (int, np.integer)) and not isinstance(symbol, bool):
        if not 0 <= int(symbol) < n_in:
            raise ValueError(f"symbol index {symbol} out of range: valid indices are 0..{n_in - 1}")
        return int(symbol)
    if isinstance(symbol, str):
        symbols = input_symbols(net, alphabet)
        if symbols is None:
            raise ValueError(
                f"symbol {symbol!r} given by name but the network carries no alphabet; "
                f"pass an index 0..{n_in - 1} or alphabet=...")
        if symbol not in symbols:
            raise ValueError(f"symbol {symbol!r} not in the alphabet {symbols!r}")
        return symbols.index(symbol)
    raise ValueError(f"a symbol must be an int index or a one-character str, got {symbol!r}")


def input_word(net, symbol, alphabet=None, dtype=torch.float64) -> torch.Tensor:
    """Resolve ``symbol`` to a word of input vectors ``[K, I]`` (applied first to last).

    Accepted forms:

    * an int index or a one-character symbol -> one one-hot step (K = 1);
    * a str of several symbols, or a list/tuple of indices/symbols -> a word
      (``"ab"`` means F_b after F_a, i.e. the map F_b∘F_a);
    * a tensor/array of shape ``[I]`` (an explicit input vector) or ``[K, I]``.
    """
    n_in = int(net.n_in)
    if isinstance(symbol, (torch.Tensor, np.ndarray)):
        x = torch.as_tensor(np.asarray(symbol) if isinstance(symbol, np.ndarray) else symbol).to(dtype)
        if x.dim() == 1:
            x = x[None]
        if x.dim() != 2 or x.shape[1] != n_in:
            raise ValueError(f"an explicit input must have shape [I] or [K, I] with I={n_in}, got {tuple(x.shape)}")
        return x
    if isinstance(symbol, str) and len(symbol) != 1:
        if len(symbol) == 0:
            raise ValueError("symbol must not be the empty string")
        items: Sequence = list(symbol)
    elif isinstance(symbol, (list, tuple)):
        if len(symbol) == 0:
            raise ValueError("symbol must not be an empty sequence")
        items = symbol
    else:
        items = [symbol]
    eye = torch.eye(n_in, dtype=dtype)
    return torch.stack([eye[symbol_index(net, s, alphabet)] for s in items])


def word_label(net, symbol, alphabet=None) -> str:
    """A printable name of the map given by ``symbol`` (for summaries and frames)."""
    if isinstance(symbol, (torch.Tensor, np.ndarray)):
        return "input" + np.array2string(np.asarray(symbol, dtype=float), precision=3, separator=",")
    items = list(symbol) if isinstance(symbol, (str, list, tuple)) else [symbol]
    symbols = input_symbols(net, alphabet)
    out = []
    for s in items:
        i = symbol_index(net, s, alphabet)
        out.append(symbols[i] if symbols is not None else str(i))
    return "".join(out) if all(len(o) == 1 for o in out) else ",".join(out)


def compose(net, word: torch.Tensor):
    """The map h -> F_{w_K}(...F_{w_1}(h)) for a word ``[K, I]``; h is ``[E,B,S]``."""

    def f(h: torch.Tensor) -> torch.Tensor:
        E, B = h.shape[0], h.shape[1]
        for k in range(word.shape[0]):
            h = net.step(h, word[k].expand(E, B, word.shape[1]))
        return h

    return f


def encode_strings(net, strings, alphabet=None, dtype=torch.float64):
    """One-hot ``[B, T, I]`` inputs and ``lengths [B]`` for a list of strings."""
    if isinstance(strings, str):
        strings = [strings]
    strings = list(strings)
    symbols = input_symbols(net, alphabet)
    if symbols is None:
        raise ValueError("strings need an alphabet: the network carries none; pass alphabet=...")
    index = {s: i for i, s in enumerate(symbols)}
    T = max((len(s) for s in strings), default=0)
    x = torch.zeros(len(strings), T, len(symbols), dtype=dtype)
    for b, s in enumerate(strings):
        if not isinstance(s, str):
            raise ValueError(f"strings must be str, got {s!r}")
        for t, c in enumerate(s):
            if c not in index:
                raise ValueError(f"symbol {c!r} of string {s!r} not in the alphabet {symbols!r}")
            x[b, t, index[c]] = 1.0
    lengths = torch.tensor([len(s) for s in strings], dtype=torch.long)
    return x, lengths


@torch.no_grad()
def run_states(net, x: torch.Tensor, lengths: torch.Tensor, h0=None) -> torch.Tensor:
    """States ``[E, B, T+1, S]`` along padded inputs ``x [B,T,I]`` by repeated ``net.step``.

    Index 0 is the initial state; after a row's length the state is held.
    """
    B, T, _ = x.shape
    h = net.initial_state(B).to(x.dtype) if h0 is None else h0
    E = h.shape[0]
    out = [h]
    for t in range(T):
        nxt = net.step(h, x[:, t].expand(E, B, x.shape[2]))
        live = (t < lengths).to(h.device)[None, :, None]
        h = torch.where(live, nxt, h)
        out.append(h)
    return torch.stack(out, dim=2)


def all_strings(symbols, max_len: int, min_len: int = 0) -> list[str]:
    """Every string over ``symbols`` with length in [min_len, max_len], shortlex order."""
    out = [""] if min_len == 0 else []
    level = [""]
    for n in range(1, max_len + 1):
        level = [w + s for w in level for s in symbols]
        if n >= min_len:
            out.extend(level)
    return out


def accept_decision(net, logits: torch.Tensor, threshold=None) -> torch.Tensor:
    """Accept/reject from readout logits ``[..., O]`` (recognition), as training decides it.

    One output unit: accept when ``z > threshold`` (default 0: tanh output > 0 as in
    Pollack 1991 and the seed formula, sigmoid output > 1/2). Several units:
    accept when unit 1 is the largest (argmax == 1). Same rule as
    ``dynrec.training.losses.recognition_decision``.
    """
    if logits.shape[-1] == 1:
        return logits[..., 0] > (0.0 if threshold is None else float(threshold))
    return logits.argmax(-1) == 1
