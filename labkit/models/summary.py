"""Counting and printing a model's parameters."""

from __future__ import annotations

from torch import nn


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters (elements of tensors with requires_grad)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def describe(module: nn.Module) -> str:
    """The module as PyTorch prints it, then a line 'Trainable parameters: 3,576,704'."""
    return f"{module!r}\nTrainable parameters: {count_parameters(module):,}"
