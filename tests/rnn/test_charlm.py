"""The character language model (chainrule.charlm) and its command line."""
from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule
from chainrule import charlm, cli, datasets

TINY = {"embed_dim": 16, "hidden_size": 32, "seq_len": 16, "batch_size": 8,
        "eval_every": 10**9, "val_chars": 2048}


def test_unigram_entropy():
    assert charlm.unigram_entropy("aabb") == pytest.approx(math.log(2))
    assert charlm.unigram_entropy("aaaa") == 0.0


def test_tiny_budget_falls_well_below_unigram_entropy():
    """A few seconds of training on the embedded Shakespeare beats a context-free model by
    a wide margin (a model knowing only letter frequencies scores the unigram entropy)."""
    text = datasets.shakespeare_text()
    unigram = charlm.unigram_entropy(text)
    config = charlm.CharLMConfig(embed_dim=32, hidden_size=96, seq_len=32, batch_size=32,
                                 lr=1e-2, eval_every=10**9, val_chars=8192)
    result = charlm.train(text, config, steps=250, minutes=1.0)
    assert result.steps >= 100
    assert result.final_val_loss < unigram - 0.7, (result.final_val_loss, unigram)
    first = result.train_losses[0][1]
    assert first > math.log(len(result.chars)) - 0.3  # starts near a uniform guess


def test_checkpoint_round_trip_and_sampling(tmp_path):
    text = datasets.shakespeare_text(["macbeth"])
    result = charlm.train(text, charlm.CharLMConfig(**TINY), steps=5)
    path = str(tmp_path / "tiny.ckpt")
    charlm.save_checkpoint(path, result.model, result.chars, result.config)
    model, chars, config = charlm.load_checkpoint(path)
    assert chars == result.chars and config == result.config
    for (name, a), (_, b) in zip(model.state_dict().items(),
                                 result.model.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    first = charlm.sample(model, chars, 40, 0.8, prompt="MACBETH",
                          generator=chainrule.Generator().manual_seed(3))
    second = charlm.sample(model, chars, 40, 0.8, prompt="MACBETH",
                           generator=chainrule.Generator().manual_seed(3))
    assert first == second and first.startswith("MACBETH") and len(first) == 47
    assert set(first) <= set(chars)
    cold = charlm.sample(model, chars, 30, 0.01, generator=chainrule.Generator().manual_seed(1))
    assert len(cold) == 31  # default prompt: a newline
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(model, chars, 5, 0.0)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        charlm.sample(model, chars, 5, 1.0, prompt="\u00e9")
    with pytest.raises(ValueError, match="budget"):
        charlm.train(text, charlm.CharLMConfig(**TINY))


def test_cli_train_and_sample(tmp_path, capsys):
    text_file = tmp_path / "text.txt"
    text_file.write_text(datasets.shakespeare_text(["tempest"])[:20000], encoding="utf-8")
    ckpt = str(tmp_path / "model.ckpt")
    code = cli.main(["train", "charlm", "--text", str(text_file), "--steps", "4", "--out", ckpt,
                     "--hidden", "32", "--embed", "16", "--seq-len", "16", "--batch-size", "8",
                     "--threads", "1", "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "4 steps" in out and "validation loss" in out and ckpt in out
    code = cli.main(["sample", "charlm", "--checkpoint", ckpt, "--length", "25",
                     "--temperature", "0.7", "--seed", "2", "--prompt", "The"])
    assert code == 0
    sampled = capsys.readouterr().out
    assert sampled.startswith("The") and len(sampled.rstrip("\n")) >= 28


def test_cli_errors_and_help(tmp_path, capsys):
    assert cli.main(["sample", "charlm", "--checkpoint", str(tmp_path / "missing.ckpt")]) == 2
    assert "error" in capsys.readouterr().err
    assert cli.main(["sample", "charlm", "--checkpoint", __file__]) == 2  # not a checkpoint
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    helptext = capsys.readouterr().out
    assert "train" in helptext and "sample" in helptext
    with pytest.raises(SystemExit):
        cli.main(["train"])  # a group needs a task
