"""Data-parallel training: 2 CPU processes (gloo) match 1 process with the same global batch."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_worker(processes: int, out_dir: Path, result: Path, epochs: int, resume: str = "no"):
    """Run tests/ddp_worker.py alone or under torchrun; return what rank 0 saved."""
    args = [str(WORKER), str(out_dir), str(result), str(epochs), resume]
    if processes > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
               "--master_addr=127.0.0.1", f"--master_port={free_port()}", *args]
    else:
        cmd = [sys.executable, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                          env={**_env(), "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return torch.load(result, weights_only=True), done.stdout


def _env() -> dict:
    import os

    env = dict(os.environ)
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    one, _ = run_worker(1, tmp_path / "one", tmp_path / "one.pt", epochs=2)
    two, out = run_worker(2, tmp_path / "two", tmp_path / "two.pt", epochs=2)
    for net in ("generator", "discriminator"):
        for key, value in one[net].items():
            if value.is_floating_point():
                torch.testing.assert_close(two[net][key], value, rtol=1e-3, atol=1e-4,
                                           msg=f"{net}.{key}")
    # Logged losses are the global batch's: the same as the one-process run's.
    torch.testing.assert_close(torch.tensor(two["loss_d"]), torch.tensor(one["loss_d"]),
                               rtol=1e-3, atol=1e-4)
    assert out.count("Loss_D:") == 4  # only rank 0 logs: 2 epochs × 2 log lines
    runs = list((tmp_path / "two").iterdir())
    assert len(runs) == 1 and (runs[0] / "checkpoints" / "last.pt").is_file()


@pytest.mark.slow
def test_a_two_process_checkpoint_resumes_in_one_process(tmp_path):
    two, _ = run_worker(2, tmp_path / "runs", tmp_path / "two.pt", epochs=1)
    resumed, out = run_worker(1, tmp_path / "runs", tmp_path / "resumed.pt", epochs=2,
                              resume=two["dir"])
    straight, _ = run_worker(1, tmp_path / "straight", tmp_path / "straight.pt", epochs=2)
    assert "Resuming" in out and resumed["dir"] == two["dir"]
    for key, value in straight["generator"].items():
        if value.is_floating_point():
            torch.testing.assert_close(resumed["generator"][key], value, rtol=1e-3, atol=1e-4)


@pytest.mark.slow
def test_a_chapter_runs_under_torchrun_and_rank_0_alone_writes_and_reports(tmp_path):
    out = tmp_path / "runs"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={free_port()}", "-m", "labkit", "run",
           "dcgan", "--profile", "smoke", "-p", "epochs=1", "-p", "data_repeats=1",
           "-p", f"out_dir={out}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240,
                          env={**_env(), "OMP_NUM_THREADS": "1",
                               "LABKIT_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run,) = out.iterdir()  # one run folder for the two processes
    assert done.stdout.count("run folder:") == 1 and (run / "claims.json").is_file()
    config = (run / "config.json").read_text()
    assert '"processes": 2' in config and (run / "losses.png").is_file()
