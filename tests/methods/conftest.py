import pytest

from simvae.methods import ModelSpec, build_method, method_config

SMALL_SPEC = ModelSpec(image_shape=(1, 8, 8), latent_dim=4, backbone="mlp", num_classes=3)


@pytest.fixture
def small_method():
    """Builds a method on 1x8x8 images with d = 4 and a small projection head (16 hidden, 8 out);
    keyword arguments override other config fields, e.g. small_method("moco", queue_size=8)."""

    def build(name: str, **overrides):
        config = method_config(name)
        config.head_hidden, config.head_dim = 16, 8
        for key, value in overrides.items():
            setattr(config, key, value)
        return build_method(config, SMALL_SPEC)

    return build
