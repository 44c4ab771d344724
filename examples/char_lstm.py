"""Train a character-level LSTM language model on Shakespeare, PyTorch style.

An ordinary PyTorch script (an nn.Module with Embedding -> LSTM -> Linear, random windows of
the text as batches, cross-entropy over every position, Adam, gradient clipping, a
validation loss, a checkpoint, sampling with a temperature). It runs on chainrule by
default and on real PyTorch with ``--backend torch``:

    python examples/char_lstm.py --minutes 10              # chainrule
    python examples/char_lstm.py --minutes 10 --backend torch

The text is the embedded public-domain Shakespeare (chainrule.datasets.shakespeare_text:
eight plays from Project Gutenberg, about 1.04 million characters, 76 distinct). The last
10% is held out; losses are in nats per character. A model that knows only how often each
character occurs scores the unigram entropy, 3.31 nats; a uniform guess log(76) = 4.33.

Measured on this project's 2-core CPU with chainrule and the default settings (1-layer LSTM
with 256 hidden units, embedding 64, dropout 0.1 on the LSTM outputs, batches of 64 windows
of 64 characters, Adam with lr 3e-3 decayed along a cosine to 3e-4, gradient clipping at 5,
1 BLAS thread), while other jobs shared the CPU (load average 3-6 on the 2 cores):
``--minutes 10`` ran 4,875 steps in 601 s and reached a validation loss of 1.733 nats/char on
the first 65,536 held-out characters (what the periodic evaluations score) and 1.751 on the
whole held-out 10% (103,648 characters), printed at the end: below the 1.8 target. It passed
1.8 after about 1,000 steps (135 s). An earlier run without dropout and at a constant lr,
on a busier CPU (load 8-10, 2,681 steps), ended at 1.795 on the first 65,536 characters but
1.815 on the whole held-out text: the decay and the dropout are what make the margin.

The same training is available as ``chainrule train charlm`` (chainrule.charlm).
"""
from __future__ import annotations

import argparse
import importlib
import math
import time

from chainrule.datasets import CharCorpus, shakespeare_text


def build_model(torch, vocab_size: int, embed_dim: int, hidden_size: int, dropout: float):
    nn = torch.nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, embed_dim)
            self.lstm = nn.LSTM(embed_dim, hidden_size, batch_first=True)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(hidden_size, vocab_size)

        def forward(self, ids, state=None):
            out, state = self.lstm(self.embed(ids), state)
            return self.head(self.drop(out)), state

    return CharLSTM()


def get_batch(torch, data, batch_size: int, seq_len: int):
    """Random windows of the text: inputs and the same windows shifted by one character."""
    starts = torch.randint(0, data.shape[0] - seq_len - 1, (batch_size,))
    positions = starts.unsqueeze(1) + torch.arange(seq_len + 1).unsqueeze(0)
    windows = data[positions]
    return windows[:, :-1], windows[:, 1:]


def validation_loss(torch, model, data, seq_len: int, max_chars: int = 65536) -> float:
    """Mean cross-entropy over consecutive windows of the held-out text."""
    model.eval()
    n_windows = min(data.shape[0] - 1, max_chars) // seq_len
    total = 0.0
    with torch.no_grad():
        for first in range(0, n_windows, 64):
            starts = torch.arange(first, min(first + 64, n_windows)) * seq_len
            positions = starts.unsqueeze(1) + torch.arange(seq_len + 1).unsqueeze(0)
            windows = data[positions]
            logits, _ = model(windows[:, :-1])
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1),
                reduction="sum").item()
    model.train()
    return total / (n_windows * seq_len)


def generate(torch, model, corpus, prompt: str, length: int, temperature: float) -> str:
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        logits, state = model(torch.tensor([[corpus.stoi[c] for c in prompt]]))
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1)
            next_id = torch.multinomial(probs, 1)
            out.append(corpus.itos[int(next_id.item())])
            logits, state = model(next_id.reshape(1, 1), state)
    model.train()
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="chainrule", choices=["chainrule", "torch"])
    parser.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    parser.add_argument("--steps", type=int, default=None, help="or a step budget")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate, decayed "
                        "along a cosine to a tenth of it over the budget")
    parser.add_argument("--dropout", type=float, default=0.1, help="on the LSTM outputs")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="char_lstm.ckpt", help="checkpoint path")
    args = parser.parse_args()

    torch = importlib.import_module(args.backend)
    if args.backend == "chainrule":
        importlib.import_module("chainrule.optim")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    corpus = CharCorpus(shakespeare_text(), val_fraction=0.1)
    train_data = torch.from_numpy(corpus.train_data.numpy())
    val_data = torch.from_numpy(corpus.val_data.numpy())
    model = build_model(torch, corpus.vocab_size, args.embed, args.hidden, args.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    print(f"{args.backend}: {corpus}; uniform guess {math.log(corpus.vocab_size):.3f} nats")

    start, step, best = time.monotonic(), 0, math.inf
    while time.monotonic() - start < 60 * args.minutes and (args.steps is None
                                                             or step < args.steps):
        done = (time.monotonic() - start) / (60 * args.minutes)
        if args.steps:
            done = max(done, step / args.steps)
        for group in optimizer.param_groups:  # cosine decay to lr / 10 over the budget
            group["lr"] = args.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(done, 1.0))))
        x, y = get_batch(torch, train_data, args.batch_size, args.seq_len)
        optimizer.zero_grad()
        logits, _ = model(x)
        loss = loss_fn(logits.reshape(-1, corpus.vocab_size), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        step += 1
        if step % args.eval_every == 0:
            val = validation_loss(torch, model, val_data, args.seq_len)
            best = min(best, val)
            print(f"{time.monotonic() - start:7.1f} s  step {step:6d}  train {loss.item():.3f}"
                  f"  val {val:.3f} nats/char", flush=True)
    elapsed = time.monotonic() - start
    val = validation_loss(torch, model, val_data, args.seq_len, max_chars=val_data.shape[0])
    periodic = f" (periodic evaluations on the first 65,536: best {best:.3f})" \
        if best < math.inf else ""
    print(f"done: {step} steps in {elapsed:.0f} s; validation loss on all "
          f"{val_data.shape[0]:,} held-out characters: {val:.3f} nats/char{periodic}")
    torch.save({"model": model.state_dict(), "vocab": "".join(corpus.chars),
                "config": vars(args)}, args.out)
    print(f"checkpoint: {args.out}\n")
    print(generate(torch, model, corpus, "ROMEO:", 400, temperature=0.8))


if __name__ == "__main__":
    main()
