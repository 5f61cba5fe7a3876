"""SimCLR: the NT-Xent / InfoNCE loss on projected views (Chen, Kornblith, Norouzi, Hinton, ICML 2020)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from simvae.fields import bounded
from simvae.methods.discriminative import (
    DiscriminativeConfig,
    DiscriminativeMethod,
    full_precision,
    gather_with_grad,
)


@dataclass
class SimCLRConfig(DiscriminativeConfig):
    name: str = "simclr"
    temperature: float = bounded(0.5, gt=0)  # tau of NT-Xent (SimCLR's CIFAR-10 value)


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (normalised temperature-scaled cross-entropy) for z of shape (B, J, p), J >= 2 -> a scalar (nats).

    The N = B*J embeddings are L2-normalised and s_ab = cos(z_a, z_b) / temperature. Each embedding a
    is an anchor; its positives P(a) are the J - 1 other views of the same image and its denominator
    runs over all N - 1 other embeddings:
        loss_a = -1/(J-1) sum_{p in P(a)} log( exp(s_ap) / sum_{k != a} exp(s_ak) ),
    averaged over all N anchors (the multi-positive form, SupCon's L_out with the image as class).
    For J = 2 it is exactly SimCLR's NT-Xent over the 2B anchors.
    """
    batch, n_views, _ = z.shape
    flat = F.normalize(z, dim=-1).reshape(batch * n_views, -1)
    logits = flat @ flat.T / temperature
    self_mask = torch.eye(batch * n_views, dtype=torch.bool, device=z.device)
    log_prob = logits.masked_fill(self_mask, float("-inf")).log_softmax(dim=1)
    image = torch.arange(batch, device=z.device).repeat_interleave(n_views)
    positives = (image[:, None] == image[None, :]) & ~self_mask
    return -log_prob[positives].view(batch * n_views, n_views - 1).mean()


class SimCLR(DiscriminativeMethod):
    """Encoder + projection head trained with NT-Xent; negatives are all other images' views.

    Under DDP the embeddings of all ranks are gathered (with gradient), so the negatives and the
    loss are those of the union batch (simvae.distributed).
    """

    Config = SimCLRConfig
    family = "discriminative"
    source = "Chen et al. 2020, A Simple Framework for Contrastive Learning of Visual Representations"

    def training_terms(self, views: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.embed_views(views)
        with full_precision(z):
            return {"loss": nt_xent(gather_with_grad(z), self.config.temperature)}
