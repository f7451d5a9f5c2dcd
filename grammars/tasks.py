"""Tasks: which strings to draw and how to turn them into tensors.

`PredictionTask` (next-symbol prediction) has three modes:

* per string, no markers (default): the input is the string without its last
  symbol, the target at step t is symbol t+1; only positions inside the string
  are predicted (a string of length L gives L-1 steps). ``deterministic`` marks
  the steps after which exactly one continuation is legal, counting "the string
  may end here" as a continuation (so a prefix that is a member and may go on
  is never deterministic).
* per string with markers (Gers & Schmidhuber 2001, Sec. III: S a^n b^n T):
  a start marker ``"^"`` (their S) is input first and the end marker ``END``
  (``"$"``, their T) is an output, so the input is ``^ s_1 ... s_L`` (L+1
  steps), the targets ``s_1 ... s_L $`` and the end of the string is predicted.
* stream (Elman 1990; Wiles & Elman 1995: "aabbaaabbbab..."): the strings are
  concatenated with no separator into ONE row; the input is the concatenation
  without its last symbol. The legal set after a string's last symbol is the
  set of symbols that can start a (non-empty) member, joined with the symbols
  that continue the string when it may also go on; legal sets are computed
  from the true segmentation. For a^n b^n: every b after the first, and the
  first a of the next string, are deterministic. ``encode_streams`` makes
  several rows.

`RecognitionTask`: accept/reject read after the last symbol; labels per row.
Strings of a prediction task must be members (ValueError otherwise).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import END, Language, as_rng, check_count, check_fraction, check_range, symbol_codes
from .batch import Batch

START = "^"
"""Start marker input of ``PredictionTask(markers=True)`` (Gers & Schmidhuber's S)."""


def _check_language(lang) -> Language:
    if not isinstance(lang, Language):
        raise ValueError(f"lang must be a grammars.Language (from grammars.get), got {lang!r}")
    return lang


def _sample_options(lang, **given) -> dict:
    opts = {k: v for k, v in given.items() if v is not None}
    for k in opts:
        if k not in lang.sample_options:
            raise ValueError(f"{k}={opts[k]!r} does not apply to {lang.name}; its sampler takes "
                             f"{lang.sample_options}")
    if "length_range" in opts:
        opts["length_range"] = check_range("length_range", opts["length_range"])
    if "n_range" in opts:
        opts["n_range"] = check_range("n_range", opts["n_range"], minimum=1)
    return opts


def _onehot(codes: np.ndarray, valid: np.ndarray, width: int) -> np.ndarray:
    """``[B,T]`` indices and validity to float32 one-hot ``[B,T,width]`` (zero where invalid)."""
    out = np.zeros(codes.shape + (width,), dtype=np.float32)
    b, t = np.nonzero(valid)
    out[b, t, codes[b, t]] = 1.0
    return out


def _batch(inputs, targets, legal, mask, deterministic, labels, lengths, strings) -> Batch:
    return Batch(inputs=torch.from_numpy(inputs), targets=torch.from_numpy(targets),
                 legal=torch.from_numpy(legal.astype(np.float32)), mask=torch.from_numpy(mask),
                 deterministic=torch.from_numpy(deterministic), labels=torch.from_numpy(labels),
                 lengths=torch.from_numpy(lengths), strings=tuple(strings))


class PredictionTask:
    """Next-symbol prediction on members of ``lang`` (see the module docstring for the modes).

    ``n_range``, ``distribution``, ``length_range`` (and ``max_len`` for Reber)
    are passed to ``lang.sample`` when given; one that does not apply to the
    language is a ValueError.
    """

    kind = "prediction"

    def __init__(self, lang, stream=False, markers=False, n_range=None, distribution=None,
                 length_range=None, max_len=None):
        self.language = _check_language(lang)
        if stream not in (True, False) or markers not in (True, False):
            raise ValueError(f"stream and markers must be bool, got stream={stream!r}, markers={markers!r}")
        if stream and markers:
            raise ValueError("stream=True concatenates strings without separators; it cannot be "
                             "combined with markers=True")
        self.stream, self.markers = bool(stream), bool(markers)
        self.sample_kwargs = _sample_options(lang, n_range=n_range, distribution=distribution,
                                             length_range=length_range, max_len=max_len)
        a = lang.alphabet
        if markers and START in a:
            raise ValueError(f"the start marker {START!r} is in the alphabet {a}; markers=True needs it free")
        self.input_symbols = a + ((START,) if markers else ())
        self.output_symbols = a + ((END,) if markers else ())
        self._first = np.array([c in lang.next_symbols("") for c in a], dtype=bool)

    @property
    def n_in(self) -> int:
        return len(self.input_symbols)

    @property
    def n_out(self) -> int:
        return len(self.output_symbols)

    def sample(self, rng, count) -> list[str]:
        """``count`` members drawn with the task's ranges (one stream's worth in stream mode)."""
        return self.language.sample(as_rng(rng), check_count(count), members=True, **self.sample_kwargs)

    def _legal_after(self, strings):
        lang = self.language
        codes, lengths = symbol_codes(strings, lang.alphabet, lang)
        legal = lang.prefix_legal_matrix(strings)  # [N, Lmax+1, K+1]
        k = len(lang.alphabet)
        member = legal[np.arange(len(strings)), lengths, k] if len(strings) else np.zeros(0, bool)
        if not member.all():
            bad = strings[int(np.flatnonzero(~member)[0])]
            raise ValueError(f"prediction strings must be members of {lang.name}; {bad!r} is not")
        return codes, lengths, legal

    def encode(self, strings) -> Batch:
        """Encode ``strings`` (per-string mode: one row each; stream mode: ONE row)."""
        strings = list(strings)
        if self.stream:
            return self.encode_streams([strings])
        codes, lengths, legal_after = self._legal_after(strings)
        n, k = len(strings), len(self.language.alphabet)
        if self.markers:
            T = max(int(lengths.max(initial=0)) + 1, 1)
            steps = np.arange(T)[None, :]
            mask = steps <= lengths[:, None]
            in_codes = np.full((n, T), k, dtype=np.int64)       # START at t=0
            in_codes[:, 1:] = codes[:, : T - 1]
            targets = np.full((n, T), -1, dtype=np.int64)
            targets[:, : T - 1] = np.where(steps[:, : T - 1] < lengths[:, None], codes[:, : T - 1], -1)
            targets[np.arange(n), lengths] = k                   # END after the last symbol
            legal = legal_after[:, :T]
            full = legal
            out_lengths = lengths + 1
        else:
            out_lengths = np.maximum(lengths - 1, 0)
            T = max(int(out_lengths.max(initial=0)), 1)
            pad = max(T + 1 - codes.shape[1], 0)
            codes_p = np.pad(codes, ((0, 0), (0, pad)))
            full = np.pad(legal_after, ((0, 0), (0, max(T + 1 - legal_after.shape[1], 0)), (0, 0)))
            full = full[:, 1: T + 1]                              # after prefixes of length 1..T
            mask = np.arange(T)[None, :] < out_lengths[:, None]
            in_codes = codes_p[:, :T]
            targets = np.where(mask, codes_p[:, 1: T + 1], -1)
            legal = full[:, :, :k]
        legal = legal & mask[:, :, None]
        deterministic = (full.sum(axis=2) == 1) & mask
        inputs = _onehot(in_codes, mask, self.n_in)
        labels = np.full(n, np.nan, dtype=np.float32)
        return _batch(inputs, targets, legal, mask, deterministic, labels, out_lengths, strings)

    def encode_streams(self, rows) -> Batch:
        """Several streams: ``rows`` is a list of lists of members, each concatenated into one row."""
        if not self.stream:
            raise ValueError("encode_streams needs PredictionTask(stream=True)")
        rows = [list(r) for r in rows]
        flat = [s for r in rows for s in r]
        codes, lengths, legal_after = self._legal_after(flat)
        k = len(self.language.alphabet)
        lmax = codes.shape[1]
        after = legal_after[:, 1: lmax + 1]                      # after each symbol
        legal_s = after[:, :, :k] | (after[:, :, k:] & self._first[None, None, :])
        valid = np.arange(lmax)[None, :] < lengths[:, None]
        sym_flat, legal_flat = codes[valid], legal_s[valid]      # concatenation, row-major
        totals = np.array([sum(len(s) for s in r) for r in rows], dtype=np.int64)
        out_lengths = np.maximum(totals - 1, 0)
        B, T = len(rows), max(int(out_lengths.max(initial=0)), 1)
        offsets = np.cumsum(totals) - totals
        r_idx = np.repeat(np.arange(B), out_lengths)
        t_idx = np.arange(int(out_lengths.sum())) - np.repeat(np.cumsum(out_lengths) - out_lengths, out_lengths)
        src = offsets[r_idx] + t_idx
        in_codes = np.zeros((B, T), dtype=np.int64)
        targets = np.full((B, T), -1, dtype=np.int64)
        legal = np.zeros((B, T, k), dtype=bool)
        in_codes[r_idx, t_idx] = sym_flat[src]
        targets[r_idx, t_idx] = sym_flat[src + 1]
        legal[r_idx, t_idx] = legal_flat[src]
        mask = np.arange(T)[None, :] < out_lengths[:, None]
        deterministic = (legal.sum(axis=2) == 1) & mask
        inputs = _onehot(in_codes, mask, self.n_in)
        labels = np.full(B, np.nan, dtype=np.float32)
        return _batch(inputs, targets, legal, mask, deterministic, labels, out_lengths,
                      ["".join(r) for r in rows])

    def decode(self, batch: Batch) -> list[str]:
        """The symbols of each row: inputs (minus a start marker) plus the last target."""
        out = []
        idx = batch.inputs.argmax(-1)
        for b in range(len(batch)):
            L = int(batch.lengths[b])
            syms = [self.input_symbols[int(i)] for i in idx[b, :L]]
            if L:
                syms.append(self.output_symbols[int(batch.targets[b, L - 1])])
            out.append("".join(c for c in syms if c not in (START, END)))
        return out

    def __repr__(self) -> str:
        return (f"PredictionTask({self.language.name}, stream={self.stream}, markers={self.markers}, "
                f"{self.sample_kwargs})")


class RecognitionTask:
    """Accept/reject at the end of each string (label 1.0 member, 0.0 non-member).

    ``sample`` with ``balance=True`` draws ``ceil(count/2)`` members and
    ``floor(count/2)`` non-members (``near_fraction`` of those one-symbol edits of
    members, the rest random; see each language's ``sample``), all with length
    in ``length_range``, shuffled. With ``balance=False`` strings are uniform
    random (length uniform in range, then symbols uniform), labelled as they fall.
    """

    kind = "recognition"
    output_symbols = ("accept",)

    def __init__(self, lang, length_range=(0, 10), balance=True, near_fraction=0.5, **sample_options):
        self.language = _check_language(lang)
        self.length_range = check_range("length_range", length_range)
        if balance not in (True, False):
            raise ValueError(f"balance must be bool, got {balance!r}")
        self.balance = bool(balance)
        self.near_fraction = check_fraction("near_fraction", near_fraction)
        self.sample_kwargs = _sample_options(lang, length_range=self.length_range, **sample_options)
        self.input_symbols = lang.alphabet

    @property
    def n_in(self) -> int:
        return len(self.input_symbols)

    @property
    def n_out(self) -> int:
        return 1

    def sample(self, rng, count) -> list[str]:
        rng, count = as_rng(rng), check_count(count)
        lang = self.language
        if not self.balance:
            return lang.sample(rng, count, members=None, **self.sample_kwargs)
        n_pos = (count + 1) // 2
        pos = lang.sample(rng, n_pos, members=True, **self.sample_kwargs)
        neg = lang.sample(rng, count - n_pos, members=False, near_fraction=self.near_fraction,
                          **self.sample_kwargs)
        both = pos + neg
        return [both[i] for i in rng.permutation(count)]

    def encode(self, strings) -> Batch:
        strings = list(strings)
        lang = self.language
        codes, lengths = symbol_codes(strings, lang.alphabet, lang)
        n = len(strings)
        T = max(int(lengths.max(initial=0)), 1)
        codes = np.pad(codes, ((0, 0), (0, T - codes.shape[1])))
        mask = np.arange(T)[None, :] < lengths[:, None]
        inputs = _onehot(codes, mask, self.n_in)
        labels = lang.accepts_many(strings).astype(np.float32) if n else np.zeros(0, np.float32)
        return _batch(inputs, np.full((n, T), -1, dtype=np.int64), np.zeros((n, T, 1), dtype=bool),
                      mask, np.zeros((n, T), dtype=bool), labels, lengths, strings)

    def __repr__(self) -> str:
        return f"RecognitionTask({self.language.name}, length_range={self.length_range}, balance={self.balance})"
