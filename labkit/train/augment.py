"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for few-shot GAN training.

D sees only augmented images, real and fake alike, and G is trained through the same
augmentations: because every transform is differentiable in the pixels, G's gradient passes
through them. D cannot then memorise the few real images it is shown, and G is not taught to
generate augmented-looking images, which augmenting the real images alone would do.

The three transforms of the paper, on images in [-1, 1], each drawn anew per image:

    color        brightness + U(-0.5, 0.5), saturation × U(0, 2), contrast × U(0.5, 1.5)
    translation  a shift of up to 1/8 of the size in each direction, zeros filling in
    cutout       a square of half the size set to zero, at a random place

The randomness comes from a `torch.Generator` passed in (the engine gives one per epoch, so a
resumed run draws the same augmentations), or from torch's global generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

POLICIES = ("color", "translation", "cutout")


def _uniform(shape: tuple, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) numbers of `shape` on x's device and dtype, drawn from `generator`."""
    device = generator.device if generator is not None else x.device
    return torch.rand(shape, generator=generator, device=device).to(x.device, x.dtype)


def _integers(low: int, high: int, n: int, x: torch.Tensor,
              generator: torch.Generator | None) -> torch.Tensor:
    """n integers in [low, high) on x's device."""
    device = generator.device if generator is not None else x.device
    return torch.randint(low, high, (n,), generator=generator, device=device).to(x.device)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast per image."""
    n = x.shape[0]
    x = x + (_uniform((n, 1, 1, 1), x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform((n, 1, 1, 1), x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform((n, 1, 1, 1), x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None = None,
                ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size (whole pixels), filling with zeros."""
    n, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _integers(-max_y, max_y + 1, n, x, generator).view(n, 1, 1)
    dx = _integers(-max_x, max_x + 1, n, x, generator).view(n, 1, 1)
    # Index into the image padded by one zero pixel: positions shifted out read that zero.
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + 1).clamp(0, w + 1)
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (n, h+2, w+2, c)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: torch.Tensor, generator: torch.Generator | None = None,
           ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` of the size per image, centred anywhere in the image."""
    n, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _integers(0, h + (1 - size_y % 2), n, x, generator).view(n, 1, 1)
    cx = _integers(0, w + (1 - size_x % 2), n, x, generator).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - size_y // 2, cx - size_x // 2
    inside = ((rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x))
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str | tuple | list | None) -> tuple[str, ...]:
    """('color', 'translation', ...) from "color,translation" (or a sequence); () for none.

    Raises ValueError naming the known transforms when one is unknown.
    """
    if not policy:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    names = tuple(name.strip() for name in names if name.strip())
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown:
        raise ValueError(f"unknown DiffAugment transform(s) {unknown}; use a comma-separated "
                         f"subset of {', '.join(POLICIES)} (or '' for none)")
    return names


class DiffAugment:
    """The augmentation D's inputs go through: `augment(images, generator)`.

    The same object (the same policy) is applied to the real and to the fake batch, each image
    with its own random draw; an empty policy returns the images unchanged (the same tensor).
    """

    def __init__(self, policy: str | tuple | list | None = "color,translation,cutout"):
        self.policy = parse_policy(policy)

    def __bool__(self) -> bool:
        return bool(self.policy)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
        """The augmented images (differentiable in x)."""
        for name in self.policy:
            x = TRANSFORMS[name](x, generator)
        return x

    def __repr__(self) -> str:
        return f"DiffAugment({','.join(self.policy)!r})"
