"""List the local NVIDIA GPUs through ``nvidia-smi``, and the device conventions.

No GPU library is imported: the listing is what ``nvidia-smi
--query-gpu=index,name,memory.used,memory.total,utilization.gpu --format=csv,noheader,nounits``
prints (``nounits``: plain numbers, no ``MiB`` / ``%`` to strip). Its indices are PCI-bus
order; the runner sets ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` next to ``CUDA_VISIBLE_DEVICES`` so
that "GPU 1" means the same card to the frameworks.

When the user picks no device (:func:`default_device`):

* a ``CUDA_VISIBLE_DEVICES`` already in the environment is respected as it is (a cluster
  scheduler or the user set it; overwriting it would take someone else's GPU);
* else the least-used GPU is taken: the least memory in use (as a fraction of the card's),
  then the lowest utilisation, then the lowest index;
* else (no GPU, no ``nvidia-smi``) the CPU.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass, field

QUERY = [
    "--query-gpu=index,name,memory.used,memory.total,utilization.gpu",
    "--format=csv,noheader,nounits",
]
_TIMEOUT_S = 15


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_used_mib: int | None
    memory_total_mib: int | None
    utilization_pct: int | None = None

    def label(self) -> str:
        mem = ""
        if self.memory_total_mib is not None:
            used = "?" if self.memory_used_mib is None else self.memory_used_mib
            mem = f", {used}/{self.memory_total_mib} MiB used"
        util = f", {self.utilization_pct}% busy" if self.utilization_pct is not None else ""
        return f"GPU {self.index}: {self.name}{mem}{util}"

    def load(self) -> tuple:
        """Sort key, least used first: memory fraction in use, utilisation, index. A card
        that does not report a figure sorts after the ones that do."""
        if self.memory_used_mib is not None and self.memory_total_mib:
            mem = self.memory_used_mib / self.memory_total_mib
        elif self.memory_used_mib is not None:
            mem = float(self.memory_used_mib)
        else:
            mem = float("inf")
        util = self.utilization_pct if self.utilization_pct is not None else float("inf")
        return (mem, util, self.index)


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
                    "utilization": g.utilization_pct,
                }
                for g in self.gpus
            ]
        }
        least = self.least_used()
        if least is not None:
            out["leastUsed"] = least.index
        if self.error:
            out["error"] = self.error
        return out

    def least_used(self) -> Gpu | None:
        return min(self.gpus, key=Gpu.load) if self.gpus else None

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


def _pct(text: str) -> int | None:
    text = text.strip().rstrip("%").strip()
    try:
        return int(float(text))
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None


def parse_nvidia_smi(output: str) -> list[Gpu]:
    """Parse ``index, name, memory.used, memory.total, utilization.gpu`` CSV lines (no
    header; units or not). The older four-column form (no utilisation) is read too."""
    gpus = []
    for raw in output.splitlines():
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) < 4:
            continue
        try:
            index = int(parts[0])
        except ValueError:
            continue
        # five columns when the last one is a utilisation figure ("37", "37 %", "[N/A]"),
        # else the four-column form; a name with a comma in it stays whole
        five = len(parts) >= 5 and (_pct(parts[-1]) is not None or parts[-1].startswith("["))
        if five:
            name = ", ".join(parts[1:-3])
            gpus.append(Gpu(index, name, _mib(parts[-3]), _mib(parts[-2]), _pct(parts[-1])))
        else:
            name = ", ".join(parts[1:-2])
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


ENV_VAR = "CUDA_VISIBLE_DEVICES"


@dataclass(frozen=True)
class DefaultDevice:
    """What runs when the user picks no device: ``kind`` is ``"env"`` (keep the
    environment's ``CUDA_VISIBLE_DEVICES``), ``"gpu"`` (the least-used GPU) or ``"cpu"``."""

    kind: str
    index: int | None = None
    value: str | None = None
    """The inherited ``CUDA_VISIBLE_DEVICES`` for ``"env"``."""
    reason: str = ""


def inherited_visible_devices(env: dict | None = None) -> str | None:
    """The ``CUDA_VISIBLE_DEVICES`` the environment already sets (``""`` included: it means
    no GPU), or None when it is not set."""
    env = os.environ if env is None else env
    return env.get(ENV_VAR)


def default_device(listing: GpuListing | None = None, env: dict | None = None) -> DefaultDevice:
    """The device conventions, for a run with no device chosen (see the module docstring)."""
    inherited = inherited_visible_devices(env)
    if inherited is not None:
        shown = inherited if inherited.strip() else '""'
        return DefaultDevice("env", value=inherited,
                             reason=f"{ENV_VAR}={shown} is set in the environment: it is kept")
    listing = list_gpus() if listing is None else listing
    least = listing.least_used()
    if least is not None:
        return DefaultDevice("gpu", index=least.index,
                             reason=f"no device chosen: the least-used GPU, {least.label()}")
    return DefaultDevice("cpu", reason="no device chosen and no GPU visible: the CPU")
