"""How a network counts on a^n b^n (and a^n b^n c^n): solution type and predicted depth.

Wiles & Elman (1995) and Rodriguez, Wiles & Elman (1999, Connection Science
11(1), Sec. 4-5) found that SRNs predicting a^n b^n count with two fixed
points: under input a the state converges to an *attracting* point p_a; under
input b it leaves a *saddle* p_b along its unstable direction. With eigenvalues
of negative real part the state flips side every step ("oscillating"), with
positive ones it slides ("monotonic"); complex ones rotate ("spiral"). For
a^n b^n c^n (Rodriguez 2001) the b-map's saddle counts the a's down along its
unstable direction while counting the b's up along its stable one, and the c
map's saddle counts those down.

The linearised counter and the predicted depth (the formula used here)
-----------------------------------------------------------------------
Let λ_a be the dominant eigenvalue of p_a (largest modulus, |λ_a| < 1: the
slowest contraction) and λ_b the dominant eigenvalue of p_b (|λ_b| > 1). After
n a's the distance to p_a along the slow eigenvector is d_0 |λ_a|^n; the first b
carries the state next to p_b's stable manifold with an unstable component
c |λ_a|^n; each further b multiplies it by |λ_b|. The network predicts the end
of the b's when the component crosses a readout threshold θ, i.e. after

    m(n) = (ln θ - ln c)/ln|λ_b| + r n,    r = -ln|λ_a| / ln|λ_b|

b's. Counting is right when the crossing falls in the n-th step, n-1 < m(n) <= n,
for every n. If |λ_a||λ_b| = 1 exactly (r = 1: "the products balance") one
offset works for all n and the depth is unbounded; otherwise m(n) - n drifts by
(r - 1) per count. The offset K = (ln θ - ln c)/ln|λ_b| is the network's to
choose. Every n <= N is right iff n - 1 < K + r n <= n for n = 1..N; for r < 1
the binding cases are n = 1 (K <= 1 - r) and n = N (K > N(1 - r) - 1), for r > 1
the other way round, so some offset works iff (N - 1)|1 - r| < 1. The best
offset therefore gives

    predicted depth N = ceil(margin / |1 - r|),  margin = 1   (∞ when r = 1),

an upper bound for a network whose maps are their linearisations. ``margin``
= 1/2 is the depth when the crossing is centred in its step at n = 1 instead of
placed optimally.

For a^n b^n c^n the same bookkeeping applies to the pair (a, b) with the b
saddle's unstable eigenvalue and to the pair (b, c) with r_bc = -ln|λ_b^s| /
ln|λ_c|, λ_b^s the b saddle's slowest stable eigenvalue, λ_c the c point's
dominant one; the depth is the smaller of the two. The prediction ignores the
nonlinear part of the maps (far from the points) and the transient of the first
symbols; compare it with the measured depth (``measure=True``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._common import analysis_copy, encode_strings, input_symbols, run_states
from .fixed_points import find_fixed_points

TYPES = ("oscillating", "monotonic", "spiral", "mixed", "none")


def predicted_depth(lam_contract, lam_expand, margin: float = 1.0) -> float:
    """``ceil(margin / |1 - r|)`` with ``r = -ln|λ_contract| / ln|λ_expand|`` (∞ when r == 1); see the module doc."""
    la, lb = abs(complex(lam_contract)), abs(complex(lam_expand))
    if not (0 < la < 1 < lb):
        raise ValueError(f"need 0 < |λ_contract| < 1 < |λ_expand|, got {la!r} and {lb!r}")
    r = -math.log(la) / math.log(lb)
    if abs(1 - r) < 1e-12:
        return math.inf
    return float(max(1, math.ceil(margin / abs(1 - r))))


def _type(lams) -> str:
    lams = [complex(v) for v in lams]
    if any(abs(v.imag) > 1e-12 * max(1.0, abs(v)) for v in lams):
        return "spiral"
    if all(v.real < 0 for v in lams):
        return "oscillating"
    if all(v.real > 0 for v in lams):
        return "monotonic"
    return "mixed"


@dataclass
class CountingSolution:
    """One record per member (dicts of plain numbers); ``to_frame()`` for a table."""

    language: str
    records: list

    @property
    def types(self) -> list[str]:
        return [r["type"] for r in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i) -> dict:
        return self.records[i]

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.records)


def _nearest(points, targets):
    """Index of the point (rows of ``points``) closest to any row of ``targets``, and that distance."""
    d = np.linalg.norm(points[:, None, :] - targets[None, :, :], axis=-1).min(axis=1)
    i = int(np.argmin(d))
    return i, float(d[i])


def counting_solution(net, lang, member=None, *, n_probe: int = 10, margin: float = 1.0, measure: bool = False,
                      n_max: int = 20, task=None, alphabet=None, **find_kwargs) -> CountingSolution:
    """Classify each member's counting mechanism on a^n b^n (or a^n b^n c^n) from its fixed points.

    Args:
        net: a network whose inputs include the language's symbols (``net.alphabet`` or ``alphabet``).
        lang: the language (``grammars.get("anbn")``, ``"anbncn"``) or its registry name.
        member: None (all, batched), an int or a list.
        n_probe: the probe string a^K b^K (c^K), K = n_probe, picks which fixed points the
            counting uses: the attracting a-point nearest the state after a^K, the b (c)
            point with an expanding direction nearest the states of the b (c) phase.
        margin: offset slack of the depth prediction (module doc), in steps.
        measure: also report ``measured_depth`` from ``dynrec.training.generalization_depth``.
        n_max, task: passed to ``generalization_depth``.
        find_kwargs: passed to `find_fixed_points`.

    Returns:
        `CountingSolution`: per member ``type`` (oscillating | monotonic | spiral | mixed |
        none), ``reason`` when none, the chosen points and their eigenvalues (``lambda_a``,
        ``lambda_b``[, ``lambda_b_stable``, ``lambda_c``]), ``ratio`` r, ``product``
        |λ_a||λ_b|, ``predicted_depth``, and ``measured_depth`` when asked.
    """
    if isinstance(lang, str):
        from dynrec import grammars

        lang = grammars.get(lang)
    symbols = tuple(getattr(lang, "alphabet", ()))
    if len(symbols) not in (2, 3):
        raise ValueError(f"counting_solution handles a^n b^n and a^n b^n c^n (2 or 3 symbols); "
                         f"the language has alphabet {symbols!r}")
    name = getattr(lang, "name", "".join(symbols))
    sub, idx = analysis_copy(net, member)
    net_symbols = input_symbols(sub, alphabet)
    if net_symbols is None or not set(symbols) <= set(net_symbols):
        raise ValueError(f"the network's inputs {net_symbols!r} must include the language's symbols {symbols!r}"
                         " (set net.alphabet or pass alphabet=...)")
    fps = {s: find_fixed_points(sub, s, alphabet=alphabet, **find_kwargs) for s in symbols}
    K = int(n_probe)
    probe = "".join(s * K for s in symbols)
    x, lengths = encode_strings(sub, [probe], alphabet)
    with torch.no_grad():
        st = run_states(sub, x, lengths)[:, 0].numpy()  # [E, T+1, S]
    phase = {s: st[:, 1 + i * K: 1 + (i + 1) * K] for i, s in enumerate(symbols)}

    records = []
    for e, m in enumerate(idx):
        rec = {"member": m, "type": "none", "reason": ""}
        pa = fps[symbols[0]].select(member=e)
        att = pa.select(stability="attracting")
        if not len(att):
            rec["reason"] = f"no attracting fixed point under {symbols[0]!r}"
            records.append(rec)
            continue
        i, _ = _nearest(att.states, phase[symbols[0]][e][-1:])
        rec["point_a"] = att.states[i].tolist()
        lam = {"a": complex(att.eigenvalues[i][0])}
        ok = True
        for j, s in enumerate(symbols[1:], start=1):
            ps = fps[s].select(member=e)
            expanding = np.abs(ps.eigenvalues[:, 0]) > 1 if len(ps) else np.zeros(0, bool)
            if not expanding.any():
                rec["reason"] = f"no fixed point with an expanding direction under {s!r}"
                ok = False
                break
            cand = ps[np.nonzero(expanding)[0]]
            i, dist = _nearest(cand.states, phase[s][e])
            key = "bc"[j - 1]
            rec[f"point_{key}"] = cand.states[i].tolist()
            rec[f"distance_{key}"] = dist
            lam[key] = complex(cand.eigenvalues[i][0])
            if len(symbols) == 3 and s == symbols[1]:
                contracting = [v for v in cand.eigenvalues[i] if abs(v) < 1]
                if not contracting:
                    rec["reason"] = f"the {s!r} point has no contracting direction to count the {s!r}s up"
                    ok = False
                    break
                lam["b_stable"] = complex(contracting[0])
        for k, v in lam.items():
            rec[f"lambda_{k}"] = v
        if not ok:
            records.append(rec)
            continue
        pairs = [(lam["a"], lam["b"])] + ([(lam["b_stable"], lam["c"])] if len(symbols) == 3 else [])
        rec["type"] = _type([v for p in pairs for v in p])
        rec["ratio"] = -math.log(abs(lam["a"])) / math.log(abs(lam["b"]))
        rec["product"] = abs(lam["a"]) * abs(lam["b"])
        if len(symbols) == 3:
            rec["ratio_bc"] = -math.log(abs(lam["b_stable"])) / math.log(abs(lam["c"]))
            rec["product_bc"] = abs(lam["b_stable"]) * abs(lam["c"])
        rec["predicted_depth"] = min(predicted_depth(p[0], p[1], margin) for p in pairs)
        records.append(rec)

    if measure:
        try:
            from dynrec.training import generalization_depth
        except ImportError as err:
            raise ValueError(f"measure=True needs dynrec.training.generalization_depth: {err}") from None
        measured = np.asarray(generalization_depth(net.select(idx) if len(idx) != net.ensemble else net, lang,
                                                   n_max=n_max, task=task))
        for rec, d in zip(records, measured):
            rec["measured_depth"] = int(d)
    return CountingSolution(name, records)
