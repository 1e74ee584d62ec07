"""Weight initialisation used by the DCGAN paper and the PyTorch DCGAN tutorial."""

from __future__ import annotations

from torch import nn

_CONVS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def init_dcgan_weights(module: nn.Module) -> None:
    """Conv weights ~ N(0, 0.02); BatchNorm weights ~ N(1, 0.02), biases 0. Use with `.apply`."""
    if isinstance(module, _CONVS):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, _BATCHNORMS) and module.affine:
        nn.init.normal_(module.weight, mean=1.0, std=0.02)
        nn.init.zeros_(module.bias)
