"""Per-member optimisers: SGD with momentum and Adam, with member masks.

Every parameter of an ensemble has a leading member axis E (docs/CONTRACTS.md).
A torch optimiser would treat the ensemble as one network: its clipping would
use one global norm, and a member whose gradient is zero would still move under
momentum, Adam or weight decay. :class:`MemberOptimizer` applies the update rule
of :class:`torch.optim.SGD` / :class:`torch.optim.Adam` (L2 weight decay added
to the gradient, as torch does) member by member, vectorised over E:

* gradient clipping by the norm of *that member's* gradient over every parameter
  (``torch.nn.utils.clip_grad_norm_`` applied to each member on its own);
* ``step(active)`` updates only the members in ``active``; the others' weights,
  momentum buffers, Adam moments and step counts stay exactly as they were
  (frozen members, members with nothing to learn from in this chunk);
* a member whose gradient or updated weights are not finite is not updated and
  is reported, so the trainer can mark it diverged and freeze it.

``lr`` and ``momentum`` may be one number or one value per member (an ensemble
can sweep the learning rate).
"""

from __future__ import annotations

import torch

OPTIMIZERS = ("sgd", "adam")


def _per_member(name: str, value, ensemble: int, like: torch.Tensor, minimum=0.0) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        t = t.expand(ensemble)
    if t.shape != (ensemble,):
        raise ValueError(f"{name} must be a number or one value per member ({ensemble}), "
                         f"got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all() or (t < minimum).any():
        raise ValueError(f"{name} must be finite and >= {minimum}, got {value!r}")
    return t.clone()


class MemberOptimizer:
    """SGD (with momentum) or Adam over ensemble parameters ``[E, ...]``, member by member.

    Parameters
    ----------
    params : iterable of ``torch.nn.Parameter`` whose first axis is the member axis E.
    ensemble : E.
    method : ``"sgd"`` | ``"adam"``.
    lr, momentum : float or ``[E]`` values. ``momentum`` is SGD's (torch convention,
        no dampening: ``buf = momentum*buf + g; p -= lr*buf``).
    weight_decay : L2 coefficient added to the gradient (``g + wd*p``).
    clip : max gradient norm per member, or None.
    betas, eps : Adam's (Kingma & Ba 2015), torch's defaults.
    """

    def __init__(self, params, ensemble: int, method: str = "sgd", lr=0.1, momentum=0.0,
                 weight_decay: float = 0.0, clip=None, betas=(0.9, 0.999), eps: float = 1e-8):
        if method not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {method!r}")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("the network has no trainable parameters")
        for p in self.params:
            if p.dim() == 0 or p.shape[0] != ensemble:
                raise ValueError(f"every parameter needs the member axis first ({ensemble}), "
                                 f"got a parameter of shape {tuple(p.shape)}")
        if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
            raise ValueError(f"clip must be None or a number > 0, got {clip!r}")
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        like = self.params[0]
        self.ensemble = ensemble
        self.method = method
        self.lr = _per_member("lr", lr, ensemble, like)
        self.momentum = _per_member("momentum", momentum, ensemble, like)
        self.weight_decay = float(weight_decay)
        self.clip = None if clip is None else float(clip)
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.steps = torch.zeros(ensemble, dtype=torch.long, device=like.device)
        if method == "sgd":
            self.state = [{"buf": torch.zeros_like(p)} for p in self.params]
        else:
            self.state = [{"m": torch.zeros_like(p), "v": torch.zeros_like(p)} for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _grads(self) -> list[torch.Tensor]:
        return [torch.zeros_like(p) if p.grad is None else p.grad.detach() for p in self.params]

    def grad_norms(self) -> torch.Tensor:
        """Norm of each member's gradient over all parameters, ``[E]``."""
        sq = sum(g.pow(2).flatten(1).sum(1) for g in self._grads())
        return sq.sqrt()

    @torch.no_grad()
    def step(self, active: torch.Tensor | None = None) -> torch.Tensor:
        """Update the members in ``active`` (bool ``[E]``; all when None).

        Returns bool ``[E]``: members that were active but whose gradient or new
        weights were not finite; they are left untouched.
        """
        E = self.ensemble
        if active is None:
            active = torch.ones(E, dtype=torch.bool, device=self.steps.device)
        grads = self._grads()
        finite = torch.ones(E, dtype=torch.bool, device=active.device)
        for g in grads:
            finite &= torch.isfinite(g).flatten(1).all(1)
        if self.clip is not None:
            norms = torch.stack([g.pow(2).flatten(1).sum(1) for g in grads]).sum(0).sqrt()
            scale = (self.clip / (norms + 1e-6)).clamp(max=1.0)
            grads = [g * scale.view(E, *([1] * (g.dim() - 1))) for g in grads]
        if self.weight_decay:
            grads = [g + self.weight_decay * p for g, p in zip(grads, self.params)]
        steps = self.steps + 1
        new_params, new_state = [], []
        for p, g, st in zip(self.params, grads, self.state):
            shape = (E,) + (1,) * (p.dim() - 1)
            lr = self.lr.view(shape)
            if self.method == "sgd":
                buf = self.momentum.view(shape) * st["buf"] + g
                new_params.append(p - lr * buf)
                new_state.append({"buf": buf})
            else:
                b1, b2 = self.betas
                m = b1 * st["m"] + (1 - b1) * g
                v = b2 * st["v"] + (1 - b2) * g * g
                t = steps.to(p.dtype).view(shape)
                bc1 = 1 - b1 ** t
                bc2 = 1 - b2 ** t
                denom = (v.sqrt() / bc2.sqrt()) + self.eps
                new_params.append(p - (lr / bc1) * m / denom)
                new_state.append({"m": m, "v": v})
        for q in new_params:
            finite &= torch.isfinite(q).flatten(1).all(1)
        commit = active & finite
        for p, q, st, nst in zip(self.params, new_params, self.state, new_state):
            keep = commit.view((E,) + (1,) * (p.dim() - 1))
            p.copy_(torch.where(keep, q, p))
            for key in st:
                st[key].copy_(torch.where(keep, nst[key], st[key]))
        self.steps = torch.where(commit, steps, self.steps)
        return active & ~finite

    def __repr__(self) -> str:
        return (f"MemberOptimizer({self.method}, E={self.ensemble}, "
                f"weight_decay={self.weight_decay}, clip={self.clip})")

