"""Your own networks as a simvae backbone, checked with one dummy batch before any training.

The contract every backbone keeps (the built-in ones too):
* encoder: images (N, C, H, W), float32 in [0, 1] -> (N, out_dim), where out_dim = 2 x net.latent_dim for the
  generative methods (means, then log-variances of q(z|x)) and net.latent_dim for the discriminative methods
  and the supervised reference;
* decoder (generative methods only): latents (N, net.latent_dim) -> (N, C, H, W) pixel logits (the likelihood
  applies the sigmoid).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from simvae.errors import ConfigError

CUSTOM = "custom"  # net.backbone of a run whose modules were passed to simvae.train(encoder=..., decoder=...)
PROBE_BATCH = 2  # > 1, so that BatchNorm layers accept it (they run in eval mode during the probe anyway)
OUT_DIM = "out_dim is 2 x net.latent_dim for the generative methods (means, then log-variances), net.latent_dim for the others"


def class_name(module: object) -> str:
    kind = type(module)
    return f"{kind.__module__}.{kind.__qualname__}"


def _shape(shape: tuple[int, ...]) -> str:
    return f"(N, {', '.join(map(str, shape))})"


@torch.no_grad()
def _probe(module: nn.Module, batch: torch.Tensor, role: str, contract: str) -> torch.Size:
    """The output shape of `module` on `batch`, run in eval mode (so BatchNorm statistics do not move and dropout draws
    no random numbers), the module's mode restored after."""
    if not isinstance(module, nn.Module):
        raise ConfigError(f"the {role} must be a torch nn.Module, got {type(module).__name__}; it maps {contract}")
    parameter = next(module.parameters(), None)
    if parameter is not None:
        batch = batch.to(parameter.device, parameter.dtype if parameter.is_floating_point() else batch.dtype)
    was_training = module.training
    module.eval()
    try:
        out = module(batch)
    except Exception as error:  # whatever the user's forward raises on the wrong shape
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConfigError(f"the {role} {class_name(module)} fails on a dummy batch {tuple(batch.shape)} ({reason}); "
                          f"it must map {contract}") from None
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"the {role} {class_name(module)} returns a {type(out).__name__}, not a tensor; it must map {contract}")
    return out.shape


def check_encoder(module: nn.Module, image_shape: tuple[int, int, int], out_dim: int) -> nn.Module:
    """`module` itself, once it maps (N, *image_shape) to (N, out_dim); else ConfigError naming both shapes."""
    contract = f"images {_shape(image_shape)} in [0, 1] to {_shape((out_dim,))}; {OUT_DIM}"
    shape = _probe(module, torch.full((PROBE_BATCH, *image_shape), 0.5), "encoder", contract)
    if tuple(shape) != (PROBE_BATCH, out_dim):
        raise ConfigError(f"the encoder {class_name(module)} maps images {_shape(image_shape)} to {_shape(tuple(shape)[1:])}; "
                          f"expected {_shape((out_dim,))}: {OUT_DIM}; change its output layer or net.latent_dim")
    return module


def check_decoder(module: nn.Module, latent_dim: int, image_shape: tuple[int, int, int]) -> nn.Module:
    """`module` itself, once it maps (N, latent_dim) to (N, *image_shape); else ConfigError naming both shapes."""
    contract = f"latents {_shape((latent_dim,))} to pixel logits {_shape(image_shape)}"
    shape = _probe(module, torch.zeros(PROBE_BATCH, latent_dim), "decoder", contract)
    if tuple(shape) != (PROBE_BATCH, *image_shape):
        raise ConfigError(f"the decoder {class_name(module)} maps latents {_shape((latent_dim,))} to "
                          f"{_shape(tuple(shape)[1:])}; expected pixel logits {_shape(image_shape)} (the training images' shape)")
    return module


def no_decoder(latent_dim: int, image_shape: tuple[int, int, int]) -> nn.Module:
    raise ConfigError(f"a generative method needs a decoder too: pass decoder=, an nn.Module mapping latents "
                      f"{_shape((latent_dim,))} to pixel logits {_shape(image_shape)}, or pick a discriminative method")


EncoderFactory = Callable[[tuple[int, int, int], int], nn.Module]  # (image_shape, out_dim) -> encoder
DecoderFactory = Callable[[int, tuple[int, int, int]], nn.Module]  # (latent_dim, image_shape) -> decoder


def checked_factories(encoder: EncoderFactory, decoder: DecoderFactory | None) -> tuple[EncoderFactory, DecoderFactory]:
    """Factories that check what `encoder` and `decoder` build before a method uses it."""
    def make_encoder(image_shape: tuple[int, int, int], out_dim: int) -> nn.Module:
        return check_encoder(encoder(image_shape, out_dim), image_shape, out_dim)

    def make_decoder(latent_dim: int, image_shape: tuple[int, int, int]) -> nn.Module:
        return check_decoder(decoder(latent_dim, image_shape), latent_dim, image_shape)

    return make_encoder, (no_decoder if decoder is None else make_decoder)


def module_factories(encoder: nn.Module, decoder: nn.Module | None) -> tuple[EncoderFactory, DecoderFactory]:
    """Factories that hand the method these very modules (so trained or loaded weights are theirs), checked."""
    return checked_factories(lambda image_shape, out_dim: encoder, None if decoder is None else lambda latent_dim, image_shape: decoder)


def networks_text(networks: dict[str, str] | None) -> str:
    """" (encoder a.B, decoder a.C)" from {"encoder": "a.B", "decoder": "a.C"}, "" from None."""
    return f" ({', '.join(f'{role} {name}' for role, name in networks.items())})" if networks else ""


def missing_network_message(networks: dict[str, str] | None = None) -> str:
    """What to do with a run whose networks were passed from Python, when they are not passed again."""
    return (f"net.backbone={CUSTOM}: the run used a custom network passed from Python{networks_text(networks)}; pass "
            "modules of the same architecture again: simvae.load_run(path, encoder=..., decoder=...), "
            "simvae.evaluate(path, encoder=..., decoder=...) or, to resume, simvae.train(..., out=path, encoder=..., "
            "decoder=...) (the command line cannot rebuild them)")
