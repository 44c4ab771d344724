"""The PyTorch-style example runs unchanged on chainrule and on PyTorch, with the same numbers."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_mlp_digits.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("train_mlp_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _initial_weights(path: Path) -> None:
    rng = np.random.default_rng(123)
    shapes = {"fc1.weight": (128, 64), "fc1.bias": (128,), "fc2.weight": (128, 128),
              "fc2.bias": (128,), "fc3.weight": (10, 128), "fc3.bias": (10,)}
    np.savez(path, **{k: rng.uniform(-0.1, 0.1, s) for k, s in shapes.items()})


def test_loss_curves_agree_with_pytorch_float64(tmp_path):
    pytest.importorskip("torch")
    example = _load_example()
    init = tmp_path / "init.npz"
    _initial_weights(init)
    common = ["--dtype", "float64", "--init", str(init), "--max-steps", "20", "--no-shuffle",
              "--quiet", "--epochs", "1"]
    ours = example.main(common + ["--backend", "chainrule"])["losses"]
    theirs = example.main(common + ["--backend", "torch"])["losses"]
    assert len(ours) == len(theirs) == 20
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    assert ours[-1] < ours[0]  # it learns


def test_checkpoint_is_written_and_loads(tmp_path):
    import chainrule
    example = _load_example()
    ckpt = tmp_path / "mlp.ckpt"
    example.main(["--max-steps", "5", "--epochs", "1", "--quiet", "--checkpoint", str(ckpt)])
    state = chainrule.load(ckpt)
    assert set(state["model"]) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                                   "fc3.weight", "fc3.bias"}
    assert "state" in state["optimizer"] and "param_groups" in state["optimizer"]


@pytest.mark.slow
def test_mlp_reaches_97_percent_on_digits():
    result = _load_example().main(["--quiet", "--seed", "0"])
    assert result["accuracy"] >= 0.97, result["accuracy"]
