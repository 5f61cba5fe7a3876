"""The registry of methods: adding one means a file here, a line in METHODS, a test and a README row."""

from __future__ import annotations

from simvae.methods.barlowtwins import BarlowTwins
from simvae.methods.base import Method, MethodConfig, ModelSpec
from simvae.methods.betavae import BetaVAE
from simvae.methods.byol import BYOL
from simvae.methods.crvae import CRVAE
from simvae.methods.dino import DINO
from simvae.methods.moco import MoCo
from simvae.methods.simclr import SimCLR
from simvae.methods.simsiam import SimSiam
from simvae.methods.simvae import SimVAE
from simvae.methods.swav import SwAV
from simvae.methods.supervised import Supervised
from simvae.methods.vae import VAE
from simvae.methods.vicreg import VICReg

METHODS: dict[str, type[Method]] = {
    "simvae": SimVAE,
    "simclr": SimCLR,
    "vicreg": VICReg,
    "moco": MoCo,
    "byol": BYOL,
    "simsiam": SimSiam,
    "dino": DINO,
    "swav": SwAV,
    "barlowtwins": BarlowTwins,
    "betavae": BetaVAE,
    "crvae": CRVAE,
    "supervised": Supervised,
    "vae": VAE,
}


def method_config(name: str) -> MethodConfig:
    """The default hyper-parameters of method `name`."""
    return METHODS[name].Config(name=name)


def build_method(config: MethodConfig, spec: ModelSpec) -> Method:
    return METHODS[config.name](config, spec)


__all__ = ["METHODS", "Method", "MethodConfig", "ModelSpec", "build_method", "method_config"]
