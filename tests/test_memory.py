"""The command line keeps freed memory for reuse (``_run.keep_freed_memory``).

Measured in a fresh interpreter through /proc: a freed 24 MiB block leaves the
process by default (malloc maps it afresh and unmaps it), and stays once the command
line has set glibc's thresholds.
"""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc's malloc thresholds"
)

PROBE = """
import ctypes, os, sys
from imgfilter.cli import _run
if sys.argv[1] == "kept":
    _run.keep_freed_memory()
page = os.sysconf("SC_PAGE_SIZE")
def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
size = 24 << 20
block = ctypes.create_string_buffer(size)  # malloc, every page touched (zeroed)
before = resident()
del block
print(before - resident())
"""


def returned_bytes(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_freed_memory_leaves_the_process_by_default():
    assert returned_bytes("default") > 20 << 20


def test_the_command_line_keeps_freed_memory_for_reuse():
    assert returned_bytes("kept") < 4 << 20
