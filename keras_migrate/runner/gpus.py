"""List the local NVIDIA GPUs through ``nvidia-smi``.

No GPU library is imported: the listing is what ``nvidia-smi
--query-gpu=index,name,memory.used,memory.total --format=csv,noheader`` prints. Its
indices are PCI-bus order; the runner sets ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` next to
``CUDA_VISIBLE_DEVICES`` so that "GPU 1" means the same card to the frameworks.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, field

QUERY = [
    "--query-gpu=index,name,memory.used,memory.total",
    "--format=csv,noheader",
]
_TIMEOUT_S = 15


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_used_mib: int | None
    memory_total_mib: int | None

    def label(self) -> str:
        mem = ""
        if self.memory_total_mib is not None:
            used = "?" if self.memory_used_mib is None else self.memory_used_mib
            mem = f", {used}/{self.memory_total_mib} MiB used"
        return f"GPU {self.index}: {self.name}{mem}"


@dataclass
class GpuListing:
    gpus: list[Gpu] = field(default_factory=list)
    error: str | None = None
    """Why no GPU could be listed (no nvidia-smi, no driver); None when it ran."""

    def find(self, index: int) -> Gpu | None:
        return next((g for g in self.gpus if g.index == index), None)

    def to_json(self) -> dict:
        """The shape of the ``keras-migrate.listDevices`` reply."""
        out: dict = {
            "gpus": [
                {
                    "index": g.index,
                    "name": g.name,
                    "memoryUsed": g.memory_used_mib,
                    "memoryTotal": g.memory_total_mib,
                }
                for g in self.gpus
            ]
        }
        if self.error:
            out["error"] = self.error
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def _mib(text: str) -> int | None:
    text = text.strip()
    if text.endswith("MiB"):
        text = text[:-3].strip()
    try:
        return int(float(text))
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def parse_nvidia_smi(output: str) -> list[Gpu]:
    """Parse ``index, name, memory.used, memory.total`` CSV lines (no header)."""
    gpus = []
    for raw in output.splitlines():
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) < 4:
            continue
        try:
            index = int(parts[0])
        except ValueError:
            continue
        name = ", ".join(parts[1:-2])  # a name with a comma in it stays whole
        gpus.append(Gpu(index, name, _mib(parts[-2]), _mib(parts[-1])))
    return gpus


NO_GPU_HINT = "run on the CPU instead (--cpu)"


def list_gpus(nvidia_smi: str = "nvidia-smi") -> GpuListing:
    """The GPUs ``nvidia-smi`` sees; never raises.

    A missing ``nvidia-smi`` or a driver that does not answer gives no GPUs and an
    ``error`` that says so and offers the CPU.
    """
    exe = shutil.which(nvidia_smi)
    if exe is None:
        return GpuListing([], f"no NVIDIA GPU visible: {nvidia_smi} was not found on PATH; {NO_GPU_HINT}")
    try:
        proc = subprocess.run(
            [exe, *QUERY],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return GpuListing([], f"nvidia-smi did not answer within {_TIMEOUT_S} s; {NO_GPU_HINT}")
    except OSError as exc:
        return GpuListing([], f"could not run nvidia-smi ({exc}); {NO_GPU_HINT}")
    if proc.returncode != 0:
        said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        why = said[0] if said else f"exit status {proc.returncode}"
        return GpuListing([], f"nvidia-smi failed: {why}; {NO_GPU_HINT}")
    gpus = parse_nvidia_smi(proc.stdout)
    if not gpus:
        return GpuListing([], f"nvidia-smi lists no GPU; {NO_GPU_HINT}")
    return GpuListing(gpus)
