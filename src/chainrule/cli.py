"""The ``chainrule`` command line: a dispatcher of subcommands.

    chainrule train charlm [--text FILE] [--steps N | --minutes M] [--out CKPT] ...
    chainrule sample charlm --checkpoint CKPT [--temperature T] [--length N] [--prompt TEXT]
    chainrule labs [NAME ...] [--out reports/] [--quick]     run the lessons, write the report

Each command is added by an ``_add_<name>(subparsers)`` function listed in ``_COMMANDS``; it
builds its parser and sets ``func=<handler>`` with ``set_defaults``. A handler takes the
parsed arguments and returns the exit status. Command groups with several tasks (``train``,
``sample``) have one sub-subparser per task (``charlm``). Handlers use the public API only.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["build_parser", "main"]


def _group(subparsers, name: str, help: str):
    """A command group such as ``train``: returns the subparsers of its tasks."""
    parser = subparsers.add_parser(name, help=help, description=help)
    return parser.add_subparsers(dest="task", metavar="TASK", required=True)


# -- train / sample charlm ------------------------------------------------------------------

def _add_train(subparsers) -> None:
    tasks = _group(subparsers, "train", "train a model (charlm: a character LSTM)")
    p = tasks.add_parser("charlm", help="a character-level LSTM language model",
                         description="Train a character-level LSTM language model on a text "
                                     "file (default: the embedded Shakespeare plays) and save "
                                     "a checkpoint. Losses are in nats per character.")
    p.add_argument("--text", metavar="FILE", help="UTF-8 text file to train on (default: "
                   "chainrule.datasets.shakespeare_text())")
    budget = p.add_argument_group("budget (training stops at whichever comes first)")
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument("--minutes", type=float, help="wall-clock minutes (default 10 "
                        "if --steps is not given)")
    p.add_argument("--out", metavar="CKPT", default="charlm.ckpt",
                   help="checkpoint path (default: %(default)s)")
    model = p.add_argument_group("model and optimisation")
    model.add_argument("--hidden", "--hidden-size", dest="hidden", type=int, default=256,
                       help="LSTM hidden units (default: %(default)s)")
    model.add_argument("--layers", "--num-layers", dest="layers", type=int, default=1,
                       help="LSTM layers (default: %(default)s)")
    model.add_argument("--embed", type=int, default=64, help="embedding size")
    model.add_argument("--dropout", type=float, default=0.0, help="dropout between layers")
    model.add_argument("--seq-len", type=int, default=64, help="characters per window (BPTT)")
    model.add_argument("--batch-size", type=int, default=32, help="windows per step")
    model.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    model.add_argument("--eval-every", type=int, default=250,
                       help="steps between validation passes")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--threads", type=int, help="BLAS threads (on a busy machine 1 is often "
                   "fastest for this model size)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_charlm)


def _train_charlm(args) -> int:
    import chainrule
    from chainrule import charlm
    from chainrule.datasets import shakespeare_text

    if args.threads:
        chainrule.set_num_threads(args.threads)
    if args.text:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
        source = args.text
    else:
        text, source = shakespeare_text(), "the embedded Shakespeare"
    minutes = args.minutes if args.minutes is not None or args.steps is not None else 10.0
    config = charlm.CharLMConfig(
        embed_dim=args.embed, hidden_size=args.hidden, num_layers=args.layers,
        dropout=args.dropout, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
        eval_every=args.eval_every, seed=args.seed)
    print(f"training a char LSTM ({args.layers} x {args.hidden}) on {source}: "
          f"{len(text):,} characters, unigram entropy "
          f"{charlm.unigram_entropy(text):.3f} nats/char")
    result = charlm.train(text, config, steps=args.steps, minutes=minutes,
                          progress=not args.no_progress)
    charlm.save_checkpoint(args.out, result.model, result.chars, result.config)
    print(f"{result.steps} steps in {result.seconds:.0f} s; validation loss "
          f"{result.final_val_loss:.3f} nats/char; checkpoint saved to {args.out}")
    return 0


def _add_sample(subparsers) -> None:
    tasks = _group(subparsers, "sample", "generate text from a trained model")
    p = tasks.add_parser("charlm", help="text from a character-level language model",
                         description="Generate text from a checkpoint written by "
                                     "'chainrule train charlm'.")
    p.add_argument("--checkpoint", metavar="CKPT", default="charlm.ckpt",
                   help="checkpoint path (default: %(default)s)")
    p.add_argument("--temperature", type=float, default=0.8,
                   help="> 0; lower is safer, higher is wilder (default: %(default)s)")
    p.add_argument("--length", type=int, default=500, help="characters to generate")
    p.add_argument("--prompt", default=None, help="text to start from")
    p.add_argument("--seed", type=int, default=None, help="seed for reproducible samples")
    p.set_defaults(func=_sample_charlm)


def _sample_charlm(args) -> int:
    import chainrule
    from chainrule import charlm

    model, chars, _ = charlm.load_checkpoint(args.checkpoint)
    generator = chainrule.Generator().manual_seed(args.seed) if args.seed is not None else None
    text = charlm.sample(model, chars, args.length, args.temperature, args.prompt, generator)
    sys.stdout.write(text + "\n")
    return 0


# -- labs -------------------------------------------------------------------------------------

def _run_labs(args: argparse.Namespace) -> int:
    try:
        from .labs import run_lessons
        from .labs.runner import resolve
    except ImportError as error:  # matplotlib/scipy/tqdm come with the labs extra
        print(f"chainrule labs: {error}; install the extra: pip install 'chainrule[labs]'",
              file=sys.stderr)
        return 2
    try:
        for name in args.names:
            resolve(name)
    except ValueError as error:
        print(f"chainrule labs: {error}", file=sys.stderr)
        return 2
    results = run_lessons(args.names or None, out=args.out, quick=args.quick, seed=args.seed,
                          show_progress=not args.no_progress)
    failed = [r for r in results if not r.passed]
    checks = [c for r in results for c in r.checks]
    print(f"{len(results)} lesson(s), {sum(c.passed for c in checks)} of {len(checks)} claims "
          f"verified; report: {args.out}/index.html and {args.out}/index.md")
    for r in failed:
        what = "raised an error" if r.error else "has failed checks: " + "; ".join(
            c.claim for c in r.checks if not c.passed)
        print(f"  lesson {r.number} ({r.key}) {what}", file=sys.stderr)
    return 1 if failed else 0


def _add_labs(subparsers) -> None:
    from .labs.runner import LESSONS
    names = ", ".join(f"{key} ({number})" for key, (_m, number, _t) in LESSONS.items())
    parser = subparsers.add_parser(
        "labs", help="run the lessons and write the report (HTML + Markdown)",
        description="Run the lessons (all by default) and write reports/index.html "
                    f"(self-contained) and reports/index.md. Lessons: {names}.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="lessons to run, by name or number (default: all)")
    parser.add_argument("--out", default="reports", help="report directory (default: reports)")
    parser.add_argument("--quick", action="store_true",
                        help="a small budget (seconds per lesson); the checks still run")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.set_defaults(func=_run_labs)



# Command registrars, in the order ``chainrule --help`` lists them.
_COMMANDS: list[Callable] = [_add_train, _add_sample, _add_labs]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule", description="chainrule: a deep-learning framework that shows its work.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chainrule`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    from .serialization import CheckpointError

    try:
        return int(args.func(args) or 0)
    except (OSError, ValueError, KeyError, CheckpointError) as error:  # bad file or input
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
