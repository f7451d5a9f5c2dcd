"""Gradient flow through time: how the error at step t reaches the state at step tau <= t.

Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent
neural networks", ICML, section 2 (eqs. 3-5, and 7 for the bound): with
h_k = F(h_{k-1}, x_k) the network's ``step``,

    dL_t/dh_tau = dL_t/dh_t  *  prod_{k = tau+1}^{t} dh_k/dh_{k-1}        (row vector times Jacobians)

so the gradient that reaches h_tau from the loss at t shrinks or grows as the
product of Jacobians J_t J_{t-1} ... J_{tau+1} does: its spectral radius and
its largest singular value (spectral norm) against the distance t - tau show
vanishing (< 1, decaying geometrically) or exploding (> 1) gradients
(Bengio, Simard & Frasconi 1994; Hochreiter 1991).  The LSTM's cell state
carries a Jacobian near the identity where its forget gate is open, the SRN's
tanh layer does not (Hochreiter & Schmidhuber 1997, section 3).

Everything runs for every member and every string at once: the states along
the strings come from ``net.step`` (float64), the Jacobians J_k of all steps
from one batched call (S vector-Jacobian products), and the products by
batched matrix multiplication.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ._common import analysis_copy, encode_strings, run_states

__all__ = ["GradientFlow", "gradient_flow", "step_jacobians"]

LOSSES = ("ce", "mse", "sum")


def step_jacobians(net, h_prev: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Jacobians of ``net.step`` at many points at once: ``J[e, n, i, j] = d step(h, x)_i / d h_j``.

    h_prev: [E, N, S] states, x: [E, N, I] or [N, I] inputs (one step each).
    Returns [E, N, S, S].  The N points are independent (a step acts row by
    row), so row i of every Jacobian is one backward pass of the sum of the
    i-th outputs: S passes in all, whatever E and N.
    """
    with torch.enable_grad():
        h = h_prev.detach().clone().requires_grad_(True)
        out = net.step(h, x)
        S = out.shape[-1]
        rows = []
        for i in range(S):
            g = torch.autograd.grad(out[..., i].sum(), h, retain_graph=i < S - 1, allow_unused=True)[0]
            rows.append(torch.zeros_like(h) if g is None else g)
    return torch.stack(rows, -2).detach()


@dataclass
class GradientFlow:
    """Norms of dL_t/dh_tau and the spectra of the Jacobian products, per member and string.

    Time indexes states: h_0 is the initial state, h_t the state after input t
    (t = 1..T), and L_t the loss on the readout of h_t.  Entries that were not
    computed (tau > t, t not a loss position of the row, t past its length) are NaN.

    Attributes:
        norms: [E, B, T+1, T+1] ``norms[e, b, t, tau] = ||dL_t/dh_tau||`` (Euclidean).
        radius: [E, B, T+1, T+1] spectral radius of J_t ... J_{tau+1} (1 where tau = t).
        spectral_norm: [E, B, T+1, T+1] its largest singular value.
        positions: [B, T+1] bool, the loss positions t of each row.
        lengths: [B] real inputs per row.
        members: original member index of each of the E rows.
        strings: the strings (None when raw inputs were given).
        kind: the network's kind; loss: the loss's name.
    """

    norms: np.ndarray
    radius: np.ndarray
    spectral_norm: np.ndarray
    positions: np.ndarray
    lengths: np.ndarray
    members: list
    strings: tuple | None
    kind: str
    loss: str

    def by_distance(self, what: str = "norms") -> np.ndarray:
        """[E, T+1]: geometric mean over rows and loss positions of ``what`` at distance d = t - tau.

        ``what``: "norms" | "radius" | "spectral_norm".  NaN where no entry lies
        at that distance; zeros are left out of the mean (they have no logarithm).
        """
        if what not in ("norms", "radius", "spectral_norm"):
            raise ValueError(f"what must be 'norms', 'radius' or 'spectral_norm', got {what!r}")
        values = getattr(self, what)
        E, _, T1, _ = values.shape
        t, tau = np.meshgrid(np.arange(T1), np.arange(T1), indexing="ij")
        out = np.full((E, T1), np.nan)
        with np.errstate(divide="ignore"):
            logs = np.log(values)
        for d in range(T1):
            sel = logs[:, :, t - tau == d]  # [E, B, n]
            ok = np.isfinite(sel)
            count = ok.sum(axis=(1, 2))
            total = np.where(ok, sel, 0.0).sum(axis=(1, 2))
            out[:, d] = np.where(count > 0, np.exp(total / np.maximum(count, 1)), np.nan)
        return out

    def to_frame(self):
        """pandas DataFrame, one row per computed (member, row, t, tau): norm, radius, spectral_norm."""
        import pandas as pd

        e, b, t, tau = np.nonzero(np.isfinite(self.norms))
        strings = [self.strings[i] for i in b] if self.strings is not None else [None] * len(b)
        return pd.DataFrame({
            "member": np.asarray(self.members)[e], "row": b, "string": strings, "t": t, "tau": tau,
            "distance": t - tau, "norm": self.norms[e, b, t, tau], "radius": self.radius[e, b, t, tau],
            "spectral_norm": self.spectral_norm[e, b, t, tau], "kind": self.kind, "loss": self.loss})

    def summary(self) -> str:
        """A few lines: per member, the gradient norm at distance 0 and at the largest distance."""
        curve = self.by_distance()
        lines = [f"GradientFlow of {self.kind} ({len(self.members)} members, {len(self.lengths)} strings, "
                 f"loss {self.loss})"]
        for e, m in enumerate(self.members):
            finite = np.nonzero(np.isfinite(curve[e]))[0]
            if len(finite):
                d = finite[-1]
                lines.append(f"  member {m}: |dL/dh| {curve[e, 0]:.3g} at distance 0, {curve[e, d]:.3g} at {d}")
        return "\n".join(lines)


def _as_inputs(net, data, alphabet):
    """-> (x [B,T,I] float64, lengths [B], strings or None, batch or None)."""
    if isinstance(data, (str, list, tuple)):
        x, lengths = encode_strings(net, data, alphabet)
        return x, lengths, tuple([data] if isinstance(data, str) else data), None
    if hasattr(data, "inputs") and hasattr(data, "lengths"):
        return (data.inputs.to(torch.float64), torch.as_tensor(data.lengths), tuple(data.strings)
                if getattr(data, "strings", None) is not None else None, data)
    if torch.is_tensor(data) or isinstance(data, np.ndarray):
        x = torch.as_tensor(data, dtype=torch.float64)
        if x.dim() == 2:
            x = x[None]
        if x.dim() != 3 or x.shape[-1] != int(net.n_in):
            raise ValueError(f"inputs must have shape [B,T,I] or [T,I] with I = n_in = {net.n_in}, "
                             f"got {tuple(x.shape)}")
        return x, torch.full((x.shape[0],), x.shape[1], dtype=torch.long), None, None
    raise ValueError("data must be a string, a list of strings, a grammars.Batch or an input tensor [B,T,I]; "
                     f"got {type(data).__name__}")


def _positions(loss_position, lengths: torch.Tensor, T: int) -> np.ndarray:
    """Loss positions [B, T+1] bool from -1 (each row's last state), n < 0, t in [1, T] or "all"."""
    L = lengths.numpy()
    pos = np.zeros((len(L), T + 1), dtype=bool)
    if loss_position == "all":
        for b, n in enumerate(L):
            pos[b, 1:n + 1] = True
        return pos
    if isinstance(loss_position, bool) or not isinstance(loss_position, (int, np.integer)) \
            or loss_position == 0 or loss_position > T:
        raise ValueError(f"loss_position must be 'all', a negative int (-1: each row's last state) or an int "
                         f"in [1, T={T}], got {loss_position!r}")
    for b, n in enumerate(L):
        t = n + 1 + int(loss_position) if loss_position < 0 else int(loss_position)
        if 1 <= t <= n:
            pos[b, t] = True
    return pos


def _loss_values(net, logits: torch.Tensor, loss, batch, lengths: torch.Tensor) -> torch.Tensor:
    """Per-position losses [E, B, T] of logits [E, B, T, O] (position t-1 is L_t)."""
    if callable(loss):
        return torch.stack([loss(logits[:, :, t], t + 1) for t in range(logits.shape[2])], 2)
    if loss == "sum":
        return logits.sum(-1)
    recognition = batch is not None and getattr(batch, "targets", None) is not None and \
        bool((batch.targets < 0).all()) and torch.isfinite(torch.as_tensor(batch.labels, dtype=torch.float64)).all()
    if recognition:
        labels = torch.as_tensor(batch.labels, dtype=logits.dtype)[None, :, None].expand(logits.shape[:3])
        if loss == "ce":
            if logits.shape[-1] == 1:
                return torch.nn.functional.binary_cross_entropy_with_logits(logits[..., 0], labels, reduction="none")
            return torch.nn.functional.cross_entropy(logits.movedim(-1, 1), labels.long(), reduction="none")
        return 0.5 * (net.squash(logits)[..., 0] - labels) ** 2
    targets = batch.targets.long().clamp(min=0)[None].expand(logits.shape[:3])  # -1 (padding) masked later
    if loss == "ce":
        return torch.nn.functional.cross_entropy(logits.movedim(-1, 1), targets, reduction="none")
    onehot = torch.nn.functional.one_hot(targets, logits.shape[-1]).to(logits.dtype)
    return 0.5 * ((net.squash(logits) - onehot) ** 2).sum(-1)


def gradient_flow(net, data, member=None, loss_position=-1, loss: str | Callable | None = None,
                  alphabet=None) -> GradientFlow:
    """Norms of dL_t/dh_tau for every tau <= t and the spectra of the Jacobian products, per member.

    Args:
        net: a dynrec model (or anything with the models contract's ``step``/``readout``).
        data: a string or list of strings (one-hot in ``net.alphabet`` or ``alphabet``), a
            ``grammars.Batch`` (its inputs, lengths and targets), or inputs [B,T,I] / [T,I].
        member: None (all), an int or a list of member indices.
        loss_position: the t of L_t: -1 (default; each row's last state), another negative n
            (counted from each row's end), an int t in [1, T], or "all" (every real position).
        loss: "ce" (softmax cross-entropy against the Batch's next-symbol targets; for a
            recognition Batch sigmoid/softmax cross-entropy against its labels, at the last
            position only), "mse" (1/2 ||squash(readout) - one-hot target||^2), "sum" (the sum
            of the readout logits: a target-free probe, the default for strings and tensors),
            or a callable ``loss(logits [E,B,O], t) -> [E,B]``.  The Jacobian products do not
            depend on the loss.

    Returns a :class:`GradientFlow` (numpy arrays; ``to_frame()``, ``by_distance()``).
    """
    sub, idx = analysis_copy(net, member)
    x, lengths, strings, batch = _as_inputs(sub, data, alphabet)
    if loss is None:
        loss = "ce" if batch is not None and getattr(batch, "targets", None) is not None else "sum"
    if not callable(loss) and loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)} or a callable, got {loss!r}")
    if loss in ("ce", "mse") and (batch is None or getattr(batch, "targets", None) is None):
        raise ValueError(f"loss={loss!r} needs targets: pass a grammars.Batch (task.encode(strings)), "
                         f"or use loss='sum' or a callable")
    B, T, I = x.shape
    if T == 0:
        raise ValueError("gradient_flow needs strings with at least one symbol")
    pos = _positions(loss_position, lengths, T)
    if batch is not None and loss in ("ce", "mse") and bool((batch.targets < 0).all()):
        last = np.zeros_like(pos)
        last[np.arange(B), lengths.numpy()] = True
        if (pos & ~last).any():
            raise ValueError("a recognition batch has a target only after each row's last input: "
                             "use loss_position=-1")
    E, S = int(sub.ensemble), int(sub.state_size)
    states = run_states(sub, x, lengths)                                     # [E,B,T+1,S]
    J = step_jacobians(sub, states[:, :, :-1].reshape(E, B * T, S),
                       x.reshape(B * T, I)).reshape(E, B, T, S, S)           # J[:, :, t-1] = dh_t/dh_{t-1}
    with torch.enable_grad():
        h = states[:, :, 1:].clone().requires_grad_(True)
        values = _loss_values(sub, sub.readout(h), loss, batch, lengths)     # [E,B,T]
        g = torch.autograd.grad(values.sum(), h, allow_unused=True)[0]
    g = torch.zeros_like(h) if g is None else g.detach()                     # dL_t/dh_t at [:, :, t-1]

    norms = np.full((E, B, T + 1, T + 1), np.nan)
    radius, snorm = norms.copy(), norms.copy()
    eye = torch.eye(S, dtype=torch.float64).expand(E, B, S, S)
    for t in np.nonzero(pos.any(0))[0]:
        v = g[:, :, t - 1, None, :]                                          # [E,B,1,S]
        vs, prods = [v], [eye]
        for tau in range(t - 1, -1, -1):                                     # multiply by J_{tau+1}
            vs.append(vs[-1] @ J[:, :, tau])
            prods.append(prods[-1] @ J[:, :, tau])
        P = torch.stack(prods, 2)                                            # [E,B,t+1,S,S]
        rows = np.nonzero(pos[:, t])[0][:, None]
        at = (slice(None), rows, t, np.arange(t, -1, -1)[None, :])
        norms[at] = torch.stack(vs, 2)[..., 0, :].norm(dim=-1).numpy()[:, rows[:, 0]]
        radius[at] = torch.linalg.eigvals(P).abs().amax(-1).numpy()[:, rows[:, 0]]
        snorm[at] = torch.linalg.matrix_norm(P, ord=2).numpy()[:, rows[:, 0]]
    return GradientFlow(norms=norms, radius=radius, spectral_norm=snorm, positions=pos,
                        lengths=lengths.numpy().copy(), members=idx, strings=strings,
                        kind=str(getattr(net, "kind", type(net).__name__)),
                        loss=loss if isinstance(loss, str) else getattr(loss, "__name__", "callable"))
