"""ResNet-18 encoders and the official transposed-convolution ResNet decoder, in plain torch.nn.

* `OfficialResNetEncoder` ("resnet18-official"): the SimVAE code's encoder (docs/model.md §3.2,
  `src/model/resnet.py` + `models.Encoder`): torchvision-style BasicBlocks at half width, stem
  Conv2d(C, 64, k3, s1, no padding) for images up to 32 px or Conv2d(C, 64, k4, s1, no bias) above,
  BN + ReLU + max-pool(3, 2, pad 1), then only the first three stages (32, 64, 128 channels: the code
  drops layer4 and fc), Flatten and one Linear. 32 px -> 128x4x4, 64 px -> 128x8x8.
* `CifarResNet18Encoder` ("resnet18"): the standard CIFAR ResNet-18 of solo-learn / lightly
  (torchvision resnet18 with a conv3x3 s1 p1 stem and no max-pool), full width 64-128-256-512,
  global average pooling, then Linear(512 -> out_dim).
* `OfficialResNetDecoder` (both): `src/model/decoders.py::ResNetDec18` for 32 and 64 px: Linear ->
  (512, H/16, W/16), three stages that each run a plain transposed-conv block and then an upsampling
  one (x2, with a 1x1 transposed-conv + BN residual path; the plain blocks have no skip connection),
  a fourth stage of two plain 64-channel blocks, and ConvTranspose2d(64 -> C, k7, s2, p3, op1).
  It returns logits; the sigmoid the official code applies is the likelihood's business here.
"""

from __future__ import annotations

from torch import nn

OFFICIAL_WIDTHS = (32, 64, 128)  # [32, 64, 128, 256] with layer4 removed
CIFAR_WIDTHS = (64, 128, 256, 512)
STEM_CHANNELS = 64


def _init(module: nn.Module) -> None:
    """torchvision's ResNet initialisation (the official code keeps it)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class BasicBlock(nn.Module):
    """conv3x3 - BN - ReLU - conv3x3 - BN, plus the (projected) input, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _stage(c_in: int, c_out: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(c_in, c_out, stride), *(BasicBlock(c_out, c_out) for _ in range(blocks - 1)))


def _halve(size: int) -> int:
    """Side after a 3x3 (or max-pool 3) window with stride 2 and padding 1."""
    return (size - 1) // 2 + 1


class OfficialResNetEncoder(nn.Module):
    """The SimVAE code's half-width, three-stage ResNet-18 encoder: image -> (N, out_dim)."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int) -> None:
        super().__init__()
        channels, height, width = image_shape
        kernel = 3 if max(height, width) <= 32 else 4
        if min(height, width) < kernel + 3:
            raise ValueError(f"resnet18-official needs images of at least {kernel + 3} px, got {height}x{width}")
        widths = (STEM_CHANNELS, *OFFICIAL_WIDTHS)
        self.features = nn.Sequential(
            *(_stage(c_in, c_out, 2, 1 if i == 0 else 2) for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])))
        )
        _init(self.features)
        # the official code swaps in its stem after torchvision's initialisation, so it keeps torch's default init
        stem = nn.Conv2d(channels, STEM_CHANNELS, 3, stride=1) if kernel == 3 else nn.Conv2d(channels, STEM_CHANNELS, 4, stride=1, bias=False)
        bn = nn.BatchNorm2d(STEM_CHANNELS)
        self.stem = nn.Sequential(stem, bn, nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1))
        h, w = height - kernel + 1, width - kernel + 1
        for _ in range(len(OFFICIAL_WIDTHS)):  # max-pool, then the strided stages 2 and 3
            h, w = _halve(h), _halve(w)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(OFFICIAL_WIDTHS[-1] * h * w, out_dim))

    def forward(self, x):
        return self.head(self.features(self.stem(x)))


class CifarResNet18Encoder(nn.Module):
    """The usual CIFAR ResNet-18 (solo-learn, lightly): 3x3 stem, no max-pool, 4 stages, global average pool."""

    def __init__(self, image_shape: tuple[int, int, int], out_dim: int) -> None:
        super().__init__()
        channels = image_shape[0]
        widths = (STEM_CHANNELS, *CIFAR_WIDTHS)
        self.stem = nn.Sequential(nn.Conv2d(channels, STEM_CHANNELS, 3, stride=1, padding=1, bias=False),
                                  nn.BatchNorm2d(STEM_CHANNELS), nn.ReLU(inplace=True))
        self.features = nn.Sequential(
            *(_stage(c_in, c_out, 2, 1 if i == 0 else 2) for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])))
        )
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(CIFAR_WIDTHS[-1], out_dim)
        _init(self)

    def forward(self, x):
        return self.head(self.pool(self.features(self.stem(x))))


class DecoderBlock(nn.Module):
    """The official "Bottleneck18": two 3x3 transposed convs with BN; a residual path only when upsampling."""

    def __init__(self, c_in: int, c_out: int, upsample: bool = False) -> None:
        super().__init__()
        stride = 2 if upsample else 1
        self.conv1 = nn.ConvTranspose2d(c_in, c_out, 3, stride=stride, padding=1, output_padding=stride - 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.ConvTranspose2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.upsample = None
        if upsample:
            self.upsample = nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 1, stride=2, output_padding=1, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.upsample is not None:
            out = out + self.upsample(x)
        return self.relu(out)


class OfficialResNetDecoder(nn.Module):
    """Latent (N, d) -> logits (N, C, H, W) for H, W multiples of 16 (the official code: 32 and 64)."""

    WIDTHS = (512, 256, 128, 64)

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__()
        channels, height, width = image_shape
        if height % 16 or width % 16:
            raise ValueError(f"the ResNet decoder needs image sides divisible by 16, got {height}x{width}; "
                             "use net.backbone=conv or mlp")
        self.field = (self.WIDTHS[0], height // 16, width // 16)
        self.linear = nn.Linear(latent_dim, self.WIDTHS[0] * (height // 16) * (width // 16))
        stages = [nn.Sequential(DecoderBlock(c_in, c_in), DecoderBlock(c_in, c_out, upsample=True))
                  for c_in, c_out in zip(self.WIDTHS[:-1], self.WIDTHS[1:])]
        last = self.WIDTHS[-1]
        stages.append(nn.Sequential(DecoderBlock(last, last), DecoderBlock(last, last)))
        self.stages = nn.Sequential(*stages)
        self.out = nn.ConvTranspose2d(last, channels, 7, stride=2, padding=3, output_padding=1)

    def forward(self, z):
        return self.out(self.stages(self.linear(z).view(-1, *self.field)))
