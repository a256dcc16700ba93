"""The README's shell examples run as written, so the README cannot drift from the code.

Every ```console block holding a ``$ imgfilter`` line is run in a fresh folder
with a copy of samples/: each ``$`` line through bash, in order. A command must
exit 0 and create the files it names with ``-o`` or ``>``; lines printed after a
command in the README must be exactly what the command prints.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES, command_prefix

README = REPO / "README.md"
BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)


def console_blocks() -> list[list[tuple[str, list[str]]]]:
    """Each block as a list of (command, expected output lines)."""
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    blocks = []
    for match in BLOCK.finditer(text):
        commands: list[tuple[str, list[str]]] = []
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
        if any(command.startswith("imgfilter ") for command, _ in commands):
            blocks.append(commands)
    return blocks


BLOCKS = console_blocks()


def test_readme_shows_the_command_line_tasks():
    commands = " ".join(command for block in BLOCKS for command, _ in block)
    for task in ("gaussian", "sobel", "convolve", "run", "--explain", " - "):
        assert task in commands, task
    assert len(BLOCKS) >= 6


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory) -> Path:
    """A folder whose ``imgfilter`` runs this checkout's command (installed or not)."""
    folder = tmp_path_factory.mktemp("bin")
    prefix = command_prefix()
    env = ""
    if prefix[0] == sys.executable:
        env = f"PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}} "
    script = folder / "imgfilter"
    script.write_text(f'#!/bin/sh\n{env}exec {shlex.join(prefix)} "$@"\n')
    script.chmod(0o755)
    return folder


def outputs(command: str) -> list[str]:
    """Files a command says it writes: the words after -o/--output and after >."""
    words = shlex.split(command.replace(">", " > "))
    named = [b for a, b in zip(words, words[1:], strict=False) if a in ("-o", "--output", ">")]
    return [name for name in named if name != "-"]


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b[0][0][:60])
def test_readme_console_block_runs(block, tmp_path, bin_dir):
    shutil.copytree(SAMPLES, tmp_path / "samples")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", COLUMNS="100")
    env.pop("IMGFILTER_KERNEL_PATH", None)
    for command, expected in block:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"$ {command}\n{done.stderr}"
        for name in outputs(command):
            path = tmp_path / name
            assert path.exists(), f"$ {command}: {name} was not written"
            assert path.is_dir() or path.stat().st_size > 0
        if expected and any(line.strip() for line in expected):
            got = [line.rstrip() for line in done.stdout.rstrip("\n").splitlines()]
            want = [line.rstrip() for line in "\n".join(expected).rstrip("\n").splitlines()]
            assert got == want, f"$ {command}"
