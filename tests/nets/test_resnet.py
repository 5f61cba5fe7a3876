"""The ResNet-18 backbones: shapes at 32 and 64 px, gradients, and the official layout (paper.md section 3.2)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from simvae.nets import BACKBONES
from simvae.nets.resnet import (
    CifarResNet18Encoder,
    DecoderBlock,
    OfficialResNetDecoder,
    OfficialResNetEncoder,
)

SHAPES = [(3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["resnet18-official", "resnet18"])
def test_forward_backward_shapes(name, shape):
    torch.manual_seed(0)
    backbone = BACKBONES[name]
    encoder, decoder = backbone.encoder(shape, 8), backbone.decoder(4, shape)
    x = torch.rand(2, *shape)
    h = encoder(x)
    assert h.shape == (2, 8)
    logits = decoder(h[:, :4])
    assert logits.shape == (2, *shape)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, x)
    loss.backward()
    for net in (encoder, decoder):
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("size,features", [(32, 128 * 4 * 4), (64, 128 * 8 * 8)])
def test_official_encoder_layout(size, features):
    encoder = OfficialResNetEncoder((3, size, size), 128)
    stem = encoder.stem[0]
    if size == 32:
        assert stem.kernel_size == (3, 3) and stem.padding == (0, 0) and stem.bias is not None
    else:
        assert stem.kernel_size == (4, 4) and stem.padding == (0, 0) and stem.bias is None
    assert isinstance(encoder.stem[3], nn.MaxPool2d)
    assert [len(stage) for stage in encoder.features] == [2, 2, 2]  # layer4 removed
    assert [stage[-1].conv2.out_channels for stage in encoder.features] == [32, 64, 128]
    linear = encoder.head[1]
    assert linear.in_features == features  # the official Linear(2048 / 8192 -> 2d)
    encoder.eval()
    assert encoder.features(encoder.stem(torch.zeros(1, 3, size, size))).shape == (1, 128, size // 8, size // 8)


def test_cifar_resnet18_layout():
    encoder = CifarResNet18Encoder((3, 32, 32), 10)
    stem = encoder.stem[0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1) and stem.padding == (1, 1)
    assert not any(isinstance(m, nn.MaxPool2d) for m in encoder.modules())
    assert [stage[-1].conv2.out_channels for stage in encoder.features] == [64, 128, 256, 512]
    assert encoder.head.in_features == 512
    n_params = sum(p.numel() for p in encoder.parameters())
    assert 11.1e6 < n_params < 11.3e6  # ResNet-18 without fc (11.17M) plus the small head


@pytest.mark.parametrize("size", [32, 64])
def test_official_decoder_layout(size):
    decoder = OfficialResNetDecoder(64, (3, size, size))
    assert decoder.linear.out_features == 512 * (size // 16) ** 2
    blocks = [m for m in decoder.modules() if isinstance(m, DecoderBlock)]
    assert len(blocks) == 8
    assert [b.upsample is not None for b in blocks] == [False, True] * 3 + [False, False]
    out = decoder.out
    assert (out.in_channels, out.out_channels, out.kernel_size, out.stride, out.padding, out.output_padding) == (
        64, 3, (7, 7), (2, 2), (3, 3), (1, 1))


def test_grey_and_non_square_images():
    encoder, decoder = OfficialResNetEncoder((1, 32, 48), 6), OfficialResNetDecoder(3, (1, 32, 48))
    assert encoder(torch.rand(2, 1, 32, 48)).shape == (2, 6)
    assert decoder(torch.randn(2, 3)).shape == (2, 1, 32, 48)


def test_decoder_rejects_sides_not_divisible_by_16():
    with pytest.raises(ValueError, match="divisible by 16"):
        OfficialResNetDecoder(4, (1, 28, 28))
