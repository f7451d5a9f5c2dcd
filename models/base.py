"""The common base of every family: an ensemble of E independent networks as one set of tensors.

Shapes (docs/CONTRACTS.md): E members, B strings, T steps, I inputs, H hidden
units, O outputs, S = ``state_size`` (n_hidden, or more where a family keeps
more in its state; the first ``n_hidden`` components are always the hidden
units).  Every parameter and buffer has a leading member dimension E and no
value is shared across members, so member i depends only on slice i.

A family implements four things:

* ``_specs()``: its parameters (names, per-member shapes, initialisation);
* ``_project(x, has_e)``: the part of a step that depends only on the input
  (computed for all T steps at once in :meth:`forward`, the standard speed-up
  for recurrent nets; ``_project_seq`` may do that in one GEMM);
* ``_parts()`` and ``_cell(parts, p)``: the rest of the step on the pieces the
  state is made of (e.g. LSTM's h and c), from the state and the projection;
* ``readout(h)``: the output pre-activation.

``step(h, x) = cat(_cell(split(h), _project(x)))`` is the single source of
the dynamics: :meth:`forward` calls the same ``_cell``, only with the
projection of the whole sequence computed first and the state kept in pieces
between steps (these are the slots where faster paths go, issue 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from . import seeding

__all__ = ["RecurrentEnsemble", "Spec", "ACTIVATIONS", "OUTPUT_ACTIVATIONS"]

ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}
OUTPUT_ACTIVATIONS = {"identity": lambda v: v, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
H0_MODES = ("zeros", "learned", "fixed")


@dataclass(frozen=True)
class Spec:
    """One per-member tensor: ``value = U(-bound, bound) + const`` (``bound=None``: just ``const``)."""

    name: str
    shape: tuple[int, ...]
    bound: float | None
    const: Any = 0.0
    trainable: bool = True


def _positive_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def _check_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if dtype in (torch.float32, torch.float64):
        return dtype
    raise ValueError(f"dtype must be torch.float32 or torch.float64 (or 'float32'/'float64'), got {dtype!r}")


class RecurrentEnsemble(nn.Module):
    """E independent recurrent networks of one family, run as one set of tensors.

    Construct through :func:`dynrec.models.build` (seeded initialisation) or a
    family's ``from_weights`` (published matrices).  Common options:

    ``init`` ("uniform" | "torch"), ``init_range`` (r of uniform ±r),
    ``h0`` ("zeros", a float filling the hidden units, "learned", or "fixed" =
    a non-trained buffer whose values come from ``from_weights`` or a
    checkpoint), ``output_activation`` ("identity" | "sigmoid" | "tanh").
    """

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, n_in: int, n_hidden: int, n_out: int, ensemble: int = 1, *,
                 dtype=torch.float32, device="cpu", alphabet=None, **options):
        super().__init__()
        self.n_in = _positive_int("n_in", n_in)
        self.n_hidden = _positive_int("n_hidden", n_hidden)
        self.n_out = _positive_int("n_out", n_out)
        self.ensemble = _positive_int("ensemble", ensemble)
        self._options = self._resolve_options(options)
        dtype = _check_dtype(dtype)
        device = torch.device(device)
        self._trainable: list[str] = []
        for spec in self._specs():
            t = torch.zeros((self.ensemble, *spec.shape), dtype=dtype, device=device)
            if spec.trainable:
                self.register_parameter(spec.name, nn.Parameter(t))
                self._trainable.append(spec.name)
            else:
                self.register_buffer(spec.name, t)
        self._alphabet = None
        self.alphabet = alphabet

    # ----------------------------------------------------------------- options
    def _resolve_options(self, given: dict) -> dict:
        unknown = sorted(set(given) - set(self.DEFAULTS))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for model kind {self.kind!r}; "
                             f"valid options: {sorted(self.DEFAULTS)}")
        opts = {**self.DEFAULTS, **given}
        for key, value in opts.items():
            opts[key] = self._check_option(key, value)
        return opts

    def _check_option(self, key: str, value):
        """Validate one option (families extend this); returns the canonical value."""
        def choice(valid):
            if value not in valid:
                raise ValueError(f"option {key}={value!r} is not valid for {self.kind!r}; valid: {list(valid)}")
            return value

        if key == "activation":
            return choice(ACTIVATIONS)
        if key == "output_activation":
            return choice(OUTPUT_ACTIVATIONS)
        if key == "init":
            return choice(("uniform", "torch"))
        if key in ("init_range", "forget_bias", "decay"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"option {key} must be a finite number, got {value!r}")
            if key == "init_range" and value <= 0:
                raise ValueError(f"option init_range must be > 0, got {value!r}")
            return float(value)
        if key == "h0":
            if isinstance(value, str) and value in H0_MODES:
                return value
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"option h0 must be one of {list(H0_MODES)} or a finite float, got {value!r}")
            return float(value)
        if key in ("shortcut", "peephole", "reset_after"):
            if not isinstance(value, bool):
                raise ValueError(f"option {key} must be True or False, got {value!r}")
            return value
        raise ValueError(f"option {key!r} has no check")  # a family forgot to declare it

    @property
    def options(self) -> dict:
        """The resolved options (defaults filled in), a JSON-safe copy."""
        return dict(self._options)

    @property
    def output_activation(self) -> str:
        """What the papers squash :meth:`readout` with: "identity" | "sigmoid" | "tanh"."""
        return self._options["output_activation"]

    def squash(self, logits: torch.Tensor) -> torch.Tensor:
        """``output_activation`` applied to a readout."""
        return OUTPUT_ACTIVATIONS[self.output_activation](logits)

    @property
    def alphabet(self):
        """Input symbol names in one-hot order (tuple of n_in one-character str), or None."""
        return self._alphabet

    @alphabet.setter
    def alphabet(self, value) -> None:
        if value is not None:
            value = tuple(value)
            if len(value) != self.n_in or not all(isinstance(s, str) and len(s) == 1 for s in value):
                raise ValueError(f"alphabet must be {self.n_in} one-character strings (n_in={self.n_in}), "
                                 f"got {value!r}")
        self._alphabet = value

    # ------------------------------------------------------------ family hooks
    def _specs(self) -> list[Spec]:
        raise NotImplementedError

    @property
    def state_size(self) -> int:
        """S: the size of the state vector passed between steps."""
        raise NotImplementedError

    def _h0_spec(self, size: int | None = None) -> Spec:
        """The initial state h0 [E, size]; its first n_hidden entries are the hidden units."""
        size = self.state_size if size is None else size
        mode = self._options["h0"]
        const = np.zeros(size)
        if not isinstance(mode, str):
            const[: self.n_hidden] = mode
        return Spec("h0", (size,), None, const, trainable=mode == "learned")

    def _bound(self, fan_in: int) -> float:
        """Half-width of the uniform initial draw: init_range ("uniform") or 1/sqrt(fan_in) ("torch")."""
        if self._options["init"] == "uniform":
            return self._options["init_range"]
        return 1.0 / math.sqrt(fan_in)

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        """Input part of a step: x [(E,) ..., I] -> [E, ..., P] (or x itself where nothing is precomputed)."""
        raise NotImplementedError

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        """:meth:`_project` of a whole sequence [(E,) B, T, I], time-major and contiguous: [T, (E,) B, P]."""
        return self._project(x, has_e).movedim(-2, 0).contiguous()

    def _parts(self) -> tuple[int, ...]:
        """Sizes of the pieces the state is the concatenation of (e.g. (H, H) for LSTM's h and c)."""
        return (self.state_size,)

    def _cell(self, parts: tuple[torch.Tensor, ...], p: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The step on the state's pieces (each [E,B,size]) and the input projection p."""
        raise NotImplementedError

    def _advance(self, h: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """The step on the whole state [E,B,S] (split into pieces, :meth:`_cell`, concatenated)."""
        sizes = self._parts()
        if len(sizes) == 1:
            return self._cell((h,), p)[0]
        return torch.cat(self._cell(h.split(sizes, -1), p), -1)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Output pre-activation ("logits") of states h [E, ..., S] -> [E, ..., O]."""
        raise NotImplementedError

    # -------------------------------------------------------------- properties
    @property
    def dtype(self) -> torch.dtype:
        return self.h0.dtype

    @property
    def device(self) -> torch.device:
        return self.h0.device

    @property
    def n_params_per_member(self) -> int:
        """P: trainable numbers per member (the width of :meth:`to_flat`)."""
        return sum(getattr(self, n)[0].numel() for n in self._trainable)

    def extra_repr(self) -> str:
        return (f"kind={self.kind!r}, n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, "
                f"ensemble={self.ensemble}, state_size={self.state_size}, options={self._options}")

    # ---------------------------------------------------------- initialisation
    def reset_parameters(self, seed: int = 0) -> None:
        """Draw every member from its own key ``member_seed(seed, i)`` (see :mod:`.seeding`)."""
        keys = seeding.member_keys(seed, self.ensemble)
        with torch.no_grad():
            for spec in self._specs():
                size = int(np.prod(spec.shape))
                const = np.broadcast_to(np.asarray(spec.const, dtype=np.float64), spec.shape).reshape(1, size)
                value = np.repeat(const, self.ensemble, axis=0)
                if spec.bound is not None:
                    value = value + (2.0 * seeding.uniform(keys, spec.name, size) - 1.0) * spec.bound
                target = getattr(self, spec.name)
                target.copy_(torch.from_numpy(value.reshape(target.shape)))

    # ------------------------------------------------------------------ tensors
    def _tensors(self) -> dict[str, torch.Tensor]:
        """Every per-member tensor (parameters and buffers) by name, in spec order."""
        return {s.name: getattr(self, s.name) for s in self._specs()}

    def _assign(self, values: dict[str, Any], origin: str) -> None:
        """Copy per-member arrays [E, *shape] into the tensors, checking names, shapes, finiteness."""
        specs = {s.name: s for s in self._specs()}
        missing, extra = sorted(set(specs) - set(values)), sorted(set(values) - set(specs))
        if missing or extra:
            raise ValueError(f"{origin}: tensors {sorted(values)} do not match {self.kind!r} with these "
                             f"options, which needs {sorted(specs)} (missing {missing}, unexpected {extra})")
        with torch.no_grad():
            for name, spec in specs.items():
                v = torch.as_tensor(values[name])
                want = (self.ensemble, *spec.shape)
                if tuple(v.shape) != want:
                    raise ValueError(f"{origin}: {name} has shape {tuple(v.shape)}, expected {want} "
                                     f"(E={self.ensemble}, per member {spec.shape})")
                if not torch.isfinite(v).all():
                    raise ValueError(f"{origin}: {name} (shape {tuple(v.shape)}) holds non-finite values")
                getattr(self, name).copy_(v)

    @classmethod
    def _from_arrays(cls, arrays: dict[str, Any], shapes: dict[str, tuple[int, ...]],
                     sizes: tuple[int, int, int], labels: dict[str, str] | None = None,
                     **options) -> "RecurrentEnsemble":
        """Build from named per-member arrays, each of shape ``shapes[name]`` or [E, *shape].

        ``labels`` maps tensor names to the caller's argument names for error messages.
        """
        members, tensors = None, {}
        for name, value in arrays.items():
            t = value.detach().to("cpu", torch.float64) if torch.is_tensor(value) else \
                torch.as_tensor(np.asarray(value, dtype=np.float64))
            label = f"{labels[name]} ({name})" if labels and name in labels else name
            given = tuple(t.shape)
            if not torch.isfinite(t).all():
                raise ValueError(f"{cls.__name__}.from_weights: {label} (shape {given}) holds non-finite values")
            shape = shapes[name]
            if name == "h0" and t.dim() >= 1 and t.shape[-1] == sizes[1] != shape[0]:
                # only the hidden units given: the rest of the state starts at zero
                t = torch.cat([t, t.new_zeros(*t.shape[:-1], shape[0] - sizes[1])], -1)
            if t.dim() == len(shape):
                t = t.unsqueeze(0)
            if t.dim() != len(shape) + 1 or tuple(t.shape[1:]) != shape:
                raise ValueError(f"{cls.__name__}.from_weights: {label} has shape {given}, expected "
                                 f"{shape} or [E, *{shape}] for n_in={sizes[0]}, n_hidden={sizes[1]}, "
                                 f"n_out={sizes[2]}")
            if members is not None and t.shape[0] != members:
                raise ValueError(f"{cls.__name__}.from_weights: {label} has {t.shape[0]} members but an "
                                 f"earlier weight has {members}; every weight needs the same ensemble size")
            members = t.shape[0]
            tensors[name] = t
        dtype, device = options.pop("dtype", torch.float64), options.pop("device", "cpu")
        alphabet = options.pop("alphabet", None)
        net = cls(*sizes, members, dtype=dtype, device=device, alphabet=alphabet, **options)
        # Tensors the caller left out (h0, optional biases) take their constant default, never a draw.
        current = {s.name: np.broadcast_to(np.asarray(s.const, dtype=np.float64), (members, *s.shape)).copy()
                   for s in net._specs()}
        current.update(tensors)
        net._assign(current, f"{cls.__name__}.from_weights")
        return net

    # ---------------------------------------------------------------- members
    def _empty(self, ensemble: int) -> "RecurrentEnsemble":
        return type(self)(self.n_in, self.n_hidden, self.n_out, ensemble, dtype=self.dtype,
                          device=self.device, alphabet=self.alphabet, **self._options)

    def select(self, indices) -> "RecurrentEnsemble":
        """A new ensemble holding copies of the given members, in that order."""
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)
        if idx.numel() == 0 or (idx < 0).any() or (idx >= self.ensemble).any():
            raise ValueError(f"member indices must be a non-empty list in [0, {self.ensemble}), "
                             f"got {list(map(int, idx))}")
        new = self._empty(idx.numel())
        with torch.no_grad():
            for name, t in self._tensors().items():
                getattr(new, name).copy_(t[idx.to(t.device)])
        return new

    def member(self, i: int) -> "RecurrentEnsemble":
        """A one-member copy of member i (changing it leaves this ensemble alone)."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.ensemble:
            raise ValueError(f"member index must be an int in [0, {self.ensemble}), got {i!r}")
        return self.select([int(i)])

    def to_flat(self) -> torch.Tensor:
        """Trainable parameters as [E, P] (a detached copy), in ``named_parameters()`` order."""
        return torch.cat([getattr(self, n).detach().reshape(self.ensemble, -1) for n in self._trainable], 1)

    def load_flat(self, v) -> None:
        """Set the trainable parameters in place from [E, P] (the layout of :meth:`to_flat`)."""
        v = torch.as_tensor(v)
        want = (self.ensemble, self.n_params_per_member)
        if tuple(v.shape) != want:
            raise ValueError(f"load_flat expects shape {want} (E, n_params_per_member), got {tuple(v.shape)}")
        if not torch.isfinite(v).all():
            raise ValueError(f"load_flat: the array of shape {tuple(v.shape)} holds non-finite values")
        with torch.no_grad():
            start = 0
            for n in self._trainable:
                p = getattr(self, n)
                size = p[0].numel()
                p.copy_(v[:, start:start + size].reshape(p.shape))
                start += size

    def save(self, path) -> None:
        """Weights to ``path`` (safetensors) and a JSON sidecar ``path + '.json'``; see :mod:`.checkpoint`."""
        from .checkpoint import save

        save(self, path)

    # ------------------------------------------------------------------ input
    def _check_input(self, x, seq: bool) -> tuple[torch.Tensor, bool]:
        x = torch.as_tensor(x)
        base = 3 if seq else 2
        form = "[B,T,I] or [E,B,T,I]" if seq else "[B,I] or [E,B,I]"
        if x.dim() not in (base, base + 1) or x.shape[-1] != self.n_in:
            raise ValueError(f"input has shape {tuple(x.shape)}; expected {form} with I = n_in = {self.n_in}"
                             f" and E = {self.ensemble}")
        has_e = x.dim() == base + 1
        if has_e and x.shape[0] != self.ensemble:
            raise ValueError(f"input has shape {tuple(x.shape)}: ensemble size {x.shape[0]} but the network "
                             f"has E = {self.ensemble}; expected {form}")
        return x.to(dtype=self.dtype, device=self.device), has_e

    def _check_state(self, h, batch: int | None, what: str) -> torch.Tensor:
        h = torch.as_tensor(h)
        want = (self.ensemble, h.shape[1] if batch is None and h.dim() == 3 else batch, self.state_size)
        if h.dim() != 3 or tuple(h.shape) != want:
            raise ValueError(f"{what} has shape {tuple(h.shape)}; expected [E,B,S] = {want} "
                             f"(E = ensemble, S = state_size)")
        return h.to(dtype=self.dtype, device=self.device)

    # --------------------------------------------------------------- dynamics
    def initial_state(self, batch: int) -> torch.Tensor:
        """h0 repeated over a batch: [E, B, S] (differentiable when h0 is learned)."""
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 0:
            raise ValueError(f"batch must be an int >= 0, got {batch!r}")
        h0 = self.h0
        if h0.shape[1] < self.state_size:  # parts of the state that always start at zero
            h0 = torch.cat([h0, h0.new_zeros(self.ensemble, self.state_size - h0.shape[1])], 1)
        return h0[:, None, :].expand(self.ensemble, int(batch), self.state_size)

    def step(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """One time step: h [E,B,S], x [E,B,I] or [B,I] (shared by all members) -> [E,B,S]. Pure."""
        h = self._check_state(h, None, "state h")
        x, has_e = self._check_input(x, seq=False)
        if x.shape[-2] != h.shape[1]:
            raise ValueError(f"input has shape {tuple(x.shape)} but the state has batch {h.shape[1]} "
                             f"(state shape {tuple(h.shape)})")
        return self._advance(h, self._project(x, has_e))

    def forward(self, x, lengths=None, h0=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run padded sequences: x [B,T,I] (same for all members) or [E,B,T,I].

        Returns ``(logits [E,B,T,O], states [E,B,T,S])``: states[:, :, t] is the
        state after input t.  With ``lengths`` [B], a row's state is held after
        its last real input, so ``states[:, b, -1]`` is row b's final state and
        a row of length 0 holds h0 throughout.  ``h0``: [E,B,S] or None
        (:meth:`initial_state`).
        """
        x, has_e = self._check_input(x, seq=True)
        batch, steps = x.shape[-3], x.shape[-2]
        h = self.initial_state(batch) if h0 is None else self._check_state(h0, batch, "h0")
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=self.device)
            if lengths.shape != (batch,) or lengths.dtype.is_floating_point or \
                    (lengths < 0).any() or (lengths > steps).any():
                raise ValueError(f"lengths must be {batch} ints in [0, T={steps}], got shape "
                                 f"{tuple(lengths.shape)}: {lengths.tolist()}")
            if (lengths < steps).any():
                t = torch.arange(steps, device=self.device)
                mask = (t[:, None] < lengths[None, :])[:, None, :, None]  # [T,1,B,1]
        if steps == 0:
            states = h.new_zeros(self.ensemble, batch, 0, self.state_size)
            return self.readout(states), states
        from .fast import fast_forward  # fused whole-sequence paths where they apply (issue 10)

        fused = fast_forward(self, x, has_e, h, mask)
        if fused is not None:
            return fused
        # unbind, not p[t]: the backward of indexing would build a zero [T, ...] tensor per step
        p = self._project_seq(x, has_e).unbind(0)  # T x [(E,) B, P]
        # The loop runs _cell on the state's pieces (no split/concatenate per step; the same
        # arithmetic as step()), and concatenates the pieces once at the end.
        sizes = self._parts()
        parts = h.split(sizes, -1) if len(sizes) > 1 else (h,)
        out: list[list[torch.Tensor]] = [[] for _ in sizes]
        for t in range(steps):
            new = self._cell(parts, p[t])
            if mask is not None:
                new = tuple(torch.where(mask[t], n, o) for n, o in zip(new, parts))
            for k, piece in enumerate(new):
                out[k].append(piece)
            parts = new
        states = torch.cat([torch.stack(o, 2) for o in out], -1) if len(sizes) > 1 else torch.stack(out[0], 2)
        return self.readout(states), states


# ------------------------------------------------------------------ helpers
def linear_seq(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, has_e: bool) -> torch.Tensor:
    """Affine map of a whole sequence, time-major: x [B,T,K] or [E,B,T,K] -> [T,E,B,N] (one GEMM, one copy)."""
    e, n, k = w.shape
    if has_e:
        _, batch, steps, _ = x.shape
        out = torch.baddbmm(b[:, None, :], x.reshape(e, batch * steps, k), w.transpose(1, 2))
        return out.view(e, batch, steps, n).permute(2, 0, 1, 3).contiguous()
    batch, steps, _ = x.shape
    xt = x.transpose(0, 1).reshape(steps * batch, k)
    out = torch.addmm(b.reshape(1, e * n), xt, w.reshape(e * n, k).T)
    return out.view(steps, batch, e, n).permute(0, 2, 1, 3).contiguous()


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, has_e: bool) -> torch.Tensor:
    """Per-member affine map: x [E, ..., K] (or [..., K] shared by members), w [E,N,K], b [E,N] -> [E, ..., N]."""
    e, n, k = w.shape
    if has_e:
        lead = x.shape[1:-1]
        x3 = x.reshape(e, -1, k)
        out = torch.bmm(x3, w.transpose(1, 2)) if b is None else torch.baddbmm(b[:, None, :], x3, w.transpose(1, 2))
        return out.reshape(e, *lead, n)
    lead = x.shape[:-1]
    out = (x.reshape(-1, k) @ w.reshape(e * n, k).T).reshape(-1, e, n).transpose(0, 1)
    if b is not None:
        out = out + b[:, None, :]
    return out.reshape(e, *lead, n)
