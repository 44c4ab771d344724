"""A character-level LSTM language model: train it on a text, save it, sample from it.

The model reads a text one character at a time and predicts the next: an embedding of each
character id, an LSTM over the sequence, and a linear layer giving logits over the
vocabulary at every step. Its loss is the cross-entropy in nats per character; a model that
knows only character frequencies scores the text's *unigram entropy*
(:func:`unigram_entropy`, about 3.3 nats for English prose), a uniform guess ``log(V)``.

Everything here uses chainrule's public API only, exactly as a user script would (the CLI
``chainrule train charlm`` / ``chainrule sample charlm`` calls these functions):

    >>> from chainrule import charlm, datasets
    >>> result = charlm.train(datasets.shakespeare_text(), charlm.CharLMConfig(), minutes=1)
    >>> charlm.save_checkpoint("shakespeare.ckpt", result.model, result.chars, result.config)
    >>> model, chars, config = charlm.load_checkpoint("shakespeare.ckpt")
    >>> print(charlm.sample(model, chars, length=200, temperature=0.8, prompt="ROMEO:"))
"""
from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import chainrule
import chainrule.optim
from chainrule import nn
from chainrule.datasets import CharCorpus

__all__ = [
    "CharLMConfig",
    "CharLSTM",
    "TrainResult",
    "evaluate",
    "load_checkpoint",
    "sample",
    "save_checkpoint",
    "train",
    "unigram_entropy",
]


@dataclass
class CharLMConfig:
    """Model and training settings (all saved in the checkpoint).

    Attributes:
        embed_dim, hidden_size, num_layers: the model.
        dropout: dropout on the LSTM's outputs (and between its layers), training only.
        seq_len: characters per training window (steps of backpropagation through time).
        batch_size: windows per step, drawn at random positions of the training text.
        lr: Adam's peak learning rate, decayed along a cosine to ``lr * min_lr_ratio`` over
            the budget (steps or minutes); grad_clip: max global gradient norm (0 = none).
        val_fraction: share of the text (its end) held out for validation.
        eval_every: steps between validation passes; val_chars: characters they score
            (the final pass after training scores all the held-out text).
        seed: seeds the weights and the batch order.
    """

    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.1
    seq_len: int = 64
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    grad_clip: float = 5.0
    val_fraction: float = 0.1
    eval_every: int = 250
    val_chars: int = 65536
    seed: int = 0


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear, predicting the next character at every position.

    Shape:
        - input: ``(B, T)`` int64 character ids.
        - output: ``(B, T, vocab_size)`` logits, and the LSTM state ``(h, c)`` to continue
          from (each ``(num_layers, B, hidden_size)``).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: chainrule.Tensor, state: tuple | None = None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(self.drop(out)), state


@dataclass
class TrainResult:
    """What :func:`train` returns: the model, its vocabulary and config, and the history
    (``(step, train_loss)`` pairs and ``(step, val_loss)`` pairs, in nats per character)."""

    model: CharLSTM
    chars: list
    config: CharLMConfig
    steps: int = 0
    seconds: float = 0.0
    train_losses: list = field(default_factory=list)
    val_losses: list = field(default_factory=list)

    @property
    def final_val_loss(self) -> float:
        return self.val_losses[-1][1] if self.val_losses else float("nan")


def unigram_entropy(text: str) -> float:
    """Entropy of the character frequencies of ``text`` in nats: the loss of the best model
    that ignores context."""
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log(c / n) for c in counts.values())


def _batch(ids: chainrule.Tensor, starts: chainrule.Tensor, seq_len: int):
    """Windows ``ids[s : s + L]`` (inputs) and ``ids[s + 1 : s + L + 1]`` (targets)."""
    positions = starts.unsqueeze(1) + chainrule.arange(seq_len + 1).unsqueeze(0)
    windows = ids[positions]
    return windows[:, :-1], windows[:, 1:]


def evaluate(model: CharLSTM, ids: chainrule.Tensor, seq_len: int = 64,
             batch_size: int = 64, max_chars: int | None = None) -> float:
    """Mean cross-entropy (nats per character) of next-character prediction on ``ids``,
    over consecutive non-overlapping windows (the first ``max_chars`` characters)."""
    n = ids.shape[0] - 1
    if max_chars is not None:
        n = min(n, max_chars)
    windows = n // seq_len
    if windows == 0:
        raise ValueError(f"evaluate: need more than {seq_len} characters, got {ids.shape[0]}")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with chainrule.no_grad():
        for first in range(0, windows, batch_size):
            starts = chainrule.arange(first, min(first + batch_size, windows)) * seq_len
            x, y = _batch(ids, starts, seq_len)
            logits, _ = model(x)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                               y.reshape(-1), reduction="sum")
            total += loss.item()
            count += y.numel()
    model.train(was_training)
    return total / count


def train(text: str, config: CharLMConfig | None = None, steps: int | None = None,
          minutes: float | None = None, progress: bool = False,
          on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train a :class:`CharLSTM` on ``text`` with Adam and full BPTT over each window.

    Stops after ``steps`` steps or ``minutes`` of wall time, whichever comes first (at
    least one must be given); the validation loss is measured every ``config.eval_every``
    steps and at the end.

    Args:
        text: the training text (the vocabulary is its set of characters).
        config: model and optimisation settings (defaults: :class:`CharLMConfig`).
        steps, minutes: the budget.
        progress: show a tqdm progress bar with the running loss (needs ``tqdm``).
        on_step: called as ``on_step(step, loss)`` after every step.
    """
    if steps is None and minutes is None:
        raise ValueError("train: give a budget, steps=... or minutes=...")
    config = config or CharLMConfig()
    corpus = CharCorpus(text, val_fraction=config.val_fraction)
    train_ids, val_ids = corpus.train_data, corpus.val_data
    if train_ids.shape[0] <= config.seq_len + 1:
        raise ValueError(f"train: the text is too short for seq_len={config.seq_len}")
    chainrule.manual_seed(config.seed)
    model = CharLSTM(corpus.vocab_size, config.embed_dim, config.hidden_size,
                     config.num_layers, config.dropout)
    optimizer = chainrule.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.CrossEntropyLoss()
    result = TrainResult(model, corpus.chars, config)
    deadline = time.monotonic() + 60 * minutes if minutes is not None else math.inf
    total = steps if steps is not None else None
    bar = _progress_bar(total, minutes) if progress else None
    started, running = time.monotonic(), None
    step = 0
    while (steps is None or step < steps) and time.monotonic() < deadline:
        progress_fraction = max(step / steps if steps else 0.0,
                                (time.monotonic() - started) / (60 * minutes) if minutes else 0.0)
        for group in optimizer.param_groups:
            group["lr"] = _cosine_lr(config.lr, config.min_lr_ratio, progress_fraction)
        starts = chainrule.randint(0, train_ids.shape[0] - config.seq_len - 1,
                                   (config.batch_size,))
        x, y = _batch(train_ids, starts, config.seq_len)
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = loss_fn(logits.reshape(-1, corpus.vocab_size), y.reshape(-1))
        loss.backward()
        if config.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        step += 1
        value = loss.item()
        running = value if running is None else 0.98 * running + 0.02 * value
        result.train_losses.append((step, value))
        if on_step is not None:
            on_step(step, value)
        if val_ids.shape[0] > config.seq_len + 1 and step % config.eval_every == 0:
            result.val_losses.append((step, evaluate(model, val_ids, config.seq_len,
                                                     max_chars=config.val_chars)))
        if bar is not None:
            postfix = {"loss": f"{running:.3f}"}
            if result.val_losses:
                postfix["val"] = f"{result.val_losses[-1][1]:.3f}"
            bar.set_postfix(postfix, refresh=False)
            # A step budget counts steps; a time budget counts seconds.
            bar.update(1 if total is not None else
                       min(time.monotonic() - started, 60 * minutes) - bar.n)
    if val_ids.shape[0] > config.seq_len + 1:  # the final score: all held-out text
        if result.val_losses and result.val_losses[-1][0] == step:
            result.val_losses.pop()
        result.val_losses.append((step, evaluate(model, val_ids, config.seq_len)))
    if bar is not None:
        bar.set_postfix({"loss": f"{running:.3f}", "val": f"{result.final_val_loss:.3f}"})
        bar.close()
    result.steps, result.seconds = step, time.monotonic() - started
    return result


def _cosine_lr(peak: float, min_ratio: float, fraction: float) -> float:
    """Cosine decay from ``peak`` (fraction 0) to ``peak * min_ratio`` (fraction 1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * fraction)))


def _progress_bar(total: int | None, minutes: float | None):
    from tqdm.auto import tqdm  # optional dependency, only for the progress bar
    if total is not None:
        return tqdm(total=total, unit="step", desc="train charlm")
    return tqdm(total=round(60 * minutes), unit="s", desc="train charlm",
                bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} s [{elapsed}{postfix}]")


def sample(model: CharLSTM, chars: list, length: int = 200, temperature: float = 1.0,
           prompt: str | None = None, generator: chainrule.Generator | None = None) -> str:
    """Generate ``length`` characters, each drawn from softmax(logits / temperature).

    Args:
        model, chars: a trained model and its vocabulary (``chars[i]`` has id ``i``).
        length: characters to generate (after the prompt).
        temperature: > 0; below 1 sharpens the distribution (safer, more repetitive text),
            above 1 flattens it (more surprising, more misspelt).
        prompt: text to start from (its characters must be in the vocabulary); default a
            newline if the vocabulary has one, else the first character.
        generator: a :class:`chainrule.Generator` for reproducible samples.

    Returns:
        the prompt followed by the generated characters.
    """
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be > 0, got {temperature}")
    index = {ch: i for i, ch in enumerate(chars)}
    if prompt is None or prompt == "":
        prompt = "\n" if "\n" in index else chars[0]
    missing = sorted(set(prompt) - set(index))
    if missing:
        raise ValueError(f"sample: prompt characters {missing} are not in the vocabulary")
    was_training = model.training
    model.eval()
    out = list(prompt)
    with chainrule.no_grad():
        ids = chainrule.tensor([[index[ch] for ch in prompt]])
        logits, state = model(ids)  # read the prompt once, keep the LSTM state
        for _ in range(length):
            probs = (logits[0, -1] / temperature).softmax(-1)
            next_id = chainrule.multinomial(probs, 1, generator=generator)
            out.append(chars[int(next_id.item())])
            logits, state = model(next_id.reshape(1, 1), state)
    model.train(was_training)
    return "".join(out)


def save_checkpoint(path: str, model: CharLSTM, chars: list, config: CharLMConfig) -> None:
    """Write the model's state dict, vocabulary and config with :func:`chainrule.save`."""
    chainrule.save({"kind": "charlm", "model": model.state_dict(), "vocab": "".join(chars),
                    "config": asdict(config)}, path)


def load_checkpoint(path: str) -> tuple[CharLSTM, list, CharLMConfig]:
    """Read a checkpoint written by :func:`save_checkpoint`: ``(model, chars, config)``."""
    data = chainrule.load(path)
    if not isinstance(data, dict) or data.get("kind") != "charlm":
        raise ValueError(f"load_checkpoint: {path} is not a charlm checkpoint")
    config = CharLMConfig(**data["config"])
    chars = list(data["vocab"])
    model = CharLSTM(len(chars), config.embed_dim, config.hidden_size, config.num_layers,
                     config.dropout)
    model.load_state_dict(data["model"])
    model.eval()
    return model, chars, config
