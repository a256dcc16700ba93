"""The installed package finds its built-in kernels and sample photos from any folder."""

import os
import subprocess
import sys
from pathlib import Path


def test_builtin_kernels_load_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IMGFILTER_KERNEL_PATH")}
    code = (
        "import imgfilter as imf, imgfilter.kernels as K; k = imf.get_kernel('sobel-x');"
        "print(K.catalog_entry('sobel-x').source); print(imf.__file__); print(k.matrix.tolist())"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    source, module_file, matrix = run.stdout.splitlines()
    assert matrix == "[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]"
    assert Path(source).is_file()
    if "site-packages" in module_file:  # a real (non-editable) install, as CI makes
        assert Path(source).resolve().is_relative_to(Path(module_file).resolve().parent)


def test_demo_runs_from_any_folder(tmp_path, run_subprocess):
    done = run_subprocess("demo", "-o", "out", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "contact sheet: out/contact-sheet.png"
    assert len(list((tmp_path / "out").glob("*.png"))) > 5
