"""Class-balanced loss for thin foreground: soft Dice + positively weighted BCE."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor, pos_weight: float = 3.0) -> torch.Tensor:
    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    dice = 1 - (2 * inter + 1) / (prob.sum() + target.sum() + 1)
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(pos_weight))
    return dice + bce
