"""scikit-learn's digits: 1,797 real images scaled to uint8, the seeded 60/20/20 per-class split."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

pytest.importorskip("sklearn")


def test_images_labels_and_scaling(make_task):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    t = make_task("digits")
    for e in t.examples("test")[:50]:
        j = int(e.id.split("-")[1])
        assert e.target == bunch.target[j] and e.images[0].dtype == np.uint8 and e.images[0].shape == (8, 8)
        assert np.array_equal(e.images[0], np.rint(bunch.images[j] * 255 / 16).astype(np.uint8))
    assert max(int(e.images[0].max()) for e in t.examples("train")) == 255


def test_split_is_disjoint_stratified_and_covers_everything(make_task):
    t = make_task("digits")
    parts = {s: t.examples(s) for s in ("train", "val", "test")}
    sizes = {s: len(p) for s, p in parts.items()}
    assert sizes == {"train": 1079, "val": 359, "test": 359}
    indices = [set(p.indices) for p in parts.values()]
    assert sorted(i for s in indices for i in s) == list(range(1797))
    counts = {s: Counter(p.targets) for s, p in parts.items()}
    total = Counter(t.official("all").targets)
    for label, n in total.items():
        assert counts["val"][label] == counts["test"][label] == round(0.2 * n)
    assert [e.id for e in make_task("digits").examples("val")] == [e.id for e in parts["val"]]  # deterministic


def test_no_files_and_a_stable_fingerprint(make_task):
    t = make_task("digits")
    assert t.required_paths() == () and t.fingerprint() == make_task("digits").fingerprint()
    assert "sklearn=" in t.fingerprint()


def test_missing_sklearn_is_a_clear_error(make_task, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(FileNotFoundError, match="pip install scikit-learn"):
        make_task("digits").examples("train")
