"""Fast checks of the committed Keras API table and its coverage summary (no Keras import)."""
from __future__ import annotations

import json
from pathlib import Path

from keras_migrate.rules.api import coverage as cov

DATA = Path(cov.DATA_PATH)
OVERRIDES = DATA.with_name("overrides.json")


def _data():
    return json.loads(DATA.read_text(encoding="utf-8"))


def test_top_level_keys_and_meta():
    d = _data()
    assert set(d) == {"meta", "keras3_symbols", "keras3_modules", "symbols", "kwargs", "members", "method_kwargs",
                      "required"}
    # a default Keras 3 dropped, found by comparing the signatures
    assert d["required"]["keras.layers.AveragePooling2D"]["pool_size"] == {"default": "(2, 2)", "position": 0}
    assert d["meta"]["keras2"] == "tf-keras 2.21.0"
    assert d["meta"]["keras3"] == "keras 3.15.1"
    assert d["meta"]["generator"] == "scripts/generate_api_data.py"
    assert d["keras3_symbols"] == sorted(d["keras3_symbols"])
    assert set(d["keras3_modules"]) <= set(d["keras3_symbols"])


def test_symbol_entries():
    d = _data()
    k3 = set(d["keras3_symbols"])
    for path, e in d["symbols"].items():
        assert path.startswith("keras."), path
        assert e["status"] in ("same_path", "moved", "equivalent", "removed"), path
        assert e["fix"] in ("safe", "unsafe", "none"), path
        assert isinstance(e["in_tf_keras_shim"], bool), path
        if e["status"] == "same_path":
            assert path in k3, path
        else:
            assert e.get("guidance"), path
        if e["status"] in ("moved", "equivalent"):
            assert e["new"] in k3, (path, e["new"])
        if e["status"] == "moved":
            assert e["fix"] != "none", path
        if e["fix"] == "safe":
            assert str(e.get("verified", "")).startswith(("same output", "same Keras 2 class")), path


def test_argument_member_entries():
    d = _data()
    for table in ("kwargs", "method_kwargs"):
        for owner, kws in d[table].items():
            for kw, e in kws.items():
                where = f"{table} {owner} {kw}"
                assert e["status"] in ("rejected", "ignored", "deprecated", "accepted"), where
                assert e["checked"] in ("rejected", "ignored", "warns", "accepted", "unchecked"), where
                assert e["fix"] in ("safe", "unsafe", "none"), where
                assert e.get("guidance"), where
                if e["fix"] == "safe":
                    assert e["rename"] or (e["transform"] or {}).get("drop"), where
                    assert str(e.get("verified", "")).startswith(("same output", "Keras 3 ignores",
                                                                  "Keras 2 discards")), where
    for typ, ms in d["members"].items():
        for name, e in ms.items():
            assert e["status"] in ("removed", "raises"), (typ, name)
            assert e.get("guidance"), (typ, name)
            if e["fix"] == "safe":
                assert e["rename"] and str(e.get("verified", "")).startswith("same output"), (typ, name)


def test_known_entries():
    d = _data()
    s, k, m, mk = d["symbols"], d["kwargs"], d["members"], d["method_kwargs"]
    assert s["keras.layers.experimental.preprocessing.Rescaling"]["status"] == "moved"
    # found in tf-keras' source, not hand-written: compile() hands **kwargs to
    # _validate_compile, which pops (and drops) these; Keras 3's compile() rejects them
    for kw in ("cloning", "experimental_run_tf_function"):
        e = mk["Model.compile"][kw]
        assert (e["status"], e["fix"], e["guidance_source"]) == ("rejected", "safe", "generated"), kw
        assert e["verified"].startswith("Keras 2 discards"), kw
    for kw in ("distribute", "target_tensors"):
        assert mk["Model.compile"][kw]["fix"] == "unsafe", kw  # Keras 2 raised for a non-None value
    # add_variable(*args, **kwargs) forwarded to add_weight: its keywords count too
    assert mk["Layer.add_variable"]["synchronization"]["status"] == "rejected"
    assert s["keras.layers.experimental.preprocessing.Rescaling"]["new"] == "keras.layers.Rescaling"
    assert s["keras.optimizers.legacy.Adam"]["new"] == "keras.optimizers.Adam"
    assert s["keras.backend.mean"]["new"] == "keras.ops.mean"
    assert s["keras.layers.ThresholdedReLU"]["transform"]["kwargs"] == {"theta": "threshold"}
    assert s["keras.layers.LocallyConnected1D"]["status"] == "removed"
    for still in ("epsilon", "floatx", "image_data_format", "clear_session", "is_keras_tensor"):
        assert s["keras.backend." + still]["status"] == "same_path"
    assert k["keras.layers.LeakyReLU"]["alpha"]["rename"] == "negative_slope"
    assert k["keras.activations.relu"]["alpha"]["rename"] == "negative_slope"
    assert k["keras.callbacks.ReduceLROnPlateau"]["epsilon"]["rename"] == "min_delta"
    assert k["keras.callbacks.ReduceLROnPlateau"]["epsilon"]["status"] == "ignored"
    assert k["keras.optimizers.Adam"]["lr"]["rename"] == "learning_rate"
    assert k["keras.optimizers.Adam"]["decay"]["fix"] == "unsafe"
    assert m["Optimizer"]["lr"]["rename"] == "learning_rate"
    assert m["Model"]["fit_generator"]["rename"] == "fit"
    assert mk["Model.fit"]["workers"]["status"] == "rejected"
    aliases = [p for p in s if p.rsplit(".", 1)[0] in ("keras.losses", "keras.metrics")
               and s[p]["status"] == "moved" and s[p].get("guidance_source") == "override"]
    assert len(aliases) == 24


def test_overrides_are_merged():
    ov = json.loads(OVERRIDES.read_text(encoding="utf-8"))
    d = _data()
    for path, e in ov["symbols"].items():
        if any(ch in path for ch in "*?["):
            continue
        assert d["symbols"][path]["guidance"] == e["guidance"], path
    assert len(ov["top40"]) == 40


def test_coverage_summary():
    c = cov.coverage()
    assert c["symbols"]["with_status"] == c["symbols"]["keras2_public"]
    assert c["top40"]["items"] == 40
    assert c["top40"]["missing"] == 0 and c["top40"]["generated_only"] == 0
    assert c["top40"]["with_fix"] + c["top40"]["guidance_only"] == 40
    text = cov.format_coverage()
    assert "Symbols:" in text and "Keyword arguments:" in text and "Top 40" in text
