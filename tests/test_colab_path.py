"""A student's "Run all" on a fresh Colab GPU runtime where no dataset can be downloaded.

The kernel is made to look like Colab's: `google.colab` importable (its Drive mount refused, as
when the student closes the permission window), a GPU seen by the profile choice
(`labkit.profiles.gpu_available`), every connection off this machine refused (Google Drive's
quota, no network) and an empty data folder. Chapter 2 must not stop: `auto` picks full, the data
cell falls back to the offline faces at gpu-offline in one box, and training runs on them. The
parameters set here only shrink the run (they carry over to gpu-offline as set by hand) and keep
the simulated GPU unused (device="cpu").
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

STARTUP = '''
import socket
import sys
import types

import labkit.profiles

labkit.profiles.gpu_available = lambda: True  # the runtime has a GPU


def _mount(path, *args, **kwargs):
    raise RuntimeError("simulated: the student closed the Drive permission window")


colab = types.ModuleType("google.colab")
colab.drive = types.ModuleType("google.colab.drive")
colab.drive.mount = _mount
sys.modules["google.colab"] = colab
sys.modules["google.colab.drive"] = colab.drive
colab.output = types.ModuleType("google.colab.output")  # Colab's widget manager switch
colab.output.enable_custom_widget_manager = lambda: print("custom widget manager on")
sys.modules["google.colab.output"] = colab.output

_connect = socket.socket.connect


def _refuse(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost"):
        raise ConnectionRefusedError(f"simulated: no download from {host}")
    return _connect(self, address)


socket.socket.connect = _refuse
'''


def test_run_all_on_a_colab_gpu_without_data_reaches_training_on_the_offline_faces(
        tmp_path, monkeypatch):
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text(STARTUP)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))  # nothing downloaded yet
    monkeypatch.setenv("LABKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no Inception weights either
    for name in ("LABKIT_PROFILE", "LABKIT_RUNS", "LABKIT_INCEPTION_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    runs, out = tmp_path / "runs", tmp_path / "out.ipynb"
    small = {"device": "cpu", "epochs": 1, "data_repeats": 1, "nz": 16, "ngf": 8, "ndf": 8,
             "eval_samples": 32, "log_every": 1,
             # report 002's pipeline section at gpu-offline is full's (width 1024, 3000 steps):
             # a GPU's work, cut here to a few steps of a narrow model on the CPU
             "pipeline_steps": 2, "pipeline_width": 16, "pipeline_batch": 8, "pipeline_evals": 1}
    papermill.execute_notebook(str(NOTEBOOKS / "02_dcgan_celeba.ipynb"), str(out),
                               cwd=str(tmp_path), parameters={"out_dir": str(runs), **small},
                               progress_bar=False, kernel_name="python3")
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs if o.get("output_type") == "stream")
    assert "Google Drive is not mounted (RuntimeError: simulated" in text  # offered, refused
    assert text.count("could not be obtained") == 1  # one box ...
    box = text[text.index("could not be obtained"):]
    assert "CelebA" in box and "gpu-offline" in box  # ... saying what is missing and what runs
    assert "img_align_celeba" in box  # with the manual route to the real data
    assert text.count("custom widget manager on") == 1  # ipywidgets 8 on Colab: once
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    config = json.loads((run / "config.json").read_text())
    parameters = config["parameters"]
    assert parameters["profile"] == "gpu-offline" and parameters["dataset"] == "faces"
    assert parameters["image_size"] == 64 and parameters["metric"] == "swd"  # full's scale
    assert parameters["data_repeats"] == 1  # set by hand (though full's value): kept
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["epochs"] == 1
    # 32 images per evaluation: too few to rank checkpoints (the chapter's sample-size rule),
    # so the quick run records the curve and keeps no best.pt, and says so
    assert "too few images to rank checkpoints" in text and "no best.pt kept" in text
    assert not (run / "checkpoints" / "best.pt").exists()
    assert "swd" in json.loads((run / "history.json").read_text())["metrics"]
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss_d"]) == 3  # 100 faces in batches of 32: three iterations
    claims = json.loads((run / "claims.json").read_text())
    assert claims and all(c["profile"] == "gpu-offline" for c in claims)
