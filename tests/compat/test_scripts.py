"""Each script in scripts/ runs unchanged under real PyTorch and under chainrule.

Every run is a subprocess, so torch and chainrule never share a process: each chainrule run
is ``python -m chainrule.compat SCRIPT ARGS``; the PyTorch runs go through
``_torch_driver.py``, which runs the scripts unchanged as ``__main__`` one after another in
one process (torch is imported once: its import costs more CPU than these tiny scripts).

In ``--deterministic`` mode (float64, weights and data from NumPy seeds, no dropout or
shuffling) the two loss trajectories must agree to 1e-6; in normal mode (each framework's own
random initialisation, dropout and shuffling) chainrule must reach the same quality target
as PyTorch, and PyTorch must reach it too (so a miscalibrated target fails loudly).

The runs of all selected tests start at once in a thread pool the first time a test asks for
a result, so the wall time is that of the slowest few runs, not the sum of all of them.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent / "scripts"
DRIVER = Path(__file__).parent / "_torch_driver.py"
SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT_S = 300

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="the compatibility runner compares with real PyTorch"),
              pytest.mark.slow]

# (case id, script, extra arguments): every case runs in both modes unless noted below.
DETERMINISTIC = {
    "mnist_cnn": ("mnist_cnn.py", ["--epochs", "2"]),
    "word_lm_lstm": ("word_language_model.py", ["--model", "LSTM", "--epochs", "2"]),
    "word_lm_gru": ("word_language_model.py", ["--model", "GRU", "--epochs", "1"]),
    "word_lm_rnn_tanh": ("word_language_model.py", ["--model", "RNN_TANH", "--epochs", "1"]),
    "time_sequence_prediction": ("time_sequence_prediction.py", ["--steps", "2"]),
    "sixty_minute_blitz": ("sixty_minute_blitz.py", []),
    "polynomial_custom_function": ("polynomial_custom_function.py", []),
    "lstm_tagger": ("lstm_tagger.py", ["--epochs", "8"]),
    "char_rnn_classification": ("char_rnn_classification.py", ["--epochs", "3"]),
}


def _good_enough(case: str, final: dict) -> bool:
    """The quality target of a normal-mode run (the same for both frameworks)."""
    if case == "mnist_cnn":
        return final["test_loss"] < 1.2 and final["accuracy"] >= 0.75
    if case == "word_lm_gru":
        return final["test_loss"] < 2.45  # a unigram model scores about 2.65
    if case == "time_sequence_prediction":
        return final["test_loss"] < 0.01
    if case == "sixty_minute_blitz":
        return final["last_loss"] < 0.9 * final["first_loss"]
    if case == "polynomial_custom_function":
        return final["rms_error"] < 0.2
    if case == "lstm_tagger":
        return final["accuracy"] >= 0.9 and final["loss"] < 0.3
    if case == "char_rnn_classification":
        return final["accuracy"] >= 0.7 and final["loss"] < 0.6
    raise KeyError(case)


NORMAL = {
    "mnist_cnn": ("mnist_cnn.py", []),
    "word_lm_gru": ("word_language_model.py", ["--model", "GRU"]),
    "time_sequence_prediction": ("time_sequence_prediction.py", []),
    "sixty_minute_blitz": ("sixty_minute_blitz.py", []),
    "polynomial_custom_function": ("polynomial_custom_function.py", []),
    "lstm_tagger": ("lstm_tagger.py", []),
    "char_rnn_classification": ("char_rnn_classification.py", []),
}


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(SRC))


def _out_path(workdir: str, framework: str, script: str, args: list[str]) -> str:
    return os.path.join(workdir, f"{framework}-{script}-{'-'.join(args)}.json")


def _read(out: str, what: str, error_text: str) -> dict:
    if not os.path.exists(out):
        raise AssertionError(f"{what} failed:\n{error_text[-3000:]}")
    with open(out) as f:
        return json.load(f)


def _run_chainrule(script: str, args: list[str], workdir: str) -> dict:
    """``python -m chainrule.compat SCRIPT ARGS`` in a fresh interpreter; its JSON output."""
    out = _out_path(workdir, "chainrule", script, args)
    command = [sys.executable, "-m", "chainrule.compat", str(SCRIPTS / script), *args,
               "--losses-out", out]
    proc = subprocess.run(command, cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    what = f"chainrule run of {script} {' '.join(args)} (exit {proc.returncode})"
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed:\n{proc.stderr[-3000:]}")
    return _read(out, what, proc.stderr)


def _run_torch(jobs: list[tuple[str, list[str]]], workdir: str, name: str) -> dict:
    """Run scripts under real PyTorch, one after another in one ``_torch_driver.py``
    subprocess. Returns {(script, args): JSON output, or the AssertionError of a failure}."""
    specs = []
    for script, args in jobs:
        out = _out_path(workdir, "torch", script, args)
        specs.append({"script": str(SCRIPTS / script), "args": [*args, "--losses-out", out],
                      "error": out + ".error", "out": out})
    jobs_path = os.path.join(workdir, f"{name}.json")
    with open(jobs_path, "w") as f:
        json.dump(specs, f)
    proc = subprocess.run([sys.executable, str(DRIVER), jobs_path], cwd=workdir, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    results: dict[tuple, Any] = {}
    for (script, args), spec in zip(jobs, specs):
        error = proc.stderr
        if os.path.exists(spec["error"]):
            with open(spec["error"]) as f:
                error = f.read() + "\n--- driver stderr ---\n" + proc.stderr[-1500:]
        try:
            results[(script, tuple(args))] = _read(
                spec["out"], f"torch run of {script} {' '.join(args)}", error)
        except AssertionError as failure:
            results[(script, tuple(args))] = failure
    return results


class _TorchResult:
    """One job's result inside the future of a whole torch-driver batch."""

    def __init__(self, batch: Future, key: tuple) -> None:
        self.batch, self.key = batch, key

    def result(self) -> dict:
        outcome = self.batch.result()[self.key]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


_DET_TEST = "test_deterministic_loss_trajectories_agree"
_NORMAL_TEST = "test_normal_mode_reaches_the_same_target"


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    """Start the runs of every selected test at once; each test waits only for its own."""
    selected = {(item.originalname, item.callspec.params["case"])
                for item in request.session.items
                if item.module is request.module and hasattr(item, "callspec")}
    workdir = str(tmp_path_factory.mktemp("compat-runs"))
    futures: dict[tuple, Any] = {}
    torch_jobs: list[tuple[tuple, str, list[str]]] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for mode, table, test in (("det", DETERMINISTIC, _DET_TEST),
                                  ("normal", NORMAL, _NORMAL_TEST)):
            for case, (script, args) in table.items():
                if (test, case) not in selected:
                    continue
                extra = args + (["--deterministic"] if mode == "det" else [])
                torch_jobs.append(((mode, case, "torch"), script, extra))
        # PyTorch first (the long pole): two driver processes, half of the scripts each
        for half in (0, 1):
            batch_jobs = torch_jobs[half::2]
            if batch_jobs:
                batch = pool.submit(_run_torch, [(s, a) for _, s, a in batch_jobs], workdir,
                                    f"torch-jobs-{half}")
                for key, script, extra in batch_jobs:
                    futures[key] = _TorchResult(batch, (script, tuple(extra)))
        for (mode, case, _), script, extra in torch_jobs:
            futures[(mode, case, "chainrule")] = pool.submit(_run_chainrule, script, extra,
                                                             workdir)
        yield futures


@pytest.mark.parametrize("case", sorted(DETERMINISTIC))
def test_deterministic_loss_trajectories_agree(runs, case):
    reference = runs[("det", case, "torch")].result()
    ours = runs[("det", case, "chainrule")].result()
    expected = np.asarray(reference["losses"], dtype=np.float64)
    got = np.asarray(ours["losses"], dtype=np.float64)
    assert got.shape == expected.shape, (f"{case}: {got.size} losses from chainrule, "
                                         f"{expected.size} from PyTorch")
    assert expected.size >= 5 and np.all(np.isfinite(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6,
                               err_msg=f"{case}: loss trajectories differ")


@pytest.mark.parametrize("case", sorted(NORMAL))
def test_normal_mode_reaches_the_same_target(runs, case):
    reference = runs[("normal", case, "torch")].result()["final"]
    ours = runs[("normal", case, "chainrule")].result()["final"]
    assert _good_enough(case, reference), f"{case}: the target is miscalibrated: PyTorch got " \
                                          f"{reference}"
    assert _good_enough(case, ours), f"{case}: chainrule got {ours}, PyTorch got {reference}"
