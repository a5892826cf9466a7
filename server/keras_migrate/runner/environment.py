"""Check an interpreter before running a file there.

The check runs a tiny ``python -c`` in the target interpreter that looks packages up with
``importlib.util.find_spec`` and reads versions with ``importlib.metadata``: nothing heavy
is imported, so it takes a fraction of a second even where TensorFlow is installed.
Every problem is stated plainly with the command that fixes it, e.g.
``/home/me/.venv/bin/python -m pip install jax``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

BACKENDS = ("jax", "torch", "tensorflow")
KERAS2 = "keras2"
"""Keras 2 for comparison (``--keras2``): tf-keras on TensorFlow, not a Keras 3 backend."""

# backend -> (modules that must be importable, distributions that may provide it, pip name)
BACKEND_PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "jax": (("jax", "jaxlib"), ("jax",), "jax"),
    "torch": (("torch",), ("torch",), "torch"),
    "tensorflow": (
        ("tensorflow",),
        ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly"),
        "tensorflow",
    ),
    KERAS2: (("tensorflow", "tf_keras"), ("tf-keras", "tf_keras"), "tf-keras"),
}

# Run with ``-I`` (isolated: neither the working directory nor PYTHONPATH nor the user site
# is on sys.path while the probe imports what it needs), so a workspace ``json.py`` or
# ``importlib/`` can never run in it.  Only then are the places the program itself will see
# appended, for ``find_spec`` to look at (it searches them; it executes nothing there).
_PROBE = r"""
import importlib.util, importlib.metadata as md, json, os, site, sys
mods, dists = json.loads(sys.argv[1])
extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
if not os.environ.get("PYTHONNOUSERSITE"):
    extra.append(site.getusersitepackages())
sys.path[:0] = [os.getcwd()]
sys.path.extend(p for p in extra if p not in sys.path)
def version(names):
    for n in names:
        try:
            return md.version(n)
        except Exception:
            pass
    return None
out = {"python": sys.version.split()[0], "executable": sys.executable, "modules": {}, "versions": {}}
for m in mods:
    try:
        out["modules"][m] = importlib.util.find_spec(m) is not None
    except Exception:
        out["modules"][m] = False
for key, names in dists.items():
    out["versions"][key] = version(names)
print(json.dumps(out))
"""
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Problem:
    message: str
    command: tuple[str, ...] | None = None
    """The command that fixes it, as an argument list."""
    backend: str | None = None
    """The backend it stops; None when it stops every backend."""

    def text(self) -> str:
        if self.command:
            return f"{self.message}: {shlex.join(self.command)}"
        return self.message


@dataclass
class EnvironmentReport:
    python: str
    backends: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    python_version: str | None = None
    keras_version: str | None = None
    backend_versions: dict[str, str | None] = field(default_factory=dict)
    interpreter_ok: bool = True
    """False when the interpreter itself is missing or broken: nothing can run."""
    keras_ok: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_for(self, backend: str) -> list[Problem]:
        """Problems that stop ``backend`` from running (the shared ones included)."""
        return [p for p in self.problems if p.backend in (None, backend)]

    def to_json(self) -> dict:
        """The shape of the ``keras-migrate.checkEnvironment`` reply."""
        return {
            "ok": self.ok,
            "problems": [p.text() for p in self.problems],
            "python": self.python,
            "pythonVersion": self.python_version,
            "kerasVersion": self.keras_version,
            "backendVersions": dict(self.backend_versions),
        }


def resolve_interpreter(python: str | None) -> str | None:
    """The interpreter as an absolute path, or None if there is none such."""
    python = python or sys.executable
    if os.sep in python or (os.altsep and os.altsep in python):
        path = os.path.abspath(os.path.expanduser(python))
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(python)


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


def check_environment(
    python: str | None,
    backends: str | tuple[str, ...] | list[str],
    *,
    cwd: str | None = None,
) -> EnvironmentReport:
    """Check that ``python`` exists and has Keras 3 and the package of each backend.

    ``backends`` is one of :data:`BACKENDS`, ``"all"`` or a list of them. ``cwd`` should be
    the directory of the file to run, so a package beside it is found as it will be then.
    Never raises.
    """
    if isinstance(backends, str):
        backends = BACKENDS if backends == "all" else (backends,)
    backends = tuple(backends)
    given = python or sys.executable
    report = EnvironmentReport(python=given, backends=backends)
    for b in backends:
        if b not in BACKEND_PACKAGES:
            report.problems.append(
                Problem(f"unknown backend '{b}': choose one of {', '.join(BACKENDS)} or all", backend=b)
            )
    backends = tuple(b for b in backends if b in BACKEND_PACKAGES)
    exe = resolve_interpreter(given)
    if exe is None:
        report.interpreter_ok = False
        report.keras_ok = False
        report.problems.append(
            Problem(
                f"the Python interpreter {given!r} does not exist or is not executable; "
                "choose another one (--python PATH, or the runInterpreter setting)"
            )
        )
        return report
    report.python = exe
    keras3 = [b for b in backends if b != KERAS2]
    mods = ["keras"] if keras3 else []
    dists = {"keras": ["keras"]} if keras3 else {}
    for b in backends:
        modules, dist_names, _ = BACKEND_PACKAGES[b]
        mods.extend(m for m in modules if m not in mods)
        dists[b] = list(dist_names)
    try:
        proc = subprocess.run(
            [exe, "-I", "-c", _PROBE, json.dumps([mods, dists])],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            cwd=cwd if cwd and os.path.isdir(cwd) else None,
            stdin=subprocess.DEVNULL,
        )
        lines = proc.stdout.strip().splitlines()
        data = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
        if not isinstance(data, dict):
            data = None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        proc, data = None, None
        why = str(exc)
    if data is None:
        if proc is not None:
            said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            why = said[-1] if said else f"it printed nothing (exit status {proc.returncode})"
        report.interpreter_ok = False
        report.keras_ok = False
        report.problems.append(
            Problem(f"could not check the interpreter {exe} (is it a Python 3 interpreter?): {why}")
        )
        return report
    report.python_version = data.get("python")
    modules = data.get("modules", {})
    versions = data.get("versions", {})
    report.keras_version = versions.get("keras") if modules.get("keras") else None
    keras_problem = None
    if not keras3:
        pass  # Keras 2 alone: tf-keras is checked below
    elif not modules.get("keras"):
        keras_problem = Problem(f"Keras 3 is not installed for {exe}; install it",
                                (exe, "-m", "pip", "install", "keras>=3"))
    elif (_major(report.keras_version) or 3) < 3:
        keras_problem = Problem(
            f"Keras {report.keras_version} is installed for {exe}, but the runner needs Keras 3; upgrade it",
            (exe, "-m", "pip", "install", "--upgrade", "keras>=3"),
        )
    if keras_problem is not None:
        report.keras_ok = False
        if KERAS2 in backends:  # Keras 2 runs without Keras 3: stop only the Keras 3 backends
            report.problems.extend(Problem(keras_problem.message, keras_problem.command, backend=b)
                                   for b in keras3)
        else:
            report.problems.append(keras_problem)
    for b in backends:
        modules_needed, _, pip_name = BACKEND_PACKAGES[b]
        report.backend_versions[b] = versions.get(b)
        missing = [m for m in modules_needed if not modules.get(m)]
        if missing and b == KERAS2:
            report.backend_versions[b] = None
            report.problems.append(
                Problem(
                    f"running on Keras 2 (--keras2) needs tf-keras and TensorFlow; "
                    f"{' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not installed "
                    f"for {exe}; install it",
                    (exe, "-m", "pip", "install", "tf-keras"),
                    backend=b,
                )
            )
        elif missing:
            report.backend_versions[b] = None
            report.problems.append(
                Problem(
                    f"the '{b}' backend needs the {' and '.join(missing)} "
                    + ("packages, which are" if len(missing) > 1 else "package, which is")
                    + f" not installed for {exe}; install it",
                    (exe, "-m", "pip", "install", pip_name),
                    backend=b,
                )
            )
    return report
