"""Chapter 2's exercises: pixels in [-1, 1], the DCGAN initialisation, the size of a transposed
convolution's output, the generator's step (what updates whom), and a reading of the run."""

from __future__ import annotations

import copy
import math
import numbers
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import ExerciseFailed, exercise, expect, expect_callable, returned, show

NB = "02_dcgan_celeba"




# --------------------------------------------------------------------------- pixels


@exercise("normalise_pixels", NB, "Pixels for a Tanh generator: uint8 to [-1, 1]",
          ("normalise_pixels",), wrong={
    "[0, 1] (ToTensor alone)": "def normalise_pixels(images):\n"
                               "    return images.float() / 255\n",
    "/ 255 - 0.5 (half of Normalize)": "def normalise_pixels(images):\n"
                                       "    return images.float() / 255 - 0.5\n",
    "/ 128 - 1 (255 falls short of 1)": "def normalise_pixels(images):\n"
                                         "    return images.float() / 128 - 1\n",
    "uint8 overflow (* 2 before float)": "def normalise_pixels(images):\n"
                                         "    return images * 2 / 255 - 1\n",
})
def check_normalise_pixels(normalise_pixels) -> None:
    """uint8 (N, C, H, W) in 0..255 to float32 in [-1, 1]: x / 127.5 - 1, the input unchanged."""
    expect_callable(normalise_pixels, "normalise_pixels")
    images = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).repeat(2, 3, 1, 1)
    kept = images.clone()
    got = normalise_pixels(images)
    returned(got, "normalise_pixels", torch.Tensor)
    expect(got.shape == images.shape, "the shape of the normalised batch", tuple(images.shape),
           tuple(got.shape), "normalise each pixel; keep the (N, C, H, W) layout")
    expect(torch.equal(images, kept), "the uint8 batch after the call", "unchanged",
           "modified in place", "return a new float tensor; the cache's uint8 images are reused")
    expect(got.is_floating_point(), "the dtype of the normalised batch", "a float dtype",
           str(got.dtype), "convert first (images.float()): the networks take float inputs, "
           "and arithmetic on uint8 wraps around at 256")
    want = images.float() / 127.5 - 1
    ramp = got[0, 0].flatten().float()
    drops = (ramp[1:] < ramp[:-1]).nonzero().flatten().tolist()
    expect(not drops, "the pixels 0, 1, ..., 255 after normalising", "increasing values",
           f"a drop after pixel {drops[0] if drops else ''}", "arithmetic on uint8 wraps around "
           "at 256 (200 * 2 is 144): convert to float (images.float()) before anything else")
    ends = [float(got.flatten()[0]), float(got.flatten()[255])]
    expect(abs(ends[0] + 1) < 1e-5 and abs(ends[1] - 1) < 1e-5,
           "the pixels 0 and 255 after normalising", "-1 and 1", f"{ends[0]:.4g} and {ends[1]:.4g}",
           "the generator ends in Tanh, so its images lie in [-1, 1]: the real ones must too, "
           "or D tells them apart by their range alone. The seed's ToTensor (÷ 255) followed by "
           "Normalize(0.5, 0.5) (− 0.5, ÷ 0.5) is x / 127.5 − 1")
    middle = images[0, 0, 8, :4].tolist()
    expect(torch.allclose(got.float(), want, atol=1e-5),
           f"the pixels {middle} after normalising", show(want[0, 0, 8, :4].tolist()),
           show(got[0, 0, 8, :4].float().tolist()),
           "a linear map: 0 → -1, 127.5 → 0, 255 → 1, computed in float (uint8 wraps at 256)")


# --------------------------------------------------------------------------- initialisation


def _init_probe() -> nn.Sequential:
    """Layers of both networks' kinds, large enough to measure their weights' spread; never
    run forward. PyTorch's default init gives these convolutions a std of about 0.05."""
    return nn.Sequential(nn.ConvTranspose2d(512, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(2048),
                         nn.ReLU(True), nn.Conv2d(8, 512, 4, 2, 1, bias=True),
                         nn.LeakyReLU(0.2, inplace=True), nn.Tanh())


@exercise("dcgan_init", NB, "The DCGAN initialisation", ("dcgan_init",), wrong={
    "std 0.2": "def dcgan_init(module):\n"
               "    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):\n"
               "        nn.init.normal_(module.weight, 0.0, 0.2)\n"
               "        if module.bias is not None:\n"
               "            nn.init.zeros_(module.bias)\n"
               "    elif isinstance(module, nn.BatchNorm2d):\n"
               "        nn.init.normal_(module.weight, 1.0, 0.02)\n"
               "        nn.init.zeros_(module.bias)\n",
    "BatchNorm scales set to 0": "def dcgan_init(module):\n"
               "    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):\n"
               "        nn.init.normal_(module.weight, 0.0, 0.02)\n"
               "        if module.bias is not None:\n"
               "            nn.init.zeros_(module.bias)\n"
               "    elif isinstance(module, nn.BatchNorm2d):\n"
               "        nn.init.zeros_(module.weight)\n"
               "        nn.init.zeros_(module.bias)\n",
    "BatchNorm scales from N(0, 0.02) like the convolutions": "def dcgan_init(module):\n"
               "    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):\n"
               "        nn.init.normal_(module.weight, 0.0, 0.02)\n"
               "        if module.bias is not None:\n"
               "            nn.init.zeros_(module.bias)\n",
    "nn.Conv2d only (misses ConvTranspose2d)": "def dcgan_init(module):\n"
               "    if isinstance(module, nn.Conv2d):\n"
               "        nn.init.normal_(module.weight, 0.0, 0.02)\n"
               "        if module.bias is not None:\n"
               "            nn.init.zeros_(module.bias)\n"
               "    elif isinstance(module, nn.BatchNorm2d):\n"
               "        nn.init.normal_(module.weight, 1.0, 0.02)\n"
               "        nn.init.zeros_(module.bias)\n",
})
def check_dcgan_init(dcgan_init) -> None:
    """`net.apply(dcgan_init)`: conv weights ~ N(0, 0.02), BN scales ~ N(1, 0.02), biases 0."""
    expect_callable(dcgan_init, "dcgan_init")
    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left as it was
        torch.manual_seed(0)
        net = _init_probe()
        before = copy.deepcopy(net.state_dict())
        try:
            net.apply(dcgan_init)
        except Exception as error:  # noqa: BLE001 - shown to the student, with a hint
            raise ExerciseFailed(
                f"`net.apply(dcgan_init)`: expected no error, got {type(error).__name__}: "
                f"{error}.\nHint: `apply` calls dcgan_init on every module (ReLU, Tanh and the "
                "Sequential too): act only on convolutions and BatchNorm layers") from error
    untouched = all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    expect(not untouched, "the layers after `net.apply(dcgan_init)`", "new weights",
           "the weights PyTorch started them with", "the body still contains `...`, or its "
           "tests match no module: isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)), "
           "isinstance(module, nn.BatchNorm2d)")
    names = {3: "the Conv2d (discriminator) weights", 0: "the ConvTranspose2d (generator) weights"}
    for index, what in names.items():
        w = net[index].weight.detach()
        mean, std = float(w.mean()), float(w.std())
        hint = ("nn.ConvTranspose2d is not a subclass of nn.Conv2d: test for both (or for "
                "'Conv' in the class name, as the PyTorch tutorial does)" if index == 0 and
                abs(std - 0.051) < 0.003 else
                "nn.init.normal_(module.weight, 0.0, 0.02): the seed report drew every "
                "convolution's weights from a normal distribution with mean 0 and standard "
                "deviation 0.02")
        expect(abs(mean) < 2e-3 and 0.0185 < std < 0.0215, f"{what}: mean and std",
               "mean 0, std 0.02", f"mean {mean:.4f}, std {std:.4f}", hint)
    bias = net[3].bias.detach()
    expect(bool((bias == 0).all()), "the convolution's bias", "all zeros",
           f"values up to {float(bias.abs().max()):.3g}", "nn.init.zeros_(module.bias) where a "
           "convolution has one (module.bias is not None)")
    bn = net[1]
    scale, shift = bn.weight.detach(), bn.bias.detach()
    mean, std = float(scale.mean()), float(scale.std())
    expect(abs(mean - 1) < 5e-3 and 0.015 < std < 0.025, "the BatchNorm scales (weight): mean "
           "and std", "mean 1, std 0.02", f"mean {mean:.4f}, std {std:.4f}",
           "BatchNorm's weight multiplies the normalised activations: N(1, 0.02) starts it near "
           "1, where scales near 0 would silence the layer's output at the start"
           if abs(mean) < 0.1 else "nn.init.normal_(module.weight, 1.0, 0.02) for BatchNorm")
    expect(bool((shift == 0).all()), "the BatchNorm shifts (bias)", "all zeros",
           f"values up to {float(shift.abs().max()):.3g}", "nn.init.zeros_(module.bias)")


# --------------------------------------------------------------------------- transposed size


def _actual_size(size: int, kernel: int, stride: int, padding: int, output_padding: int) -> int:
    layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding, bias=False)
    with torch.no_grad():
        return layer(torch.zeros(1, 1, size, size)).shape[-1]


@exercise("transposed_size", NB, "The output size of a transposed convolution",
          ("transposed_output_size",), wrong={
    "the convolution's formula": "def transposed_output_size(size, kernel, stride, padding, "
                                 "output_padding=0):\n"
                                 "    return (size + 2 * padding - kernel) // stride + 1\n",
    "size × stride": "def transposed_output_size(size, kernel, stride, padding, "
                     "output_padding=0):\n    return size * stride\n",
    "output_padding left out": "def transposed_output_size(size, kernel, stride, padding, "
                               "output_padding=0):\n"
                               "    return (size - 1) * stride - 2 * padding + kernel\n",
    "padding counted once": "def transposed_output_size(size, kernel, stride, padding, "
                            "output_padding=0):\n"
                            "    return (size - 1) * stride - padding + kernel + output_padding\n",
})
def check_transposed_size(transposed_output_size) -> None:
    """(size − 1)·stride − 2·padding + kernel + output_padding, checked on nn.ConvTranspose2d."""
    expect_callable(transposed_output_size, "transposed_output_size")
    cases = [  # (size, kernel, stride, padding, output_padding, what it is, hint)
        (1, 4, 1, 0, 0, "the generator's first layer (the 1×1 latent)",
         "a transposed convolution spreads each input pixel over a kernel-sized patch: from "
         "1×1 with kernel 4 and stride 1 the output is 4×4. It is not the convolution's "
         "(size + 2·padding − kernel) / stride + 1 — that formula runs the other way"),
        (4, 4, 2, 1, 0, "a doubling stage of the generator",
         "out = (size − 1)·stride − 2·padding + kernel (+ output_padding): padding crops "
         "`padding` pixels from each side of the output, two in all"),
        (32, 5, 3, 1, 0, "the 96×96 layout's last layer", "the same formula with kernel 5, "
         "stride 3: (32 − 1)·3 − 2 + 5"),
        (16, 3, 2, 1, 1, "kernel 3, stride 2, padding 1, output_padding 1",
         "output_padding adds that many rows and columns on one side: a stride-2 convolution "
         "maps both 31 and 32 pixels to 16, and output_padding says which one to go back to"),
        (7, 3, 2, 0, 0, "kernel 3, stride 2, no padding", "(7 − 1)·2 − 0 + 3"),
    ]
    for size, kernel, stride, padding, extra, what, hint in cases:
        want = _actual_size(size, kernel, stride, padding, extra)
        got = transposed_output_size(size, kernel, stride, padding, extra)
        returned(got, "transposed_output_size", int)
        expect(got == want, f"the output size of {what}: ConvTranspose2d(kernel={kernel}, "
               f"stride={stride}, padding={padding}, output_padding={extra}) on a {size}×{size} "
               "input", want, got, hint)


# --------------------------------------------------------------------------- generator step


class _Net(nn.Module):
    def __init__(self, n_in: int, n_out: int, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(n_in, 8), nn.LeakyReLU(0.2), nn.Linear(8, n_out))

    def forward(self, x):
        out = self.net(x)
        return out.squeeze(-1) if out.shape[-1] == 1 else out


def _reference_update(G, D, z, optimizer) -> torch.Tensor:
    optimizer.zero_grad()
    D.requires_grad_(False)
    logits = D(G(z))
    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    loss.backward()
    D.requires_grad_(True)
    optimizer.step()
    return loss.detach()


def _setup(seed_g: int = 1, seed_d: int = 2):
    with torch.random.fork_rng(devices=[]):
        G, D = _Net(3, 2, seed_g), _Net(2, 1, seed_d)
        z = torch.randn(16, 3, generator=torch.Generator().manual_seed(3))
    for p in G.parameters():  # the gradient left over from the previous iteration
        p.grad = torch.full_like(p, 0.5)
    return G, D, z, torch.optim.SGD(G.parameters(), lr=0.1)


@exercise("generator_update", NB, "The generator's step: what updates whom",
          ("generator_update",), wrong={
    "D left trainable": "def generator_update(G, D, z, optimizer):\n"
        "    optimizer.zero_grad()\n    logits = D(G(z))\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))\n"
        "    loss.backward()\n    optimizer.step()\n    return loss.detach()\n",
    "D never unfrozen": "def generator_update(G, D, z, optimizer):\n"
        "    optimizer.zero_grad()\n    D.requires_grad_(False)\n    logits = D(G(z))\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))\n"
        "    loss.backward()\n    optimizer.step()\n    return loss.detach()\n",
    "no zero_grad (gradients accumulate)": "def generator_update(G, D, z, optimizer):\n"
        "    D.requires_grad_(False)\n    logits = D(G(z))\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))\n"
        "    loss.backward()\n    D.requires_grad_(True)\n    optimizer.step()\n"
        "    return loss.detach()\n",
    "target 0 (the fakes' label in D's step)": "def generator_update(G, D, z, optimizer):\n"
        "    optimizer.zero_grad()\n    D.requires_grad_(False)\n    logits = D(G(z))\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))\n"
        "    loss.backward()\n    D.requires_grad_(True)\n    optimizer.step()\n"
        "    return loss.detach()\n",
    "the fakes detached": "def generator_update(G, D, z, optimizer):\n"
        "    optimizer.zero_grad()\n    D.requires_grad_(False)\n    logits = D(G(z).detach())\n"
        "    loss = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))\n"
        "    loss.backward()\n    D.requires_grad_(True)\n    optimizer.step()\n"
        "    return loss.detach()\n",
})
def check_generator_update(generator_update) -> None:
    """Zero G's gradients, freeze D, BCE(D(G(z)), 1) backward, unfreeze D, step G; return the
    loss. G moves as the reference's G does; D keeps its weights, gets no gradient, and is
    trainable again afterwards."""
    expect_callable(generator_update, "generator_update")
    G, D, z, optimizer = _setup()
    G_ref, D_ref, _, optimizer_ref = _setup()
    want = _reference_update(G_ref, D_ref, z, optimizer_ref)
    d_before = copy.deepcopy(D.state_dict())
    try:
        got = generator_update(G, D, z, optimizer)
    except RuntimeError as error:
        raise ExerciseFailed(
            f"one generator step on a small G and D: expected it to run, got RuntimeError: "
            f"{str(error).splitlines()[0]}.\nHint: the loss must reach G's parameters through D: "
            "do not detach the fakes here (that is the discriminator's step), and freeze D "
            "with D.requires_grad_(False), which still lets gradients flow through it") from error
    returned(got, "generator_update", (torch.Tensor, float))
    got = float(got)
    expect(abs(got - float(want)) < 1e-5, "the generator's loss", f"{float(want):.4f}",
           f"{got:.4f}", "the non-saturating loss -log D(G(z)): BCE-with-logits of D(G(z)) "
           "against 1 (G wants its fakes called real); 0 is the fakes' target in D's step")
    leaked = [n for n, p in D.named_parameters() if p.grad is not None]
    expect(not leaked, "D's gradients after the generator's step", "none (p.grad is None)",
           f"gradients on {leaked}", "call D.requires_grad_(False) before the forward pass: "
           "gradients still flow through D to G, but none are stored on D's weights (no "
           "wasted work, and nothing left over to leak into D's next update)")
    frozen = [n for n, p in D.named_parameters() if not p.requires_grad]
    expect(not frozen, "D after the generator's step", "trainable again (requires_grad True)",
           f"frozen: {frozen}", "call D.requires_grad_(True) after backward, or D's next step "
           "cannot learn anything")
    changed = [k for k, v in D.state_dict().items() if not torch.equal(v, d_before[k])]
    expect(not changed, "D's weights", "unchanged by the generator's step", f"changed: {changed}",
           "only G's optimizer steps here")
    for (name, p), p_ref in zip(G.named_parameters(), G_ref.parameters()):
        moved = p.detach() - p_ref.detach()
        expect(torch.allclose(p, p_ref, atol=1e-6), f"G's {name} after one SGD step (lr 0.1)",
               "the reference's values", f"a difference of up to {float(moved.abs().max()):.3g}",
               "optimizer.zero_grad() first: G came in with a gradient left from the previous "
               "iteration, and backward adds to whatever .grad holds")


# --------------------------------------------------------------------------- read the run


def _run_context() -> dict:
    epoch = [1, 1, 1, 2, 2, 2]
    loss_d = [1.40, 1.30, 1.20, 1.45, 1.08, 0.62]  # last epoch: mean 1.05; last line 0.62
    return {"run": SimpleNamespace(history={"epoch": epoch, "loss_d": loss_d,
                                            "step": list(range(1, 7))})}


@exercise("loss_d_vs_chance", NB, "Read your run: the discriminator's loss against ln 4",
          ("loss_d_last_epoch", "below_chance", "run"), kind="run", context=_run_context,
          wrong={
    "the last logged iteration": "loss_d_last_epoch = run.history['loss_d'][-1]\n"
                                 "below_chance = loss_d_last_epoch < math.log(4)\n",
    "the mean over the whole run": "loss_d_last_epoch = float(np.mean(run.history['loss_d']))\n"
                                   "below_chance = loss_d_last_epoch < math.log(4)\n",
    "chance taken as ln 2": "e = np.asarray(run.history['epoch'])\n"
        "loss_d_last_epoch = float(np.asarray(run.history['loss_d'])[e == e.max()].mean())\n"
        "below_chance = loss_d_last_epoch < math.log(2)\n",
})
def check_loss_d_vs_chance(loss_d_last_epoch, below_chance, run) -> None:
    """The mean Loss_D over the last epoch's iterations, and whether it is below ln 4."""
    epoch, loss_d = run.history["epoch"], run.history["loss_d"]
    last = [v for e, v in zip(epoch, loss_d) if e == max(epoch)]
    want = sum(last) / len(last)
    expect(isinstance(loss_d_last_epoch, numbers.Real) and not isinstance(loss_d_last_epoch,
                                                                         (bool, np.bool_)),
           "`loss_d_last_epoch`", "a number", repr(loss_d_last_epoch),
           "set it to the mean Loss_D of your run's last epoch (the table above shows it)")
    expect(abs(loss_d_last_epoch - want) <= 0.01, "the mean Loss_D in your run's last epoch",
           f"{want:.4f}", f"{loss_d_last_epoch:.4f}",
           "average over every iteration of the last epoch (run.history['epoch'] says which "
           "epoch each entry of run.history['loss_d'] belongs to), not the last logged line "
           "alone nor the whole run")
    expect(isinstance(below_chance, (bool, np.bool_)), "`below_chance`", "True or False",
           repr(below_chance), "compare the number with the loss of a discriminator at chance")
    expect(bool(below_chance) == (want < math.log(4)), "`below_chance` for a mean Loss_D of "
           f"{want:.4f}", want < math.log(4), below_chance,
           "Loss_D adds two cross-entropies (reals against 1, fakes against 0); a D that "
           "outputs 1/2 for everything scores ln 2 on each, ln 4 ≈ 1.386 in all")
