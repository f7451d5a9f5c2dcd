"""The same code on a GPU gives the CPU's numbers (skipped, with the reason, on machines without CUDA)."""

import pytest
import torch

from dynrec import models

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; none is available")


@pytest.mark.parametrize("kind", models.names())
def test_cuda_matches_cpu(kind, tmp_path):
    cpu = models.build(kind, 3, 4, 2, ensemble=8, seed=0, dtype=torch.float64)
    gpu = models.build(kind, 3, 4, 2, ensemble=8, seed=0, dtype=torch.float64, device="cuda")
    x = torch.randn(5, 7, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 3, 0, 5, 1])
    lc, sc = cpu(x, lengths=lengths)
    lg, sg = gpu(x.cuda(), lengths=lengths.cuda())
    torch.testing.assert_close(lg.cpu(), lc, atol=1e-12, rtol=0)
    torch.testing.assert_close(sg.cpu(), sc, atol=1e-12, rtol=0)
    gpu.save(tmp_path / "g.safetensors")
    assert models.load(tmp_path / "g.safetensors", device="cuda").device.type == "cuda"
