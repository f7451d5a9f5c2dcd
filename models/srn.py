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
    """

    kind = "srn"
    summary = "Elman simple recurrent network: h = f(U x + W h + b), y = V h + c (+ D x shortcut)"
    DEFAULTS = {"activation": "tanh", "shortcut": False, "h0": "zeros", "init": "uniform",
                "init_range": 0.5, "output_activation": "sigmoid"}

    @property
    def state_size(self) -> int:
        return self.n_hidden + (self.n_in if self._options["shortcut"] else 0)

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        shortcut = self._options["shortcut"]
        rec, out = self._bound(h), self._bound(h + (i if shortcut else 0))
        specs = [Spec("w_ih", (h, i), rec), Spec("w_hh", (h, h), rec), Spec("b_h", (h,), rec),
                 Spec("w_ho", (o, h), out), Spec("b_o", (o,), out)]
        if shortcut:
            specs.append(Spec("w_io", (o, i), out))
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
        return (self.n_hidden, self.n_in) if self._options["shortcut"] else (self.n_hidden,)

    def _cell(self, parts, p):
        f = ACTIVATIONS[self._options["activation"]]
        if not self._options["shortcut"]:
            return (f(torch.baddbmm(p, parts[0], self.w_hh.transpose(1, 2))),)
        p_h, x = p.split(self._parts(), -1)
        return f(torch.baddbmm(p_h, parts[0], self.w_hh.transpose(1, 2))), x

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c (+ D x with shortcut): states [E, ..., S] -> logits [E, ..., O]."""
        n = self.n_hidden
        y = linear(h[..., :n], self.w_ho, self.b_o, True)
        if self._options["shortcut"]:
            y = y + linear(h[..., n:], self.w_io, None, True)
        return y

    @classmethod
    def from_weights(cls, U, W, V, b=None, c=None, h0=None, D=None, **options) -> "SRN":
        """An SRN from given matrices: h_t = f(U x_t + W h_{t-1} + b), y = V h + c (+ D x).

        Shapes per member: U [H,I], W [H,H], b [H], V [O,H], c [O], D [O,I],
        h0 [H]; each may carry a leading E.  Arrays, lists or tensors.  b, c
        default to zeros; giving D switches ``shortcut`` on; giving h0 makes it a
        fixed buffer (``h0="learned"`` to train it).  ``dtype`` defaults to float64.
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
