"""Run several scripts one after another in ONE process with the real PyTorch.

    python _torch_driver.py jobs.json

``jobs.json`` is a list of ``{"script": path, "args": [...], "error": path}``. Each script
runs unchanged as ``__main__`` (with its own ``sys.argv`` and its folder first on
``sys.path``), exactly as ``python script.py args`` would, but PyTorch is imported once for
all of them: its import costs more CPU than these tiny scripts. Global state a script may
change (default dtype, grad mode) is reset before the next one. A script that fails writes
its traceback to its ``error`` path; the others still run.
"""
import json
import runpy
import sys
import traceback

import torch


def main(jobs_path: str) -> None:
    with open(jobs_path) as f:
        jobs = json.load(f)
    for job in jobs:
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)
        old_argv, old_path = sys.argv, list(sys.path)
        sys.argv = [job["script"], *job["args"]]
        sys.path.insert(0, job["script"].rsplit("/", 1)[0])
        try:
            runpy.run_path(job["script"], run_name="__main__")
        except BaseException:  # noqa: BLE001 - report any failure, SystemExit included
            with open(job["error"], "w") as f:
                f.write(traceback.format_exc())
        finally:
            sys.argv, sys.path[:] = old_argv, old_path


if __name__ == "__main__":
    main(sys.argv[1])
