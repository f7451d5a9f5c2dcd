"""When :meth:`RecurrentEnsemble.forward` may take a fast path, and a switch to turn them off.

``forward`` asks :func:`fast_forward` for the outputs and states of a whole sequence before
it unrolls ``_cell`` step by step.  A fast path answers only where it computes
exactly the recurrence ``step`` defines (same equations, same options); in
every other case it answers None and the plain loop runs.  The fast paths are
checked against the plain path in ``tests/models/test_fast_paths.py`` and
``test_fast_lstm.py`` (outputs, states and gradients, float32 and float64,
padded batches, given and learned h0), each implementation on its own.

Which networks a fast path serves (:func:`select` names the path ``net(x)`` takes):

* SRN: the class's own ``_cell``, ``_project_seq``, ``_parts`` and ``readout``
  (no subclass overriding them), ``activation`` tanh | sigmoid | relu, no
  ``shortcut``, ``leak`` 1.0, ``n_layers`` 1, no option the fused code does not know.
* LSTM: the class's own ``_cell``, ``_project_seq``, ``_parts`` and ``readout``,
  ``variant`` "standard", ``n_layers`` 1, ``peephole`` on or off, no option the
  fused code does not know (the other variants and stacks run the plain loop).
* GRU: likewise, ``n_layers`` 1, ``reset_after`` either way; compiled kernels only
  (:mod:`.numba_gru`; without numba, or on CUDA, the plain loop).

Two implementations of each:

* compiled CPU kernels (:mod:`.numba_srn`, :mod:`.numba_lstm`; numba): the whole
  sequence and its BPTT as one loop nest, with no per-step dispatch, so they
  serve every size from one network up: all CPU tensors, SRNs up to
  ``NUMBA_SRN_MAX_HIDDEN`` units.  Where numba does not import they are skipped.
* fused torch ops (:mod:`.fast_srn`, :mod:`.fast_lstm`): a few ops per step over
  all members, which pays only from ``E * B >= FUSED_MIN_ROWS`` rows; they serve
  CUDA tensors and CPU ones when numba is missing (SRN up to ``SRN_MAX_HIDDEN`` units).

Never under functorch transforms (``torch.func.vmap``/``jacrev``: the fused
nodes have no batching rule) and never when ``disabled()`` is active.

The fused nodes are ``once_differentiable``: a second derivative through
``forward`` (``create_graph=True`` then backward again) raises instead of
returning a wrong number; run such code inside ``with models.fast.disabled():``.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

__all__ = ["fast_forward", "select", "disabled", "is_enabled", "numba_available", "functorch_active",
           "keep_freed_memory", "SRN_MAX_HIDDEN", "NUMBA_SRN_MAX_HIDDEN", "FUSED_MIN_ROWS"]

# Above this many hidden units the H*H fused multiply-adds of the SRN scan lose to the plain bmm.
SRN_MAX_HIDDEN = 6
# Up to this many hidden units the compiled SRN kernels (numba_srn) serve CPU networks of any size.
NUMBA_SRN_MAX_HIDDEN = 32
# Below this many rows (E * B) per-op overhead dominates and the plain loop is as fast or faster
# (measured: benchmarks/core_speed.py; E * B = 2560 breaks even, E = 1 is 3x slower fused).
FUSED_MIN_ROWS = 4096
# Options every fast path tolerates whatever their value (they act outside the recurrence).
_OUTSIDE = frozenset({"h0", "init", "init_range", "output_activation", "forget_bias"})
# Options a fast path tolerates only at these values (the plain recurrence).
_NEUTRAL = {"shortcut": (False,), "leak": (1.0,), "n_layers": (1,)}

_enabled = True
_numba = None


def numba_available() -> bool:
    """Whether numba imports (the compiled CPU kernels); checked once per process."""
    global _numba
    if _numba is None:
        try:
            import numba  # noqa: F401
            _numba = True
        except ImportError:
            _numba = False
    return _numba


def keep_freed_memory() -> bool:
    """Ask the C library's ``malloc`` (glibc) to keep freed memory for reuse rather than hand it
    back to the operating system; returns whether it took effect (False elsewhere, harmlessly).

    Every ``net(x)`` of a big ensemble allocates its states, gates and gradients afresh (tens of
    MB for a 10-unit LSTM at E = 1024).  By default glibc serves blocks that large with ``mmap``
    and returns them on ``free``, so each call pays first-touch page faults on all of it again.
    With the thresholds raised (``M_MMAP_THRESHOLD`` 1 GB, ``M_TRIM_THRESHOLD`` 2 GB) the heap
    keeps them: measured in one run, 2-unit SRN E = 4096 training 31 -> 37M network-steps/s, 10-unit
    LSTM E = 1024 2.8 -> 2.95M.  The price: the process's resident size stays at its peak.  The
    ``dynrec`` command and its worker processes call this; scripts may call it once at start.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3          # glibc's <malloc.h> parameter numbers
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, (1 << 31) - 1))


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


def functorch_active() -> bool:
    check = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(check()) if check is not None else False


def select(net, x: torch.Tensor) -> str | None:
    """Which fast path ``net(x)`` takes: ``"numba_srn"``, ``"numba_lstm"``, ``"numba_gru"``
    (compiled CPU kernels, any size), ``"torch_srn"``, ``"torch_lstm"`` (fused torch ops, from
    ``FUSED_MIN_ROWS`` rows) or None (the plain step loop)."""
    if not _enabled or functorch_active():
        return None
    from .gru import GRU
    from .lstm import LSTM
    from .srn import SRN

    cls = type(net)
    kind = None
    if isinstance(net, SRN) and cls._cell is SRN._cell and cls._project_seq is SRN._project_seq \
            and cls._parts is SRN._parts and cls.readout is SRN.readout \
            and _plain_options(net, {"activation": ("tanh", "sigmoid", "relu")}):
        kind = "srn"
    elif isinstance(net, LSTM) and cls._cell is LSTM._cell and cls._project_seq is LSTM._project_seq \
            and cls._parts is LSTM._parts and cls.readout is LSTM.readout \
            and _plain_options(net, {"variant": ("standard",), "peephole": (False, True)}):
        kind = "lstm"
    elif isinstance(net, GRU) and cls._cell is GRU._cell and cls._project_seq is GRU._project_seq \
            and cls._parts is GRU._parts and cls.readout is GRU.readout \
            and _plain_options(net, {"reset_after": (False, True)}):
        kind = "gru"
    if kind is None:
        return None
    if kind == "gru":               # compiled kernels only (no fused torch version)
        return "numba_gru" if x.device.type == "cpu" and numba_available() else None
    if x.device.type == "cpu" and numba_available() \
            and (kind == "lstm" or net.n_hidden <= NUMBA_SRN_MAX_HIDDEN):
        return "numba_" + kind
    if net.ensemble * x.shape[-3] < FUSED_MIN_ROWS or (kind == "srn" and net.n_hidden > SRN_MAX_HIDDEN):
        return None
    return "torch_" + kind


def fast_forward(net, x: torch.Tensor, has_e: bool, h: torch.Tensor, mask: torch.Tensor | None):
    """``(logits [E,B,T,O], states [E,B,T,S])`` from a fast path, or None where none applies.

    Arguments as inside ``RecurrentEnsemble.forward``: x [B,T,I] / [E,B,T,I]
    (checked, T >= 1), ``has_e``, h the initial state [E,B,S], mask [T,1,B,1]
    bool (True at real inputs) or None.
    """
    path = select(net, x)
    if path is None:
        return None
    if path == "numba_srn":
        from .numba_srn import srn_forward as run
    elif path == "numba_lstm":
        from .numba_lstm import lstm_forward as run
    elif path == "numba_gru":
        from .numba_gru import gru_forward as run
    elif path == "torch_srn":
        from .fast_srn import srn_forward as run
    else:
        from .fast_lstm import lstm_forward as run
    return run(net, x, has_e, h, mask)
