"""Where the aten operators of one full SimVAE MLP training step go, per component (docs/scaling.md, "Speed settings").

The step is `simvae.experiments.step_ops`'s (what `simvae bench` counts in `ops/step`): `simvae train`'s
non-logging step with fused Adam, after two warm-up steps, on CPU. Each component's functions are wrapped in a
profiler region for the count (the wrappers add no aten operator); an operator counts for the innermost region
it runs in, backward operators for the autograd node that runs them. Also prints each preset's operators per
augmentation call (64 images x 2 views).

    python benchmarks/step_ops.py            # Fashion-MNIST-shaped data (the paper's config) and shapes, MLP
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from typing import Any

import torch
from torch.profiler import record_function

import simvae.methods.generative as generative
import simvae.methods.simvae as simvae_method
from simvae.augment import ViewAugmenter
from simvae.augment.ops_count import aten_events, count_aten_ops, in_multi_tensor_loops
from simvae.config import load_config
from simvae.data.base import Dataset, ImageSet
from simvae.runs import build
from simvae.training.guard import TermLog
from simvae.training.loop import batch_indices, loop_step, make_fabric, make_optimizer

REGION = "component: "
NETWORK_NODES = ("AddmmBackward0", "TBackward0", "ReluBackward0", "torch::autograd::AccumulateGrad")
PRESET_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "fashion-mnist-canvas": (1, 40, 40),
                 "shapes": (3, 32, 32), "cifar10": (3, 32, 32), "celeba": (3, 64, 64), "simclr-cifar10": (3, 32, 32),
                 "none": (1, 28, 28)}


def wrap(owner: Any, name: str, component: str) -> None:
    function = getattr(owner, name)

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with record_function(REGION + component):
            return function(*args, **kwargs)

    setattr(owner, name, wrapped)


def component(event: Any) -> str:
    node, parent = None, event.cpu_parent
    while parent is not None:
        if parent.name.startswith(REGION):
            name = parent.name.removeprefix(REGION)
            if name == "backward":
                return f"backward: {'network' if node in NETWORK_NODES else 'loss and views'}" if node else "backward: start"
            return name
        if parent.name.startswith("Optimizer.step"):
            return "optimiser step"
        if node is None and parent.name.startswith("autograd::engine::evaluate_function: "):
            node = parent.name.removeprefix("autograd::engine::evaluate_function: ")
        parent = parent.cpu_parent
    return "rest: indexing, reshapes, detach"


def fashion_mnist_shaped(n: int = 256) -> Dataset:
    generator = torch.Generator().manual_seed(0)
    split = ImageSet(torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=generator),
                     torch.randint(0, 10, (n,), generator=generator))
    return Dataset("fashion-mnist", split, split, split, [str(i) for i in range(10)], likelihood="bernoulli")


def breakdown(config: Any, dataset: Dataset) -> tuple[Counter[str], int, int]:
    """(operators per component, all operators, those in the CPU loops of multi-tensor operators) of one step."""
    fabric = make_fabric(config)
    fabric.seed_everything(config.train.seed, workers=False, verbose=False)
    setup = build(config, dataset)
    method = setup.method
    wrap(method.encoder, "forward", "encoder forward")
    wrap(method.decoder, "forward", "decoder forward")
    wrap(method, "encode_views", "reparameterisation, reshapes")
    wrap(setup.augmenter, "forward", "augmentation")
    optimizer = make_optimizer(method, config, torch.device("cuda"))  # fused, as step_ops builds it
    model, optimizer = fabric.setup(method, optimizer)
    wrap(fabric, "backward", "backward")
    model.train()
    images, labels = dataset.train.images, dataset.train.content
    index = batch_indices(len(images), config.train.batch_size, 0, config.train.seed, 1, 0)[0]
    log = TermLog(fabric.device, {}, capacity=5)

    def full_step() -> None:
        log.add(loop_step(fabric, model, optimizer, setup.augmenter, images, labels, index), len(log.steps) + 1)

    for _ in range(2):
        full_step()
    events = aten_events(full_step)
    return Counter(component(event) for event in events), len(events), in_multi_tensor_loops(events)


def main() -> int:
    wrap(generative, "log_likelihood", "loss: log-likelihood")
    wrap(simvae_method, "gaussian_entropy", "loss: entropy")
    wrap(simvae_method, "simvae_log_prior", "loss: prior")
    wrap(simvae_method, "simvae_terms", "loss: terms (means, elbo, loss)")
    wrap(TermLog, "add", "TermLog.add")
    shapes = load_config(overrides=["data.name=shapes", "net.backbone=mlp", "data.limit_train=256"])
    cases = {"fashion-mnist (configs/fashion-mnist.yaml)": (load_config("configs/fashion-mnist.yaml"), fashion_mnist_shaped()),
             "shapes, mlp (simvae bench's default data)": (shapes, build(shapes).dataset)}
    print(f"torch {torch.__version__}, CPU")
    for name, (config, dataset) in cases.items():
        counts, total, loops = breakdown(config, dataset)
        print(f"\n{name}: {total} aten operators per step, {total - loops} with each multi-tensor operator counted once"
              f" ({loops} in the CPU loops of the optimiser's)\n")
        print("| component | operators |\n|---|---|")
        for part, count in sorted(counts.items(), key=lambda item: -item[1]):
            print(f"| {part} | {count} |")
    print("\n| preset | operators per augmentation call (64 images x 2 views) |\n|---|---|")
    for preset, shape in PRESET_SHAPES.items():
        augmenter = ViewAugmenter(preset, shape[1:], views=2)
        images = torch.randint(0, 256, (64, *shape), dtype=torch.uint8)
        augmenter(images)  # the first call makes the constants
        print(f"| {preset} | {count_aten_ops(augmenter, images)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
