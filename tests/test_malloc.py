"""The glibc malloc tuning done on import (chainrule/_malloc.py): on by default, opt-out works,
and a user's own malloc settings are left alone."""
import os
import platform
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
PROBE = "import chainrule, chainrule._malloc as m; print(m.tuned)"


def _tuned_in_fresh_process(**env_changes) -> bool:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CHAINRULE_MALLOC_TUNING", "MALLOC_MMAP_THRESHOLD_",
                        "MALLOC_TRIM_THRESHOLD_")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    return {"True": True, "False": False}[out]


@pytest.mark.skipif(not GLIBC, reason="the tuning applies to glibc's malloc only")
def test_tuned_by_default_on_glibc():
    assert _tuned_in_fresh_process() is True


def test_opt_out_by_environment():
    assert _tuned_in_fresh_process(CHAINRULE_MALLOC_TUNING="0") is False


def test_users_own_malloc_settings_win():
    assert _tuned_in_fresh_process(MALLOC_TRIM_THRESHOLD_="1000000") is False
