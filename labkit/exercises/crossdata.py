"""Chapter 3's exercises: RMS contrast per image, the sliced Wasserstein distance, the Fréchet
distance between two Gaussians, a reading of the run's SWD ratios, and the memorisation test's
nearest-training-image distance."""

from __future__ import annotations

import torch

from ..metrics.sample_size import gaussian_frechet
from . import call, exercise, expect, expect_callable, number, returned, show

NB = "03_cross_dataset"








# --------------------------------------------------------------------------- RMS contrast


def _contrast_images() -> torch.Tensor:
    """Four 3×8×8 uint8 images: black, white, half black / half white, pure red."""
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    images[1] = 255
    images[2, :, :, 4:] = 255
    images[3, 0] = 255  # red: its grey level is the same everywhere
    return images


@exercise("rms_contrast_per_image", NB, "RMS contrast, one number per image",
          ("rms_contrast_per_image",), wrong={
    "std over the whole batch": "def rms_contrast_per_image(images):\n"
        "    return images.float().div(255).mean(dim=1).std()\n",
    "std across images (dim 0)": "def rms_contrast_per_image(images):\n"
        "    return images.float().div(255).mean(dim=1).flatten(1).std(dim=0)\n",
    "grey levels left in 0..255": "def rms_contrast_per_image(images):\n"
        "    return images.float().mean(dim=1).flatten(1).std(dim=1)\n",
    "colour channels not averaged to grey": "def rms_contrast_per_image(images):\n"
        "    return images.float().div(255).flatten(1).std(dim=1)\n",
})
def check_rms_contrast_per_image(rms_contrast_per_image) -> None:
    """Per image: the standard deviation of its grey levels (channel mean, pixels in [0, 1])."""
    expect_callable(rms_contrast_per_image, "rms_contrast_per_image")
    images = _contrast_images()
    got = call(rms_contrast_per_image, "rms_contrast_per_image", images.clone(),
                hint="the images are uint8: convert with .float() before averaging")
    returned(got, "rms_contrast_per_image", torch.Tensor)
    grey = images.float().div(255).mean(dim=1).flatten(1)
    unbiased, biased = grey.std(dim=1), grey.std(dim=1, correction=0)
    expect(got.shape == unbiased.shape, "the shape of the contrasts of 4 images",
           "(4,): one number per image", tuple(got.shape),
           "flatten each image's grey levels to a row (.flatten(1)) and take the standard "
           "deviation along that row (dim=1): the std over the whole batch, or across images, "
           "mixes images that differ in brightness into a contrast none of them has")
    got = got.float()
    expect(got[3].abs() < 1e-4, "the contrast of a uniformly red image", "0 (one grey level)",
           f"{float(got[3]):.4g}", "turn each image to grey first, the mean over its channels "
           "(dim=1), then take the std over the pixels: a uniform colour has no light and dark "
           "parts")
    ok = (torch.allclose(got, unbiased, atol=1e-4) or torch.allclose(got, biased, atol=1e-4))
    expect(ok, "the contrasts of a black, a white, a half-black half-white and a red image",
           f"{show(unbiased)} (or {show(biased)} with the population std)", show(got),
           "grey levels in [0, 1] (divide the uint8 values by 255): a half-black, half-white "
           "image has a std of about 0.5, a uniform one 0")


# --------------------------------------------------------------------------- sliced Wasserstein


def _sliced(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    unit = directions / directions.norm(dim=1, keepdim=True)
    pa, pb = (a @ unit.T).sort(dim=0).values, (b @ unit.T).sort(dim=0).values
    return (pa - pb).abs().mean()


@exercise("sliced_wasserstein", NB, "The sliced Wasserstein distance", ("sliced_wasserstein",),
          wrong={
    "directions not normalised": "def sliced_wasserstein(a, b, directions):\n"
        "    pa = (a @ directions.T).sort(dim=0).values\n"
        "    pb = (b @ directions.T).sort(dim=0).values\n"
        "    return (pa - pb).abs().mean()\n",
    "projections not sorted": "def sliced_wasserstein(a, b, directions):\n"
        "    unit = directions / directions.norm(dim=1, keepdim=True)\n"
        "    return (a @ unit.T - b @ unit.T).abs().mean()\n",
    "sorted across directions (wrong axis)": "def sliced_wasserstein(a, b, directions):\n"
        "    unit = directions / directions.norm(dim=1, keepdim=True)\n"
        "    pa = (a @ unit.T).sort(dim=1).values\n"
        "    pb = (b @ unit.T).sort(dim=1).values\n"
        "    return (pa - pb).abs().mean()\n",
    "squared differences": "def sliced_wasserstein(a, b, directions):\n"
        "    unit = directions / directions.norm(dim=1, keepdim=True)\n"
        "    pa = (a @ unit.T).sort(dim=0).values\n"
        "    pb = (b @ unit.T).sort(dim=0).values\n"
        "    return (pa - pb).pow(2).mean()\n",
})
def check_sliced_wasserstein(sliced_wasserstein) -> None:
    """Mean over unit directions and sorted projections of |sorted(a·d) − sorted(b·d)|."""
    expect_callable(sliced_wasserstein, "sliced_wasserstein")
    rng = torch.Generator().manual_seed(3)
    a = torch.randn(6, 3, generator=rng, dtype=torch.float64)
    b = torch.randn(6, 3, generator=rng, dtype=torch.float64) * 2 + 0.5
    directions = 3 * torch.randn(4, 3, generator=rng, dtype=torch.float64)
    shuffled = a[torch.tensor([3, 0, 5, 1, 4, 2])]
    hint = "(a, b: (M, D) point sets; directions: (P, D), one direction per row)"

    got = number(call(sliced_wasserstein, "sliced_wasserstein", a.clone(), shuffled.clone(),
                        directions.clone(), hint=f"project with a @ unit.T {hint}"),
                  "sliced_wasserstein")
    expect(abs(got) < 1e-9, "the distance between a point set and the same points shuffled",
           "0 (the same distribution)", f"{got:.4g}",
           "the distance compares distributions, not points in their order: sort each "
           "direction's projections (each column of a @ unit.T, sort(dim=0)) before "
           "subtracting, so that the smallest projection of a meets the smallest of b")
    got = number(call(sliced_wasserstein, "sliced_wasserstein", a.clone(), b.clone(),
                        directions.clone(), hint=f"project with a @ unit.T {hint}"),
                  "sliced_wasserstein")
    want = float(_sliced(a, b, directions))
    expect(abs(got - want) < 1e-6, "the distance between two point sets along 4 directions "
           "of length about 3", f"{want:.4f}", f"{got:.4f}",
           "scale each direction to unit length first (directions / their norms, dim=1), "
           "project, sort each projection over the points (dim=0), and average the absolute "
           "differences (not squared) over points and directions")


# --------------------------------------------------------------------------- Fréchet distance


def _gaussians() -> list[tuple[str, tuple[torch.Tensor, ...], str]]:
    t = lambda *rows: torch.tensor(rows, dtype=torch.float64)  # noqa: E731
    return [
        ("two equal Gaussians", (t(1.0, -2.0), t([2.0, 0.8], [0.8, 1.0]), t(1.0, -2.0),
                                 t([2.0, 0.8], [0.8, 1.0])),
         "0: a distribution is at distance 0 from itself. With Σ1 = Σ2 = Σ, (ΣΣ)^½ is Σ: "
         "the matrix square root, not the square root of each entry of ΣΣ"),
        ("N(0, 1) and N(1, 4) in one dimension", (t(0.0), t([1.0]), t(1.0), t([4.0])),
         "2 = (0 − 1)² + 1 + 4 − 2·√(1·4): the covariance term matters as much as the means"),
        ("two Gaussians with diagonal covariances", (t(0.0, 0.0), t([1.0, 0.0], [0.0, 9.0]),
                                                     t(1.0, 2.0), t([4.0, 0.0], [0.0, 1.0])),
         "||μ1 − μ2||² is the squared norm: here 1² + 2² = 5"),
        ("two Gaussians whose covariances do not commute",
         (t(0.0, 0.0), t([2.0, 0.8], [0.8, 1.0]), t(1.0, 2.0), t([1.0, 0.3], [0.3, 3.0])),
         "(Σ1Σ2)^½ is a matrix square root, not the square root of each entry: Tr((Σ1Σ2)^½) is "
         "the sum of the square roots of the eigenvalues of Σ1Σ2 "
         "(torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum())"),
    ]


@exercise("frechet_gaussians", NB, "The Fréchet distance between two Gaussians",
          ("frechet_distance",), wrong={
    "no covariance term": "def frechet_distance(mu1, sigma1, mu2, sigma2):\n"
        "    return (mu1 - mu2).pow(2).sum()\n",
    "elementwise square root of the product": "def frechet_distance(mu1, sigma1, mu2, sigma2):\n"
        "    return ((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace()\n"
        "            - 2 * torch.sqrt(sigma1 @ sigma2).trace())\n",
    "the norm of the means, not its square": "def frechet_distance(mu1, sigma1, mu2, sigma2):\n"
        "    cross = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum()\n"
        "    return (mu1 - mu2).norm() + sigma1.trace() + sigma2.trace() - 2 * cross\n",
    "sqrt(Σ1)·sqrt(Σ2) for (Σ1Σ2)^½": "def frechet_distance(mu1, sigma1, mu2, sigma2):\n"
        "    def root(s):\n"
        "        values, vectors = torch.linalg.eigh(s)\n"
        "        return vectors @ torch.diag(values.sqrt()) @ vectors.T\n"
        "    return ((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace()\n"
        "            - 2 * (root(sigma1) @ root(sigma2)).trace())\n",
})
def check_frechet_gaussians(frechet_distance) -> None:
    """||μ1 − μ2||² + Tr(Σ1 + Σ2 − 2(Σ1Σ2)^½), the squared distance FID reports."""
    expect_callable(frechet_distance, "frechet_distance")
    for name, (mu1, sigma1, mu2, sigma2), hint in _gaussians():
        got = call(frechet_distance, "frechet_distance", mu1.clone(), sigma1.clone(),
                    mu2.clone(), sigma2.clone(),
                    hint="the inputs are float64 tensors: means (D,), covariances (D, D)")
        got = number(got, "frechet_distance",
                     hint="reduce to a single number; with torch.linalg.eigvals keep the real "
                          "part (.real) once the square roots are taken")
        want = gaussian_frechet(*(x.numpy() for x in (mu1, sigma1, mu2, sigma2)))
        expect(abs(got - want) < 1e-6, f"the Fréchet distance of {name}", f"{want:.4f}",
               f"{got:.4f}", hint)


# --------------------------------------------------------------------------- reading the run


def _quality_context() -> dict:
    """A stand-in for the notebook's `quality`: the largest ratio, the largest raw SWD and the
    largest floor belong to three different datasets."""
    return {"quality": {
        "digits": {"swd": 0.6, "swd_floor": 0.1, "swd_ratio": 6.0},
        "faces": {"swd": 2.4, "swd_floor": 0.6, "swd_ratio": 4.0},
        "photos": {"swd": 2.0, "swd_floor": 1.0, "swd_ratio": 2.0},
    }}


@exercise("furthest_by_swd_ratio", NB, "Read your run: which generator is furthest?",
          ("furthest_dataset", "quality"), kind="run", context=_quality_context, wrong={
    "the largest raw SWD": "furthest_dataset = max(quality, key=lambda n: quality[n]['swd'])\n",
    "the smallest SWD ratio": "furthest_dataset = min(quality, "
                              "key=lambda n: quality[n]['swd_ratio'])\n",
    "the largest real-real floor": "furthest_dataset = max(quality, "
                                   "key=lambda n: quality[n]['swd_floor'])\n",
})
def check_furthest_by_swd_ratio(furthest_dataset, quality) -> None:
    """The dataset whose SWD ratio (generated over real-real SWD) is the largest in this run."""
    ratio = {name: q["swd_ratio"] for name, q in quality.items()}
    want = max(ratio, key=ratio.get)
    expect(isinstance(furthest_dataset, str), "`furthest_dataset`",
           f"a dataset's name, one of {sorted(quality)}", repr(furthest_dataset),
           "set furthest_dataset to the name (a string) of a row of the SWD table above")
    expect(furthest_dataset in quality, "`furthest_dataset`", f"one of {sorted(quality)}",
           repr(furthest_dataset), "use the dataset's name as the table writes it")
    raw = max(quality, key=lambda name: quality[name]["swd"])
    floor = max(quality, key=lambda name: quality[name]["swd_floor"])
    if furthest_dataset == raw != want:
        hint = (f"{raw} has the largest raw SWD, but two real samples of it are far apart too: "
                "the raw SWD is not comparable across datasets. Compare the SWD ratios")
    elif furthest_dataset == floor != want:
        hint = (f"{floor} has the largest real-real floor, which says how varied its real "
                "images are, not how good its generator is: compare the SWD ratios")
    elif furthest_dataset == min(ratio, key=ratio.get):
        hint = "that is the generator closest to its real images: this asks for the furthest"
    else:
        hint = ("the SWD ratio (generated SWD over the real-real floor) counts sampling floors: "
                "the furthest generator has the largest ratio")
    expect(furthest_dataset == want, "the dataset furthest from its real images in units of "
           "its own sampling floor", repr(want), repr(furthest_dataset), hint)


# --------------------------------------------------------------------------- memorisation


def _nearest(generated: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    return torch.cdist(generated.flatten(1).double(), train.flatten(1).double()).min(dim=1).values


@exercise("nearest_train_distance", NB, "Each sample's nearest training image",
          ("nearest_train_distance",), wrong={
    "distance to the mean training image": "def nearest_train_distance(generated, train):\n"
        "    return (generated - train.mean(dim=0)).flatten(1).norm(dim=1)\n",
    "squared distance": "def nearest_train_distance(generated, train):\n"
        "    d = torch.cdist(generated.flatten(1), train.flatten(1))\n"
        "    return d.min(dim=1).values ** 2\n",
    "nearest among the generated (itself included)": "def nearest_train_distance(generated, "
        "train):\n"
        "    d = torch.cdist(generated.flatten(1), generated.flatten(1))\n"
        "    return d.min(dim=1).values\n",
    "minimum over the wrong axis": "def nearest_train_distance(generated, train):\n"
        "    d = torch.cdist(generated.flatten(1), train.flatten(1))\n"
        "    return d.min(dim=0).values\n",
})
def check_nearest_train_distance(nearest_train_distance) -> None:
    """For each generated image, the L2 distance (not squared) to its nearest training image."""
    expect_callable(nearest_train_distance, "nearest_train_distance")
    rng = torch.Generator().manual_seed(5)
    train = torch.rand(5, 3, 4, 4, generator=rng) * 2 - 1
    generated = torch.stack([train[2],  # a copy: distance 0
                             (train[0] + 0.1 * torch.randn(3, 4, 4, generator=rng)).clamp(-1, 1),
                             torch.rand(3, 4, 4, generator=rng) * 2 - 1])
    got = call(nearest_train_distance, "nearest_train_distance", generated.clone(),
                train.clone(), hint="flatten each image to a vector (.flatten(1)); "
                                    "torch.cdist(generated_vectors, train_vectors) gives every "
                                    "pairwise distance")
    returned(got, "nearest_train_distance", torch.Tensor)
    want = _nearest(generated, train)
    expect(got.shape == want.shape, "the shape for 3 samples and 5 training images",
           "(3,): one distance per generated image", tuple(got.shape),
           "from the (3, 5) table of distances keep, for each sample (row), the smallest over "
           "the training images (min over dim=1)")
    got = got.double()
    expect(bool(got[1:].abs().gt(1e-6).all()), "the distances of samples 1 and 2, which are "
           "not copies", "positive numbers", show(got),
           "measure against the training images only: a sample compared with the generated "
           "set finds itself at distance 0")
    if torch.allclose(got, want ** 2, atol=1e-4) and not torch.allclose(got, want, atol=1e-4):
        hint = "these are squared distances: take the square root (torch.cdist already does)"
    else:
        hint = ("the nearest training image of each sample, not the mean image: sample 0 is a "
                "copy of training image 2 (distance 0), sample 1 a slightly noisy copy of "
                "training image 0")
    expect(torch.allclose(got, want, atol=1e-4), "the distances of a copy, a near-copy and a "
           "new image to their nearest of 5 training images", show(want), show(got), hint)
