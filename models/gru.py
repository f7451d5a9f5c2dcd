"""Gated recurrent units as an ensemble, in the seed lecture's convention
(Chung, Gulcehre, Cho & Bengio 2014, "Empirical evaluation of gated recurrent
neural networks on sequence modeling", eqs. 5-8; Cho et al. 2014 with z swapped):

    r_t = sigma(W_r x_t + U_r h_{t-1} + b_r)
    z_t = sigma(W_z x_t + U_z h_{t-1} + b_z)
    h~_t = tanh(W_n x_t + U_n (r_t * h_{t-1}) + b_n)                 (reset_after=False, default)
    h~_t = tanh(W_n x_t + b_n + r_t * (U_n h_{t-1} + b_hn))          (reset_after=True: torch/cuDNN)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t,        y_t = V h_t + c

torch.nn.GRU computes h_t = (1 - z'_t) * n_t + z'_t * h_{t-1} (Cho et al. 2014's
orientation), so its update gate is z' = 1 - z: :meth:`GRU.from_torch` negates
the z rows and z biases (sigma(-a) = 1 - sigma(a)), and needs ``reset_after=True``.
The stacked gate order is (r, z, n), as in torch.nn.GRU.
"""

from __future__ import annotations

import numpy as np
import torch

from . import stack
from .base import RecurrentEnsemble, Spec, linear, linear_seq

__all__ = ["GRU"]


class GRU(RecurrentEnsemble):
    """GRU ensemble.  Parameters (leading dim E):

    ``w_ih`` [E,3H,I], ``w_hh`` [E,3H,H] (rows r, z, n), ``b`` [E,3H] (input-side
    biases), ``b_hn`` [E,H] (only with ``reset_after=True``: the bias inside the
    reset product), ``w_ho`` V [E,O,H], ``b_o`` c [E,O], ``h0`` [E,H].

    State: h, S = H.  Options: ``reset_after`` (False: the lecture's / Chung et
    al.'s U_n (r * h); True: torch's r * (U_n h + b_hn)); ``h0``; ``init``
    "uniform" (U(-r, r), ``init_range`` default 0.1) or "torch"
    (U(-1/sqrt(H), 1/sqrt(H)) everywhere); ``output_activation`` ("sigmoid");
    ``n_layers`` (1): stacked layers, see :mod:`.stack` (state [h^1, ..., h^L],
    readout from h^L; layer l+1's weights ``w_ih_l{l}`` [E,3H,H], ``w_hh_l{l}``,
    ``b_l{l}``, ``b_hn_l{l}``).
    """

    kind = "gru"
    summary = "GRU, h = (1-z) h + z h~ (Chung et al. 2014); reset_after=True matches torch.nn.GRU"
    DEFAULTS = {"reset_after": False, "h0": "zeros", "init": "uniform", "init_range": 0.1,
                "output_activation": "sigmoid", "n_layers": 1}

    def _check_option(self, key: str, value):
        if key == "n_layers":
            return stack.check_n_layers(value)
        return super()._check_option(key, value)

    @property
    def state_size(self) -> int:
        return self.n_hidden * self._options["n_layers"]

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        bound = self._bound(h)
        specs = []
        for layer in range(self._options["n_layers"]):
            sfx, fan = stack.suffix(layer), i if layer == 0 else h
            specs += [Spec("w_ih" + sfx, (3 * h, fan), bound), Spec("w_hh" + sfx, (3 * h, h), bound),
                      Spec("b" + sfx, (3 * h,), bound)]
            if self._options["reset_after"]:
                specs.append(Spec("b_hn" + sfx, (h,), bound))
        h0 = stack.h0_spec(self, 1) if self._options["n_layers"] > 1 else self._h0_spec(h)
        return specs + [Spec("w_ho", (o, h), bound), Spec("b_o", (o,), bound), h0]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear(x, self.w_ih, self.b, has_e)

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear_seq(x, self.w_ih, self.b, has_e)

    def _parts(self) -> tuple[int, ...]:
        return (self.n_hidden,) * self._options["n_layers"]

    def _cell(self, parts, p):
        if self._options["n_layers"] > 1:
            return stack.cell(self, parts, p, 1, "b")
        h = parts[0]
        n = self.n_hidden
        p_rz, p_n = p.split((2 * n, n), -1)
        if self._options["reset_after"]:
            hh_rz, hh_n = torch.bmm(h, self.w_hh.transpose(1, 2)).split((2 * n, n), -1)
            r, z = torch.sigmoid(p_rz + hh_rz).split(n, -1)
            cand = torch.tanh(p_n + r * (hh_n + self.b_hn[:, None, :]))
        else:
            w_rz, w_n = self.w_hh.split((2 * n, n), 1)
            r, z = torch.sigmoid(torch.baddbmm(p_rz, h, w_rz.transpose(1, 2))).split(n, -1)
            cand = torch.tanh(torch.baddbmm(p_n, r * h, w_n.transpose(1, 2)))
        return ((1 - z) * h + z * cand,)

    def _layer(self, parts, p, layer: int):
        """One layer of a stack (:func:`.stack.cell`), the equations of the module docstring."""
        h, n, sfx = parts[0], self.n_hidden, stack.suffix(layer)
        w_hh = getattr(self, "w_hh" + sfx)
        p_rz, p_n = p.split((2 * n, n), -1)
        if self._options["reset_after"]:
            hh_rz, hh_n = torch.bmm(h, w_hh.transpose(1, 2)).split((2 * n, n), -1)
            r, z = torch.sigmoid(p_rz + hh_rz).split(n, -1)
            cand = torch.tanh(p_n + r * (hh_n + getattr(self, "b_hn" + sfx)[:, None, :]))
        else:
            w_rz, w_n = w_hh.split((2 * n, n), 1)
            r, z = torch.sigmoid(torch.baddbmm(p_rz, h, w_rz.transpose(1, 2))).split(n, -1)
            cand = torch.tanh(torch.baddbmm(p_n, r * h, w_n.transpose(1, 2)))
        return ((1 - z) * h + z * cand,)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c: states [E, ..., S] (the last layer's h) -> [E, ..., O]."""
        if self._options["n_layers"] > 1:
            h = h[..., stack.readout_slice(self, 1)]
        return linear(h, self.w_ho, self.b_o, True)

    @classmethod
    def from_weights(cls, W_ih, W_hh, V, b=None, c=None, b_hn=None, h0=None, layers=None, **options) -> "GRU":
        """From matrices (rows r, z, n; the lecture's z): W_ih [3H,I], W_hh [3H,H], b [3H],
        b_hn [H] (switches ``reset_after`` on), V [O,H], c [O], h0 [H]; each may carry a leading E.
        ``layers``: layers 2..L of a stack, ``[{"W_ih": [3H,H], "W_hh": [3H,H], "b": [3H],
        "b_hn": [H]}, ...]`` (sets ``n_layers``); h0 then [L*H] or [H]."""
        w = torch.as_tensor(np.asarray(W_ih, dtype=np.float64)) if not torch.is_tensor(W_ih) else W_ih
        v = torch.as_tensor(np.asarray(V, dtype=np.float64)) if not torch.is_tensor(V) else V
        i, h, o = w.shape[-1], w.shape[-2] // 3, v.shape[-2] if v.dim() >= 2 else 0
        arrays = {"w_ih": W_ih, "w_hh": W_hh, "w_ho": V}
        for name, value in (("b", b), ("b_o", c), ("b_hn", b_hn), ("h0", h0)):
            if value is not None:
                arrays[name] = value
        if b_hn is not None:
            options.setdefault("reset_after", True)
        if h0 is not None:
            options.setdefault("h0", "fixed")
        shapes = {"w_ih": (3 * h, i), "w_hh": (3 * h, h), "b": (3 * h,), "b_hn": (h,),
                  "w_ho": (o, h), "b_o": (o,), "h0": (h,)}
        labels = {"w_ih": "W_ih", "w_hh": "W_hh", "b": "b",
                  "b_hn": "b_hn", "w_ho": "V", "b_o": "c", "h0": "h0"}
        stack.layer_arrays(cls.__name__, layers, {"W_ih": "w_ih", "W_hh": "w_hh", "b": "b", "b_hn": "b_hn"},
                           {"w_ih": (3 * h, h), "w_hh": (3 * h, h), "b": (3 * h,), "b_hn": (h,)},
                           arrays, shapes, labels, options)
        shapes["h0"] = (h * options.get("n_layers", 1),)
        return cls._from_arrays(arrays, shapes, (i, h, o), labels=labels, **options)

    @classmethod
    def from_torch(cls, grus, readouts, **options) -> "GRU":
        """From E one-layer ``torch.nn.GRU`` modules and E ``torch.nn.Linear`` readouts.

        Maps torch's update gate z' to the lecture's z = 1 - z' by negating the z
        rows of both matrices and the z bias; b_r = b_ir + b_hr, b_z = -(b_iz + b_hz),
        b_n = b_in, b_hn = b_hn; ``reset_after=True``.
        """
        grus = list(grus) if isinstance(grus, (list, tuple)) else [grus]
        readouts = list(readouts) if isinstance(readouts, (list, tuple)) else [readouts]
        for m in grus:
            if m.num_layers != 1 or m.bidirectional or not m.bias:
                raise ValueError("from_torch takes one-layer, unidirectional torch.nn.GRU modules with bias")
        if options.get("reset_after", True) is not True:
            raise ValueError("torch.nn.GRU applies the reset gate after U_n h: from_torch needs reset_after=True")
        options["reset_after"] = True
        n = grus[0].hidden_size
        sign = torch.ones(3 * n, 1, dtype=torch.float64)
        sign[n:2 * n] = -1.0
        w_ih = torch.stack([m.weight_ih_l0.detach().double() * sign for m in grus])
        w_hh = torch.stack([m.weight_hh_l0.detach().double() * sign for m in grus])
        b = torch.stack([torch.cat([m.bias_ih_l0[:n] + m.bias_hh_l0[:n], -(m.bias_ih_l0[n:2 * n] + m.bias_hh_l0[n:2 * n]),
                                    m.bias_ih_l0[2 * n:]]).detach().double() for m in grus])
        b_hn = torch.stack([m.bias_hh_l0[2 * n:].detach().double() for m in grus])
        return cls.from_weights(W_ih=w_ih, W_hh=w_hh, b=b, b_hn=b_hn,
                                V=torch.stack([m.weight.detach() for m in readouts]),
                                c=torch.stack([m.bias.detach() for m in readouts]), **options)
