"""Metrics against hand-computed matrices and an independent numpy reference."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from climb_harness.core import metrics as m

# --------------------------------------------------------------------------- hand-computed 2 x 2
A2 = [
    [80.0, 10.0],  # after task a
    [60.0, 90.0],  # after task b
]
INIT2 = [5.0, 20.0]
RAND2 = [50.0, 0.0]
DIRECT2 = [90.0, 80.0]


def test_2x2_by_hand():
    # average accuracy: (60 + 90) / 2 = 75
    assert m.average_accuracy(A2) == pytest.approx(75.0)
    # AMF: one past task; max over l in {0} of A[0][0] - A[1][0] = 80 - 60 = 20
    assert m.average_max_forgetting(A2) == pytest.approx(20.0)
    # BWT: A[1][0] - A[0][0] = 60 - 80 = -20
    assert m.backward_transfer(A2) == pytest.approx(-20.0)
    # FWT: A[0][1] - initial[1] = 10 - 20 = -10
    assert m.forward_transfer(A2, INIT2) == pytest.approx(-10.0)
    # forgetting of a after b: 100 * (80 - 60) / (80 - 50) = 2000 / 30
    assert m.forgetting(A2, RAND2) == [[None, None], [pytest.approx(2000 / 30), None]]
    # KT: a: 100 * (80 - 90) / (90 - 50) = -25; b: 100 * (90 - 80) / (80 - 0) = 12.5
    assert m.knowledge_transfer(A2, DIRECT2, RAND2) == [pytest.approx(-25.0), pytest.approx(12.5)]


# --------------------------------------------------------------------------- hand-computed 3 x 3
A3 = [
    [70.0, 30.0, 25.0],  # after x
    [75.0, 85.0, 46.0],  # after y (x improved past its first score)
    [60.0, 65.0, 90.0],  # after z
]
INIT3 = [10.0, 20.0, 30.0]
RAND3 = [25.0, 50.0, 0.0]
DIRECT3 = [75.0, None, 80.0]
TASKS3 = ["x", "y", "z"]


def test_3x3_by_hand():
    # average accuracy: (60 + 65 + 90) / 3 = 215 / 3
    assert m.average_accuracy(A3) == pytest.approx(215 / 3)
    # AMF: x: max(70 - 60, 75 - 60) = 15 (the row after y wins); y: 85 - 65 = 20; (15 + 20) / 2 = 17.5
    assert m.average_max_forgetting(A3) == pytest.approx(17.5)
    # BWT: ((60 - 70) + (65 - 85)) / 2 = -15
    assert m.backward_transfer(A3) == pytest.approx(-15.0)
    # FWT: ((A[0][1] - 20) + (A[1][2] - 30)) / 2 = (10 + 16) / 2 = 13
    assert m.forward_transfer(A3, INIT3) == pytest.approx(13.0)
    # forgetting, S_CL(x) = 70, S_CL(y) = 85:
    #   x after y: 100 * (70 - 75) / (70 - 25) = -500 / 45 (negative: improved)
    #   x after z: 100 * (70 - 60) / 45 = 1000 / 45
    #   y after z: 100 * (85 - 65) / (85 - 50) = 2000 / 35
    F = m.forgetting(A3, RAND3)
    assert F == [
        [None, None, None],
        [pytest.approx(-500 / 45), None, None],
        [pytest.approx(1000 / 45), pytest.approx(2000 / 35), None],
    ]
    # KT: x: 100 * (70 - 75) / (75 - 25) = -10; y: no direct score; z: 100 * (90 - 80) / (80 - 0) = 12.5
    assert m.knowledge_transfer(A3, DIRECT3, RAND3) == [pytest.approx(-10.0), None, pytest.approx(12.5)]


def test_compute_all_3x3_keys_and_json():
    out = m.compute_all(A3, INIT3, RAND3, DIRECT3, TASKS3)
    assert set(out) == {
        "average_accuracy",
        "average_max_forgetting",
        "bwt",
        "fwt",
        "forgetting",
        "knowledge_transfer",
        "mean_knowledge_transfer",
        "undefined",
    }
    assert out["average_accuracy"] == pytest.approx(215 / 3)
    assert out["average_max_forgetting"] == pytest.approx(17.5)
    assert out["bwt"] == pytest.approx(-15.0)
    # per-task heads: FWT measures nothing and says why
    assert out["fwt"] is None and out["undefined"]["fwt"] == m.FWT_UNDEFINED
    assert out["forgetting"] == {
        "after:y": {"x": pytest.approx(-500 / 45)},
        "after:z": {"x": pytest.approx(1000 / 45), "y": pytest.approx(2000 / 35)},
    }
    assert out["knowledge_transfer"] == {"x": pytest.approx(-10.0), "y": None, "z": pytest.approx(12.5)}
    assert out["undefined"]["knowledge_transfer.y"].startswith("no direct fine-tuning reference")
    # mean over the defined tasks after the first: z alone (x is task 0, a built-in 0 for fine-tuning)
    assert out["mean_knowledge_transfer"] == pytest.approx(12.5)
    json.dumps(out, allow_nan=False)  # strict JSON: no NaN anywhere


def test_compute_all_fwt_without_per_task_heads_is_lopez_paz():
    out = m.compute_all(A3, INIT3, RAND3, DIRECT3, TASKS3, per_task_heads=False)
    assert out["fwt"] == pytest.approx(13.0) and "fwt" not in out["undefined"]


def test_ratios_are_null_with_a_reason_where_the_denominator_is_noise():
    # x learned to 70 with CI [60, 80]: clearly above random 25 -> forgetting of x defined.
    # y learned to 85 with CI [45, 95]: random 50 inside it -> every forgetting of y is None.
    ci = [[[60.0, 80.0], [0.0, 10.0], [0.0, 10.0]],
          [[70.0, 80.0], [45.0, 95.0], [0.0, 10.0]],
          [[55.0, 65.0], [60.0, 70.0], [85.0, 95.0]]]
    # direct x = 75 with CI [20, 90] contains random 25 -> KT of x None; z's CI [70, 90] above 0 -> defined.
    direct_ci = {"x": [20.0, 90.0], "y": None, "z": [70.0, 90.0]}
    out = m.compute_all(A3, INIT3, RAND3, DIRECT3, TASKS3, ci=ci, direct_ci=direct_ci)
    assert out["forgetting"]["after:z"]["x"] == pytest.approx(1000 / 45)
    assert out["forgetting"]["after:z"]["y"] is None
    assert "not clearly above its random baseline 50.00" in out["undefined"]["forgetting.after:z.y"]
    assert out["knowledge_transfer"]["x"] is None
    assert "95% CI [20.00, 90.00]" in out["undefined"]["knowledge_transfer.x"]
    assert out["knowledge_transfer"]["z"] == pytest.approx(12.5)
    # a CI wholly below random is no gain either
    below = [[list(row) for row in block] for block in ci]
    below[0][0] = [10.0, 20.0]
    assert m.compute_all(A3, INIT3, RAND3, DIRECT3, TASKS3, ci=below)["forgetting"]["after:y"]["x"] is None


def test_compute_all_accepts_mappings_numpy_and_missing_references():
    by_name = m.compute_all(
        np.array(A3),
        dict(zip(TASKS3, INIT3)),
        {"z": 0.0, "x": 25.0, "y": 50.0},  # order of keys does not matter
        dict(zip(TASKS3, DIRECT3)),
        TASKS3,
    )
    assert by_name == m.compute_all(A3, INIT3, RAND3, DIRECT3, TASKS3)
    bare = m.compute_all(A3, None, RAND3, None)
    assert bare["fwt"] is None and set(bare["undefined"]) >= {"fwt", "mean_knowledge_transfer", "knowledge_transfer.0"}
    assert bare["knowledge_transfer"] == {"0": None, "1": None, "2": None}
    assert bare["mean_knowledge_transfer"] is None
    assert list(bare["forgetting"]) == ["after:1", "after:2"]
    with pytest.raises(ValueError, match="no entry for task"):
        m.compute_all(A3, INIT3, {"x": 25.0, "y": 50.0}, DIRECT3, TASKS3)


# --------------------------------------------------------------------------- edge cases
def test_single_task_averages_are_undefined():
    A = [[42.0]]
    assert m.average_accuracy(A) == 42.0
    assert m.average_max_forgetting(A) is None
    assert m.backward_transfer(A) is None
    assert m.forward_transfer(A, [3.0]) is None
    assert m.forgetting(A, [0.0]) == [[None]]
    assert m.knowledge_transfer(A, [40.0], [0.0]) == [pytest.approx(5.0)]  # 100 * 2 / 40
    out = m.compute_all(A, [3.0], [0.0], [40.0], ["only"])
    assert out["forgetting"] == {}
    json.dumps(out, allow_nan=False)


def test_zero_denominators_give_none():
    # task 0 learned to exactly its random score (50): its forgetting is undefined, not inf or nan
    A = [[50.0, 0.0], [40.0, 70.0]]
    assert m.forgetting(A, [50.0, 0.0])[1][0] is None
    # direct equals random for task 1: knowledge transfer undefined; task 0 still defined
    kt = m.knowledge_transfer(A, [60.0, 10.0], [50.0, 10.0])
    assert kt == [pytest.approx(100 * (50 - 60) / (60 - 50)), None]
    assert m.mean_defined(kt) == pytest.approx(-100.0)
    assert m.mean_defined([None, None]) is None


def test_future_entries_do_not_affect_backward_metrics():
    rng = np.random.default_rng(0)
    A = rng.uniform(0, 100, (5, 5))
    B = A.copy()
    B[np.triu_indices(5, k=1)] = rng.uniform(0, 100, 10)  # every entry on a not-yet-learned task
    rand, direct = rng.uniform(0, 40, 5), rng.uniform(50, 100, 5)
    assert m.average_accuracy(B) == pytest.approx(m.average_accuracy(A))
    assert m.average_max_forgetting(B) == pytest.approx(m.average_max_forgetting(A))
    assert m.backward_transfer(B) == pytest.approx(m.backward_transfer(A))
    for fa, fb in zip(m.forgetting(A, rand), m.forgetting(B, rand)):
        assert fa == [pytest.approx(v) if v is not None else None for v in fb]
    assert m.knowledge_transfer(B, direct, rand) == pytest.approx(m.knowledge_transfer(A, direct, rand))
    # FWT reads only the first super-diagonal: entries two or more above the diagonal change nothing
    C = A.copy()
    C[np.triu_indices(5, k=2)] = 98.0
    init = rng.uniform(0, 50, 5)
    assert m.forward_transfer(C, init) == pytest.approx(m.forward_transfer(A, init))
    assert m.forward_transfer(B, init) != pytest.approx(m.forward_transfer(A, init))


def test_amf_ignores_rows_before_the_task_was_learned():
    # task 1 scores 99 before it is learned (row 0) and 60 after; the final score is 50.
    # Only l >= 1 counts: forgetting of task 1 = 60 - 50 = 10, not 99 - 50 = 49.
    A = [[80.0, 99.0, 0.0], [80.0, 60.0, 0.0], [80.0, 50.0, 70.0]]
    # task 0: max(80 - 80, 80 - 80) = 0; task 1: 10; mean 5
    assert m.average_max_forgetting(A) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: m.average_accuracy([[1.0, 2.0]]), "not square"),
        (lambda: m.average_accuracy([[1.0, 2.0], [3.0]]), "not square"),
        (lambda: m.average_accuracy([]), "empty"),
        (lambda: m.average_accuracy([1.0, 2.0]), "sequence of rows"),
        (lambda: m.average_accuracy([[float("nan")]]), "finite"),
        (lambda: m.average_accuracy([["90"]]), "must be a number"),
        (lambda: m.forward_transfer(A2, [1.0]), "initial has 1 entries"),
        (lambda: m.forgetting(A2, [1.0, 2.0, 3.0]), "random has 3 entries"),
        (lambda: m.knowledge_transfer(A2, [None], RAND2), "direct has 1 entries"),
        (lambda: m.knowledge_transfer(A2, DIRECT2, [None, 1.0]), r"random\[0\] must be a number"),
        (lambda: m.compute_all(A2, INIT2, RAND2, DIRECT2, ["a"]), "one name per row"),
        (lambda: m.compute_all(A2, INIT2, RAND2, DIRECT2, ["a", "a"]), "unique"),
    ],
)
def test_invalid_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- independent reference
def _reference(A: np.ndarray, init: np.ndarray, rand: np.ndarray, direct: np.ndarray) -> dict:
    """Straight numpy, written from the papers' formulas without the module's helpers."""
    T = A.shape[0]
    diag = np.diag(A)
    ref = {"aa": A[-1].mean()}
    if T > 1:
        ref["amf"] = np.mean([np.max(A[j : T - 1, j]) - A[-1, j] for j in range(T - 1)])
        ref["bwt"] = np.mean(A[-1, :-1] - diag[:-1])
        ref["fwt"] = np.mean(np.diag(A, 1) - init[1:])
    F = np.full((T, T), np.nan)
    for i in range(T):
        for j in range(i):
            F[i, j] = 100 * (diag[j] - A[i, j]) / (diag[j] - rand[j])
    ref["forgetting"] = F
    ref["kt"] = 100 * (diag - direct) / (direct - rand)
    return ref


@pytest.mark.parametrize("seed", range(12))
def test_matches_numpy_reference_on_random_matrices(seed):
    rng = np.random.default_rng(seed)
    T = 1 + seed % 6
    A = rng.uniform(0, 100, (T, T))
    init = rng.uniform(0, 100, T)
    rand = rng.uniform(0, 30, T)
    direct = rng.uniform(40, 100, T)
    ref = _reference(A, init, rand, direct)
    assert m.average_accuracy(A) == pytest.approx(ref["aa"])
    if T > 1:
        assert m.average_max_forgetting(A) == pytest.approx(ref["amf"])
        assert m.backward_transfer(A) == pytest.approx(ref["bwt"])
        assert m.forward_transfer(A, init) == pytest.approx(ref["fwt"])
    got = np.array([[np.nan if v is None else v for v in row] for row in m.forgetting(A, rand)])
    np.testing.assert_allclose(got, ref["forgetting"], rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(np.array(m.knowledge_transfer(A, direct, rand)), ref["kt"], rtol=1e-9)
    # the same numbers through compute_all, from plain lists
    # (compute_all reports a ratio only where its denominator is positive: a gain over random)
    out = m.compute_all(A.tolist(), init.tolist(), rand.tolist(), direct.tolist())
    assert out["average_accuracy"] == pytest.approx(ref["aa"])
    assert out["knowledge_transfer"] == {
        str(i): pytest.approx(v) if direct[i] > rand[i] else None for i, v in enumerate(ref["kt"])
    }
    for i in range(1, T):
        assert out["forgetting"][f"after:{i}"] == {
            str(j): pytest.approx(ref["forgetting"][i, j]) if A[j, j] > rand[j] else None for j in range(i)
        }


def test_metrics_module_does_not_import_torch():
    code = "import sys, climb_harness.core.metrics; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_negative_denominators_are_null_with_a_reason_even_without_intervals():
    # x learned to 20 < random 25; direct of x 10 < random 25
    A = [[20.0, 10.0], [15.0, 90.0]]
    out = m.compute_all(A, None, [25.0, 50.0], [10.0, 80.0], ["x", "y"])
    assert out["forgetting"]["after:y"]["x"] is None
    assert "not above its random baseline 25.00" in out["undefined"]["forgetting.after:y.x"]
    assert out["knowledge_transfer"]["x"] is None
    assert "not above the random baseline" in out["undefined"]["knowledge_transfer.x"]
    assert out["knowledge_transfer"]["y"] == pytest.approx(100 * (90 - 80) / (80 - 50))
