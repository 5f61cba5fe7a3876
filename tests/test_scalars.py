"""Numbers as cached tensors: the same arithmetic as Python numbers, in fewer operators, safe for autograd."""

import pytest
import torch

from simvae.augment.ops_count import count_aten_ops
from simvae.scalars import constant, scalar


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_cached_scalar_computes_what_the_python_number_does_bit_for_bit(dtype):
    x = torch.randn(1000, dtype=dtype, generator=torch.Generator().manual_seed(0))
    for value in (0.15, -0.5, 3.0e-7, 1 / 3, 99.484):
        c = scalar(value, x)
        assert c.dim() == 0 and c.dtype == dtype
        for got, expected in ((x * c, x * value), (x / c, x / value), (x - c, x - value), (c - x, value - x)):
            assert torch.equal(got, expected)
    assert scalar(0.15, x) is scalar(0.15, x), "made once"


def test_a_cached_scalar_costs_one_operator_where_a_python_number_costs_five():
    x = torch.randn(8, requires_grad=True)
    c = scalar(0.5, x)
    assert count_aten_ops(lambda: x * c) == 1 and count_aten_ops(lambda: x * 0.5) == 5


def test_a_constant_first_made_in_inference_mode_still_serves_autograd():
    with torch.inference_mode():
        made = scalar(0.123, torch.zeros(()))
        shaped = constant((1.0, 2.0), torch.device("cpu"), torch.float32, (1, 2, 1))
    assert not made.is_inference() and shaped.shape == (1, 2, 1)
    x = torch.ones(3, requires_grad=True)
    (x * made).sum().backward()  # an inference tensor could not be saved for this backward
    assert torch.allclose(x.grad, torch.full((3,), 0.123))
