"""Hardening: no single number hangs or exhausts memory, no internal exception leaks,
up-front checks happen up front, and the friendlier choices (issue 9)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import imgfilter as imf
from imgfilter import _checks, engine, params
from imgfilter.formats import check_output
from imgfilter.kernels import (
    MAX_KERNEL_SIDE,
    gaussian_1d,
    get_kernel,
    load_kernel,
    parse_kernel,
)
from imgfilter.ops.denoise import bilateral, bilateral_size, nl_means
from imgfilter.pipeline import Pipeline, PipelineError
from imgfilter.registry import get_operation

# --- 1. one number never exhausts memory or hangs -----------------------------------------

MEMORY_LIMIT = 2 << 30  # address space of the child process that runs the dangerous calls
CASE_SECONDS = 15

# (case, call, what the child prints): a refusal's message, or the shape of a result.
DANGEROUS = {
    "pool padding 20000 on 1×1": (
        "imf.pool(np.ones((1, 1)), 2, padding=20000)",
        r"ValueError: padding must be <= 4096 \(pixels added at each side; more only repeats",
    ),
    "pool padding at the limit on 1×1×4 (budget)": (
        "imf.pool(np.ones((1, 1, 4)), 1, padding=4096)",
        r"ValueError: the padded image would be 8193×8193×4 \(1\.0 GiB as float32\) from a"
        r" 1×1×4 image, above the limit of 1\.0 GiB \(4 times the image, at least 1 GiB\):"
        r" padding \(4096, 4096, 4096, 4096\)",
    ),
    "pool padding at the limit on 1×1 (allowed)": (
        "imf.pool(np.ones((1, 1)), 1, padding=4096)",
        r"result \(8193, 8193\)",
    ),
    "bilateral sigma 1e6": (
        'imf.denoise(np.ones((8, 8)), "bilateral", sigma=1e6)',
        r"ValueError: sigma must be <= 1000 \(a standard deviation in pixels",
    ),
    "bilateral default window from sigma": (
        'imf.denoise(np.ones((8, 8)), "bilateral", sigma=40)',
        r"ValueError: sigma=40 gives a default bilateral window of 121, above the limit of 101",
    ),
    "bilateral size 2001": (
        'imf.denoise(np.ones((8, 8)), "bilateral", size=2001)',
        r"ValueError: size must be <= 1024 \(a window side",
    ),
    "bilateral size 103": (
        "bilateral(np.ones((8, 8)), size=103)",
        r"ValueError: size must be <= 101 \(a bilateral window side",
    ),
    "bilateral size 101 (allowed)": (
        "bilateral(np.ones((16, 16)), size=101)",
        r"result \(16, 16\)",
    ),
    "box size 1,99999999": (
        'imf.box(np.ones((8, 8)), size="1,99999999")',
        r"ValueError: size\[1\] must be <= 1024 \(a window side; larger windows cost more than",
    ),
    "gaussian size 100000000": (
        "imf.gaussian(np.ones((8, 8)), size=100000000)",
        r"ValueError: size must be <= 1024 \(a window side",
    ),
    "gaussian sigma 1000 (allowed, 8001 taps)": (
        "imf.gaussian(np.ones((3, 3)), 1000)",
        r"result \(3, 3\)",
    ),
    "convolve dilation 100000000": (
        'imf.convolve(np.ones((8, 8)), "box", dilation=100000000)',
        r"ValueError: dilation must be <= 1024 \(a gap between taps",
    ),
    "convolve dilation far beyond any padding": (
        'imf.convolve(np.ones((8, 8)), "box:size=1024", dilation=1024)',
        r"ValueError: kernel 1024×1024 at dilation 1024×1024 spans 1047553×1047553 pixels, more"
        r" than the limit of 8193 \(its 'same' padding would exceed 4096 per side\)",
    ),
    "convolve padding far beyond the image (budget)": (
        'imf.convolve(np.ones((2, 2, 4)), "box", padding=4096)',
        r"ValueError: the padded image would be 8194×8194×4 \(1\.0 GiB as float32\) from a"
        r" 2×2×4 image, above the limit of 1\.0 GiB .*: padding \(4096, 4096, 4096, 4096\) for"
        r" a kernel 3×3",
    ),
    "convolve bank output far beyond the image (budget)": (
        'imf.convolve(np.ones((1, 1)), ["box"] * 5, padding=4096)',
        r"ValueError: the output would be 8191×8191×5 \(1\.2 GiB as float32\) from a 1×1 image,"
        r" above the limit of 1\.0 GiB .* \(5 kernels\)",
    ),
    "convolve stride 10**400": (
        'imf.convolve(np.ones((8, 8)), "box", stride=10**400)',
        r"ValueError: stride must be <= 1024 \(a step between windows; larger ones only skip"
        r" pixels\), got an integer of 401 digits",
    ),
    "median size 1025": (
        'imf.denoise(np.ones((8, 8)), "median", size=1025)',
        r"ValueError: size must be <= 1024",
    ),
    "median size 203": (
        "median(np.ones((8, 8)), 203)",
        r"ValueError: size must be <= 201 \(a median window side; each pixel sorts size²",
    ),
    "median size 201 (allowed)": (
        "median(np.arange(64.0).reshape(8, 8), 201)",
        r"result \(8, 8\)",
    ),
    "nlm search 2001": (
        'imf.denoise(np.ones((8, 8)), "nlm", search=2001)',
        r"ValueError: search must be <= 51 \(a search window side",
    ),
    "nlm patch 2001": (
        'imf.denoise(np.ones((8, 8)), "nlm", patch=2001)',
        r"ValueError: patch must be <= 25 \(a patch side",
    ),
    "nlm at the limits (allowed)": (
        "nl_means(np.ones((6, 6)), patch=25, search=51)",
        r"result \(6, 6\)",
    ),
}

_CHILD = """
import resource, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
import numpy as np
import imgfilter as imf
from imgfilter.ops.denoise import bilateral, median, nl_means
for case, call in {calls!r}:
    start = time.monotonic()
    try:
        result = eval(call)
        outcome = f"result {{getattr(result, 'shape', result)}}"
    except BaseException as error:
        outcome = f"{{type(error).__name__}}: {{error}}"
    print(json.dumps([case, outcome, time.monotonic() - start]), flush=True)
"""


@pytest.fixture(scope="module")
def dangerous_outcomes() -> dict[str, tuple[str, float]]:
    """Every dangerous call, run in one child process with a 2 GiB address space."""
    calls = [(case, call) for case, (call, _) in DANGEROUS.items()]
    script = "import json\n" + textwrap.dedent(_CHILD).format(limit=MEMORY_LIMIT, calls=calls)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=CASE_SECONDS * len(calls),
    )
    assert done.returncode == 0, done.stderr
    rows = map(json.loads, done.stdout.splitlines())
    return {case: (outcome, seconds) for case, outcome, seconds in rows}


@pytest.mark.parametrize("case", DANGEROUS)
def test_one_number_neither_hangs_nor_exhausts_memory(dangerous_outcomes, case):
    outcome, seconds = dangerous_outcomes[case]
    assert seconds < CASE_SECONDS, f"{case} took {seconds:.1f} s"
    pattern = DANGEROUS[case][1]
    assert re.match(pattern, outcome), outcome


@pytest.mark.parametrize(
    "args, message",
    [
        (["pool", "--padding", "20000"], "padding must be <= 4096"),
        (["denoise", "--method", "bilateral", "--sigma", "1000000"], "sigma must be <= 1000"),
        (["denoise", "--method", "bilateral", "--size", "2001"], "size must be <= 1024"),
        (["box", "--size", "1,99999999"], r"size\[1\] must be <= 1024"),
        (["gaussian", "--size", "100000000"], "size must be <= 1024"),
        (["gaussian", "--sigma", "1e9"], "sigma must be <= 1000"),
        (["convolve", "--kernel", "box", "--dilation", "100000000"], "dilation must be <= 1024"),
        (["convolve", "--kernel", "box:size=1024", "--dilation", "9"], "spans 9208×9208 pixels"),
        (["denoise", "--method", "median", "--size", "1025"], "size must be <= 1024"),
        (["denoise", "--method", "median", "--size", "4"], "size must be odd"),
        (["denoise", "--method", "bilateral", "--size", "6"], "size must be odd"),
        (["pool", "--mode", "median"], "mode must be one of max, avg, min"),
        (["gaussian", "--border", "replicate"], "OpenCV's BORDER_REPLICATE is 'edge'"),
    ],
)
def test_the_command_line_refuses_a_limit_before_reading_a_file(cli, tmp_path, args, message):
    missing = tmp_path / "not-read.png"
    result = cli(*args, missing, "-o", tmp_path / "out.png")
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr), result.stderr
    assert "no such file" not in result.stderr


def test_the_budget_names_the_sizes_and_the_limit():
    with pytest.raises(ValueError, match=r"the padded image would be 40001×40001 \(6\.0 GiB"):
        engine.check_budget("the padded image", (40001, 40001), (1, 1))
    engine.check_budget("the padded image", (1000, 1000), (500, 500))  # within 1 GiB
    big = (30000, 30000, 3)
    engine.check_budget("the padded image", (30002, 30002, 3), big)  # 4 times the image


def test_the_kernel_side_limit_is_the_window_limit():
    assert MAX_KERNEL_SIDE == params.MAX_WINDOW == get_operation("box").param("size").high


def test_every_size_padding_dilation_stride_sigma_search_and_patch_is_bounded():
    for op, name in [
        ("box", "size"),
        ("gaussian", "size"),
        ("gaussian", "sigma"),
        ("unsharp", "sigma"),
        ("canny", "sigma"),
        ("convolve", "padding"),
        ("convolve", "stride"),
        ("convolve", "dilation"),
        ("pool", "size"),
        ("pool", "stride"),
        ("pool", "padding"),
        ("denoise", "size"),
        ("denoise", "sigma"),
        ("denoise", "patch"),
        ("denoise", "search"),
    ]:
        param = get_operation(op).param(name)
        assert param.high is not None and param.why, (op, name)


# --- 2. internal exceptions do not leak ---------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: _checks.number("cval", 10**400), ValueError, "cval must be below 1.8e308"),
        (lambda: _checks.integer("size", float("inf")), ValueError, "size must be an integer"),
        (lambda: _checks.integer("size", 10**400), None, None),
        (lambda: imf.box(np.ones((4, 4)), size=float("inf")), ValueError, "size must be an"),
        (lambda: imf.gaussian(np.ones((4, 4)), 2.2e307), ValueError, "sigma must be <= 1000"),
        (lambda: imf.gaussian(np.ones((4, 4)), 10**400), ValueError, "sigma must be <= 1000"),
        (lambda: gaussian_1d(4.5e307), ValueError, "needs more than 65536 taps"),
        (lambda: get_kernel("gaussian", sigma=4.5e307), ValueError, "more than 1024 taps"),
        (lambda: check_output("JPEG", quality=10**400), ValueError, r"quality must be in \[1"),
        (lambda: imf.add_noise(np.ones((4, 4)), seed=-(10**400)), ValueError, "seed must be >= 0"),
        (lambda: imf.pool(np.ones((4, 4)), mode=10**5000), ValueError, "digits"),
        (lambda: imf.laplacian(np.ones((4, 4)), kind=float("nan")), ValueError, "kind must be"),
    ],
)
def test_numbers_too_large_for_a_float_are_refused_by_name(call, error, message):
    if error is None:
        call()
        return
    with pytest.raises(error, match=message):
        call()


def test_a_huge_seed_seeds_the_noise():
    image = np.full((4, 4), 100.0)
    noisy = imf.add_noise(image, seed=10**400)
    assert np.array_equal(noisy, imf.add_noise(image, seed=10**400))
    assert np.array_equal(imf.add_noise(image, seed=10**30), imf.add_noise(image, seed=10**30))


def _nested(depth: int) -> str:
    return '{"matrix": ' + "[" * depth + "1" + "]" * depth + "}"


def test_a_deeply_nested_kernel_file_is_named(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(_nested(1000))
    with pytest.raises(ValueError, match=r"deep\.json: JSON nested deeper than 32 levels"):
        load_kernel(path)
    path.write_text(_nested(100))  # below Python's recursion limit, above ours
    with pytest.raises(ValueError, match=r"deep\.json: JSON nested deeper than 32 levels"):
        load_kernel(path)


def test_deeply_nested_kernel_data_is_named():
    deep: object = 1
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ValueError, match=r"^deep\.json: JSON nested deeper than 32 levels$"):
        parse_kernel({"matrix": deep}, "deep.json")


def test_a_deeply_nested_kernel_on_the_kernel_path_does_not_break_listing(tmp_path):
    (tmp_path / "deep.json").write_text(_nested(1000))
    (tmp_path / "ok.json").write_text('{"matrix": [[1, 2, 1]]}')
    env = dict(os.environ, IMGFILTER_KERNEL_PATH=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "imgfilter", "kernels", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "deep.json: JSON nested deeper than 32 levels" in done.stdout
    assert "ok" in done.stdout and "1×3" in done.stdout


def test_huge_integers_in_json_are_named(tmp_path):
    kernel = tmp_path / "digits.json"
    kernel.write_text('{"matrix": [[' + "9" * 5000 + "]]}")
    with pytest.raises(ValueError, match=r"digits\.json: a number has more than 4300 digits"):
        load_kernel(kernel)
    steps = tmp_path / "steps.json"
    steps.write_text('{"steps": [{"op": "gaussian", "sigma": ' + "9" * 5000 + "}]}")
    with pytest.raises(PipelineError, match=r"steps\.json: a number has more than 4300 digits"):
        Pipeline.parse(steps)


def test_a_deeply_nested_pipeline_file_is_named(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"steps": ' + "[" * 1000 + "]" * 1000 + "}")
    with pytest.raises(PipelineError, match=r"deep\.json: JSON nested deeper than 32 levels"):
        Pipeline.parse(path)
    deep: list = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(PipelineError, match="nested deeper than 32 levels"):
        Pipeline.parse([{"op": "gaussian", "sigma": deep}])


def test_explain_after_global_pooling_and_a_one_dimensional_shape():
    assert "-> 1" in Pipeline.parse("gaussian | pool size=global").explain((8, 8))
    with pytest.raises(ValueError, match=r"shape must be \(H, W\) or \(H, W, C\), got \(5,\)"):
        Pipeline.parse("gaussian").explain((5,))
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\) or \(H, W, C\), got"):
        imf.output_shape((5,), (3, 3))
    with pytest.raises(ValueError, match=r"kernel_shape\[1\] must be >= 1, got 0"):
        imf.output_shape((5, 5), (3, 0))
    with pytest.raises(TypeError, match="image_shape must be a tuple"):
        imf.output_shape(5, (3, 3))


@pytest.mark.parametrize("function", [imf.rescale, imf.grayscale, imf.relu])
@pytest.mark.parametrize("empty", [np.zeros((0, 3)), np.zeros((0,)), np.zeros((2, 0, 3))])
def test_empty_images_are_refused(function, empty):
    with pytest.raises(ValueError, match="image must be a non-empty 2-D"):
        function(empty)


def test_a_ragged_image_is_refused_by_name():
    with pytest.raises(ValueError, match="image must be a rectangular array of numbers"):
        imf.relu([[1, 2], [3]])


def test_a_vanishing_sigma_gives_the_identity_not_black():
    image = np.random.default_rng(0).random((6, 7)).astype(np.float32) * 255
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(imf.gaussian(image, 1e-300, size=3), image)
        np.testing.assert_array_equal(gaussian_1d(1e-300, size=3), [0, 1, 0])
        np.testing.assert_array_equal(gaussian_1d(1e-300, size=2), [0.5, 0.5])
        np.testing.assert_array_equal(get_kernel("gaussian", sigma=1e-300, size=2).matrix, 0.25)
        np.testing.assert_allclose(bilateral(image, 1e-300, 1e-300), image)
        np.testing.assert_allclose(nl_means(image, h=1e-300, patch=3, search=5), image)


# --- 3. what is knowable up front is checked up front -------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"method": "median", "size": "4"}, r"size must be odd \(an even window has no centre"),
        ({"method": "median", "size": "3,5"}, "size must be one side for a square window"),
        ({"method": "median", "size": "301"}, r"size must be <= 201 \(a median window side"),
        ({"method": "bilateral", "size": "6"}, "size must be odd"),
        ({"method": "bilateral", "sigma": "40"}, "default bilateral window of 121"),
    ],
)
def test_denoise_windows_are_checked_when_the_step_is_validated(values, message):
    with pytest.raises(ValueError, match=message):
        get_operation("denoise").validate(values)


def test_a_large_sigma_with_an_explicit_bilateral_window_is_fine():
    checked = get_operation("denoise").validate({"method": "bilateral", "sigma": "40", "size": 9})
    assert checked["size"] == (9, 9)


def test_global_pooling_must_end_a_pipeline():
    with pytest.raises(
        PipelineError,
        match=r"step 1 'pool size=global': global pooling gives one value per channel, not an"
        r" image, so it must end the pipeline; step 2 'gaussian' follows it",
    ):
        Pipeline.parse("pool size=global | gaussian")
    with pytest.raises(PipelineError, match="step 2 'pool size=global'.*step 3 'relu'"):
        Pipeline.parse([{"op": "relu"}, {"op": "pool", "size": "global"}, {"op": "relu"}])
    assert len(Pipeline.parse("gaussian | pool size=global")) == 2


def test_a_huge_sigma_is_refused_by_the_declaration():
    with pytest.raises(ValueError, match=r"sigma must be <= 1000 \(a standard deviation"):
        get_operation("gaussian").validate({"sigma": "1e9"})


# --- 4. friendlier choices ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["avg", "average", "mean"])
def test_average_pooling_has_aliases(mode):
    x = np.array([[3, 2, 0, 0], [0, 7, 1, 3], [5, 2, 3, 0], [0, 9, 2, 3]])
    np.testing.assert_array_equal(imf.pool(x, 2, mode=mode), [[3, 1], [4, 2]])
    assert get_operation("pool").validate({"mode": mode})["mode"] == "avg"


def test_help_shows_only_the_canonical_pooling_modes(cli):
    result = cli("pool", "--help")
    assert "[max|avg|min]" in result.stdout
    assert get_operation("pool").param("mode").describe() == "max, avg, min"


@pytest.mark.parametrize(
    "word, hint",
    [
        ("mirror", "scipy's 'mirror' is 'reflect'"),
        ("replicate", "OpenCV's BORDER_REPLICATE is 'edge'"),
        ("BORDER_REPLICATE", "OpenCV's BORDER_REPLICATE is 'edge'"),
        ("nearest", "scipy's 'nearest' is 'edge'"),
        ("grid-wrap", "scipy's 'grid-wrap' is 'wrap'"),
        ("BORDER_REFLECT", "OpenCV's BORDER_REFLECT is 'symmetric'"),
        ("BORDER_REFLECT_101", "OpenCV's BORDER_REFLECT_101 is 'reflect'"),
    ],
)
def test_other_tools_border_names_are_refused_with_our_word(word, hint):
    message = (
        f"border must be one of constant, reflect, symmetric, edge, wrap; got {word!r} ({hint})"
    )
    for call in (
        lambda: imf.convolve(np.ones((4, 4)), "box", border=word),
        lambda: imf.pool(np.ones((4, 4)), border=word),
        lambda: engine.pad(np.ones((4, 4)), (1, 1, 1, 1), word),
        lambda: get_operation("gaussian").validate({"border": word}),
    ):
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == message


def test_scipy_reflect_is_not_a_silent_alias():
    row = np.array([[1.0, 2.0, 3.0]])
    assert engine.pad(row, (0, 0, 2, 0), "reflect").tolist() == [[3, 2, 1, 2, 3]]  # numpy's
    assert engine.pad(row, (0, 0, 2, 0), "symmetric").tolist() == [[2, 1, 1, 2, 3]]


# --- 5. the default bilateral window rounds as OpenCV -------------------------------------


@pytest.mark.parametrize("sigma, side", [(1, 5), (2, 7), (3, 9), (5, 17), (7, 21), (1.5, 5)])
def test_the_default_bilateral_window_rounds_half_to_even(sigma, side):
    assert bilateral_size(sigma) == side


def test_the_default_bilateral_window_matches_opencv_at_sigma_3():
    photo = Image.open(Path(__file__).resolve().parent.parent / "samples" / "camera.png")
    photo = np.asarray(photo.convert("L"), dtype=np.float32)[200:264, 200:264]
    expected = cv2.bilateralFilter(photo, -1, 40.0, 3.0)
    np.testing.assert_allclose(bilateral(photo, 3.0, 40.0), expected, atol=2e-3)
