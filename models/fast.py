"""When :meth:`RecurrentEnsemble.forward` may take a fused fast path, and a switch to turn them off.

``forward`` asks :func:`fast_forward` for the outputs and states of a whole sequence before
it unrolls ``_cell`` step by step.  A fast path answers only where it computes
exactly the recurrence ``step`` defines (same equations, same options); in
every other case it answers None and the plain loop runs.  The fast paths are
checked against the plain path in ``tests/models/test_fast_paths.py`` (outputs,
states and gradients, float32 and float64, padded batches, given and learned h0).

Where a fast path applies:

* SRN (:mod:`.fast_srn`): the class's own ``_cell`` and ``_project_seq`` (no
  subclass overriding them), ``activation`` tanh | sigmoid | relu, no
  ``shortcut``, ``leak`` 1.0, ``n_layers`` 1, no option the fused node does not
  know, ``n_hidden <= SRN_MAX_HIDDEN``, the class's own ``readout``.
* LSTM (:mod:`.fast_lstm`): the class's own ``_cell``, ``_project_seq``, ``_parts``
  and ``readout``, ``variant`` "standard", ``n_layers`` 1, ``peephole`` on or off,
  no option the fused node does not know (the other variants and stacks run the
  plain loop).
* only for ``E * B >= FUSED_MIN_ROWS`` rows (smaller runs are dispatch-bound).
* never under functorch transforms (``torch.func.vmap``/``jacrev``: the fused
  node has no batching rule) and never when ``disabled()`` is active.

The fused nodes are ``once_differentiable``: a second derivative through
``forward`` (``create_graph=True`` then backward again) raises instead of
returning a wrong number; run such code inside ``with models.fast.disabled():``.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

__all__ = ["fast_forward", "disabled", "is_enabled", "SRN_MAX_HIDDEN", "FUSED_MIN_ROWS"]

# Above this many hidden units the H*H fused multiply-adds of the SRN scan lose to the plain bmm.
SRN_MAX_HIDDEN = 6
# Below this many rows (E * B) per-op overhead dominates and the plain loop is as fast or faster
# (measured: benchmarks/core_speed.py; E * B = 2560 breaks even, E = 1 is 3x slower fused).
FUSED_MIN_ROWS = 4096
# Options every fast path tolerates whatever their value (they act outside the recurrence).
_OUTSIDE = frozenset({"h0", "init", "init_range", "output_activation", "forget_bias"})
# Options a fast path tolerates only at these values (the plain recurrence).
_NEUTRAL = {"shortcut": (False,), "leak": (1.0,), "n_layers": (1,)}

_enabled = True


def is_enabled() -> bool:
    """Whether ``forward`` may use a fused fast path (True unless inside :func:`disabled`)."""
    return _enabled


@contextmanager
def disabled():
    """``with models.fast.disabled(): ...`` runs every ``forward`` through the plain step loop."""
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


def _plain_options(net, extra: dict) -> bool:
    for key, value in net._options.items():
        if key in _OUTSIDE:
            continue
        if key in extra:
            if value not in extra[key]:
                return False
        elif key not in _NEUTRAL or value not in _NEUTRAL[key]:
            return False
    return True


def _functorch_active() -> bool:
    check = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(check()) if check is not None else False


def fast_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor, mask: torch.Tensor | None):
    """``(logits [E,B,T,O], states [E,B,T,S])`` from a fused path, or None where none applies.

    Arguments as inside ``RecurrentEnsemble.forward``: x [B,T,I] / [E,B,T,I]
    (checked, T >= 1), ``has_e``, h the initial state [E,B,S], mask [T,1,B,1]
    bool (True at real inputs) or None.
    """
    if not _enabled or net.ensemble * x.shape[-3] < FUSED_MIN_ROWS or _functorch_active():
        return None
    from .lstm import LSTM
    from .srn import SRN

    cls = type(net)
    if isinstance(net, SRN) and cls._cell is SRN._cell and cls._project_seq is SRN._project_seq \
            and cls._parts is SRN._parts and cls.readout is SRN.readout and net.n_hidden <= SRN_MAX_HIDDEN \
            and _plain_options(net, {"activation": ("tanh", "sigmoid", "relu")}):
        from .fast_srn import srn_forward

        return srn_forward(net, x, has_e, h, mask)
    if isinstance(net, LSTM) and cls._cell is LSTM._cell and cls._project_seq is LSTM._project_seq \
            and cls._parts is LSTM._parts and cls.readout is LSTM.readout \
            and _plain_options(net, {"variant": ("standard",), "peephole": (False, True)}):
        from .fast_lstm import lstm_forward

        return lstm_forward(net, x, has_e, h, mask)
    return None
