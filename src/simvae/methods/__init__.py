"""The registry of methods: adding one means a file here, a line in METHODS, a test and a README row."""

from __future__ import annotations

from simvae.methods.base import Method, MethodConfig, ModelSpec
from simvae.methods.simvae import SimVAE

METHODS: dict[str, type[Method]] = {
    "simvae": SimVAE,
}


def method_config(name: str) -> MethodConfig:
    """The default hyper-parameters of method `name`."""
    return METHODS[name].Config(name=name)


def build_method(config: MethodConfig, spec: ModelSpec) -> Method:
    return METHODS[config.name](config, spec)


__all__ = ["METHODS", "Method", "MethodConfig", "ModelSpec", "build_method", "method_config"]
