"""simvae's training loop beside pythae's VAE trainer: same MLP, same data, same batch, same optimiser.

Both train a plain VAE (N(0, I) prior, Bernoulli likelihood, d = 10) with the paper's MLP
(784-2000-500-500-2d / d-500-500-2000-784, simvae.nets.mlp) on the first --images Fashion-MNIST
training images, 128 images per step, Adam lr 1e-3, for one epoch, on the CPU. simvae runs its full
loop (uint8 batch -> views on the device -> step) with `augment.preset=none` and one view, so the work
per step matches pythae's; pythae's BaseTrainer runs its own loop (DataLoader over float tensors,
no evaluation set, no checkpoints until the final model). Reported: images per second, timed the same way
for both: the wall clock of the whole training call, set-up included (simvae's `train()` reads the
dataset and builds the model; pythae's clock starts before its BaseTrainer is constructed, once the
dataset is in memory, so pythae is favoured by the few tenths of a second simvae spends reading files).

    pip install -e .[bench]      # pythae is an optional benchmark dependency
    python benchmarks/pythae_side_by_side.py --images 12800
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from importlib import metadata

import torch

from simvae.config import load_config
from simvae.data import load_dataset
from simvae.nets.mlp import MLPDecoder, MLPEncoder
from simvae.runs.rundir import machine
from simvae.training import train

LATENT, BATCH, LR = 10, 128, 1e-3


def time_simvae(images: int, threads: int) -> float:
    config = load_config(overrides=["data.name=fashion-mnist", "method.name=vae", "augment.preset=none", "augment.views=1",
                                    f"train.batch_size={BATCH}", f"net.latent_dim={LATENT}", "net.backbone=mlp",
                                    f"train.lr={LR}", f"data.limit_train={images}", "train.epochs=1",
                                    "train.checkpoint_every=1000000", f"train.threads={threads}"])
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        train(config, run_dir, progress=False)
        return images / (time.perf_counter() - started)


def time_pythae(images: int, threads: int) -> float:
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    torch.set_num_threads(threads)

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = MLPEncoder((1, 28, 28), 2 * LATENT)

        def forward(self, x):
            mean, log_var = self.net(x).chunk(2, dim=1)
            return ModelOutput(embedding=mean, log_covariance=log_var)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = MLPDecoder(LATENT, (1, 28, 28))

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    data = load_dataset("fashion-mnist").train.images[:images].float() / 255
    data = BaseDataset(data, labels=torch.zeros(len(data)))  # what pythae's own pipeline would wrap the tensor in
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce"), encoder=Encoder(), decoder=Decoder())
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        trainer = BaseTrainer(model, data, training_config=BaseTrainerConfig(
            output_dir=out, num_epochs=1, learning_rate=LR, per_device_train_batch_size=BATCH,
            steps_saving=None, no_cuda=True, optimizer_cls="Adam"))
        trainer.train()
        return images / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=12800, help="training images (one epoch)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads for both")
    args = parser.parse_args(argv)
    try:
        import pythae  # noqa: F401
    except ImportError:
        print("pythae is not installed: pip install -e .[bench]", file=sys.stderr)
        return 2
    rates = {"simvae (vae, full loop)": time_simvae(args.images, args.threads),
             f"pythae {metadata.version('pythae')} (VAE, BaseTrainer)": time_pythae(args.images, args.threads)}
    print(f"{machine()}; {args.images} Fashion-MNIST images, batch {BATCH}, one epoch\n")
    print("| trainer | images/s |\n|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
