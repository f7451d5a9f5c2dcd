"""One comparison for every fast path: the same network through ``net(...)`` (a fast path,
as the ``always_fused`` fixture forces it) and inside ``fast.disabled()`` (the loop over
``_cell``, i.e. ``step``'s arithmetic): logits, states and the gradients of every parameter,
of the input and of a given initial state, within a tolerance relative to their scale."""

import torch

from dynrec.models import fast

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def run(net, x, lengths=None, h0=None, fused=True):
    """(logits, states, grads) of one pass and a loss reaching every output and state unit."""
    x = x.clone().requires_grad_()
    h0 = None if h0 is None else h0.detach().clone().requires_grad_()
    net.zero_grad(set_to_none=True)
    with (torch.enable_grad() if fused else fast.disabled()):
        logits, states = net(x, lengths=lengths, h0=h0)
    # different weights per position and per state unit, so no two gradients can trade places
    w = torch.linspace(0.5, 1.5, logits.numel(), dtype=logits.dtype).reshape(logits.shape)
    unit = torch.arange(1, states.shape[-1] + 1, dtype=states.dtype)
    (torch.sin(logits) * w).sum().add((states ** 2 * unit).sum() * 0.1).backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    grads["x"] = x.grad.clone()
    if h0 is not None:
        grads["h0_given"] = h0.grad.clone()
    return logits.detach(), states.detach(), grads


def compare_to_plain(net, x, **kw):
    """Assert the fast and the plain path agree; returns the fast path's (logits, states, grads)."""
    a, b = run(net, x, fused=True, **kw), run(net, x, fused=False, **kw)
    assert set(a[2]) == set(b[2])
    tol = TOL[net.dtype]
    for name, u, v in [("logits", a[0], b[0]), ("states", a[1], b[1])] + [(n, a[2][n], b[2][n]) for n in b[2]]:
        assert u.shape == v.shape, name
        scale = max(1.0, float(v.abs().max()))
        err = float((u - v).abs().max())
        assert err <= tol * scale, f"{name}: max error {err:.3g} (scale {scale:.3g})"
    return a


def check_finite_differences(net, x, lengths, names, stride: int = 3, eps: float = 1e-6,
                             tol: float = 1e-6):
    """The gradient ``net(x, lengths=lengths)`` gives for the parameters ``names`` against
    central differences (every ``stride``-th entry), for a loss reaching every output and state."""

    def loss():
        logits, states = net(x, lengths=lengths)
        return logits.sin().sum() + states.pow(2).sum()

    net.zero_grad()
    loss().backward()
    for name in names:
        p = getattr(net, name)
        flat = p.detach().view(-1)
        for idx in range(0, flat.numel(), stride):
            with torch.no_grad():
                flat[idx] += eps
                up = loss().item()
                flat[idx] -= 2 * eps
                down = loss().item()
                flat[idx] += eps
            assert abs((up - down) / (2 * eps) - p.grad.view(-1)[idx].item()) < tol, (name, idx)
