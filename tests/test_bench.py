"""The benchmark: both loops really train on the same images; the table reports every row."""

import json

import pytest
import torch

from labkit import bench
from labkit.data import load


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory):
    root = tmp_path_factory.mktemp("jpegs")
    images = load("photos", image_size=64, subset=48).images
    return bench.write_jpeg_folder(images, root)


@pytest.mark.slow
def test_bench_rows_measure_both_loops_on_the_same_data(jpegs, tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    device = torch.device("cpu")
    training = bench.bench_training(jpegs, device, iterations=2, repeats=1, batch_size=16,
                                    out_dir=tmp_path / "runs")
    assert training["reference_images_per_s"] > 0 and training["labkit_images_per_s"] > 0
    assert training["ratio"] == pytest.approx(
        training["labkit_images_per_s"] / training["reference_images_per_s"])
    data = bench.bench_data_path(jpegs, device, repeats=1, batch_size=16)
    assert data["cache_images_per_s"] > data["jpeg_images_per_s"] > 0
    cuda = bench.bench_cuda(jpegs, device, 2, 1, 16, tmp_path)
    assert cuda == {"measured": False, "why": "no CUDA device (ran on cpu)"}
    result = {"device": "cpu", "torch": torch.__version__, "threads": 2, "model": "m",
              "batch_size": 16, "repeats": 1, "training": training, "data_path": data,
              "cuda": cuda, "chapters": {"02_dcgan_celeba": {"smoke": 9.0, "cpu": None}}}
    table = bench.markdown(result)
    assert f"| {training['ratio']:.2f} |" in table
    assert "not measured: no CUDA device" in table
    assert "02_dcgan_celeba wall time, s: smoke / cpu | 9 | not measured" in table
    json.dumps(result)  # JSON-ready


def test_flops_per_image_counts_the_dcgan_iteration():
    flops = bench.flops_per_image(torch.device("cpu"), batch_size=2)
    # G forward + 3 D forwards + backwards: of the order of a few GFLOPs per image.
    assert 1e9 < flops < 2e10


def test_the_books_benchmark_table_is_the_one_the_committed_run_wrote():
    """book/benchmark.md includes bench/bench.md; that file must be `markdown()` of bench.json
    (written together by `make bench`), never a table edited by hand."""
    root = bench.ROOT
    assert "{include} ../bench/bench.md" in (root / "book" / "benchmark.md").read_text()
    result = json.loads((root / "bench" / "bench.json").read_text())
    assert (root / "bench" / "bench.md").read_text() == bench.markdown(result)
    training, data = result["training"], result["data_path"]
    assert training["labkit_images_per_s"] == pytest.approx(
        sorted(training["labkit_all"])[len(training["labkit_all"]) // 2])
    assert data["ratio"] == pytest.approx(data["cache_images_per_s"] / data["jpeg_images_per_s"])
    assert set(result["chapters"]) == {p.stem for p in (root / "notebooks").glob("[0-9]*.ipynb")}


def test_chapter_cpu_time_comes_from_the_cache_of_a_cpu_book_build_only(tmp_path, monkeypatch):
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    monkeypatch.setattr(bench, "ROOT", tmp_path)
    notebook = tmp_path / "notebooks" / "01_x.ipynb"
    notebook.parent.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nbformat.write(nb, notebook)
    get_cache(tmp_path / "_build" / ".jupyter_cache").cache_notebook_bundle(
        CacheBundleIn(nb, str(notebook), data={"execution_seconds": 42.0}), check_validity=False)
    assert bench.book_execution_seconds(notebook) is None  # no profile recorded
    (tmp_path / "_build" / ".profile").write_text("smoke\n")
    assert bench.book_execution_seconds(notebook) is None  # a smoke build is not a cpu time
    (tmp_path / "_build" / ".profile").write_text("cpu\n")
    assert bench.book_execution_seconds(notebook) == 42.0
    nb.cells[0].source = "2"
    nbformat.write(nb, notebook)
    assert bench.book_execution_seconds(notebook) is None  # that version was never executed
