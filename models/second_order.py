"""Second-order (gated) recurrent networks: Pollack (1991), Giles et al. (1992).

The seed formula (DESIGN.md; Pollack 1991, "The induction of dynamical
recognizers", Machine Learning 7, section 3; Giles et al. 1992, "Learning and
extracting finite state automata with second-order recurrent neural networks",
Neural Computation 4, eq. 1): one weight matrix per input symbol sigma, bias in
column 0,

    x_t^j = f(W_sigma^{j0} + sum_k W_sigma^{jk} x_{t-1}^k),     z = tanh(P_0 + sum_j P_j x_n^j)

For an input vector that is not one-hot the matrices are mixed by the input,
Giles's third-order tensor form with the state augmented by a constant 1:

    x_t^j = f(sum_s u_t^s (W_s^{j0} + sum_k W_s^{jk} x_{t-1}^k))

which reduces to the seed formula for one-hot u_t.  A string is accepted when
z > 0 (readout > 0).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import ACTIVATIONS, RecurrentEnsemble, Spec, linear

__all__ = ["SecondOrder"]


class SecondOrder(RecurrentEnsemble):
    """Second-order network ensemble.  Parameters (leading dim E):

    ``w`` [E, I, H, H+1]: W_s for each input symbol s, column 0 the bias;
    ``p_out`` [E, O, H+1]: readout P, column 0 the bias; ``h0`` [E, H].

    State: x (the hidden units), S = H.  ``readout`` returns the pre-tanh value
    P_0 + sum_j P_j x^j; ``output_activation`` is "tanh" by default.

    Options: ``activation`` f of the state ("tanh", the seed formula; "sigmoid"
    as in Giles et al. 1992; "relu"); ``h0``; ``init`` "uniform" (U(-r, r),
    ``init_range`` r default 1.0) or "torch" (U(-1/sqrt(H+1), 1/sqrt(H+1)));
    ``output_activation``.
    """

    kind = "second_order"
    summary = "second-order (gated) network: x_t = f(W_sigma [1; x_{t-1}]), z = tanh(P [1; x_n])"
    DEFAULTS = {"activation": "tanh", "h0": "zeros", "init": "uniform", "init_range": 1.0,
                "output_activation": "tanh"}

    @property
    def state_size(self) -> int:
        return self.n_hidden

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        bound = self._bound(h + 1)
        return [Spec("w", (i, h, h + 1), bound), Spec("p_out", (o, h + 1), bound), self._h0_spec(h)]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return x  # the input gates the weights; nothing to precompute

    def _cell(self, parts, u):
        h = parts[0]
        e, i, n = self.ensemble, self.n_in, self.n_hidden
        ones = h.new_ones(*h.shape[:-1], 1)
        hb = torch.cat([ones, h], -1)  # [E,B,H+1]
        a = torch.bmm(hb, self.w.reshape(e, i * n, n + 1).transpose(1, 2))  # [E,B,I*H]: W_s [1; x] for all s
        a = a.reshape(e, h.shape[1], i, n)
        return (ACTIVATIONS[self._options["activation"]]((u.unsqueeze(-1) * a).sum(-2)),)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """P_0 + sum_j P_j x^j: states [E, ..., H] -> [E, ..., O] (pre-tanh)."""
        return linear(h, self.p_out[..., 1:], self.p_out[..., 0], True)

    @classmethod
    def from_weights(cls, W, P, h0=None, **options) -> "SecondOrder":
        """From published matrices: W = [W_0, W_1, ...] (one [H, H+1] matrix per symbol, bias in column 0).

        Single network: W [I, H, H+1], P [H+1] (one output) or [O, H+1].
        Ensemble: W [E, I, H, H+1], P [E, H+1] or [E, O, H+1].
        h0 [H] or [E, H] makes the initial state a fixed buffer.  dtype float64 by default.
        """
        w = W.detach().double().cpu() if torch.is_tensor(W) else torch.as_tensor(np.asarray(W, dtype=np.float64))
        p = P.detach().double().cpu() if torch.is_tensor(P) else torch.as_tensor(np.asarray(P, dtype=np.float64))
        if w.dim() not in (3, 4) or w.shape[-1] != w.shape[-2] + 1:
            raise ValueError(f"SecondOrder.from_weights: W has shape {tuple(w.shape)}; expected [I, H, H+1] "
                             f"(one matrix per symbol, bias in column 0) or [E, I, H, H+1]")
        single = w.dim() == 3
        if p.dim() == (1 if single else 2):
            p = p.unsqueeze(-2)  # one output unit
        if p.dim() != (2 if single else 3):
            raise ValueError(f"SecondOrder.from_weights: P has shape {tuple(p.shape)}; expected "
                             + ("[H+1] or [O, H+1]" if single else "[E, H+1] or [E, O, H+1]")
                             + f" with W of shape {tuple(w.shape)}")
        i, h = w.shape[-3], w.shape[-2]
        sizes = (i, h, p.shape[-2])
        arrays = {"w": w, "p_out": p}
        if h0 is not None:
            arrays["h0"] = h0
            options.setdefault("h0", "fixed")
        shapes = {"w": (i, h, h + 1), "p_out": (p.shape[-2], h + 1), "h0": (h,)}
        return cls._from_arrays(arrays, shapes, sizes, labels={"w": "W", "p_out": "P", "h0": "h0"}, **options)
