"""Run the benchmarks: chainrule vs PyTorch in the same process, at 1 and 2 threads.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py core w1         # only some (core, w1, w2, w3, w4)
    python benchmarks/run.py --native-blas   # ignore a forced OPENBLAS_CORETYPE

Prints a table of median times and ratios (chainrule / PyTorch; lower is better).
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, set_threads  # noqa: E402

WORKLOADS = {
    "core": "core_autograd",
    "w1": "w1_mlp",
    "w2": "w2_lenet",
    "w3": "w3_lstm",
    "w4": "w4_vgg",
}


def _blas_note() -> str:
    """Which kernels NumPy's BLAS runs: OpenBLAS obeys OPENBLAS_CORETYPE, which some machines
    set (e.g. to Haswell, AVX2) even on AVX-512 CPUs, halving matrix-product speed."""
    from threadpoolctl import threadpool_info
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    arch = ", ".join(f"{p['internal_api']} {p.get('architecture')}" for p in pools) or "unknown"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    note = f"NumPy BLAS: {arch}"
    if forced:
        note += (f" (forced by OPENBLAS_CORETYPE={forced}; run with --native-blas to let "
                 "OpenBLAS detect this CPU)")
    return note


def main(argv: list[str]) -> int:
    if "--native-blas" in argv and "OPENBLAS_CORETYPE" in os.environ:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        return subprocess.call([sys.executable, __file__, *argv], env=env)
    print(_blas_note())
    names = [a for a in argv if not a.startswith("--")] or list(WORKLOADS)
    rows = []
    for threads in (1, 2):
        set_threads(threads)
        for name in names:
            module_name = WORKLOADS[name]
            if not (Path(__file__).parent / f"{module_name}.py").exists():
                print(f"(skipping {name}: benchmarks/{module_name}.py not present)")
                continue
            module = importlib.import_module(module_name)
            result = module.run(threads)
            for row in (result if isinstance(result, list) else [result]):
                row.setdefault("threads", threads)
                rows.append(row)
    print_table(rows)
    if "--json" in argv:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
