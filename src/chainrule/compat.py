"""Run an ordinary PyTorch script on chainrule, unchanged: ``import torch`` gets chainrule.

    python -m chainrule.compat train.py --epochs 3

Every ``torch`` module the script imports (``torch``, ``torch.nn``, ``torch.nn.functional``,
``torch.optim.lr_scheduler``, ``torch.utils.data``, ...) is chainrule's module of the same
name. A ``torch`` module chainrule doesn't have raises an ImportError saying so. See the
README for what is supported.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import pkgutil
import runpy
import sys

import chainrule

# chainrule's subpackages that stand in for torch's (labs, viz, datasets... are ours alone).
_MIRRORED = ("nn", "optim", "utils", "autograd", "onnx", "cuda", "accelerator",
             "serialization", "backends", "amp")


class _TorchAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolve ``torch[.x.y]`` imports to ``chainrule[.x.y]`` modules."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        target_name = "chainrule" + fullname[len("torch"):]
        try:
            module = importlib.import_module(target_name)
        except ImportError:
            raise ImportError(f"chainrule has no counterpart of '{fullname}' (looked for "
                              f"'{target_name}'); see the README for what is supported") \
                from None
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=hasattr(module,
                                                                                 "__path__"))
        spec._chainrule_module = module
        return spec

    def create_module(self, spec):
        return spec._chainrule_module

    def exec_module(self, module):
        """Already imported as chainrule's module."""


def install() -> None:
    """Make ``import torch`` (and its submodules) import chainrule from now on."""
    if any(isinstance(f, _TorchAliasFinder) for f in sys.meta_path):
        return
    if "torch" in sys.modules and sys.modules["torch"] is not chainrule:
        raise RuntimeError("compat.install: the real torch is already imported in this process")
    sys.modules["torch"] = chainrule
    for info in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        top = info.name.split(".")[1]
        if top in _MIRRORED and "._" not in info.name:
            try:
                module = importlib.import_module(info.name)
            except ImportError:  # an optional extra is missing
                continue
            sys.modules["torch" + info.name[len("chainrule"):]] = module
    sys.meta_path.insert(0, _TorchAliasFinder())


def run_script(path: str, argv: list[str] | None = None) -> dict:
    """Run ``path`` as ``__main__`` with torch mapped to chainrule; returns its globals."""
    install()
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [path] + list(argv or [])
    # as `python script.py` does: the script's folder first, so its sibling modules import
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        return runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = old_argv
        sys.path[:] = old_path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    run_script(argv[0], argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
