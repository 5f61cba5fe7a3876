import pytest
import torch

from simvae.nets import BACKBONES, backbone_for


def test_mlp_is_the_papers_layout():
    encoder = BACKBONES["mlp"].encoder((1, 28, 28), 20)
    widths = [layer.out_features for layer in encoder.net[1] if isinstance(layer, torch.nn.Linear)]
    assert widths == [2000, 500, 500, 20]
    decoder = BACKBONES["mlp"].decoder(10, (1, 28, 28))
    assert [layer.out_features for layer in decoder.net if isinstance(layer, torch.nn.Linear)] == [500, 500, 2000, 784]


@pytest.mark.parametrize("name,shape", [("mlp", (1, 28, 28)), ("conv", (3, 32, 32)), ("conv", (3, 64, 64)), ("conv", (1, 40, 40))])
def test_encoder_and_decoder_shapes(name, shape):
    backbone = BACKBONES[name]
    assert backbone.encoder(shape, 8)(torch.rand(2, *shape)).shape == (2, 8)
    assert backbone.decoder(4, shape)(torch.randn(2, 4)).shape == (2, *shape)


def test_auto_picks_mlp_for_grey_and_conv_for_colour_and_rejects_unknown_names():
    assert backbone_for("auto", (1, 28, 28)) == "mlp" and backbone_for("auto", (3, 32, 32)) == "conv"
    with pytest.raises(ValueError, match="net.backbone"):
        backbone_for("vit", (3, 32, 32))
    with pytest.raises(ValueError, match="divisible by 8"):
        BACKBONES["conv"].encoder((3, 28, 28), 4)
