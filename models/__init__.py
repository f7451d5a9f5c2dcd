"""Recurrent network families as ensembles: E independent networks are one set of tensors.

>>> from dynrec import models
>>> net = models.build("srn", n_in=2, n_hidden=2, n_out=2, ensemble=100, seed=0)
>>> logits, states = net(x)                # x [B,T,I] -> [E,B,T,O], [E,B,T,S]

Kinds (``names()``): "srn" (:class:`SRN`), "jordan" (:class:`Jordan`),
"second_order" (:class:`SecondOrder`), "lstm" (:class:`LSTM`), "gru"
(:class:`GRU`), "window" (:class:`Window`, the sliding-window feedforward
baseline of NetTalk); all subclass :class:`RecurrentEnsemble`.  Member i of an
ensemble built with seed s equals ``build(..., ensemble=1, seed=member_seed(s, i))``.
Checkpoints: ``net.save(path)`` / ``load(path)`` (safetensors + JSON sidecar).
"""

from __future__ import annotations

import torch

from .base import RecurrentEnsemble
from .checkpoint import load
from .gru import GRU
from .lstm import LSTM
from .second_order import SecondOrder
from .seeding import member_seed
from .srn import SRN, Jordan
from .window import Window

__all__ = ["build", "names", "describe", "member_seed", "load", "RecurrentEnsemble",
           "SRN", "Jordan", "SecondOrder", "LSTM", "GRU", "Window", "KINDS"]

KINDS: dict[str, type[RecurrentEnsemble]] = {
    cls.kind: cls for cls in (SRN, Jordan, SecondOrder, LSTM, GRU, Window)}


def _family(kind: str) -> type[RecurrentEnsemble]:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return KINDS[kind]


def names() -> list[str]:
    """The model kinds ``build`` accepts."""
    return list(KINDS)


def describe(name: str) -> str:
    """One line saying what the kind computes and its options."""
    cls = _family(name)
    return f"{cls.summary}; options: {', '.join(cls.DEFAULTS)}"


def build(kind: str, n_in: int, n_hidden: int, n_out: int, ensemble: int = 1, seed: int = 0,
          dtype=torch.float32, device="cpu", alphabet=None, **options) -> RecurrentEnsemble:
    """E seeded networks of one kind; member i is drawn from ``member_seed(seed, i)`` only.

    ``options`` are the family's (see its class docstring); unknown ones raise
    ``ValueError`` listing the valid names.  ``alphabet``: optional input
    symbol names in one-hot order (kept in checkpoints).
    """
    net = _family(kind)(n_in, n_hidden, n_out, ensemble, dtype=dtype, device=device, alphabet=alphabet, **options)
    net.reset_parameters(seed)
    return net
