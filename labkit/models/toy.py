"""Small multilayer perceptrons for the toy GANs of chapter 1 (1-D and 2-D points).

    generator      z (N, nz) → [Linear → ReLU] × layers → Linear → points (N, dim)
    discriminator  x (N, dim) → [Linear → LeakyReLU(0.2)] × layers → Linear → logits (N,)

No normalisation layers, so a generated point depends on its own z only, and PyTorch's default
initialisation. The discriminator returns logits, as the DCGAN one does.
"""

from __future__ import annotations

import torch
from torch import nn


def _stack(width_in: int, hidden: int, layers: int, width_out: int,
           activation: type[nn.Module], **kwargs) -> nn.Sequential:
    """`layers` hidden Linear+activation blocks of width `hidden`, then a Linear output."""
    if layers < 1 or hidden < 1:
        raise ValueError(f"need layers >= 1 and hidden >= 1, got {layers}, {hidden}")
    modules: list[nn.Module] = []
    width = width_in
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), activation(**kwargs)]
        width = hidden
    modules.append(nn.Linear(width, width_out))
    return nn.Sequential(*modules)


class ToyGenerator(nn.Module):
    """Maps z of shape (N, nz) to points of shape (N, dim)."""

    def __init__(self, dim: int = 2, nz: int = 2, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.nz = nz
        self.config = {"family": "toy_mlp", "dim": dim, "nz": nz, "hidden": hidden,
                       "layers": layers}
        self.main = _stack(nz, hidden, layers, dim, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """One point per latent vector."""
        return self.main(z.flatten(1))


class ToyDiscriminator(nn.Module):
    """Maps points (N, dim) to one logit each, shape (N,)."""

    def __init__(self, dim: int = 2, hidden: int = 128, layers: int = 3):
        super().__init__()
        self.dim = dim
        self.config = {"family": "toy_mlp", "dim": dim, "hidden": hidden, "layers": layers}
        self.main = _stack(dim, hidden, layers, 1, nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score each point: a logit, positive for 'real'."""
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"this discriminator takes points of shape (N, {self.dim}); "
                             f"got {tuple(x.shape)}")
        return self.main(x).view(-1)


def mlp_gan(dim: int = 2, nz: int = 2, hidden: int = 128, layers: int = 3,
            d_hidden: int | None = None, d_layers: int | None = None,
            ) -> tuple[ToyGenerator, ToyDiscriminator]:
    """A toy MLP generator and discriminator for `dim`-D points (D's size defaults to G's)."""
    if dim < 1 or nz < 1:
        raise ValueError(f"need dim >= 1 and nz >= 1, got {dim}, {nz}")
    generator = ToyGenerator(dim, nz, hidden, layers)
    discriminator = ToyDiscriminator(dim, d_hidden or hidden, d_layers or layers)
    return generator, discriminator
