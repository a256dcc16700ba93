"""Paths as a shell user expects them: special outputs, folders and names, the checks made
before any file is read, the inspection commands, --max-pixels and one-line warnings."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import warnings

import numpy as np
import pytest
from conftest import REPO, command_prefix, write_png
from PIL import Image

import imgfilter.io
from imgfilter import io as iio
from imgfilter.errors import ImageWarning

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX files")


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("imgfilter: error: ")
    return lines[0]


def picture(data: bytes) -> np.ndarray:
    from io import BytesIO

    with Image.open(BytesIO(data)) as image:
        return np.asarray(image)


@pytest.fixture
def no_reading(monkeypatch):
    """Fail the test if an image is read: up-front checks come before any file."""

    def refuse(*args, **kwargs):
        raise AssertionError("an image was read before the command line was checked")

    monkeypatch.setattr(imgfilter.io, "load", refuse)
    monkeypatch.setattr(imgfilter.io._read, "load_rows", refuse)
    monkeypatch.setattr(imgfilter.io, "load_bytes", refuse)


@pytest.fixture
def tree(tmp_path, rng):
    """photos/{a,b}.png, photos/sub/c.png, photos/sub/deeper/d.png and macOS/hidden litter."""
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for path in ("a.png", "b.png", "sub/c.png", "sub/deeper/d.png", ".hidden/e.png"):
        write_png(root / path, rng.integers(0, 256, (16, 16)))
    (root / "._IMG_0001.jpg").write_bytes(b"\0\5\26\7 AppleDouble metadata")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return root


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- outputs that are not regular files ----------------------------------------------------


@posix
def test_a_fifo_is_written_directly(cli, tmp_path, gray_png):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = cli("relu", gray_png, "-o", fifo)
    reader.join(timeout=30)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not replaced by a file
    np.testing.assert_array_equal(picture(got[0]), np.asarray(Image.open(gray_png)))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="mknod needs root")
def test_a_device_is_written_directly(cli, tmp_path, gray_png):
    null = tmp_path / "null"  # a stand-in for /dev/null: never the real node
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = cli("relu", gray_png, "-o", null, "--format", "png")
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.listdir(tmp_path) == ["gray.png", "null"]


@posix
def test_dev_stdout_is_stdout(tmp_path, gray_png):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = [*command_prefix(), "relu", str(gray_png), "-o", "/dev/stdout", "--format", "png"]
    piped = subprocess.run(args, capture_output=True, env=env, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert picture(piped.stdout).shape == (24, 32)
    with open(tmp_path / "redirected.png", "wb") as out:  # `... -o /dev/stdout > file`
        done = subprocess.run(args, stdout=out, stderr=subprocess.PIPE, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert picture((tmp_path / "redirected.png").read_bytes()).shape == (24, 32)


def test_dev_stdout_needs_a_format_like_dash(cli, gray_png, no_reading):
    result = cli("relu", gray_png, "-o", "/dev/stdout")
    assert result.exit_code == 2
    assert "give --format" in one_error_line(result)


@posix
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlinked_output_is_written_through(cli, tmp_path, gray_png, dangling):
    real = tmp_path / "real" / "edges.png"
    real.parent.mkdir()
    if not dangling:
        real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    result = cli("sobel", gray_png, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert picture(real.read_bytes()).shape == (24, 32)
    assert sorted(os.listdir(real.parent)) == ["edges.png"]


@posix
def test_a_replaced_file_keeps_its_permissions(cli, tmp_path, gray_png):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    out.chmod(0o640)
    assert cli("relu", gray_png, "-o", out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    iio.save(np.zeros((2, 2)), out)  # the library keeps them too
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


@posix
def test_the_input_as_output_is_refused_however_it_is_spelt(cli, tmp_path, gray_png, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "same.png").symlink_to(gray_png)
    os.link(gray_png, tmp_path / "hard.png")
    before = gray_png.read_bytes()
    spellings = [
        "gray.png",
        "./gray.png",
        "sub/../gray.png",
        str(gray_png),
        "/" + str(gray_png),
        "/proc/self/cwd/gray.png",
        "same.png",
        "hard.png",
        "gray.png/",
        ".",
    ]
    for output in spellings:
        result = cli("relu", "gray.png", "-o", output)
        assert result.exit_code == 2, (output, result.stderr)
        line = one_error_line(result)
        assert "output is the input file" in line or "names a file, not a folder" in line
    folder = cli("relu", tmp_path, "-o", tmp_path)  # a batch into its own folder
    assert folder.exit_code == 2 and "output is the input file" in folder.stderr
    assert gray_png.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["gray.png", "hard.png", "same.png", "sub"]


# --- folders and names ----------------------------------------------------------------------


def test_a_folder_skips_dot_files_and_notes_its_subfolders(cli, tmp_path, tree):
    out = tmp_path / "out"
    result = cli("relu", tree, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert files_under(out) == ["a.png", "b.png"]
    lines = result.stderr.splitlines()
    assert lines[0] == f"imgfilter: warning: {tree}: 1 subfolder(s) not read (-r reads them)"
    assert lines[1].startswith("imgfilter: 2 files written, 0 failed, ") and len(lines) == 2


def test_recursive_mirrors_the_tree(cli, tmp_path, tree):
    out = tmp_path / "out"
    result = cli("relu", tree, "-r", "-o", out, "--suffix", "-x", "--format", "bmp", "-j", "0")
    assert result.exit_code == 0, result.stderr
    assert files_under(out) == ["a-x.bmp", "b-x.bmp", "sub/c-x.bmp", "sub/deeper/d-x.bmp"]
    assert result.stderr.startswith("imgfilter: 4 files written, 0 failed, ")


def test_a_folder_of_one_image_creates_the_output_folder(cli, tmp_path, gray_png):
    folder = tmp_path / "one"
    folder.mkdir()
    write_png(folder / "only.png", np.zeros((4, 4)))
    out = tmp_path / "not" / "yet"
    result = cli("relu", folder, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert files_under(out) == ["only.png"]


def test_a_trailing_slash_makes_a_folder(cli, tmp_path, gray_png):
    result = cli("relu", gray_png, "-o", f"{tmp_path / 'newdir'}/")
    assert result.exit_code == 0, result.stderr
    assert files_under(tmp_path / "newdir") == ["gray.png"]
    assert result.stderr == ""  # one file: no summary


@pytest.mark.parametrize("existing", [False, True])
def test_two_inputs_and_a_file_name_is_a_usage_error(
    cli, tmp_path, gray_png, rgb_png, existing, no_reading
):
    out = tmp_path / "out.png"
    if existing:
        out.write_bytes(b"old")
    result = cli("relu", gray_png, rgb_png, "-o", out)
    assert result.exit_code == 2
    assert "need OUTPUT to be a folder" in one_error_line(result)
    assert out.is_file() == existing and not out.is_dir()


def test_a_quoted_glob_is_expanded(cli, tmp_path, rng):
    for name in ("x1.png", "x2.png", ".x3.png", "y.png"):
        write_png(tmp_path / name, rng.integers(0, 256, (4, 4)))
    out = tmp_path / "out"
    result = cli("relu", str(tmp_path / "x*.png"), "-o", out)
    assert result.exit_code == 0, result.stderr
    assert files_under(out) == ["x1.png", "x2.png"]
    single = cli("relu", str(tmp_path / "y*.png"), "-o", tmp_path / "y-out.png")  # one match
    assert single.exit_code == 0 and (tmp_path / "y-out.png").is_file()


def test_a_literal_name_wins_over_the_glob(cli, tmp_path, rng):
    write_png(tmp_path / "odd[1].png", rng.integers(0, 256, (4, 4)))
    result = cli("relu", tmp_path / "odd[1].png", "-o", tmp_path / "o.png")
    assert result.exit_code == 0, result.stderr


def test_a_glob_matching_nothing_is_a_usage_error(cli, tmp_path, no_reading):
    result = cli("relu", str(tmp_path / "*.png"), "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "no file matches this pattern" in one_error_line(result)


def test_an_unquoted_pipeline_says_quote_it(cli, tmp_path, gray_png, no_reading):
    result = cli("run", "gaussian", "sigma=1.4", gray_png, "-o", tmp_path / "x.png")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "'sigma=1.4' is not a file: quote the pipeline" in line
    assert "imgfilter run 'gaussian sigma=1.4' " in line
    result = cli("gaussian", "sigma=1.4", gray_png, "-o", tmp_path / "x.png")
    assert "options are written --sigma 1.4" in one_error_line(result)


def test_suffix_names_stem_text_ext(cli, tmp_path, gray_png, rgb_png):
    out = tmp_path / "out"
    assert cli("relu", gray_png, rgb_png, "-o", out, "--suffix", "-blur").exit_code == 0
    assert files_under(out) == ["gray-blur.png", "rgb-blur.png"]
    into_inputs = cli("relu", gray_png, rgb_png, "-o", tmp_path, "--suffix", ".2")
    assert into_inputs.exit_code == 0, into_inputs.stderr  # new names: no input overwritten
    assert (tmp_path / "gray.2.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "one.png", "--suffix", "-x"], "--suffix names the files written into a folder"),
        (["-o", "dir/", "--suffix", "a/b"], "a suffix cannot hold a '/'"),
    ],
)
def test_suffix_misuse(cli, tmp_path, gray_png, args, message, no_reading, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("relu", gray_png, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result)


def test_a_batch_ends_with_one_summary_line(cli, tmp_path, gray_png, rgb_png):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    result = cli("relu", gray_png, broken, rgb_png, "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"imgfilter: error: {broken}")
    assert lines[1].startswith("imgfilter: 2 files written, 1 failed, ")
    assert lines[1].endswith(" s")
    quiet = cli("relu", gray_png, rgb_png, "-o", tmp_path / "out2", "-q")
    assert quiet.stderr == ""


# --- checked before any file is read (exit 2) -------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.png", "--format", "jpg"], "extension '.png' says PNG but the format asked"),
        (["-o", "-"], "'-o -' writes to stdout: give --format"),
        (["-o", "x.tif", "--rescale", "none"], "a float TIFF holds one gray channel, but"),
        (["-o", "x.jpg", "--depth", "16"], "depth 16 needs PNG or TIFF"),
    ],
)
def test_up_front_checks(cli, tmp_path, rgb_png, args, message, no_reading, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("relu", rgb_png, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert sorted(os.listdir(tmp_path)) == ["rgb.png"]


def test_a_gray_float_tiff_is_fine_and_a_colour_one_is_refused(cli, tmp_path, gray_png, rgb_png):
    ok = cli("run", "sobel direction=x | rescale mode=none", gray_png, "-o", tmp_path / "g.tif")
    assert ok.exit_code == 0, ok.stderr
    gray = cli("run", "grayscale | rescale mode=none", rgb_png, "-o", tmp_path / "c.tif")
    assert gray.exit_code == 0, gray.stderr  # the result is gray, so it fits
    colour = cli("run", "relu | rescale mode=none", rgb_png, "-o", tmp_path / "c2.tif")
    assert colour.exit_code == 2 and "save colour floats as .npy" in colour.stderr


def test_format_agreeing_with_the_extension_or_naming_an_odd_one(cli, tmp_path, gray_png):
    assert cli("relu", gray_png, "-o", tmp_path / "a.jpeg", "--format", "jpg").exit_code == 0
    assert cli("relu", gray_png, "-o", tmp_path / "raw.dat", "--format", "png").exit_code == 0
    assert (tmp_path / "raw.dat").read_bytes().startswith(b"\x89PNG")


# --- info, compare, kernels, jobs, did-you-mean -------------------------------------------


def test_info_reads_stdin_and_folders_and_prints_json_lines(cli, tmp_path, tree, gray_png):
    result = cli("info", "--json", "-r", tree)
    assert result.exit_code == 0, result.stderr
    facts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["path"] for f in facts] == [str(tree / p) for p in FOUR]
    assert facts[0]["width"] == 16 and facts[0]["channels"] == 1
    piped = cli("info", "-", input=gray_png.read_bytes())
    assert piped.exit_code == 0, piped.stderr
    assert "  width: 32\n  height: 24\n" in piped.stdout
    bad = cli("info", "-", input=b"junk")
    assert bad.exit_code == 1 and one_error_line(bad).startswith("imgfilter: error: <stdin>")


FOUR = ["a.png", "b.png", "sub/c.png", "sub/deeper/d.png"]


def test_compare_reads_stdin_and_folders_and_prints_what_info_prints(cli, tmp_path, tree):
    copy = tmp_path / "copy"
    assert cli("relu", tree, "-r", "-o", copy, "-q").exit_code == 0
    result = cli("compare", tree, copy, "-r", "--json")
    assert result.exit_code == 0, result.stderr
    facts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(f["a"], f["b"]) for f in facts] == [(str(tree / p), str(copy / p)) for p in FOUR]
    assert all(f["max_abs_diff"] == 0 and f["psnr"] is None for f in facts)  # inf is null
    piped = cli("compare", "-", tree / "a.png", "--json", input=(tree / "a.png").read_bytes())
    assert piped.exit_code == 0 and json.loads(piped.stdout)["ssim"] == 1.0
    mixed = cli("compare", tree, tree / "a.png")
    assert mixed.exit_code == 2 and "two images or two folders" in mixed.stderr


def test_kernels_alone_lists_them(cli):
    alone, listed = cli("kernels"), cli("kernels", "list")
    assert alone.exit_code == 0 and alone.stdout == listed.stdout
    assert alone.stdout.startswith("name ")


def test_kernels_list_marks_shadowed_user_kernels(cli, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    kernel = json.dumps({"matrix": [[1, 2, 1]]})
    (first / "Sobel_X.json").write_text(kernel)
    (first / "mine.json").write_text(kernel)
    (second / "mine.json").write_text(kernel)
    monkeypatch.setenv("IMGFILTER_KERNEL_PATH", os.pathsep.join([str(first), str(second)]))
    rows = cli("kernels", "list").stdout.splitlines()
    assert next(r for r in rows if r.startswith("Sobel_X ")).endswith(
        "(shadowed by the built-in sobel-x)"
    )
    mine = [r for r in rows if r.startswith("mine ")]
    assert "shadowed" not in mine[0]
    assert mine[1].endswith(f"(shadowed by {first / 'mine.json'})")


def test_kernels_with_lone_surrogates_do_not_crash(run_subprocess, tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"name": "\\ud800x", "description": "\\udfff", "matrix": [[1]]}')
    for args in (["kernels", "show", path], ["kernels", "validate", path]):
        done = run_subprocess(*args)
        assert done.returncode == 0, done.stderr
        assert b"\\ud800x" in done.stdout
    weird = tmp_path / "k\udcff.json"  # a file name that is not UTF-8
    weird.write_text('{"matrix": [[1]]}')
    done = run_subprocess("kernels", "show", weird)
    assert done.returncode == 0, done.stderr
    assert os.fsencode(str(weird)) in done.stdout  # the name's own bytes, as ls shows them


def test_jobs_zero_means_the_number_of_cores(cli, tmp_path, gray_png, rgb_png):
    result = cli("relu", gray_png, rgb_png, "-o", tmp_path / "out", "--jobs", "0")
    assert result.exit_code == 0, result.stderr
    assert files_under(tmp_path / "out") == ["gray.png", "rgb.png"]


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["median"], "(did you mean 'denoise --method median'?)"),
        (["blur"], "(did you mean 'gaussian'?)"),
        (["edges"], "(did you mean 'sobel' or 'canny'?)"),
        (["gausian"], "(did you mean 'gaussian'?)"),
        (["kernel"], "(did you mean 'kernels'?)"),
        (
            ["run", "median size=3", "x.png", "-o", "y.png"],
            "(did you mean 'denoise method=median'?)",
        ),
        (["run", "blur sigma=2", "x.png", "-o", "y.png"], "(did you mean 'gaussian'?)"),
    ],
)
def test_did_you_mean_knows_the_words_users_try(cli, args, hint):
    result = cli(*args)
    assert result.exit_code == 2
    assert hint in one_error_line(result)


# --- --max-pixels ---------------------------------------------------------------------------


@pytest.fixture
def limits(monkeypatch):
    """Every call of imgfilter.io.set_max_pixels, and whether an image had been read by then."""
    calls, reads = [], []
    monkeypatch.setattr(imgfilter.io, "set_max_pixels", calls.append, raising=False)
    real_load, real_describe = imgfilter.io.load, imgfilter.io.describe
    real_load_rows = imgfilter.io._read.load_rows

    def load(*args, **kwargs):
        reads.append(len(calls))
        return real_load(*args, **kwargs)

    def load_rows(*args, **kwargs):
        reads.append(len(calls))
        return real_load_rows(*args, **kwargs)

    def describe(*args, **kwargs):
        reads.append(len(calls))
        return real_describe(*args, **kwargs)

    monkeypatch.setattr(imgfilter.io, "load", load)
    monkeypatch.setattr(imgfilter.io._read, "load_rows", load_rows)
    monkeypatch.setattr(imgfilter.io, "describe", describe)
    return calls, reads


@pytest.mark.parametrize(
    "command",
    [
        ["relu", "{a}", "-o", "{out}"],
        ["run", "relu | gaussian", "{a}", "-o", "{out}"],
        ["info", "{a}"],
        ["compare", "{a}", "{a}"],
    ],
)
def test_max_pixels_is_set_before_any_file_is_read(
    cli, tmp_path, gray_png, limits, command, monkeypatch
):
    calls, reads = limits
    args = [a.format(a=gray_png, out=tmp_path / "o.png") for a in command]
    result = cli(*args, "--max-pixels", "50000000")
    assert result.exit_code == 0, result.stderr
    assert calls == [50000000, None]  # set before any read, put back after the command
    assert reads and all(n == 1 for n in reads)
    calls.clear()
    monkeypatch.setenv("IMGFILTER_MAX_PIXELS", "1000")
    assert cli(*args).exit_code == 0 and calls == [1000, None]


def test_max_pixels_must_be_a_positive_count(cli, gray_png, tmp_path):
    result = cli("relu", gray_png, "-o", tmp_path / "o.png", "--max-pixels", "0")
    assert result.exit_code == 2 and "--max-pixels" in one_error_line(result)


# --- warnings: one line each, naming the file -------------------------------------------------


def test_the_alpha_warning_is_one_line_naming_the_output(cli, tmp_path, rgba_png):
    out = tmp_path / "flat.jpg"
    result = cli("relu", rgba_png, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"imgfilter: warning: {out}: JPEG cannot store alpha; the alpha channel was dropped"
    ]
    with pytest.warns(ImageWarning):
        iio.save(np.zeros((2, 2, 4)), tmp_path / "lib.jpg")
    assert cli("relu", rgba_png, "-o", out, "--quiet").stderr == ""


def test_other_warnings_are_one_line_after_their_file(cli, tmp_path, rng, monkeypatch):
    from imgfilter.pipeline import Pipeline

    real_run = Pipeline.run

    def noisy_run(self, image, **options):
        message = "overflow encountered in multiply\n  np.multiply(a, b)"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        helper = threading.Thread(target=lambda: warnings.warn("from a helper", stacklevel=1))
        helper.start()  # the engine's band threads: attributed to the file in work
        helper.join()
        return real_run(self, image)

    monkeypatch.setattr(Pipeline, "run", noisy_run)
    inputs = [write_png(tmp_path / f"i{i}.png", rng.integers(0, 256, (4, 4))) for i in range(3)]
    # .npy output: the run goes through Pipeline.run (8-bit files go strip by strip)
    result = cli("relu", *inputs, "-o", tmp_path / "out", "--jobs", "1", "--format", "npy")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    expected = []
    for path in inputs:
        expected += [
            f"imgfilter: warning: {path}: overflow encountered in multiply",
            f"imgfilter: warning: {path}: from a helper",
        ]
    assert lines[:-1] == expected
    assert ".py" not in result.stderr and "warnings.warn" not in result.stderr
    threaded = cli("relu", *inputs, "-o", tmp_path / "out2", "--jobs", "3", "--format", "npy")
    got = [line for line in threaded.stderr.splitlines() if "overflow" in line]
    assert got == [line for line in expected if "overflow" in line]  # in input order
    assert cli("relu", *inputs, "-o", tmp_path / "out3", "-q").stderr == ""


def test_a_real_decoder_warning_in_a_threaded_batch(cli, tmp_path):
    inputs = [write_png(tmp_path / f"g{i}.png", np.zeros((24, 32))) for i in range(4)]
    result = cli("relu", *inputs, "-o", tmp_path / "out", "-j", "3", "--max-pixels", "1000")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert [line.split(": ")[2] for line in lines[:-1]] == [str(p) for p in inputs]
    assert all(line.startswith("imgfilter: warning: ") for line in lines[:-1])
    assert "over half the limit of 1000 pixels" in lines[0]
    assert lines[-1].startswith("imgfilter: 4 files written")
    quiet = cli("relu", *inputs, "-o", tmp_path / "q", "--max-pixels", "1000", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
