"""Run the benchmarks: chainrule vs PyTorch in the same process, at 1 and 2 threads.

    python benchmarks/run.py                 # every workload
    python benchmarks/run.py core w1         # only some (core, w1, w2, w3, w4)

Prints a table of median times and ratios (chainrule / PyTorch; lower is better).
"""
from __future__ import annotations

import importlib
import json
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


def main(argv: list[str]) -> int:
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
