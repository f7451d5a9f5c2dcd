"""MemberOptimizer against torch's own optimisers run member by member."""

import pytest
import torch
from torch import nn

from dynrec.training import MemberOptimizer

E = 3
SHAPES = [(3, 2), (4,), (2, 2, 2)]


def _params(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [nn.Parameter(torch.randn((E, *s), generator=g, dtype=torch.float64)) for s in SHAPES]


def _grads(step):
    g = torch.Generator().manual_seed(100 + step)
    return [torch.randn((E, *s), generator=g, dtype=torch.float64) * (1 + 3 * (step % 2)) for s in SHAPES]


def _run(method, steps, lr, clip=None, **kw):
    params = _params()
    opt = MemberOptimizer(params, E, method, lr=lr, clip=clip, **kw)
    refs = [[nn.Parameter(p[e].detach().clone()) for p in params] for e in range(E)]
    lrs = lr if isinstance(lr, list) else [lr] * E
    torch_kw = {k: v for k, v in kw.items() if k in ("momentum", "weight_decay", "betas", "eps")}
    cls = torch.optim.SGD if method == "sgd" else torch.optim.Adam
    ref_opts = [cls(refs[e], lr=lrs[e], **torch_kw) for e in range(E)]
    for step in range(steps):
        grads = _grads(step)
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
        for e in range(E):
            for q, g in zip(refs[e], grads):
                q.grad = g[e].clone()
            if clip is not None:
                nn.utils.clip_grad_norm_(refs[e], clip)
            ref_opts[e].step()
    for e in range(E):
        for p, q in zip(params, refs[e]):
            torch.testing.assert_close(p[e].detach(), q.detach(), rtol=1e-12, atol=1e-12)
    return params, opt


@pytest.mark.parametrize("kw", [{}, {"momentum": 0.9}, {"momentum": 0.5, "weight_decay": 0.01}])
def test_sgd_matches_torch_per_member(kw):
    _run("sgd", 5, 0.1, **kw)


def test_per_member_learning_rates():
    _run("sgd", 4, [0.1, 0.01, 0.5], momentum=0.9)
    _run("adam", 4, [0.1, 0.01, 0.5])


@pytest.mark.parametrize("kw", [{}, {"weight_decay": 0.1}, {"betas": (0.8, 0.99), "eps": 1e-6}])
def test_adam_matches_torch_per_member(kw):
    _run("adam", 6, 0.05, **kw)


@pytest.mark.parametrize("method", ["sgd", "adam"])
def test_clipping_is_per_member(method):
    # clip small enough that some members are clipped and (with step 0's smaller grads) some not
    _run(method, 4, 0.1, clip=3.0, **({"momentum": 0.9} if method == "sgd" else {}))


@pytest.mark.parametrize("method,kw", [("sgd", {"momentum": 0.9, "weight_decay": 0.1}), ("adam", {})])
def test_inactive_members_are_untouched(method, kw):
    params = _params()
    opt = MemberOptimizer(params, E, method, lr=0.1, **kw)
    for step in range(3):
        for p, g in zip(params, _grads(step)):
            p.grad = g
        opt.step()
    before = [p.detach().clone() for p in params]
    state = [{k: v.clone() for k, v in st.items()} for st in opt.state]
    steps = opt.steps.clone()
    for p in params:
        p.grad = torch.zeros_like(p)  # zero gradient: momentum/Adam/decay would still move it
    active = torch.tensor([True, False, True])
    opt.step(active)
    for p, b in zip(params, before):
        assert torch.equal(p[1], b[1])
        assert not torch.equal(p[0], b[0])
    for st, old in zip(opt.state, state):
        for key in st:
            assert torch.equal(st[key][1], old[key][1])
    assert opt.steps.tolist() == [steps[0] + 1, steps[1], steps[2] + 1]


def test_non_finite_member_reported_and_untouched():
    params = _params()
    opt = MemberOptimizer(params, E, "sgd", lr=0.1, momentum=0.9)
    before = [p.detach().clone() for p in params]
    grads = _grads(0)
    grads[1][2, 0] = float("nan")
    for p, g in zip(params, grads):
        p.grad = g
    bad = opt.step()
    assert bad.tolist() == [False, False, True]
    for p, b in zip(params, before):
        assert torch.equal(p[2], b[2])
        assert not torch.equal(p[0], b[0])
    assert torch.isfinite(opt.state[0]["buf"]).all()


def test_overflowing_update_is_reported():
    params = [nn.Parameter(torch.ones(E, 2))]
    opt = MemberOptimizer(params, E, "sgd", lr=[1.0, 1e38, 1.0])
    params[0].grad = torch.full((E, 2), 1e2)
    assert opt.step().tolist() == [False, True, False]
    assert torch.equal(params[0][1], torch.ones(2))


@pytest.mark.parametrize("kw,match", [
    ({"method": "rmsprop"}, "optimizer must be one of"),
    ({"lr": -1.0}, "lr must be"),
    ({"lr": [0.1, 0.2]}, "one value per member"),
    ({"clip": 0}, "clip must be"),
    ({"weight_decay": -1}, "weight_decay"),
    ({"betas": (1.0, 0.9)}, "betas"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        MemberOptimizer(_params(), E, **kw)


def test_member_axis_is_checked():
    with pytest.raises(ValueError, match="member axis first"):
        MemberOptimizer([nn.Parameter(torch.zeros(2, 3))], E)
