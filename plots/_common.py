"""Small helpers shared by the figure functions (private)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .house import OKABE_ITO

# Marker, filled?, legend name for each base stability label (analysis.FixedPoints.stability).
STABILITY_MARKERS = {
    "attracting": ("o", True),
    "repelling": ("o", False),
    "saddle": ("X", True),
    "marginal": ("D", False),
    "other": ("*", True),
}


def to_numpy(x, dtype=None) -> np.ndarray:
    """numpy array from an array-like or a torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def base_stability(label) -> str:
    """'attracting' | 'repelling' | 'saddle' | 'marginal' | 'other' from a label such as 'attracting (oscillating)'."""
    text = str(label).lower()
    for base in ("saddle", "attract", "repel", "marginal"):
        if base in text:
            return {"attract": "attracting", "repel": "repelling"}.get(base, base)
    return "other"


def symbol_colors(symbols: Iterable[str]) -> dict[str, str]:
    """One Okabe-Ito colour per symbol, in the order given (deduplicated)."""
    out: dict[str, str] = {}
    for s in symbols:
        if s not in out:
            out[s] = OKABE_ITO[len(out) % (len(OKABE_ITO) - 1)]
    return out


def fixed_point_sets(fixed_points, member=None) -> list[tuple[str | None, dict]]:
    """Normalise fixed points to ``[(symbol, {"states", "eigenvalues", "eigenvectors", "stability"})]``.

    Accepts one FixedPoints-like object, a sequence of them, or a mapping
    ``{symbol: FixedPoints}``. Attributes read: ``states`` [K,S];
    ``eigenvalues`` [K,S] (optional); ``eigenvectors`` [K,S,S], eigenvector i in
    column ``[:, :, i]`` (optional); ``stability`` (K labels, optional);
    ``symbol`` or ``word`` (the input, optional); ``member`` ([K] member index per point, optional).
    A plain ``[K,S]`` array is taken as states with unknown stability.
    """
    if fixed_points is None:
        return []
    if isinstance(fixed_points, Mapping):
        items = [(sym, fp) for sym, fp in fixed_points.items()]
    elif hasattr(fixed_points, "states") or isinstance(fixed_points, np.ndarray) or hasattr(fixed_points, "detach"):
        items = [(None, fixed_points)]
    else:
        items = [(None, fp) for fp in fixed_points]
    out = []
    for sym, fp in items:
        if sym is None:
            sym = getattr(fp, "symbol", None) or getattr(fp, "word", None) or None
        if not hasattr(fp, "states"):
            states = to_numpy(fp, float)
            out.append((sym, {"states": states.reshape(len(states), -1), "eigenvalues": None,
                              "eigenvectors": None, "stability": ["other"] * len(states)}))
            continue
        states = to_numpy(fp.states, float)
        if states.ndim == 1:
            states = states[None, :] if states.size else states.reshape(0, 1)
        k = len(states)
        ev = getattr(fp, "eigenvalues", None)
        evec = getattr(fp, "eigenvectors", None)
        stab = getattr(fp, "stability", None)
        d = {
            "states": states,
            "eigenvalues": None if ev is None else to_numpy(ev).reshape(k, -1),
            "eigenvectors": None if evec is None else to_numpy(evec).reshape(k, states.shape[1], -1),
            "stability": ["other"] * k if stab is None else [str(s) for s in stab],
        }
        mem = getattr(fp, "member", None)
        if mem is not None and np.ndim(mem) > 0 and k:
            mem = to_numpy(mem).reshape(-1)
            if member is None:
                if len(np.unique(mem)) > 1:
                    raise ValueError(f"fixed points of members {sorted(set(mem.tolist()))} given together; "
                                     "pass member=<index> to draw one network's fixed points")
            else:
                keep = mem == member
                d = {key: (None if val is None else
                           [v for v, m in zip(val, keep) if m] if isinstance(val, list) else val[keep])
                     for key, val in d.items()}
        out.append((None if sym is None else str(sym), d))
    return out
