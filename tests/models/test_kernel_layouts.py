"""The compiled kernels' layout copies (models/kernels.py ``copy_4d``, ``transpose_rows``;
``numba_srn.kernel_layout``) against torch's own permute-and-copy, for every
kind of stride a gradient arrives with."""

import numpy as np
import pytest
import torch

from dynrec import models
from dynrec.models import fast

pytest.importorskip("numba", reason="the compiled kernels need numba (in install_requires)")
from dynrec.models.kernels import copy_4d, transpose_rows  # noqa: E402
from dynrec.models.numba_srn import kernel_layout  # noqa: E402

T, B, K, E = 5, 3, 2, 7


def _gradients(dtype):
    """Kernel-shaped [T,B,K,E] tensors in the strides gradients come with."""
    g = torch.Generator().manual_seed(0)
    contiguous = torch.randn(T, B, K, E, generator=g, dtype=dtype)
    from_outer = torch.randn(E, B, T, K, generator=g, dtype=dtype).permute(2, 1, 3, 0)  # loss on [E,B,T,K]
    broadcast = torch.ones((), dtype=dtype).expand(T, B, K, E)                           # d sum / d y
    sliced = torch.randn(T, B, 2 * K, E + 1, generator=g, dtype=dtype)[:, :, ::2, 1:]    # gaps in memory
    return {"contiguous": contiguous, "from_outer": from_outer, "broadcast": broadcast, "sliced": sliced}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", ["contiguous", "from_outer", "broadcast", "sliced"])
def test_kernel_layout_equals_torch_copy(dtype, case):
    grad = _gradients(dtype)[case]
    got = kernel_layout(grad)
    assert got.flags["C_CONTIGUOUS"] and got.shape == (T, B, K, E)
    np.testing.assert_array_equal(got, grad.contiguous().numpy())
    if case == "contiguous":   # no copy where none is needed
        assert np.shares_memory(got, grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_4d_and_transpose_rows(dtype):
    src = np.random.default_rng(1).standard_normal((T, B, K, E)).astype(dtype)
    out = np.empty((E, B, T, K), dtype)
    copy_4d(src, out.transpose(2, 1, 3, 0))
    np.testing.assert_array_equal(out, src.transpose(3, 1, 0, 2))
    rows = src.reshape(-1, K)
    dst = np.empty((K, rows.shape[0]), dtype)
    transpose_rows(rows, dst)
    np.testing.assert_array_equal(dst, rows.T)


def test_compiled_lstm_returns_contiguous_logits():
    """User losses on the logits run on a plain contiguous tensor (torch's elementwise ops are
    2-3x slower on a member-innermost view); the states stay a view of the kernel's buffer."""
    net = models.build("lstm", 3, 4, 3, ensemble=6, seed=0)
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(2))
    assert fast.select(net, x) == "numba_lstm"
    logits, _ = net(x)
    assert logits.shape == (6, 2, 5, 3) and logits.is_contiguous()
    with fast.disabled():
        plain, _ = net(x)
    torch.testing.assert_close(logits, plain, rtol=0, atol=1e-6)

