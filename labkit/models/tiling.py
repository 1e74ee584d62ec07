"""Tiled inference: upscale a large image piece by piece, so memory stays bounded.

A ×4 SRResNet on a 2K DIV2K image (510×339 LR → 2040×1356 HR) holds 64-channel feature maps at
full output size: several gigabytes at once. Tiled, each piece of `tile`×`tile` LR pixels runs
with `overlap` extra LR pixels of context on every side (cut off the image's own borders, where
the whole-image pass sees the same zero padding), and only its central part is kept. An output
pixel is then exactly the whole-image one when the network's receptive field reaches no further
than the context; a deep network's farther reach changes pixels beside the tile seams slightly.
"""

from __future__ import annotations

import torch
from torch import nn


def tile_starts(length: int, tile: int) -> list[int]:
    """Where the tiles of one axis begin: 0, tile, 2·tile, ... below `length`."""
    return list(range(0, length, tile))


@torch.no_grad()
def tiled_upscale(model: nn.Module, image: torch.Tensor, scale: int | None = None, *,
                  tile: int = 128, overlap: int = 16,
                  device: str | torch.device | None = None) -> torch.Tensor:
    """`model(image)` for an image (C×H×W or N×C×H×W) computed in LR tiles, on the CPU.

    `scale`: the model's upscaling factor (default `model.scale`); `tile`: the side of the LR
    piece whose output is kept; `overlap`: LR pixels of context added on every side (≥ the
    receptive-field radius for results identical to a whole-image pass); `device`: where the
    model runs (default: where its parameters are). The model runs in eval mode (BatchNorm with
    its running statistics, so that every tile is normalised alike) and its mode is restored.
    """
    if tile < 1 or overlap < 0:
        raise ValueError(f"tile must be positive and overlap non-negative, got {tile}, {overlap}")
    scale = int(scale if scale is not None else model.scale)
    batched = image.dim() == 4
    x = image if batched else image.unsqueeze(0)
    if device is None:
        device = next(model.parameters()).device
    height, width = x.shape[-2:]
    out = None
    was_training = model.training
    model.eval()
    try:
        for top in tile_starts(height, tile):
            for left in tile_starts(width, tile):
                bottom, right = min(top + tile, height), min(left + tile, width)
                y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
                y1, x1 = min(bottom + overlap, height), min(right + overlap, width)
                piece = model(x[..., y0:y1, x0:x1].to(device)).float()
                if out is None:
                    out = torch.empty(x.shape[0], piece.shape[1], height * scale, width * scale)
                dy, dx = (top - y0) * scale, (left - x0) * scale
                core = piece[..., dy:dy + (bottom - top) * scale, dx:dx + (right - left) * scale]
                out[..., top * scale:bottom * scale, left * scale:right * scale] = core.cpu()
    finally:
        model.train(was_training)
    return out if batched else out[0]
