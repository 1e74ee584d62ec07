"""Device choice and mixed-precision settings for the training engine."""

from __future__ import annotations

import contextlib

import torch


def pick_device(requested: str = "auto") -> torch.device:
    """The device to train on: the requested one, or cuda, then mps, then cpu."""
    if requested != "auto":
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device={requested!r} was asked for but CUDA is not available; "
                               "use device='auto' or 'cpu' (on Colab: Runtime > Change runtime "
                               "type > GPU)")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("device='mps' was asked for but this machine has no MPS backend")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def amp_dtype(device: torch.device, amp: bool | str) -> torch.dtype | None:
    """The autocast dtype: bf16 where the GPU computes it natively (compute capability 8.0 and
    later: A100, L4, H100), else fp16 with a gradient scaler (a Colab T4: torch would emulate
    bf16 there, and cuDNN has no bf16 convolutions for it); None when off.

    `amp="auto"` turns mixed precision on for CUDA only; `amp=True` also enables bf16 on the CPU.
    """
    if amp is False or (amp == "auto" and device.type != "cuda"):
        return None
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        return torch.bfloat16 if native else torch.float16
    if device.type == "cpu":
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """An autocast context for `dtype`, or a no-op context when dtype is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def use_channels_last(device: torch.device, setting: bool | str) -> bool:
    """Whether to use the channels-last memory format ("auto": on CUDA only)."""
    if setting == "auto":
        return device.type == "cuda"
    return bool(setting)
