"""Chapter 4's exercises: the generator's input [z, one-hot(y)], the discriminator's label
planes, the report's Keras d_loss, class accuracy from a classifier's logits, and a reading of
the run's class-accuracy curve."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from . import call, exercise, expect, expect_callable, number, returned, show

NB = "04_cgan_emnist"








# --------------------------------------------------------------------------- the label as input


@exercise("cgan_generator_input", NB, "The generator's input: z and a one-hot label",
          ("generator_input",), wrong={
    "concatenated on the batch axis": "def generator_input(z, labels, num_classes):\n"
        "    return torch.cat([z, F.one_hot(labels, num_classes).float()], dim=0)\n",
    "the label as one float": "def generator_input(z, labels, num_classes):\n"
        "    return torch.cat([z, labels[:, None].float()], dim=1)\n",
    "one-hot before z": "def generator_input(z, labels, num_classes):\n"
        "    return torch.cat([F.one_hot(labels, num_classes).float(), z], dim=1)\n",
    "one_hot without num_classes": "def generator_input(z, labels, num_classes):\n"
        "    return torch.cat([z, F.one_hot(labels).float()], dim=1)\n",
})
def check_cgan_generator_input(generator_input) -> None:
    """[z, one-hot(labels)] side by side: (N, nz + K), z first, one-hot as floats."""
    expect_callable(generator_input, "generator_input")
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    labels, k = torch.tensor([2, 0, 1]), 5
    got = call(generator_input, "generator_input", z.clone(), labels.clone(), k,
                hint="each sample's latent vector and its one-hot label are joined side by "
                     "side, along the feature axis: torch.cat([...], dim=1)")
    returned(got, "generator_input", torch.Tensor)
    want = torch.cat([z, F.one_hot(labels, k).float()], dim=1)
    if got.dim() != 2 or len(got) != 3:
        hint = ("one row per sample: join z and the one-hot label side by side (dim=1), the "
                "batch axis stays 3")
    elif got.shape[1] == 4 + 1:
        hint = ("the label went in as one number: a class index as a float tells the network "
                "that class 4 is 'twice' class 2; give it num_classes numbers, "
                "F.one_hot(labels, num_classes)")
    else:
        hint = ("the label becomes num_classes numbers, F.one_hot(labels, num_classes): "
                "without num_classes, one_hot sizes the vector by the largest label in the "
                "batch (here 3, not 5), and the generator's first layer gets the wrong width")
    expect(got.shape == want.shape, "the shape for 3 samples, a latent of 4 and 5 classes",
           f"{tuple(want.shape)}: 4 latent numbers + 5 one-hot numbers per sample",
           tuple(got.shape), hint)
    expect(got.is_floating_point(), "the dtype", "a float tensor", str(got.dtype),
           "the one-hot vector is long: .float() it, the generator's Linear layer takes floats")
    expect(torch.equal(got[:, :4].float(), z) and torch.equal(got.float(), want),
           f"the input for labels {labels.tolist()}", "z first, then the one-hot label "
           "(rows like [z0, z1, z2, z3, 0, 0, 1, 0, 0])",
           "the columns in another order or with other values",
           "z first, then the one-hot label: the order the generator's first Linear layer "
           "expects, and the report's np.concatenate([latent, one_hot], axis=1)")


@exercise("cgan_label_planes", NB, "The discriminator's input: the label as image planes",
          ("discriminator_input",), wrong={
    "planes before the image": "def discriminator_input(images, labels, num_classes):\n"
        "    planes = F.one_hot(labels, num_classes).to(images.dtype)[:, :, None, None]\n"
        "    planes = planes.expand(-1, -1, *images.shape[-2:])\n"
        "    return torch.cat([planes, images], dim=1)\n",
    "one plane holding the label's value": "def discriminator_input(images, labels, "
        "num_classes):\n"
        "    plane = labels.to(images.dtype)[:, None, None, None]\n"
        "    return torch.cat([images, plane.expand(-1, 1, *images.shape[-2:])], dim=1)\n",
    "one_hot without num_classes": "def discriminator_input(images, labels, num_classes):\n"
        "    planes = F.one_hot(labels).to(images.dtype)[:, :, None, None]\n"
        "    planes = planes.expand(-1, -1, *images.shape[-2:])\n"
        "    return torch.cat([images, planes], dim=1)\n",
    "planes on the batch axis": "def discriminator_input(images, labels, num_classes):\n"
        "    planes = F.one_hot(labels, num_classes).to(images.dtype)[:, :, None, None]\n"
        "    planes = planes.expand(-1, -1, *images.shape[-2:])\n"
        "    return torch.cat([images, planes.reshape(-1, 1, *images.shape[-2:])], dim=0)\n",
})
def check_cgan_label_planes(discriminator_input) -> None:
    """The image's channels, then K planes: plane y all ones for label y, the others zeros."""
    expect_callable(discriminator_input, "discriminator_input")
    images = torch.rand(3, 1, 4, 5, generator=torch.Generator().manual_seed(1)) * 2 - 1
    labels, k = torch.tensor([2, 0, 1]), 4
    got = call(discriminator_input, "discriminator_input", images.clone(), labels.clone(), k,
                hint="make the one-hot label (N, K) into (N, K, 1, 1) planes, expand them to "
                     "the image's height and width, then torch.cat([images, planes], dim=1)")
    returned(got, "discriminator_input", torch.Tensor)
    want = torch.cat([images, F.one_hot(labels, k).float()[:, :, None, None].expand(-1, -1, 4, 5)],
                     dim=1)
    if got.dim() != 4 or len(got) != 3:
        hint = ("the planes are more channels of each image (torch.cat(..., dim=1)), not more "
                "images (dim=0): the batch axis stays 3")
    elif got.shape[1] == 1 + 1:
        hint = ("one plane holding the label's value tells the network that class 3 is "
                "'three times' class 1: give it one plane per class, the one-hot vector "
                "broadcast over the image")
    else:
        hint = ("one plane per class, F.one_hot(labels, num_classes): without num_classes the "
                "batch's largest label sets the count (here 3, not 4), and the first "
                "convolution gets the wrong number of channels")
    expect(got.shape == want.shape, "the shape for 3 grey 4×5 images and 4 classes",
           f"{tuple(want.shape)}: 1 image channel + 4 label planes", tuple(got.shape), hint)
    expect(got.is_floating_point(), "the dtype", "the images' float dtype", str(got.dtype),
           "convert the one-hot planes to the images' dtype (.to(images.dtype))")
    expect(torch.equal(got[:, :1], images), "channel 0 of the result", "the image itself",
           "something else", "the image's channels come first, then the label planes: the "
           "first convolution's weights expect them in that order (as ConditionalDiscriminator)")
    expect(torch.equal(got, want), f"the label planes for labels {labels.tolist()}",
           "plane y all ones for a sample of label y, every other plane all zeros",
           f"plane sums {show(got[:, 1:].sum(dim=(2, 3)))}",
           "the planes are the one-hot vector broadcast over the image: plane k of sample i is "
           "1 everywhere if labels[i] == k, else 0")


# --------------------------------------------------------------------------- the report's loss


def _keras_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    logits = torch.cat([real_logits, fake_logits])
    targets = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])
    return F.binary_cross_entropy_with_logits(logits, targets)


@exercise("keras_d_loss", NB, "The report's `d_loss`, from logits", ("keras_d_loss",), wrong={
    "the engine's Loss_D (a sum of two means)": "def keras_d_loss(real_logits, fake_logits):\n"
        "    return (F.binary_cross_entropy_with_logits(real_logits, "
        "torch.ones_like(real_logits))\n"
        "            + F.binary_cross_entropy_with_logits(fake_logits, "
        "torch.zeros_like(fake_logits)))\n",
    "targets swapped": "def keras_d_loss(real_logits, fake_logits):\n"
        "    logits = torch.cat([real_logits, fake_logits])\n"
        "    targets = torch.cat([torch.zeros_like(real_logits), torch.ones_like(fake_logits)])\n"
        "    return F.binary_cross_entropy_with_logits(logits, targets)\n",
    "a sigmoid before the logits loss": "def keras_d_loss(real_logits, fake_logits):\n"
        "    logits = torch.sigmoid(torch.cat([real_logits, fake_logits]))\n"
        "    targets = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])\n"
        "    return F.binary_cross_entropy_with_logits(logits, targets)\n",
})
def check_keras_d_loss(keras_d_loss) -> None:
    """One BCE-with-logits over the real and fake logits concatenated (targets 1 then 0)."""
    expect_callable(keras_d_loss, "keras_d_loss")
    zeros = torch.zeros(4)
    got = number(call(keras_d_loss, "keras_d_loss", zeros.clone(), zeros.clone(),
                        hint="real_logits and fake_logits are 1-D tensors of logits"),
                  "keras_d_loss")
    expect(abs(got - math.log(2)) < 1e-5, "the loss of a discriminator at chance (every logit "
           "0)", f"ln 2 = {math.log(2):.4f}", f"{got:.4f}",
           "a logit of 0 is D = 1/2, a BCE of ln 2 on every image: one mean over the doubled "
           "batch stays ln 2 (the engine's Loss_D, a sum of two means, is ln 4 = 1.386); "
           "do not apply a sigmoid first: the loss takes logits")
    rng = torch.Generator().manual_seed(2)
    real, fake = torch.randn(4, generator=rng) + 1.5, torch.randn(4, generator=rng) - 0.5
    got = number(call(keras_d_loss, "keras_d_loss", real.clone(), fake.clone(),
                        hint="real_logits and fake_logits are 1-D tensors of logits"),
                  "keras_d_loss")
    want = float(_keras_d_loss(real, fake))
    expect(abs(got - want) < 1e-5, f"the loss for real logits {show(real)} and fake logits "
           f"{show(fake)}", f"{want:.4f}", f"{got:.4f}",
           "concatenate the logits (real first, then fake) and the targets (ones for the real "
           "images, zeros for the fakes), then one F.binary_cross_entropy_with_logits")


# --------------------------------------------------------------------------- class accuracy


def _accuracy_cases() -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    square = torch.tensor([[3.0, 1.0, 0.0, 0.2],   # read as 0
                           [0.0, 2.0, 1.0, 0.5],   # read as 1
                           [0.5, 0.0, 4.0, 1.0],   # read as 2
                           [0.0, 2.0, 1.0, 1.5]])  # read as 1, requested 3: a miss
    rng = torch.Generator().manual_seed(4)
    logits = torch.randn(6, 3, generator=rng)
    requested = torch.tensor([0, 1, 2, 0, 1, 2])
    logits[torch.arange(6), requested] += torch.tensor([3.0, 3.0, 3.0, -3.0, 3.0, 3.0])
    return [("4 images of 4 classes", square, torch.tensor([0, 1, 2, 3])),
            ("6 images of 3 classes", logits, requested)]


@exercise("class_accuracy_logits", NB, "Class accuracy from the classifier's logits",
          ("requested_share",), wrong={
    "argmax over the batch axis": "def requested_share(logits, requested):\n"
        "    return float((logits.argmax(dim=0) == requested).float().mean())\n",
    "argmax of the flattened logits": "def requested_share(logits, requested):\n"
        "    return float((logits.argmax() == requested).float().mean())\n",
    "a count, not a share": "def requested_share(logits, requested):\n"
        "    return float((logits.argmax(dim=1) == requested).sum())\n",
    "mean probability of the requested class": "def requested_share(logits, requested):\n"
        "    probabilities = logits.softmax(dim=1)\n"
        "    return float(probabilities[torch.arange(len(requested)), requested].mean())\n",
})
def check_class_accuracy_logits(requested_share) -> None:
    """The share of images whose highest logit (over classes, dim 1) is the requested class."""
    expect_callable(requested_share, "requested_share")
    for name, logits, requested in _accuracy_cases():
        got = call(requested_share, "requested_share", logits.clone(), requested.clone(),
                    hint="logits is (N images, K classes): the class read for each image is "
                         "the argmax over the classes, logits.argmax(dim=1), shape (N,)")
        got = number(got, "requested_share")
        want = float((logits.argmax(dim=1) == requested).float().mean())
        hits = int((logits.argmax(dim=1) == requested).sum())
        if abs(got - hits) < 1e-6 and hits != want:
            hint = "that is the number of hits: divide by the number of images (a share in [0, 1])"
        else:
            hint = ("a hit is an image whose highest logit, over its row (argmax dim=1), is "
                    "the requested class; the accuracy counts hits, it does not average "
                    "probabilities, and each row is one image (dim=0 runs over the images)")
        expect(abs(got - want) < 1e-6, f"the class accuracy of {name}", f"{want:.4g}",
               f"{got:.4g}", hint)


# --------------------------------------------------------------------------- reading the run


def _curve_context() -> dict:
    """A stand-in for the notebook's `curve`: 0.9 reached exactly, then lost, then passed."""
    accuracies = [0.41, 0.74, 0.9, 0.92, 0.88, 0.96]
    return {"curve": [{"epoch": e, "step": 44 * e, "class accuracy": a}
                      for e, a in enumerate(accuracies, start=1)]}


@exercise("step_reaching_0_9", NB, "Read your run: when did the class accuracy reach 0.9?",
          ("first_step", "curve"), kind="run", context=_curve_context, wrong={
    "the epoch, not the step": "first_step = next((row['epoch'] for row in curve\n"
        "                   if row['class accuracy'] >= 0.9), None)\n",
    "the best evaluation's step": "first_step = max(curve, "
                                  "key=lambda row: row['class accuracy'])['step']\n",
    "strictly above 0.9": "first_step = next((row['step'] for row in curve\n"
        "                   if row['class accuracy'] > 0.9), None)\n",
    "the last step": "first_step = curve[-1]['step']\n",
})
def check_step_reaching_0_9(first_step, curve) -> None:
    """The step of the first evaluation with class accuracy >= 0.9, or None if none had it."""
    reached = next((row for row in curve if row["class accuracy"] >= 0.9), None)
    want = None if reached is None else reached["step"]
    if want is None:
        expect(first_step is None, "`first_step` in a run whose class accuracy never reached "
               "0.9", "None", repr(first_step),
               "no evaluation in the table reached 0.9 (the line under it says so): set "
               "first_step = None")
        return
    expect(isinstance(first_step, (int, float)) and not isinstance(first_step, bool),
           "`first_step`", "a step number", repr(first_step),
           "set first_step to the step (the table's `step` column) of the first evaluation "
           "whose class accuracy is at least 0.9")
    if first_step == reached["epoch"] and first_step != want:
        hint = "that is the epoch: the table's `step` column counts iterations"
    elif first_step > want:
        hint = ("an earlier evaluation already reached 0.9 (at least 0.9 counts, 0.9 itself "
                "included): the first one, not the best or the last")
    else:
        hint = "read the `step` of the first row whose class accuracy is at least 0.9"
    expect(first_step == want, "the first step at which the class accuracy reached 0.9",
           f"{want}", repr(first_step), hint)
