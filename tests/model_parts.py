"""PyTorch modules for the constructs the language is gaining (branches, gates, ConvNeXt's layers).

Written the way the issue's design sketches the generated classes, so that
the oracles and prototypes can be tried on them before the compiler emits
them. Test-side only.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """body(x) + shortcut(x), as cnnc generates it (`out + x`, the body first)."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is None:
            return out + x
        return out + self.shortcut(x)


class Concat(nn.Module):
    """torch.cat of the branches' outputs along the channels; an empty branch is nn.Identity()."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class Split(nn.Module):
    """Branch i gets part i of x.chunk(len(branches), dim=1); the outputs are concatenated."""

    def __init__(self, *branches: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(len(self.branches), dim=1)
        return torch.cat([branch(part) for branch, part in zip(self.branches, parts)], dim=1)


class Gate(nn.Module):
    """x * body(x), body(x) broadcast onto x."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.body(x)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels at every position (ConvNeXt): permute to channels-last and back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class PixelwiseLinear(nn.Linear):
    """nn.Linear on the channels at every pixel (ConvNeXt's pointwise layers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """A learnable per-channel scale of shape (C, 1, 1)."""

    def __init__(self, channels: int, init: float = 1e-6) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels, 1, 1), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth's semantics: row mode draws per sample, batch mode once."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise
