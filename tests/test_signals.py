"""Signals and pipes on the real command: Ctrl-C and SIGTERM stop a batch cleanly, nothing
half-written or hidden stays behind, and a closed stdout pipe ends quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, command_prefix
from PIL import Image

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

FILES = 100
# About 20 ms a file on two cores: a batch of 100 takes about 2 s, long enough to interrupt.
SLOW = ["denoise", "--method", "median", "--size", "9"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start(*args, prefix=None, sigint=signal.SIG_DFL) -> subprocess.Popen:
    """The command in a child whose SIGINT is ``sigint`` at start: the default, also when
    this suite runs where SIGINT is ignored (a background job of a script inherits
    SIG_IGN, and Python then leaves Ctrl-C ignored, as shell tools do)."""
    return subprocess.Popen(
        [*(prefix or command_prefix()), *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode()


def wait_until(condition, process, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"finished before the signal: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the condition never came")
        time.sleep(0.005)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(FILES):
        pixels = rng.integers(0, 256, (192, 192, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{i:03d}.png", compress_level=1)
    return folder


@pytest.fixture(scope="module")
def big_png(tmp_path_factory) -> Path:
    """An image whose PNG takes about a second to encode: time to signal mid-write."""
    path = tmp_path_factory.mktemp("big") / "big.png"
    pixels = np.random.default_rng(1).integers(0, 256, (2500, 2500, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, compress_level=0)
    return path


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


def summary_count(err: str) -> int:
    line = err.strip().splitlines()[-1]
    assert line.startswith("imgfilter: interrupted: "), err
    return int(line.split()[2])


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_one_signal_stops_a_batch_within_a_file_per_worker(tmp_path, photos, signum, code):
    out = tmp_path / "out"
    process = start(*SLOW, photos, "-o", out, "--jobs", "2")
    wait_until(lambda: out.is_dir() and len(written(out)) >= 3, process)
    process.send_signal(signum)
    returncode, err = finish(process)
    assert returncode == code, err
    done = written(out)
    assert summary_count(err) == len(done)
    assert len(done) < FILES // 2, "the batch went on after the signal"
    assert litter(out) == []
    assert "Traceback" not in err and "aborted" not in err
    for name in done:  # what was written is complete
        with Image.open(out / name) as picture:
            picture.load()


def test_a_second_ctrl_c_leaves_at_once_and_still_clean(tmp_path, photos):
    out = tmp_path / "out"
    process = start(*SLOW, photos, "-o", out, "--jobs", "2")
    wait_until(lambda: out.is_dir() and len(written(out)) >= 2, process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.002)
    process.send_signal(signal.SIGINT)
    returncode, err = finish(process)
    assert returncode == 130, err
    assert litter(out) == []
    assert "Traceback" not in err


def test_ctrl_c_without_threads(tmp_path, photos):
    out = tmp_path / "out"
    process = start(*SLOW, photos, "-o", out, "--jobs", "1")
    wait_until(lambda: out.is_dir() and len(written(out)) >= 2, process)
    process.send_signal(signal.SIGINT)
    returncode, err = finish(process)
    assert returncode == 130, err
    assert summary_count(err) == len(written(out)) < FILES // 2
    assert litter(out) == []


def test_an_ignored_ctrl_c_stays_ignored(tmp_path, photos):
    """Started with SIGINT ignored (``nohup``, ``cmd &`` in a script), the batch goes on."""
    out = tmp_path / "out"
    process = start(*SLOW, photos, "-o", out, "--jobs", "1", sigint=signal.SIG_IGN)
    wait_until(lambda: out.is_dir() and len(written(out)) >= 2, process)
    process.send_signal(signal.SIGINT)
    returncode, err = finish(process)
    assert returncode == 0, err
    assert len(written(out)) == FILES


def _unnamed_file_open(pid: int, folder: Path) -> bool:
    """True while the process holds an O_TMPFILE file in ``folder`` (shown as ``#N (deleted)``)."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return False
    return any(link.startswith(f"{folder}/#") for link in links)


def _named_temp_exists(folder: Path) -> bool:
    return any(name.endswith(".tmp") for name in os.listdir(folder))


NAMED = [
    sys.executable,
    "-c",
    "import sys, imgfilter.io._write as w; w._UNNAMED = False; "
    "from imgfilter.cli import main; main(sys.argv[1:])",
]


@pytest.mark.parametrize(
    ("way", "signum", "code"),
    [
        ("unnamed", signal.SIGTERM, 143),
        ("named", signal.SIGTERM, 143),
        ("named", signal.SIGINT, 130),
        ("unnamed", signal.SIGKILL, -9),
    ],
)
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path, big_png, way, signum, code):
    from imgfilter.io import _write

    if way == "unnamed" and not (_write._UNNAMED and os.path.isdir("/proc/self/fd")):
        pytest.skip("no O_TMPFILE here")
    target = tmp_path / "out.png"
    target.write_bytes(b"the old picture")
    process = start("relu", big_png, "-o", target, prefix=NAMED if way == "named" else None)
    if way == "named":
        wait_until(lambda: _named_temp_exists(tmp_path), process)
    else:
        wait_until(lambda: _unnamed_file_open(process.pid, tmp_path), process)
    process.send_signal(signum)
    returncode, err = finish(process)
    assert returncode == code, err
    assert os.listdir(tmp_path) == ["out.png"]  # no hidden .tmp, even after SIGKILL unnamed
    assert target.read_bytes() == b"the old picture"
    if signum != signal.SIGKILL:
        assert err.strip().splitlines()[-1].startswith("imgfilter: interrupted: 0 of 1 files")


def test_closed_stdout_pipe_ends_quietly(big_png):
    for args in (["relu", big_png, "-o", "-", "--format", "npy"], ["kernels", "list"]):
        process = subprocess.Popen(
            [*command_prefix(), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        process.stdout.read(10)  # `imgfilter ... -o - | head -c 10`
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=60)
        assert err == b"", err
        assert process.returncode in (0, 141)  # kernels list may fit in the pipe buffer
        if args[0] == "relu":
            assert process.returncode == 141
