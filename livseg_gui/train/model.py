"""MobileUNet (the paper's network) and a plain U-Net of the same widths as the baseline.

MobileUNet: an encoder-decoder with skip connections whose blocks are MobileNetV2-style
inverted residuals: pointwise expansion, depthwise 3x3, pointwise projection, and a residual
link when shapes allow. Down-sampling is a stride-2 depthwise convolution; there are four
down-sampling stages. Expansion is kept at 1-2 at the two highest resolutions because wide
depthwise layers at full resolution dominate CPU time (measured in benchmarks/bench_nets.py).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WIDTHS = (16, 24, 32, 64, 96)
EXPANSIONS = (1, 2, 4, 4, 4)


def _bn_act(ch: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(ch), nn.ReLU6(inplace=True)]


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise (stride s) -> 1x1 project, plus identity when shapes match."""

    def __init__(self, cin: int, cout: int, expansion: int, stride: int = 1):
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), *_bn_act(hidden)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            *_bn_act(hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileUNet(nn.Module):
    """Depthwise-separable U-Net; outputs logits (N, out_ch, H, W). H, W must divide by 16."""

    def __init__(self, in_ch: int = 3, out_ch: int = 1, widths=WIDTHS, expansions=EXPANSIONS, blocks: int = 2):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, widths[0], 3, padding=1, bias=False), *_bn_act(widths[0]))
        self.enc0 = InvertedResidual(widths[0], widths[0], expansions[0])
        self.down = nn.ModuleList()
        for lvl in range(1, len(widths)):
            stage = [InvertedResidual(widths[lvl - 1], widths[lvl], expansions[lvl], stride=2)]
            stage += [InvertedResidual(widths[lvl], widths[lvl], expansions[lvl]) for _ in range(blocks - 1)]
            self.down.append(nn.Sequential(*stage))
        self.up = nn.ModuleList()
        for lvl in range(len(widths) - 1, 0, -1):
            cin = widths[lvl] + widths[lvl - 1]
            cout = widths[lvl - 1]
            self.up.append(
                nn.Sequential(
                    nn.Conv2d(cin, cout, 1, bias=False), *_bn_act(cout),
                    InvertedResidual(cout, cout, max(1, expansions[lvl - 1])),
                )
            )
        self.head = nn.Conv2d(widths[0], out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.enc0(self.stem(x))
        skips = [x]
        for stage in self.down:
            x = stage(x)
            skips.append(x)
        skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


class PlainUNet(nn.Module):
    """The baseline: a classic U-Net (two 3x3 conv + BN + ReLU per level) with the same widths."""

    def __init__(self, in_ch: int = 3, out_ch: int = 1, widths=WIDTHS):
        super().__init__()

        def double(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            )

        self.enc = nn.ModuleList([double(in_ch, widths[0])])
        self.enc.extend(double(widths[i - 1], widths[i]) for i in range(1, len(widths)))
        self.dec = nn.ModuleList(double(widths[i] + widths[i - 1], widths[i - 1]) for i in range(len(widths) - 1, 0, -1))
        self.head = nn.Conv2d(widths[0], out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.enc):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)


ARCHITECTURES = {"mobileunet": MobileUNet, "unet": PlainUNet}


def build(arch: str, in_ch: int, out_ch: int = 1) -> nn.Module:
    try:
        return ARCHITECTURES[arch](in_ch=in_ch, out_ch=out_ch)
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; choose from {sorted(ARCHITECTURES)}") from None


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, in_ch: int, size: int) -> int:
    """Multiply-accumulates of conv layers for one (1, in_ch, size, size) input."""
    total = 0

    def hook(mod: nn.Conv2d, _inp, out):
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += out.numel() * k * mod.in_channels // mod.groups

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, in_ch, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total
