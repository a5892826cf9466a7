"""Fixes of several rules applied together, on real Keras: the original of each case in
tests/rules/composition_cases.py runs on Keras 2 (tf-keras 2.21), fails on Keras 3 as the
case says (``k3``), and the code after ``fix --unsafe-fixes`` (every default rule) runs on
Keras 3 with each of the case's backends and gives Keras 2's ``RESULT``.

One interpreter per mode (tests/conformance/runner.py), like test_conformance.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "rules"))

from composition_cases import CASES, compose  # noqa: E402
from test_conformance import _decode, _env, exc_matches, same, stack_python  # noqa: E402

RUNNER = HERE / "runner.py"
MODES = ("k2", "k3-tensorflow-original", "k3-tensorflow-fixed", "k3-jax-fixed", "k3-torch-fixed")


def _run(py: str, mode: str, jobs: list[dict], tmp: Path) -> dict:
    if not jobs:
        return {}
    jf, of = tmp / f"{mode}.jobs.json", tmp / f"{mode}.out.jsonl"
    jf.write_text(json.dumps(jobs))
    of.write_text("")
    home = tmp / f"{mode}.home"
    home.mkdir()
    proc = subprocess.run([py, str(RUNNER), mode, str(jf), str(of)], env=_env(mode, str(home)), cwd=str(tmp),
                          capture_output=True, text=True, timeout=300 + 60 * len(jobs))
    recs = {}
    for line in of.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        recs[rec["id"]] = rec
    if not any(j["id"] in recs for j in jobs):
        pytest.fail(f"{mode} interpreter ran nothing ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return recs


@pytest.fixture(scope="module")
def results():
    py = stack_python()
    fixed = {c["id"]: compose(c["code"], c["backends"]) for c in CASES}
    jobs = {m: [] for m in MODES}
    for c in CASES:
        jobs["k2"].append({"id": c["id"], "code": c["code"], "timeout": 60})
        jobs["k3-tensorflow-original"].append({"id": c["id"], "code": c["code"], "timeout": 60})
        for b in c["backends"]:
            jobs[f"k3-{b}-fixed"].append({"id": c["id"], "code": fixed[c["id"]], "timeout": 60})
    with tempfile.TemporaryDirectory(prefix="km-composition-") as tmp:
        return fixed, {m: _run(py, m, jobs[m], Path(tmp)) for m in MODES}


def _params():
    for c in CASES:
        yield c, "k2"
        yield c, "k3"
        for b in c["backends"]:
            yield c, f"fixed-{b}"


PARAMS = list(_params())


@pytest.mark.conformance
@pytest.mark.parametrize("case,check", PARAMS, ids=[f"{c['id']}-{chk}" for c, chk in PARAMS])
def test_composed_fix_on_real_keras(case, check, results):
    fixed, runs = results
    k2 = runs["k2"].get(case["id"])
    assert k2 is not None and k2["status"] == "ok", f"original on Keras 2: {k2}"
    if check == "k2":
        return
    if check == "k3":
        rec = runs["k3-tensorflow-original"][case["id"]]
        if case["k3"] == "ok":
            assert rec["status"] == "ok", rec
        else:
            assert rec["status"] != "ok" and exc_matches(rec, case["k3"]), rec
        return
    backend = check[len("fixed-"):]
    rec = runs[f"k3-{backend}-fixed"].get(case["id"])
    assert rec is not None and rec["status"] == "ok", f"{rec}\n--- fixed ---\n{fixed[case['id']]}"
    if "result" in k2:
        assert "result" in rec, "the fixed code sets no RESULT"
        diff = same(_decode(rec["result"]), _decode(k2["result"]), 1e-5)
        assert diff is None, f"{diff}\n--- fixed ---\n{fixed[case['id']]}"
