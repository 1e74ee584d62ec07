"""Data-parallel training under `torchrun`: process group, BatchNorm across processes, DDP.

`torchrun --nproc_per_node N script.py` starts N processes with RANK, WORLD_SIZE and LOCAL_RANK
set; `setup()` joins them into one process group (NCCL on GPUs, gloo on CPUs). Every process cuts
its slice of each global batch, DistributedDataParallel averages the gradients, and only rank 0
writes files.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.distributed.nn.functional import all_reduce


@dataclass(frozen=True)
class Processes:
    """This process's place in the job: rank, world size, and the device it trains on."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs and writes files."""
        return self.rank == 0


def setup(device: str = "auto") -> Processes:
    """Join the torchrun process group if this is a multi-process job; else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1 and not (dist.is_available() and dist.is_initialized()):
        return Processes()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device != "cpu"
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), local_rank)


def device_for(processes: Processes, requested: str) -> torch.device:
    """cuda:LOCAL_RANK when this job uses GPUs, else the CPU."""
    if torch.cuda.is_available() and requested != "cpu":
        return torch.device("cuda", processes.local_rank)
    return torch.device("cpu")


class GlobalBatchNorm(nn.BatchNorm2d):
    """BatchNorm whose training statistics are those of the global batch over all processes.

    The same role as `nn.SyncBatchNorm`, which runs on GPUs only; this one also runs on CPUs
    (gloo). The mean and the biased variance are all-reduced (two passes, for accuracy) with the
    differentiable `all_reduce`, so gradients flow through the statistics exactly as in a
    single-process run over the global batch. Set `synchronize = False` to use local statistics.
    """

    synchronize: bool = True

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and self.synchronize and dist.is_initialized()
                and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([x.numel() / x.shape[1]], device=x.device, dtype=x.dtype)
        total = all_reduce(torch.cat([x.sum(dims), count]))
        n = total[-1]
        mean = total[:-1] / n
        var = all_reduce((x - mean.view(shape)).pow(2).sum(dims)) / n
        with torch.no_grad():
            m = self.momentum if self.momentum is not None else 1 / (self.num_batches_tracked + 1)
            self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
            self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
            self.num_batches_tracked += 1
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm1d/2d in `module` by a GlobalBatchNorm with the same state."""
    for name, child in module.named_children():
        batchnorm = isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d))
        if batchnorm and not isinstance(child, GlobalBatchNorm):
            new = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                  child.track_running_stats)
            new.load_state_dict(child.state_dict())
            new.to(child.running_mean.device if child.running_mean is not None else "cpu")
            setattr(module, name, new)
        else:
            convert_batchnorm(child)
    return module


@contextlib.contextmanager
def local_statistics(module: nn.Module):
    """Within the block, GlobalBatchNorm layers use this process's statistics (for sampling)."""
    layers = [m for m in module.modules() if isinstance(m, GlobalBatchNorm)]
    for layer in layers:
        layer.synchronize = False
    try:
        yield
    finally:
        for layer in layers:
            layer.synchronize = True


def wrap(module: nn.Module, processes: Processes, device: torch.device) -> nn.Module:
    """`module` inside DistributedDataParallel (gradients averaged over processes)."""
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, broadcast_buffers=False)


def mean_over_processes(values: torch.Tensor, processes: Processes) -> torch.Tensor:
    """The element-wise mean of `values` over all processes (the tensor itself for one)."""
    if processes.world == 1:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values / processes.world


def broadcast(obj, processes: Processes):
    """Rank 0's `obj` on every process."""
    if processes.world == 1:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]
