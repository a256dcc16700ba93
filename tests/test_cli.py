"""The command line: every operation and option family, batches, pipes, errors, exit codes."""

import json
import os
import shutil
import sys

import numpy as np
import pytest
from conftest import write_png
from PIL import Image

from imgfilter import engine, registry
from imgfilter.ops import filters
from imgfilter.pipeline import Pipeline


def gaussian_taps(sigma, size):
    """Normalised Gaussian taps written out here, independent of imgfilter's kernels."""
    x = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(x**2) / (2 * sigma**2))
    return taps / taps.sum()


def pixels(path):
    """The file's pixels as Pillow decodes them (independent of imgfilter.io)."""
    with Image.open(path) as picture:
        return np.asarray(picture)


def one_error_line(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("imgfilter: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def loaded(path):
    with Image.open(path) as picture:
        return np.asarray(picture).astype(np.float32)


# --- every operation, both ways --------------------------------------------------------

OPERATION_ARGS = {
    "convolve": [
        "--kernel",
        "sobel-x",
        "--padding",
        "1",
        "--stride",
        "2",
        "--dilation",
        "1,2",
        "--border",
        "constant",
        "--cval",
        "10",
        "--flip",
    ],
    "gaussian": ["--sigma", "1.5", "--border", "edge"],
    "box": ["--size", "5"],
    "sobel": ["--direction", "y"],
    "laplacian": ["--kind", "8"],
    "sharpen": [],
    "unsharp": ["--sigma", "2", "--amount", "1.5", "--threshold", "3"],
    "rescale": ["--mode", "minmax", "--per-channel"],
    "grayscale": [],
    "relu": [],
    "leaky-relu": ["--slope", "0.2"],
    "canny": ["--sigma", "1.5"],
    "denoise": ["--method", "median", "--size", "3"],
    "noise": ["--kind", "gaussian", "--amount", "10", "--seed", "3"],
    "pool": ["--size", "2", "--mode", "max"],
}


def test_every_registered_operation_has_a_cli_case():
    assert set(registry.OPERATIONS) <= set(OPERATION_ARGS)


def as_step(name, args):
    """``--sigma 1.5 --flip`` -> ``gaussian sigma=1.5 flip=true``."""
    words, i = [name], 0
    while i < len(args):
        key = args[i][2:]
        if i + 1 < len(args) and not args[i + 1].startswith("--"):
            words.append(f"{key}={args[i + 1]}")
            i += 2
        else:
            words.append(f"{key}=true")
            i += 1
    return " ".join(words)


@pytest.mark.parametrize("name", sorted(OPERATION_ARGS))
def test_operation_command_equals_the_pipeline_step(cli, tmp_path, rgb_png, name):
    out = tmp_path / "out.npy"
    result = cli(name, rgb_png, "-o", out, *OPERATION_ARGS[name])
    assert result.exit_code == 0, result.stderr
    expected = Pipeline.parse(as_step(name, OPERATION_ARGS[name])).run(loaded(rgb_png))
    np.testing.assert_array_equal(np.load(out), expected)


@pytest.mark.parametrize("name", sorted(OPERATION_ARGS))
def test_operation_writes_a_png_a_viewer_opens(cli, tmp_path, gray_png, name):
    out = tmp_path / "out.png"
    result = cli(name, gray_png, "-o", out, *OPERATION_ARGS[name])
    assert result.exit_code == 0, result.stderr
    assert pixels(out).dtype == np.uint8
    assert result.stderr == ""


def test_gaussian_png_is_the_library_result_clipped_and_rounded(cli, tmp_path, gray_png):
    out = tmp_path / "blur.png"
    assert cli("gaussian", gray_png, "-o", out, "--sigma", "2").exit_code == 0
    expected = np.rint(np.clip(filters.gaussian(loaded(gray_png), 2.0), 0, 255))
    np.testing.assert_array_equal(pixels(out), expected)


def test_signed_edges_are_saved_with_abs_by_default(cli, tmp_path, gray_png):
    out = tmp_path / "edges.png"
    assert cli("sobel", gray_png, "-o", out, "--direction", "x").exit_code == 0
    response = filters.sobel(loaded(gray_png), "x")
    assert (response < -10).any()
    np.testing.assert_array_equal(pixels(out), np.rint(np.clip(np.abs(response), 0, 255)))


@pytest.mark.parametrize("mode", ["clip", "minmax", "abs"])
def test_rescale_option_overrides_the_mapping(cli, tmp_path, gray_png, mode):
    from imgfilter.image import rescale

    out = tmp_path / "edges.png"
    assert cli("sobel", gray_png, "-o", out, "--direction", "x", "--rescale", mode).exit_code == 0
    expected = np.rint(rescale(filters.sobel(loaded(gray_png), "x"), mode))
    np.testing.assert_array_equal(pixels(out), expected)


def test_convolve_with_a_json_kernel_file(cli, tmp_path, rgb_png, samples_dir):
    out = tmp_path / "relief.npy"
    kernel = samples_dir / "kernels" / "relief.json"
    assert cli("convolve", rgb_png, "-o", out, "--kernel", kernel).exit_code == 0
    np.testing.assert_array_equal(np.load(out), engine.convolve(loaded(rgb_png), str(kernel)))


def test_convolve_with_kernel_parameters(cli, tmp_path, gray_png):
    out = tmp_path / "k.npy"
    result = cli(
        "convolve", gray_png, "-o", out, "--kernel", "gaussian:sigma=2,size=5", "--padding", "valid"
    )
    assert result.exit_code == 0, result.stderr
    kernel = np.outer(*[gaussian_taps(2.0, 5)] * 2)
    np.testing.assert_array_equal(
        np.load(out), engine.convolve(loaded(gray_png), kernel, padding="valid")
    )


def test_mean_is_an_alias_of_box(cli, tmp_path, gray_png):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert cli("mean", gray_png, "-o", a, "--size", "3").exit_code == 0
    assert cli("box", gray_png, "-o", b).exit_code == 0
    np.testing.assert_array_equal(np.load(a), np.load(b))


def test_operation_help_shows_parameters_defaults_and_ranges(cli):
    result = cli("gaussian", "--help")
    assert result.exit_code == 0
    assert "--sigma" in result.stdout and "default: 1.0" in result.stdout
    assert "x>0" in result.stdout or "0<x" in result.stdout  # the range, bounded or not
    assert "gaussian sigma=2" in result.stdout


def test_no_shared_option_collides_with_an_operation_parameter():
    shared = {
        "output",
        "rescale",
        "format",
        "quality",
        "depth",
        "jobs",
        "quiet",
        "overwrite",
        "explain",
        "debug",
        "help",
    }
    for op in registry.OPERATIONS.values():
        assert not {o.key for o in op.options} & shared, op.name


# --- run ---------------------------------------------------------------------------------


def test_run_a_pipeline_string(cli, tmp_path, gray_png):
    out = tmp_path / "out.png"
    result = cli("run", "gaussian sigma=1.4 | sobel | rescale mode=minmax", gray_png, "-o", out)
    assert result.exit_code == 0, result.stderr
    image = loaded(gray_png)
    expected = filters.sobel(filters.gaussian(image, 1.4))
    lo, hi = expected.min(), expected.max()
    np.testing.assert_allclose(pixels(out), np.rint((expected - lo) * 255 / (hi - lo)), atol=1)


def test_run_a_pipeline_json_file(cli, tmp_path, gray_png):
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps({"steps": [{"op": "box", "size": 3}, {"op": "relu"}]}))
    out = tmp_path / "out.npy"
    result = cli("run", steps, gray_png, "-o", out)
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(np.load(out), filters.box(loaded(gray_png), 3))


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("gaussian | | sobel", "step 2 is empty"),
        ("gaussian sigma=", "sigma= has no value"),
        ("gaussian =2", "parameter name missing"),
        ("gaussian sigma='2", "unbalanced quotes"),
        ("blur sigma=2", "unknown operation 'blur'"),
        ("gaussian radius=2", "gaussian has no parameter 'radius'"),
        ("gaussian sigma=-2", "sigma must be > 0, got -2.0"),
    ],
)
def test_bad_pipelines_exit_2_before_reading_files(cli, tmp_path, pipeline, message):
    result = cli("run", pipeline, tmp_path / "does-not-exist.png", "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert not (tmp_path / "o.png").exists()


def test_pipeline_json_that_is_not_a_list_of_steps(cli, tmp_path, gray_png):
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps({"steps": {"op": "box"}}))
    result = cli("run", steps, gray_png, "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert '"steps" must be a list of steps' in one_error_line(result)


# --- usage errors: exit 2, one line ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gaussian", "--sigma", "-1"], "Invalid value for '--sigma': sigma must be > 0, got -1.0"),
        (["gaussian", "--sigma", "abc"], "sigma must be a number, got 'abc'"),
        (["box", "--size", "0"], "size must be >= 1, got 0"),
        (["sobel", "--direction", "z"], "direction must be one of x, y, magnitude; got 'z'"),
        (["convolve", "--kernel", "nope"], "unknown kernel 'nope'"),
        (["convolve", "--kernel", "box", "--stride", "0"], "stride must be >= 1, got 0"),
        (["convolve", "--kernel", "box", "--padding", "1,2,3"], "padding must be"),
        (["convolve"], "Missing option '--kernel'"),
        (["gaussian", "--radius", "2"], "No such option"),
        (["blur"], "No such command 'blur'"),
        (["gaussian", "--quality", "0"], "--quality"),
        (["gaussian", "--jobs", "-1"], "--jobs"),
        (["gaussian", "--format", "xyz"], "unknown format 'xyz'"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(cli, tmp_path, gray_png, args, message):
    out = tmp_path / "o.png"
    result = cli(*args, gray_png, "-o", out)
    assert result.exit_code == 2, result.stderr
    assert message in one_error_line(result)
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("o.png", ["--quality", "80"], "o.png: quality applies to JPEG and WebP only, not PNG"),
        ("o.jpg", ["--depth", "16"], "o.jpg: depth 16 needs PNG or TIFF; JPEG stores 8 bits"),
        ("o.png", ["--rescale", "none"], "o.png: rescale 'none' keeps floats, which PNG cannot"),
        ("o.xyz", [], "o.xyz: cannot tell the image format from extension '.xyz'"),
        ("o", [], "o: cannot tell the image format from no extension"),
    ],
)
def test_output_options_the_format_cannot_honour(cli, tmp_path, gray_png, name, args, message):
    result = cli("sobel", gray_png, "-o", tmp_path / name, *args)
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert not (tmp_path / name).exists()


def test_float_output_keeps_raw_values(cli, tmp_path, gray_png):
    out = tmp_path / "edges.npy"
    result = cli("run", "sobel direction=x | rescale mode=none", gray_png, "-o", out)
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(np.load(out), filters.sobel(loaded(gray_png), "x"))


def test_same_message_from_the_option_and_the_step(cli, tmp_path, gray_png):
    a = one_error_line(cli("gaussian", gray_png, "-o", tmp_path / "o.png", "--sigma", "-1"))
    b = one_error_line(cli("run", "gaussian sigma=-1", gray_png, "-o", tmp_path / "o.png"))
    core = "sigma must be > 0, got -1.0"
    assert core in a and core in b


def test_missing_output_is_a_usage_error(cli, gray_png):
    result = cli("gaussian", gray_png)
    assert result.exit_code == 2
    assert "missing -o/--output" in one_error_line(result)


def test_output_equal_to_input_is_refused(cli, tmp_path, gray_png):
    before = gray_png.read_bytes()
    result = cli("gaussian", gray_png, "-o", gray_png)
    assert result.exit_code == 2
    assert "output is the input file; pass --overwrite" in one_error_line(result)
    assert gray_png.read_bytes() == before


def test_overwrite_replaces_the_input_when_asked(cli, gray_png):
    before = loaded(gray_png)
    assert cli("gaussian", gray_png, "-o", gray_png, "--overwrite", "--sigma", "3").exit_code == 0
    assert not np.array_equal(loaded(gray_png), before)


def test_batch_into_the_input_folder_is_refused(cli, tmp_path, gray_png, rgb_png):
    result = cli("relu", gray_png, rgb_png, "-o", tmp_path)
    assert result.exit_code == 2
    assert "output is the input file" in one_error_line(result)


# --- processing failures: exit 1, one line naming the file, nothing half-written ----------


def truncated_png(path, source):
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("kind", ["missing", "folder", "zero", "text", "truncated", "garbage"])
def test_bad_input_files_exit_1_naming_the_file(cli, tmp_path, gray_png, kind):
    bad = tmp_path / f"bad-{kind}.png"
    if kind == "folder":
        bad = tmp_path / "folder.png"
        bad.mkdir()
        (bad / "inner.doc").write_text("not an image")
    elif kind == "zero":
        bad.write_bytes(b"")
    elif kind == "text":
        bad.write_text("hello, I am not a PNG\n")
    elif kind == "truncated":
        truncated_png(bad, gray_png)
    elif kind == "garbage":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = tmp_path / "out.png"
    result = cli("gaussian", bad, "-o", out)
    if kind == "folder":  # a folder input is a batch; this one holds no images
        assert result.exit_code == 2
        assert "holds no image files" in one_error_line(result)
    else:
        assert result.exit_code == 1, result.stderr
        assert one_error_line(result).startswith(f"imgfilter: error: {bad}")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_truncated_png_in_a_batch(cli, tmp_path, rng):
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = [write_png(inputs / f"good{i}.png", rng.integers(0, 256, (16, 16))) for i in range(3)]
    bad = truncated_png(inputs / "broken.png", good[0])
    out = tmp_path / "out"
    result = cli("gaussian", *good[:2], bad, good[2], "-o", out, "--jobs", "2")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert sorted(p.name for p in out.iterdir()) == ["good0.png", "good1.png", "good2.png"]
    assert result.stderr.splitlines()[-1].startswith("imgfilter: 3 files written, 1 failed, ")


def test_existing_output_is_untouched_when_processing_fails(cli, tmp_path, gray_png):
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    result = cli("convolve", gray_png, "-o", out, "--kernel", "box:size=99", "--padding", "valid")
    assert result.exit_code == 1
    assert "larger than the padded image" in one_error_line(result)
    assert out.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gray.png", "out.png"]


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_output_into_a_read_only_folder(cli, tmp_path, gray_png):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = cli("gaussian", gray_png, "-o", locked / "out.png")
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 1
    assert one_error_line(result).startswith(f"imgfilter: error: {locked / 'out.png'}")


def test_output_under_a_file_instead_of_a_folder(cli, tmp_path, gray_png):
    result = cli("gaussian", gray_png, "-o", gray_png / "out.png")
    assert result.exit_code == 1
    assert str(gray_png / "out.png") in one_error_line(result)


def test_debug_shows_the_traceback(cli, tmp_path, gray_png):
    result = cli(
        "convolve",
        gray_png,
        "-o",
        tmp_path / "o.png",
        "--kernel",
        "box:size=99",
        "--padding",
        "valid",
        "--debug",
    )
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "imgfilter: error:" in result.stderr


# --- images: alpha, gray, depth, formats -------------------------------------------------


def test_rgba_blurs_its_alpha_with_the_colour(cli, tmp_path, rgba_png):
    out = tmp_path / "out.png"
    assert cli("gaussian", rgba_png, "-o", out, "--sigma", "2").exit_code == 0
    with Image.open(out) as picture:
        assert picture.mode == "RGBA"
    alpha = loaded(rgba_png)[..., 3]
    expected = np.rint(np.clip(filters.gaussian(alpha, 2), 0, 255))
    np.testing.assert_allclose(pixels(out)[..., 3], expected, atol=1)


def test_alpha_follow_leaves_alpha_alone_in_a_blur(cli, tmp_path, rgba_png):
    out = tmp_path / "out.png"
    assert cli("gaussian", rgba_png, "-o", out, "--sigma", "2", "--alpha", "follow").exit_code == 0
    np.testing.assert_array_equal(pixels(out)[..., 3], pixels(rgba_png)[..., 3])


def test_alpha_follows_a_strided_crop(cli, tmp_path, rgba_png):
    out = tmp_path / "out.png"
    result = cli(
        "convolve", rgba_png, "-o", out, "--kernel", "box", "--padding", "valid", "--stride", "2"
    )
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(pixels(out)[..., 3], pixels(rgba_png)[1:-1:2, 1:-1:2, 3])


def test_gray_in_gray_out(cli, tmp_path, gray_png):
    out = tmp_path / "out.png"
    assert cli("sharpen", gray_png, "-o", out).exit_code == 0
    with Image.open(out) as picture:
        assert picture.mode == "L"


def test_sixteen_bit_in_sixteen_bit_out(cli, tmp_path, rng):
    values = rng.integers(0, 65536, (12, 10)).astype(np.uint16)
    source = write_png(tmp_path / "deep.png", values)
    out = tmp_path / "out.png"
    assert cli("relu", source, "-o", out, "--depth", "16").exit_code == 0
    with Image.open(out) as picture:
        assert picture.mode.startswith("I")
        np.testing.assert_array_equal(np.asarray(picture), values)


@pytest.mark.parametrize(
    ("ext", "fmt"),
    [("jpg", "JPEG"), ("webp", "WEBP"), ("tif", "TIFF"), ("bmp", "BMP"), ("ppm", "PPM")],
)
def test_output_format_from_the_extension(cli, tmp_path, rgb_png, ext, fmt):
    out = tmp_path / f"out.{ext}"
    assert cli("box", rgb_png, "-o", out).exit_code == 0
    with Image.open(out) as picture:
        assert (picture.format, picture.size) == (fmt, (30, 20))


def test_quality_changes_the_jpeg(cli, tmp_path, rgb_png):
    low, high = tmp_path / "low.jpg", tmp_path / "high.jpg"
    assert cli("box", rgb_png, "-o", low, "--quality", "5").exit_code == 0
    assert cli("box", rgb_png, "-o", high, "--quality", "95").exit_code == 0
    assert low.stat().st_size < high.stat().st_size


# --- batches -----------------------------------------------------------------------------


def test_batch_of_files_into_a_new_folder_keeps_names(cli, tmp_path, gray_png, rgb_png):
    out = tmp_path / "results" / "deep"
    result = cli("box", gray_png, rgb_png, "-o", out, "--jobs", "2")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["gray.png", "rgb.png"]
    np.testing.assert_array_equal(
        pixels(out / "gray.png"), np.rint(np.clip(filters.box(loaded(gray_png), 3), 0, 255))
    )


def test_folder_input_with_format(cli, tmp_path, rng):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        write_png(folder / f"p{i}.png", rng.integers(0, 256, (8, 8, 3)))
    (folder / "notes.txt").write_text("ignored")
    out = tmp_path / "out"
    result = cli("gaussian", folder, "-o", out, "--format", "jpg", "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["p0.jpg", "p1.jpg", "p2.jpg"]


def test_several_inputs_need_a_folder(cli, tmp_path, gray_png, rgb_png):
    result = cli("box", gray_png, rgb_png, "-o", gray_png)
    assert result.exit_code == 2
    assert "need OUTPUT to be a folder" in one_error_line(result)


def test_two_inputs_writing_one_name_are_refused(cli, tmp_path, rng):
    a = write_png(tmp_path / "a.png", rng.integers(0, 256, (8, 8)))
    other = tmp_path / "other"
    other.mkdir()
    b = write_png(other / "a.png", rng.integers(0, 256, (8, 8)))
    result = cli("box", a, b, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "would both be written to" in one_error_line(result)


def test_quiet_batch_prints_nothing(cli, tmp_path, gray_png, rgb_png):
    result = cli("box", gray_png, rgb_png, "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_jobs_give_the_same_files(cli, tmp_path, rng):
    inputs = [write_png(tmp_path / f"i{i}.png", rng.integers(0, 256, (20, 20))) for i in range(4)]
    for jobs in ("1", "3"):
        assert cli("gaussian", *inputs, "-o", tmp_path / f"out{jobs}", "-j", jobs).exit_code == 0
    for path in inputs:
        assert (tmp_path / "out1" / path.name).read_bytes() == (
            tmp_path / "out3" / path.name
        ).read_bytes()


# --- pipes -------------------------------------------------------------------------------


def test_stdin_to_stdout(cli, gray_png):
    result = cli("gaussian", "-", "-o", "-", "--format", "png", input=gray_png.read_bytes())
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes.startswith(b"\x89PNG")
    from io import BytesIO

    with Image.open(BytesIO(result.stdout_bytes)) as picture:
        got = np.asarray(picture)
    np.testing.assert_array_equal(got, np.rint(np.clip(filters.gaussian(loaded(gray_png)), 0, 255)))


def test_stdin_to_a_file(cli, tmp_path, gray_png):
    out = tmp_path / "o.png"
    assert cli("relu", "-", "-o", out, input=gray_png.read_bytes()).exit_code == 0
    np.testing.assert_array_equal(pixels(out), pixels(gray_png))


def test_stdout_takes_one_input(cli, gray_png, rgb_png):
    result = cli("relu", gray_png, rgb_png, "-o", "-")
    assert result.exit_code == 2
    assert "'-o -' (stdout) takes exactly one input" in one_error_line(result)


def test_garbage_on_stdin(cli):
    result = cli("relu", "-", "-o", "-", "--format", "png", input=b"not an image")
    assert result.exit_code == 1
    assert one_error_line(result).startswith("imgfilter: error: <stdin>")
    assert result.stdout_bytes == b""


# --- explain -----------------------------------------------------------------------------


def test_explain_alone_prints_the_plan(cli, gray_png):
    result = cli(
        "convolve",
        gray_png,
        "--kernel",
        "sobel-x",
        "--padding",
        "valid",
        "--stride",
        "2",
        "--explain",
    )
    assert result.exit_code == 0, result.stderr
    assert "24×32 -> 11×15" in result.stdout
    assert "H: floor((24 + 0 + 0 - (1*(3-1)+1)) / 2) + 1 = floor(21 / 2) + 1 = 11" in result.stdout
    assert "strategy:" in result.stdout


def test_explain_with_output_goes_to_stderr_when_stdout_is_the_image(cli, gray_png):
    result = cli(
        "run",
        "gaussian | sobel",
        "-",
        "-o",
        "-",
        "--format",
        "png",
        "--explain",
        input=gray_png.read_bytes(),
    )
    assert result.exit_code == 0, result.stderr
    assert "step 2 'sobel'" in result.stderr
    assert result.stdout_bytes.startswith(b"\x89PNG")


# --- kernels, info, compare --------------------------------------------------------------


def test_kernels_list_is_a_table(cli):
    result = cli("kernels", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "size", "sum", "description"]
    sobel = next(line for line in lines if line.startswith("sobel-x "))
    assert sobel.split()[1:3] == ["3×3", "0"]


def test_kernels_list_includes_the_kernel_path(cli, tmp_path, monkeypatch, samples_dir):
    monkeypatch.setenv("IMGFILTER_KERNEL_PATH", str(samples_dir / "kernels"))
    result = cli("kernels", "list")
    assert any(line.startswith("relief ") for line in result.stdout.splitlines())


def test_kernels_show_matrix_sum_separability_source(cli):
    result = cli("kernels", "show", "gaussian3")
    assert result.exit_code == 0
    assert "1/16" in result.stdout and "[1, 2, 1]" in result.stdout
    assert "sum: 1" in result.stdout
    assert "separable: yes" in result.stdout
    assert "source: built-in" in result.stdout
    result = cli("kernels", "show", "laplacian")
    assert "separable: no" in result.stdout


def test_kernels_show_with_parameters(cli):
    result = cli("kernels", "show", "box", "size=2")
    assert result.exit_code == 0, result.stderr
    assert "matrix (2×2)" in result.stdout and "0.25" in result.stdout


def test_kernels_show_unknown_name(cli):
    result = cli("kernels", "show", "sobelx")
    assert result.exit_code == 2
    assert "unknown kernel 'sobelx'" in one_error_line(result)


def test_kernels_validate(cli, tmp_path, samples_dir):
    good = samples_dir / "kernels" / "relief.json"
    ragged = tmp_path / "ragged.json"
    ragged.write_text(json.dumps({"matrix": [[1, 2, 3], [4, 5]]}))
    result = cli("kernels", "validate", good, ragged)
    assert result.exit_code == 1
    assert f"{good}: ok" in result.stdout
    line = one_error_line(result)
    assert str(ragged) in line and "row" in line


def test_kernels_validate_missing_and_folder(cli, tmp_path):
    result = cli("kernels", "validate", tmp_path / "none.json")
    assert result.exit_code == 1 and "no such file" in one_error_line(result)
    result = cli("kernels", "validate", tmp_path)
    assert result.exit_code == 1 and "is a directory" in one_error_line(result)


def test_info(cli, gray_png, rgba_png):
    result = cli("info", gray_png, rgba_png)
    assert result.exit_code == 0, result.stderr
    gray, rgba = result.stdout.split(f"{rgba_png}:\n")
    assert gray.startswith(f"{gray_png}:\n")
    assert "  width: 32\n  height: 24\n  channels: 1\n  mode: L\n" in gray
    assert "  width: 30\n  height: 20\n  channels: 4\n  mode: RGBA\n" in rgba
    assert "  channel_names: R, G, B, A\n" in rgba


def test_info_bad_file_is_reported_and_the_rest_shown(cli, tmp_path, gray_png):
    bad = tmp_path / "bad.png"
    bad.write_text("text")
    result = cli("info", bad, gray_png)
    assert result.exit_code == 1
    assert one_error_line(result).startswith(f"imgfilter: error: {bad}")
    assert f"{gray_png}:" in result.stdout


def test_compare(cli, tmp_path, gray_png):
    noisy = write_png(tmp_path / "noisy.png", np.clip(pixels(gray_png).astype(int) + 3, 0, 255))
    result = cli("compare", gray_png, noisy, "--json")
    assert result.exit_code == 0, result.stderr
    facts = json.loads(result.stdout)
    from imgfilter.ops import metrics

    assert facts["psnr"] == pytest.approx(metrics.psnr(loaded(gray_png), loaded(noisy)))
    assert facts["max_abs_diff"] == 3
    same = cli("compare", gray_png, gray_png)
    assert "inf" in same.stdout


def test_compare_sizes_differ(cli, gray_png, rgb_png):
    result = cli("compare", gray_png, rgb_png)
    assert result.exit_code == 1
    assert "compare needs images of one size" in one_error_line(result)


def test_compare_missing_file(cli, tmp_path, gray_png):
    result = cli("compare", gray_png, tmp_path / "nope.png")
    assert result.exit_code == 1
    assert str(tmp_path / "nope.png") in one_error_line(result)


# --- demo --------------------------------------------------------------------------------


def test_demo_writes_results_and_a_contact_sheet(cli, tmp_path, samples_dir):
    out = tmp_path / "demo"
    result = cli("demo", "-o", out, "--samples", samples_dir)
    assert result.exit_code == 0, result.stderr
    sheet = out / "contact-sheet.png"
    assert f"contact sheet: {sheet}" in result.stdout
    with Image.open(sheet) as picture:
        assert picture.mode == "RGB" and picture.width > 400 and picture.height > 400
    assert len(list(out.glob("*.png"))) >= 8


def test_demo_without_samples(cli, tmp_path):
    result = cli("demo", "-o", tmp_path / "d", "--samples", tmp_path / "nothing")
    assert result.exit_code == 1
    assert "no samples folder" in one_error_line(result)


# --- the real command in a child process ---------------------------------------------------


def test_subprocess_single_operation(run_subprocess, tmp_path, gray_png):
    out = tmp_path / "out.png"
    done = run_subprocess("gaussian", gray_png, "-o", out, "--sigma", "2")
    assert done.returncode == 0, done.stderr
    assert pixels(out).shape == (24, 32)


def test_subprocess_run_string_and_json(run_subprocess, tmp_path, gray_png):
    done = run_subprocess(
        "run",
        "gaussian sigma=1.4 | sobel | rescale mode=minmax",
        gray_png,
        "-o",
        tmp_path / "a.png",
    )
    assert done.returncode == 0, done.stderr
    steps = tmp_path / "steps.json"
    steps.write_text(
        json.dumps(
            {
                "steps": [
                    {"op": "gaussian", "sigma": 1.4},
                    {"op": "sobel"},
                    {"op": "rescale", "mode": "minmax"},
                ]
            }
        )
    )
    done = run_subprocess("run", steps, gray_png, "-o", tmp_path / "b.png")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_subprocess_batch_into_a_folder(run_subprocess, tmp_path, samples_dir):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("camera.png", "coins.png"):
        shutil.copy(samples_dir / name, photos / name)
    done = run_subprocess("sobel", photos, "-o", tmp_path / "edges", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "edges").iterdir()) == ["camera.png", "coins.png"]
    summary = done.stderr.decode().splitlines()  # not a terminal: no progress bar
    assert len(summary) == 1 and summary[0].startswith("imgfilter: 2 files written, 0 failed, ")


def test_subprocess_stdin_to_stdout(run_subprocess, gray_png):
    done = run_subprocess("box", "-", "-o", "-", "--format", "png", input=gray_png.read_bytes())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\x89PNG")


def test_subprocess_usage_error_exit_2_one_line(run_subprocess, gray_png, tmp_path):
    done = run_subprocess("gaussian", gray_png, "-o", tmp_path / "o.png", "--sigma", "-1")
    assert done.returncode == 2
    assert done.stderr.decode().strip().count("\n") == 0
    assert done.stderr.startswith(b"imgfilter: error: ")


def test_python_dash_m_works(tmp_path, gray_png):
    import subprocess

    from conftest import REPO

    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "imgfilter", "relu", str(gray_png), "-o", str(tmp_path / "o.png")],
        env=env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr


def run_on_a_terminal(args):
    """Run with stderr on a pseudo-terminal; return (exit code, what the terminal showed)."""
    import pty
    import subprocess

    from conftest import REPO

    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(args, stderr=follower, stdout=subprocess.DEVNULL, env=env, timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # Linux reports the closed follower as EIO
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return done.returncode, shown


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_progress_bar_only_on_a_terminal(tmp_path, rng):
    from conftest import command_prefix

    inputs = [write_png(tmp_path / f"i{i}.png", rng.integers(0, 256, (16, 16))) for i in range(3)]
    args = [*command_prefix(), "box", *map(str, inputs), "-o", str(tmp_path / "out")]
    code, shown = run_on_a_terminal(args)
    assert code == 0
    assert b"imgfilter" in shown and b"100%" in shown
    code, shown = run_on_a_terminal([*args, "--quiet"])
    assert code == 0 and shown == b""
