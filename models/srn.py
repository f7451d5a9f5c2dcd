"""Elman's simple recurrent network and Jordan's output-feedback network, as ensembles.

SRN (Elman 1990, "Finding structure in time", Cognitive Science 14, section 2):

    h_t = f(U x_t + W h_{t-1} + b),    y_t = V h_t + c  [+ D x_t with shortcut]

Jordan network (Jordan 1986, "Serial order: a parallel distributed processing
approach", ICS report 8604): the *output* is fed back through state units,

    h_t = f(U x_t + W s_{t-1} + b),    y_t = V h_t + c,    s_t = mu s_{t-1} + g(y_t)

with g the network's ``output_activation`` and mu the ``decay`` option (0: the
context is the previous output, as Elman 1990 describes Jordan's net).
"""

from __future__ import annotations

import torch

from . import stack
from .base import ACTIVATIONS, RecurrentEnsemble, Spec, linear, linear_seq

__all__ = ["SRN", "Jordan"]


class SRN(RecurrentEnsemble):
    """Elman SRN ensemble.  Parameters (leading dim E):

    ``w_ih`` U [E,H,I] input->hidden, ``w_hh`` W [E,H,H] hidden->hidden (context),
    ``b_h`` b [E,H], ``w_ho`` V [E,O,H] hidden->output, ``b_o`` c [E,O],
    ``w_io`` D [E,O,I] input->output (only with ``shortcut=True``),
    ``h0`` [E,H] initial hidden state.

    State: h, S = H; with ``shortcut=True`` the state is [h_t, x_t] (S = H + I)
    so that ``readout(state)`` can add D x_t and ``step`` stays pure; the x part
    of the initial state is zero.

    Options: ``activation`` f: "tanh" (default) | "sigmoid" (the 1990 papers) |
    "relu"; ``shortcut`` (False); ``h0`` ("zeros" | float | "learned" | "fixed");
    ``init`` "uniform" (every weight and bias from U(-r, r), r = ``init_range``,
    default 0.5, as in the old papers, which each state their own r) or "torch"
    (torch.nn.RNN / torch.nn.Linear: U(-1/sqrt(H), 1/sqrt(H)) for U, W, b and
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for V, c, D with fan_in = H (+ I with
    shortcut)); ``output_activation`` ("sigmoid" default | "identity" | "tanh").

    ``leak`` alpha (leaky-integrator units; Jaeger et al. 2007, "Optimization and
    applications of echo state networks with leaky-integrator neurons", eq. 2;
    Bengio, Boulanger-Lewandowski & Pascanu 2013, section 3.2):
    h_t = (1 - alpha) h_{t-1} + alpha f(U x_t + W h_{t-1} + b).  A float in (0, 1]
    (1.0, the default, is the plain SRN), a list of floats in (0, 1] per unit
    (length n_layers * n_hidden, layer-major), or "learned": a per-member,
    per-unit parameter ``leak_logit`` [E, L*H] with alpha = sigmoid(leak_logit),
    so alpha stays in (0, 1); it starts at 0 (alpha = 1/2).
    ``n_layers`` (1): stacked layers, see :mod:`.stack` (state layout
    [h^1, ..., h^L (, x_t)], readout from h^L, layer l+1's weights
    ``w_ih_l{l}`` [E,H,H], ``w_hh_l{l}``, ``b_h_l{l}``).
    """

    kind = "srn"
    summary = "Elman simple recurrent network: h = f(U x + W h + b), y = V h + c (+ D x shortcut)"
    DEFAULTS = {"activation": "tanh", "shortcut": False, "h0": "zeros", "init": "uniform",
                "init_range": 0.5, "output_activation": "sigmoid", "leak": 1.0, "n_layers": 1}

    def _check_option(self, key: str, value):
        if key == "n_layers":
            return stack.check_n_layers(value)
        if key == "leak":
            return _check_leak(value)
        return super()._check_option(key, value)

    @property
    def state_size(self) -> int:
        return self.n_hidden * self._options["n_layers"] + (self.n_in if self._options["shortcut"] else 0)

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        shortcut = self._options["shortcut"]
        rec, out = self._bound(h), self._bound(h + (i if shortcut else 0))
        specs = [Spec("w_ih", (h, i), rec), Spec("w_hh", (h, h), rec), Spec("b_h", (h,), rec)]
        for layer in range(1, self._options["n_layers"]):
            sfx = stack.suffix(layer)
            specs += [Spec("w_ih" + sfx, (h, h), rec), Spec("w_hh" + sfx, (h, h), rec), Spec("b_h" + sfx, (h,), rec)]
        leak = self._options["leak"]
        if isinstance(leak, tuple) and len(leak) != h * self._options["n_layers"]:
            raise ValueError(f"option leak has {len(leak)} values; a per-unit leak needs n_layers * n_hidden = "
                             f"{h * self._options['n_layers']}")
        if leak == "learned":
            specs.append(Spec("leak_logit", (h * self._options["n_layers"],), None, 0.0))
        specs += [Spec("w_ho", (o, h), out), Spec("b_o", (o,), out)]
        if shortcut:
            specs.append(Spec("w_io", (o, i), out))
        if self._options["n_layers"] > 1:
            return specs + [stack.h0_spec(self, 1)]
        return specs + [self._h0_spec(h)]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        p = linear(x, self.w_ih, self.b_h, has_e)
        if self._options["shortcut"]:
            p = torch.cat([p, x.expand(*p.shape[:-1], self.n_in)], -1)
        return p

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        if self._options["shortcut"]:
            return super()._project_seq(x, has_e)
        return linear_seq(x, self.w_ih, self.b_h, has_e)

    def _parts(self) -> tuple[int, ...]:
        layers = (self.n_hidden,) * self._options["n_layers"]
        return layers + (self.n_in,) if self._options["shortcut"] else layers

    def _cell(self, parts, p):
        f = ACTIVATIONS[self._options["activation"]]
        if self._options["n_layers"] > 1 or self._options["leak"] != 1.0:  # stacked and/or leaky units
            if not self._options["shortcut"]:
                return stack.cell(self, parts, p, 1, "b_h")
            p_h, x = p.split((self.n_hidden, self.n_in), -1)
            return stack.cell(self, parts[:-1], p_h, 1, "b_h") + (x,)
        if not self._options["shortcut"]:
            return (f(torch.baddbmm(p, parts[0], self.w_hh.transpose(1, 2))),)
        p_h, x = p.split(self._parts(), -1)
        return f(torch.baddbmm(p_h, parts[0], self.w_hh.transpose(1, 2))), x

    def _layer(self, parts, p, layer: int):
        """One layer of the stack (:func:`.stack.cell`): f(p + W h), then the leak, on (h,) -> (h_next,)."""
        h = parts[0]
        new = ACTIVATIONS[self._options["activation"]](
            torch.baddbmm(p, h, getattr(self, "w_hh" + stack.suffix(layer)).transpose(1, 2)))
        leak = self._options["leak"]
        if leak == 1.0:
            return (new,)
        n = self.n_hidden
        if leak == "learned":
            alpha = torch.sigmoid(self.leak_logit[:, None, layer * n:(layer + 1) * n])
        elif isinstance(leak, tuple):
            alpha = h.new_tensor(leak[layer * n:(layer + 1) * n])
        else:
            alpha = leak
        return (torch.lerp(h, new, alpha),)  # (1 - alpha) h + alpha f(...); exactly f(...) where alpha = 1

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c (+ D x with shortcut): states [E, ..., S] -> logits [E, ..., O]."""
        n = self.n_hidden
        y = linear(h[..., stack.readout_slice(self, 1)], self.w_ho, self.b_o, True)
        if self._options["shortcut"]:
            y = y + linear(h[..., n * self._options["n_layers"]:], self.w_io, None, True)
        return y

    @classmethod
    def from_weights(cls, U, W, V, b=None, c=None, h0=None, D=None, layers=None, **options) -> "SRN":
        """An SRN from given matrices: h_t = f(U x_t + W h_{t-1} + b), y = V h + c (+ D x).

        Shapes per member: U [H,I], W [H,H], b [H], V [O,H], c [O], D [O,I],
        h0 [H] (stacked: [L*H]); each may carry a leading E.  Arrays, lists or
        tensors.  b, c default to zeros; giving D switches ``shortcut`` on; giving
        h0 makes it a fixed buffer (``h0="learned"`` to train it).  ``layers``:
        the weights of layers 2..L of a stack, ``[{"U": [H,H], "W": [H,H], "b": [H]}, ...]``
        (sets ``n_layers``).  ``dtype`` defaults to float64.
        """
        u, v = torch.as_tensor(U), torch.as_tensor(V)
        sizes = (u.shape[-1], u.shape[-2] if u.dim() >= 2 else 0, v.shape[-2] if v.dim() >= 2 else 0)
        arrays = {"w_ih": U, "w_hh": W, "w_ho": V}
        for name, value in (("b_h", b), ("b_o", c), ("h0", h0), ("w_io", D)):
            if value is not None:
                arrays[name] = value
        if D is not None:
            options.setdefault("shortcut", True)
        if h0 is not None:
            options.setdefault("h0", "fixed")
        h, i, o = sizes[1], sizes[0], sizes[2]
        shapes = {"w_ih": (h, i), "w_hh": (h, h), "b_h": (h,), "w_ho": (o, h), "b_o": (o,),
                  "w_io": (o, i), "h0": (h,)}
        labels = {"w_ih": "U", "w_hh": "W", "b_h": "b", "w_ho": "V", "b_o": "c", "w_io": "D", "h0": "h0"}
        stack.layer_arrays(cls.__name__, layers, {"U": "w_ih", "W": "w_hh", "b": "b_h"},
                           {"w_ih": (h, h), "w_hh": (h, h), "b_h": (h,)}, arrays, shapes, labels, options)
        shapes["h0"] = (h * options.get("n_layers", 1),)
        return cls._from_arrays(arrays, shapes, sizes, labels=labels, **options)

    @classmethod
    def from_torch(cls, rnns, readouts, **options) -> "SRN":
        """From E one-layer ``torch.nn.RNN`` modules and E ``torch.nn.Linear`` readouts (lists or single).

        U = weight_ih_l0, W = weight_hh_l0, b = bias_ih_l0 + bias_hh_l0, V, c =
        the Linear's weight and bias; the activation is the RNN's nonlinearity.
        """
        rnns = list(rnns) if isinstance(rnns, (list, tuple)) else [rnns]
        readouts = list(readouts) if isinstance(readouts, (list, tuple)) else [readouts]
        for r in rnns:
            if r.num_layers != 1 or r.bidirectional or not r.bias:
                raise ValueError("from_torch takes one-layer, unidirectional torch.nn.RNN modules with bias")
        options.setdefault("activation", rnns[0].nonlinearity)
        return cls.from_weights(
            U=torch.stack([r.weight_ih_l0.detach() for r in rnns]),
            W=torch.stack([r.weight_hh_l0.detach() for r in rnns]),
            b=torch.stack([(r.bias_ih_l0 + r.bias_hh_l0).detach() for r in rnns]),
            V=torch.stack([m.weight.detach() for m in readouts]),
            c=torch.stack([m.bias.detach() for m in readouts]), **options)


def _check_leak(value):
    """The ``leak`` option: a float in (0, 1], a list of them (per unit), or "learned"."""
    def ok(v):
        return not isinstance(v, bool) and isinstance(v, (int, float)) and 0.0 < v <= 1.0

    if value == "learned":
        return value
    if ok(value):
        return float(value)
    if isinstance(value, (list, tuple)) and value and all(ok(v) for v in value):
        return tuple(float(v) for v in value)
    raise ValueError(f"option leak must be a float in (0, 1], a list of floats in (0, 1] (one per unit) or "
                     f"'learned', got {value!r}")


class Jordan(SRN):
    """Jordan network ensemble: the output, not the hidden layer, is fed back.

    Parameters: ``w_ih`` U [E,H,I], ``w_sh`` W [E,H,O] state(output)->hidden,
    ``b_h`` [E,H], ``w_ho`` V [E,O,H], ``b_o`` c [E,O], ``h0`` [E,H+O].

    State: [h_t, s_t] with S = H + O; s_t = decay * s_{t-1} + g(V h_t + c) is the
    context the next step reads, so ``step`` is pure and ``readout(state)`` is
    V h_t + c.  The initial context is zero (Jordan 1986 resets the state units
    at the start of a sequence); a float ``h0`` fills only the hidden part.
    Options as :class:`SRN` (no shortcut) plus ``decay`` mu (default 0.0).
    """

    kind = "jordan"
    summary = "Jordan network: the output g(V h + c) is fed back as context (decay mu)"
    DEFAULTS = {"activation": "tanh", "decay": 0.0, "h0": "zeros", "init": "uniform",
                "init_range": 0.5, "output_activation": "sigmoid"}

    @property
    def state_size(self) -> int:
        return self.n_hidden + self.n_out

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        rec = self._bound(h)
        return [Spec("w_ih", (h, i), rec), Spec("w_sh", (h, o), rec), Spec("b_h", (h,), rec),
                Spec("w_ho", (o, h), rec), Spec("b_o", (o,), rec), self._h0_spec(h + o)]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear(x, self.w_ih, self.b_h, has_e)

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear_seq(x, self.w_ih, self.b_h, has_e)

    def _parts(self) -> tuple[int, ...]:
        return (self.n_hidden, self.n_out)

    def _cell(self, parts, p):
        f = ACTIVATIONS[self._options["activation"]]
        s = parts[1]
        h_next = f(torch.baddbmm(p, s, self.w_sh.transpose(1, 2)))
        s_next = self.squash(linear(h_next, self.w_ho, self.b_o, True))
        if self._options["decay"] != 0.0:
            s_next = s_next + self._options["decay"] * s
        return h_next, s_next

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c from states [E, ..., H+O] -> [E, ..., O]."""
        return linear(h[..., : self.n_hidden], self.w_ho, self.b_o, True)

    @classmethod
    def from_weights(cls, U, W, V, b=None, c=None, h0=None, **options) -> "Jordan":
        """A Jordan net: U [H,I], W [H,O] (context->hidden), b [H], V [O,H], c [O], h0 [H] or [H+O]."""
        u, v = torch.as_tensor(U), torch.as_tensor(V)
        sizes = (u.shape[-1], u.shape[-2] if u.dim() >= 2 else 0, v.shape[-2] if v.dim() >= 2 else 0)
        i, h, o = sizes
        arrays = {"w_ih": U, "w_sh": W, "w_ho": V}
        for name, value in (("b_h", b), ("b_o", c), ("h0", h0)):
            if value is not None:
                arrays[name] = value
        if h0 is not None:
            options.setdefault("h0", "fixed")
        shapes = {"w_ih": (h, i), "w_sh": (h, o), "b_h": (h,), "w_ho": (o, h), "b_o": (o,), "h0": (h + o,)}
        labels = {"w_ih": "U", "w_sh": "W", "b_h": "b", "w_ho": "V", "b_o": "c", "h0": "h0"}
        return cls._from_arrays(arrays, shapes, sizes, labels=labels, **options)

    @classmethod
    def from_torch(cls, *args, **kwargs):
        raise ValueError("torch has no Jordan network; use Jordan.from_weights")
