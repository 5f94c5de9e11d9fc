"""The CPU fast paths (matmul parameter generators, FT with an analytic backward) against the
plain-op formulations they replace: same values and gradients."""

import pytest
import torch

from guided_pix2pix.nn.modulation import (
    ParameterGenerator,
    _FeatureTransformCPU,
    feature_transform_reference,
)


def test_feature_transform_backward_passes_gradcheck():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    alpha = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_FeatureTransformCPU.apply, (x, alpha, beta))


def test_feature_transform_broadcast_parameters_match_reference():
    """FiLM passes (N, C, 1, 1) parameters: their gradients are summed over the pixels."""
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    alpha = torch.randn(2, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(2, 3, 1, 1, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    fast = torch.autograd.grad((_FeatureTransformCPU.apply(x, alpha, beta) * w).sum(), (x, alpha, beta))
    ref = torch.autograd.grad((feature_transform_reference(x, alpha, beta) * w).sum(), (x, alpha, beta))
    for a, b in zip(fast, ref):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_parameter_generator_paths_agree(memory_format):
    """matmul path (contiguous CPU input), fused convs (channels_last input) and the reference."""
    torch.manual_seed(0)
    pg = ParameterGenerator(channels=5, bottleneck=7).double()
    x = torch.randn(3, 5, 6, 4, dtype=torch.float64).contiguous(memory_format=memory_format)
    w = torch.randn(2, 3, 5, 6, 4, dtype=torch.float64)

    def run(reference):
        pg.reference = reference
        xi = x.detach().clone(memory_format=torch.preserve_format).requires_grad_()
        alpha, beta = pg(xi)
        loss = (alpha * w[0]).sum() + (beta * w[1]).sum()
        grads = torch.autograd.grad(loss, [xi, *pg.parameters()])
        return alpha, beta, grads

    a_fast, b_fast, g_fast = run(False)
    a_ref, b_ref, g_ref = run(True)
    torch.testing.assert_close(a_fast, a_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(b_fast, b_ref, rtol=1e-10, atol=1e-12)
    for a, b in zip(g_fast, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
