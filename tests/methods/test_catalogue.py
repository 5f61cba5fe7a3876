"""The method catalogue (`simvae methods`) is read from the registry and the config dataclasses; every registered
method declares its family and source itself."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from simvae.fields import bounded
from simvae.methods import METHODS, Method, MethodConfig
from simvae.methods.base import FAMILIES
from simvae.methods.catalogue import catalogue, describe, field_comments


def undeclared(method: type[Method]) -> list[str]:
    """The attributes `simvae methods` needs that `method` does not declare in its own class body."""
    missing = [name for name in ("family", "source") if not str(vars(method).get(name, "")).strip()]
    return missing + (["family in FAMILIES"] if "family" not in missing and method.family not in FAMILIES else [])


@pytest.mark.parametrize("name", METHODS)
def test_every_registered_method_declares_its_family_and_source(name):
    assert not undeclared(METHODS[name]), f"{METHODS[name].__name__} must declare {undeclared(METHODS[name])}"


def test_the_check_finds_a_method_that_declares_nothing_or_inherits():
    class Bare(Method):
        pass

    class Inheriting(METHODS["vae"]):
        family = "generative"

    class Unknown(Method):
        family, source = "contrastive", "nobody 2099"

    assert undeclared(Bare) == ["family", "source"] and undeclared(Inheriting) == ["source"]
    assert undeclared(Unknown) == ["family in FAMILIES"]


def test_a_method_is_described_by_its_config_dataclass():
    info = describe("simvae")
    assert (info.family, info.min_views) == ("generative", 2) and info.source.startswith("Bizeul et al. 2024")
    fields = [f.name for f in dataclasses.fields(METHODS["simvae"].Config) if f.name != "name"]
    assert [h.name for h in info.hyperparameters] == fields
    sigma2 = next(h for h in info.hyperparameters if h.name == "sigma2")
    assert (sigma2.type, sigma2.default, sigma2.bounds) == ("float", 0.15, "> 0")
    assert sigma2.comment.startswith("variance of p(z|y)")
    beta = next(h for h in describe("betavae").hyperparameters if h.name == "beta")
    assert beta.default == 4.0  # the subclass's default, the base's comment
    assert [info.name for info in catalogue()] == list(METHODS)


@dataclass
class Base(MethodConfig):
    width: int = bounded(8, ge=1)  # the base's words
    # a comment above,
    # on two lines
    depth: int = 2


@dataclass
class Derived(Base):
    width: int = bounded(16, ge=1)  # the subclass's words
    ratio: float = bounded(  # begins here
        0.5, gt=0, lt=1)  # and ends here
    plain: bool = False


def test_field_comments_beside_above_and_over_several_lines_subclass_first():
    assert field_comments(Derived) == {"width": "the subclass's words", "depth": "a comment above, on two lines",
                                       "ratio": "begins here and ends here"}
    assert field_comments(Base)["width"] == "the base's words"
