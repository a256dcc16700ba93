"""Tests for imgfilter.kernels: the catalog, lookup, JSON kernels and the Kernel value."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from imgfilter.kernels import (
    MAX_KERNEL_SIDE,
    Kernel,
    KernelBank,
    as_kernel_matrix,
    catalog,
    catalog_entry,
    dilate,
    format_matrix,
    gaussian_1d,
    get_kernel,
    kernel_path_folders,
    load_kernel,
    parse_kernel,
    separable_factors,
)

ROOT = Path(__file__).resolve().parent.parent

FIXED = {
    "gaussian3": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "gaussian5": np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256,
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "prewitt-x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt-y": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "scharr-x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "scharr-y": [[3, 10, 3], [0, 0, 0], [-3, -10, -3]],
    "laplacian": [[0, -1, 0], [-1, 4, -1], [0, -1, 0]],
    "laplacian8": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "edge": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
    "horizontal-lines": [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


# --- the catalog ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_kernel_has_its_exact_matrix(name):
    kernel = get_kernel(name)
    assert kernel.name == name
    assert kernel.source == "built-in"
    assert kernel.matrix.dtype == np.float64
    np.testing.assert_array_equal(kernel.matrix, np.asarray(FIXED[name], dtype=np.float64))


def test_catalog_lists_every_design_kernel_in_order():
    names = [entry.name for entry in catalog()]
    assert names == [
        "identity",
        "box",
        "gaussian",
        "gaussian3",
        "gaussian5",
        "sobel-x",
        "sobel-y",
        "prewitt-x",
        "prewitt-y",
        "scharr-x",
        "scharr-y",
        "laplacian",
        "laplacian8",
        "edge",
        "horizontal-lines",
        "sharpen",
        "emboss",
        "dilated",
    ]
    for entry in catalog():
        assert entry.description and entry.definition
        assert entry.source == "built-in" or entry.source.endswith(f"{entry.name}.json")


def test_every_fixed_kernel_is_a_json_file_named_after_it():
    files = sorted(p.stem for p in (ROOT / "kernels").glob("*.json"))
    assert files == sorted(FIXED)
    for stem in files:
        data = json.loads((ROOT / "kernels" / f"{stem}.json").read_text(encoding="utf-8"))
        assert data["name"] == stem
        assert data["description"]
        assert all(float(v).is_integer() for row in data["matrix"] for v in row)


def test_fixed_definition_shows_the_matrix_as_written():
    assert catalog_entry("gaussian3").definition == (
        "1/16 ×\n[[1, 2, 1],\n [2, 4, 2],\n [1, 2, 1]]"
    )
    assert catalog_entry("sobel-y").definition.startswith("[[ 1,  2,  1],")


def test_fixed_kernel_refuses_parameters_naming_the_kernel():
    with pytest.raises(ValueError, match="kernel 'sobel-x' takes no parameters, got size"):
        get_kernel("sobel-x", size=5)


def test_names_ignore_case_and_underscores():
    assert get_kernel("Horizontal_Lines") == get_kernel("horizontal-lines")


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_identity_is_one_at_the_centre(size):
    expected = np.zeros((size, size))
    expected[size // 2, size // 2] = 1
    np.testing.assert_array_equal(get_kernel("identity", size=size).matrix, expected)


def test_identity_refuses_an_even_size():
    with pytest.raises(ValueError, match=r"size must be odd \(an even window has no centre pixel"):
        get_kernel("identity", size=4)


def test_box_default_is_a_ninth_everywhere():
    np.testing.assert_array_equal(get_kernel("box").matrix, np.full((3, 3), 1 / 9))


def test_box_accepts_height_and_width():
    kernel = get_kernel("box", size=(2, 3))
    assert kernel.shape == (2, 3)
    np.testing.assert_allclose(kernel.matrix, 1 / 6, rtol=1e-15)
    assert kernel.name == "box(size=2,3)"


@pytest.mark.parametrize(
    ("params", "error", "pattern"),
    [
        ({"size": 0}, ValueError, "size must be >= 1, got 0"),
        ({"size": 2.5}, ValueError, "size must be an integer, got 2.5"),
        ({"size": "three"}, ValueError, "size must be an integer, got 'three'"),
        ({"size": True}, TypeError, "size must be an integer, got True"),
        ({"size": (3, 3, 3)}, ValueError, "size must be a single value or a pair"),
        ({"size": MAX_KERNEL_SIDE + 1}, ValueError, r"size must be <= 1024 \(the limit of every"),
        ({"sise": 3}, ValueError, r"no parameter 'sise' \(did you mean 'size'\?\)"),
    ],
)
def test_box_parameters_are_validated(params, error, pattern):
    with pytest.raises(error, match=pattern):
        get_kernel("box", **params)


def test_catalog_parameters_read_command_line_text():
    entry = catalog_entry("box")
    assert entry.params["size"].check("size", "5") == (5, 5)
    assert entry.params["size"].check("size", "3,5") == (3, 5)
    assert entry.params["size"].check("size", "3x5") == (3, 5)
    assert entry.default("size") == 3
    assert catalog_entry("gaussian").params["sigma"].check("sigma", "1.5") == (1.5, 1.5)
    assert catalog_entry("dilated").params["base"].check("base", "sobel-x").name == "sobel-x"


def test_text_and_values_build_the_same_kernel():
    assert get_kernel("box", size="2x3") == get_kernel("box", size=(2, 3))
    assert get_kernel("gaussian", sigma="2,1", size="9") == get_kernel(
        "gaussian", sigma=(2, 1), size=9
    )


def test_names_show_the_parameters_given():
    assert get_kernel("gaussian", sigma=(2.0, 2.0)).name == "gaussian(sigma=2)"
    assert get_kernel("gaussian", sigma=0.5, size=(3, 5)).name == "gaussian(sigma=0.5, size=3,5)"
    assert get_kernel("identity").name == "identity"


def test_format_matrix_aligns_columns_and_shows_fractions():
    assert format_matrix([[1, -10], [0.5, 2]]) == "[[  1, -10],\n [0.5,   2]]"
    assert format_matrix(np.ones((1, 1, 2))) == "channel 0:\n[[1]]\nchannel 1:\n[[1]]"


# --- gaussian ---------------------------------------------------------------


def _scipy_taps(sigma: float) -> np.ndarray:
    radius = int(4 * sigma + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    return ndi.gaussian_filter1d(impulse, sigma, truncate=4.0, mode="constant")


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0, 1.4, 2.0, 3.3, 10.0])
def test_gaussian_1d_matches_scipy_weights(sigma):
    taps = gaussian_1d(sigma)
    assert taps.shape == (2 * int(4 * sigma + 0.5) + 1,)
    np.testing.assert_allclose(taps, _scipy_taps(sigma), rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(sigma=st.floats(0.05, 30.0), size=st.none() | st.integers(1, 60))
def test_gaussian_1d_sums_to_one_and_is_symmetric(sigma, size):
    taps = gaussian_1d(sigma, size)
    assert abs(taps.sum() - 1.0) < 1e-12
    np.testing.assert_allclose(taps, taps[::-1], rtol=1e-12, atol=0)
    assert np.argmax(taps) == (taps.size - 1) // 2
    if size is not None:
        assert taps.size == size


@pytest.mark.parametrize("size", [11, 15, 31])
def test_gaussian_1d_size_only_follows_opencv(size):
    # OpenCV uses fixed binomial tables up to size 9, and the sigma rule above that.
    reference = cv2.getGaussianKernel(size, 0, ktype=cv2.CV_64F).ravel()
    np.testing.assert_allclose(gaussian_1d(size=size), reference, rtol=1e-10)


def test_gaussian_1d_size_only_sigma_rule_by_hand():
    sigma = 0.3 * ((5 - 1) * 0.5 - 1) + 0.8  # 1.1
    expected = np.exp(-np.array([4, 1, 0, 1, 4]) / (2 * sigma**2))
    np.testing.assert_allclose(gaussian_1d(size=5), expected / expected.sum(), rtol=1e-12)


def test_gaussian_1d_even_size_sits_at_half_pixels():
    expected = np.exp(-np.array([2.25, 0.25, 0.25, 2.25]) / 2)
    np.testing.assert_allclose(gaussian_1d(1.0, 4), expected / expected.sum(), rtol=1e-12)


def test_gaussian_1d_tiny_sigma_with_even_size_does_not_underflow():
    np.testing.assert_allclose(gaussian_1d(1e-3, 2), [0.5, 0.5])
    np.testing.assert_array_equal(gaussian_1d(1e-3, 3), [0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({}, ValueError, "gaussian needs sigma, size or both"),
        ({"sigma": 0}, ValueError, "sigma must be > 0, got 0.0"),
        ({"sigma": -1}, ValueError, "sigma must be > 0, got -1.0"),
        ({"sigma": "1"}, TypeError, "sigma must be a number"),
        ({"size": 0}, ValueError, "size must be >= 1, got 0"),
        ({"sigma": 1e6}, ValueError, "needs more than 65536 taps"),
    ],
)
def test_gaussian_1d_refuses_bad_arguments(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        gaussian_1d(**kwargs)


def test_gaussian_kernel_is_the_outer_product_of_its_taps():
    kernel = get_kernel("gaussian", sigma=1.5)
    taps = gaussian_1d(1.5)
    np.testing.assert_allclose(kernel.matrix, np.outer(taps, taps), rtol=1e-15)
    assert kernel.shape == (13, 13) and kernel.is_separable
    assert abs(kernel.sum - 1) < 1e-12
    np.testing.assert_array_equal(kernel.matrix, kernel.matrix.T)
    assert kernel.name == "gaussian(sigma=1.5)"


def test_gaussian_kernel_defaults_to_sigma_one():
    np.testing.assert_allclose(get_kernel("gaussian").matrix, np.outer(*[gaussian_1d(1.0)] * 2))


def test_gaussian_kernel_accepts_per_axis_sigma_and_size():
    kernel = get_kernel("gaussian", sigma=(1, 2), size=(3, 4))
    np.testing.assert_allclose(kernel.matrix, np.outer(gaussian_1d(1, 3), gaussian_1d(2, 4)))
    assert get_kernel("gaussian", size=6).shape == (6, 6)


def test_gaussian_kernel_too_wide_for_2d_is_refused():
    with pytest.raises(ValueError, match="sigma=200 would need more than 1024 taps"):
        get_kernel("gaussian", sigma=200)


# --- dilation ---------------------------------------------------------------


def test_dilated_sobel_at_rate_two_by_hand():
    expected = [
        [-1, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [-2, 0, 0, 0, 2],
        [0, 0, 0, 0, 0],
        [-1, 0, 0, 0, 1],
    ]
    kernel = get_kernel("dilated", base="sobel-x", rate=2)
    np.testing.assert_array_equal(kernel.matrix, expected)
    assert kernel.name == "dilated(base=sobel-x, rate=2)"


def test_dilated_box_matches_the_seeds_pattern():
    matrix = get_kernel("dilated", base="box").matrix * 9
    np.testing.assert_array_equal(matrix[::2, ::2], np.ones((3, 3)))
    assert matrix.sum() == pytest.approx(9)
    assert np.count_nonzero(matrix) == 9


def test_dilation_per_axis_and_rate_one():
    assert get_kernel("dilated", base="sobel-x", rate=(1, 3)).shape == (3, 7)
    np.testing.assert_array_equal(
        get_kernel("dilated", base="laplacian", rate=1).matrix, FIXED["laplacian"]
    )


def test_dilate_keeps_channels_of_a_3d_kernel():
    matrix = np.arange(12.0).reshape(2, 2, 3)
    out = dilate(matrix, (2, 3))
    assert out.shape == (3, 4, 3)
    np.testing.assert_array_equal(out[::2, ::3], matrix)
    assert out[1].sum() == 0 and out[:, 1:3].sum() == 0


def test_dilated_bank_and_kernel_objects():
    bank = KernelBank("pair", (get_kernel("sobel-x"), get_kernel("sobel-y")))
    out = get_kernel("dilated", base=bank, rate=2)
    assert isinstance(out, KernelBank) and out.shape == (5, 5) and len(out) == 2
    np.testing.assert_array_equal(out[1].matrix[::2, ::2], FIXED["sobel-y"])


@pytest.mark.parametrize(
    ("params", "error", "pattern"),
    [
        ({}, ValueError, "kernel 'dilated' needs base="),
        ({"base": "sobel-x", "rate": 0}, ValueError, "rate must be >= 1, got 0"),
        ({"base": "sobel-x", "rate": 600}, ValueError, "larger than the limit of 1024"),
        ({"base": "nope"}, ValueError, "unknown kernel 'nope'"),
        ({"base": 3}, ValueError, r"base must be 2-D \(kh, kw\) or 3-D"),
    ],
)
def test_dilated_refuses_bad_parameters(params, error, pattern):
    with pytest.raises(error, match=pattern):
        get_kernel("dilated", **params)


# --- lookup -----------------------------------------------------------------


def _write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_kernel_path_finds_files_by_name(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _write(first, "mine.json", {"matrix": [[1, 2]]})
    _write(second, "mine.json", {"matrix": [[3, 4]]})
    _write(second, "other.json", {"matrix": [[5]]})
    monkeypatch.setenv("IMGFILTER_KERNEL_PATH", f"{first}{os.pathsep}{second}")
    assert kernel_path_folders() == [first, second]
    mine = get_kernel("mine")
    np.testing.assert_array_equal(mine.matrix, [[1, 2]])
    assert mine.name == "mine" and mine.source == str(first / "mine.json")
    np.testing.assert_array_equal(get_kernel("other").matrix, [[5]])


def test_kernel_path_does_not_shadow_a_builtin(tmp_path, monkeypatch):
    _write(tmp_path, "sobel-x.json", {"matrix": [[9, 9], [9, 9]]})
    monkeypatch.setenv("IMGFILTER_KERNEL_PATH", str(tmp_path))
    np.testing.assert_array_equal(get_kernel("sobel-x").matrix, FIXED["sobel-x"])


def test_a_path_to_a_json_file_works(tmp_path):
    path = _write(tmp_path, "blur.json", {"matrix": [[1, 1], [1, 1]], "divisor": 4})
    for name in (str(path), path):
        kernel = get_kernel(name)
        np.testing.assert_array_equal(kernel.matrix, np.full((2, 2), 0.25))
        assert kernel.name == "blur"


def test_file_kernels_refuse_parameters(tmp_path):
    path = _write(tmp_path, "k.json", {"matrix": [[1]]})
    with pytest.raises(ValueError, match="a kernel file takes no parameters, got sigma"):
        get_kernel(str(path), sigma=2)


def test_missing_json_path_names_the_path(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: no such file$"):
        get_kernel(str(path))


def test_unknown_name_suggests_and_points_to_the_list(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"unknown kernel 'sobelx' \(did you mean 'sobel-x'"):
        get_kernel("sobelx")
    with pytest.raises(ValueError, match="imgfilter kernels list"):
        get_kernel("zzz")
    _write(tmp_path, "ridge.json", {"matrix": [[1]]})
    monkeypatch.setenv("IMGFILTER_KERNEL_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="did you mean 'ridge'"):
        get_kernel("ridges")


def test_get_kernel_refuses_a_non_string_name():
    with pytest.raises(TypeError, match="kernel name must be a non-empty string or a path"):
        get_kernel(3)


# --- JSON kernels -------------------------------------------------------------


def test_json_divisor_normalize_and_dilation(tmp_path):
    path = _write(
        tmp_path,
        "k.json",
        {"matrix": [[1, 3]], "divisor": 2, "normalize": True, "dilation": [1, 2]},
    )
    np.testing.assert_array_equal(load_kernel(path).matrix, [[0.25, 0, 0.75]])


def test_json_even_sizes_and_3d_kernels(tmp_path):
    even = load_kernel(_write(tmp_path, "e.json", {"matrix": [[0, 1], [2, 3]]}))
    assert even.shape == (2, 2)
    cube = load_kernel(_write(tmp_path, "c.json", {"matrix": [[[1, 2, 3], [4, 5, 6]]]}))
    assert cube.shape == (1, 2, 3)
    np.testing.assert_array_equal(cube.matrix[0, 1], [4, 5, 6])
    assert not cube.is_separable and cube.separable_factors() is None


def test_json_bank_gives_named_kernels(tmp_path):
    data = {
        "name": "pair",
        "description": "two",
        "kernels": [{"name": "a", "matrix": [[1, 0]]}, {"matrix": [[0, 1]]}],
    }
    bank = load_kernel(_write(tmp_path, "p.json", data))
    assert isinstance(bank, KernelBank)
    assert [k.name for k in bank] == ["a", "pair[1]"]
    assert bank.description == "two" and bank.shape == (1, 2)


def test_the_sample_kernels_load():
    folder = ROOT / "samples" / "kernels"
    relief = load_kernel(folder / "relief.json")
    assert relief.sum == pytest.approx(1.0)
    edges = load_kernel(folder / "diagonal-edges.json")
    assert isinstance(edges, KernelBank) and len(edges) == 2
    assert all(k.sum == 0 for k in edges)
    luma = load_kernel(folder / "luma.json")
    assert luma.shape == (1, 1, 3)
    np.testing.assert_allclose(luma.matrix.ravel(), [0.299, 0.587, 0.114])


BAD_JSON = [
    ('{"matrix": [[1, 2],, [3, 4]]}', r"invalid JSON at line 1, column 20: Expecting value"),
    ('{\n  "matrix": [[1, 2]\n', r"invalid JSON at line 3, column 1"),
    ("", r"invalid JSON at line 1, column 1"),
    ("[[1, 2], [3, 4]]", r"expected a JSON object with a 'matrix'.*got a list"),
    ('{"name": "x"}', r"missing required key 'matrix' \(or 'kernels' for a bank\)"),
    (
        '{"matrix": [[1]], "divsor": 2}',
        r"unknown key 'divsor' \(did you mean 'divisor'\?\); allowed keys: name, description, "
        r"matrix, divisor, normalize, dilation",
    ),
    ('{"matrix": []}', r"matrix is empty"),
    ('{"matrix": [[]]}', r"matrix row 0 is empty"),
    ('{"matrix": [[1, 2], []]}', r"matrix row 1 is empty"),
    ('{"matrix": 5}', r"'matrix' must be a list of rows.*got a number"),
    (
        '{"matrix": [1, 2, 3]}',
        r"'matrix' must be a list of rows, but matrix\[0\] is a number; "
        r"write a 1×N kernel as \[\[a, b, c\]\]",
    ),
    ('{"matrix": [[1, 2], 3]}', r"matrix row 1 must be a list, got a number"),
    (
        '{"matrix": [[1, 2, 3], [4, 5, 6], [7, 8]]}',
        r"ragged matrix: row 2 has 2 values, expected 3 like row 0",
    ),
    ('{"matrix": [[1, 2], [3, "4"]]}', r"value at \[1\]\[1\] is not a number: \"4\""),
    ('{"matrix": [[true, 2]]}', r"value at \[0\]\[0\] is not a number: true"),
    ('{"matrix": [[1, null]]}', r"value at \[0\]\[1\] is not a number: null"),
    ('{"matrix": [[1, 2], [NaN, 3]]}', r"NaN at \[1\]\[0\]; kernel values must be finite"),
    ('{"matrix": [[Infinity]]}', r"Infinity at \[0\]\[0\]"),
    ('{"matrix": [[1, -Infinity]]}', r"-Infinity at \[0\]\[1\]"),
    ('{"matrix": [[1, 1e999]]}', r"Infinity at \[0\]\[1\]"),
    ('{"matrix": [[[[1]]]]}', r"matrix is nested more than 3 levels deep at \[0\]\[0\]\[0\]"),
    ('{"matrix": [[1, [2]]]}', r"matrix\[0\]\[1\] is a list but matrix\[0\]\[0\] is a number"),
    ('{"matrix": [[[1, 2], 3]]}', r"matrix\[0\]\[1\] is a number but matrix\[0\]\[0\] is a list"),
    (
        '{"matrix": [[[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [4, 5]]]}',
        r"ragged depth: matrix\[1\]\[1\] has 2 channel weights, expected 3",
    ),
    ('{"matrix": [[[]]]}', r"matrix\[0\]\[0\] is empty"),
    ('{"matrix": [[1]], "divisor": 0}', r"divisor must not be 0"),
    ('{"matrix": [[1]], "divisor": "16"}', r"divisor must be a number, got \"16\""),
    ('{"matrix": [[1]], "divisor": false}', r"divisor must be a number, got false"),
    ('{"matrix": [[1]], "divisor": NaN}', r"divisor must be finite, got NaN"),
    (
        '{"matrix": [[-1, 0, 1]], "normalize": true}',
        r"normalize is true but the matrix sums to 0",
    ),
    ('{"matrix": [[1]], "normalize": "yes"}', r"normalize must be true or false, got \"yes\""),
    ('{"matrix": [[1]], "dilation": 0}', r"dilation must be >= 1, got 0"),
    ('{"matrix": [[1]], "dilation": 1.5}', r"dilation must be an integer, got 1.5"),
    ('{"matrix": [[1]], "dilation": [1, 2, 3]}', r"dilation must be a single value or a pair"),
    (
        '{"matrix": [[1, 1]], "dilation": 2000}',
        r"dilation 2000 makes the kernel 1×2001, larger than the limit of 1024 per side",
    ),
    ('{"matrix": [[1]], "name": 7}', r"'name' must be a non-empty string, got 7"),
    ('{"matrix": [[1]], "name": ""}', r"'name' must be a non-empty string"),
    ('{"matrix": [[1]], "description": ["a"]}', r"'description' must be a non-empty string"),
    ('{"kernels": []}', r"'kernels' is empty: a bank needs at least one kernel"),
    ('{"kernels": {"matrix": [[1]]}}', r"'kernels' must be a list of kernel objects"),
    ('{"kernels": [{"matrix": [[1]]}, [[1]]]}', r"kernels\[1\]: must be a kernel object"),
    (
        '{"kernels": [{"matrix": [[1]]}, {"matrix": [[1]]}, {"matrix": [[1, 2], [3]]}]}',
        r"kernels\[2\]: ragged matrix: row 1 has 1 value, expected 2",
    ),
    (
        '{"kernels": [{"matrix": [[1, 2]]}, {"matrix": [[1], [2]]}]}',
        r"kernels\[1\] is 2×1 but kernels\[0\] is 1×2; every kernel in a bank must have one shape",
    ),
    (
        '{"kernels": [{"matrix": [[1]]}, {"matrix": [[[1, 2, 3]]]}]}',
        r"kernels\[1\] is 1×1×3 but kernels\[0\] is 1×1",
    ),
    ('{"kernels": [{"kernels": []}]}', r"kernels\[0\]: banks cannot be nested"),
    ('{"kernels": [{"name": "a"}]}', r"kernels\[0\]: missing required key 'matrix'$"),
    ('{"kernels": [{"matrix": [[1]]}], "extra": 1}', r"unknown key 'extra'; allowed keys: name"),
    (
        '{"kernels": [], "matrix": [[1]]}',
        r"a file holds either 'matrix' \(one kernel\) or 'kernels' \(a bank\), not both",
    ),
]


@pytest.mark.parametrize(("text", "pattern"), BAD_JSON)
def test_malformed_json_is_refused_naming_file_and_fault(tmp_path, text, pattern):
    path = _write(tmp_path, "bad.json", text)
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}: {pattern}"):
        load_kernel(path)


def test_implausibly_large_matrix_is_refused(tmp_path):
    path = _write(tmp_path, "big.json", {"matrix": [[0] * (MAX_KERNEL_SIDE + 1)]})
    with pytest.raises(ValueError, match=r"matrix is 1×1025, larger than the limit of 1024"):
        load_kernel(path)
    cube = [[[0] * 1024] * 33] * 33
    path = _write(tmp_path, "cube.json", {"matrix": cube})
    with pytest.raises(ValueError, match=r"matrix is 33×33×1024, larger than the limit"):
        load_kernel(path)


def test_unreadable_files_name_the_path(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(ValueError, match=f"^{re.escape(str(missing))}: no such file$"):
        load_kernel(missing)
    binary = tmp_path / "photo.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ValueError, match="not a JSON kernel file"):
        load_kernel(binary)


def test_parse_kernel_uses_the_source_as_label():
    kernel = parse_kernel({"matrix": [[2]]}, "inline")
    assert kernel.name == "inline" and kernel.source == "inline"
    with pytest.raises(ValueError, match="^inline: matrix is empty"):
        parse_kernel({"matrix": []}, "inline")


# --- the Kernel value -----------------------------------------------------------


def test_kernel_matrix_is_a_read_only_float64_copy():
    source = np.array([[1, 2], [3, 4]], dtype=np.int32)
    kernel = Kernel("k", source)
    source[0, 0] = 100
    assert kernel.matrix[0, 0] == 1.0 and kernel.matrix.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        kernel.matrix[0, 0] = 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        kernel.name = "other"


def test_kernels_compare_and_hash_by_value():
    a = Kernel("k", [[1, 2]])
    assert a == Kernel("k", np.array([[1.0, 2.0]]))
    assert a != Kernel("k", [[1, 3]]) and a != Kernel("j", [[1, 2]])
    assert len({a, Kernel("k", [[1, 2]])}) == 1
    assert get_kernel("sobel-x") == get_kernel("sobel-x")


def test_kernel_properties():
    kernel = get_kernel("gaussian5")
    assert kernel.shape == (5, 5)
    assert kernel.sum == pytest.approx(1.0)
    assert get_kernel("laplacian").sum == 0.0


@pytest.mark.parametrize(
    ("value", "error", "pattern"),
    [
        ([[1.0, np.nan], [0, 0]], ValueError, r"kernel 'k' has NaN at \[0\]\[1\]"),
        ([[1.0, 0], [-np.inf, 0]], ValueError, r"has -Infinity at \[1\]\[0\]"),
        ([1, 2, 3], ValueError, r"must be 2-D \(kh, kw\) or 3-D \(kh, kw, C\), got 1-D"),
        (np.ones((1, 1, 1, 1)), ValueError, "got 4-D shape"),
        (np.ones((0, 3)), ValueError, r"has an empty axis: shape \(0, 3\)"),
        ([[1, 2], [3]], ValueError, "must be a rectangular array of numbers"),
        (np.ones((2, 2), dtype=bool), TypeError, "must hold real numbers, got dtype bool"),
        ([["a", "b"]], TypeError, "must hold real numbers"),
        (np.ones((2, 2), dtype=complex), TypeError, "got dtype complex128"),
    ],
)
def test_kernel_refuses_bad_matrices(value, error, pattern):
    with pytest.raises(error, match=pattern):
        Kernel("k", value)


def test_kernel_refuses_an_empty_name():
    with pytest.raises(TypeError, match="kernel name must be a non-empty string"):
        Kernel("", [[1]])


def test_as_kernel_matrix_reports_the_first_non_finite_index():
    array = np.zeros((2, 3, 2))
    array[1, 2, 0] = np.inf
    with pytest.raises(ValueError, match=r"^weights has Infinity at \[1\]\[2\]\[0\]"):
        as_kernel_matrix(array, "weights")
    out = as_kernel_matrix([[1, 2]])
    assert out.dtype == np.float64 and out.flags.c_contiguous and out.flags.writeable


def test_bank_requires_kernels_of_one_shape():
    with pytest.raises(ValueError, match="kernel 1 is 5×5 but kernel 0 is 3×3"):
        KernelBank("b", (get_kernel("sobel-x"), get_kernel("gaussian5")))
    with pytest.raises(ValueError, match="is empty"):
        KernelBank("b", ())
    with pytest.raises(TypeError, match="item 0 is not a Kernel"):
        KernelBank("b", (np.ones((3, 3)),))


# --- separability ---------------------------------------------------------------

SEPARABLE = {"identity", "box", "gaussian", "gaussian3", "gaussian5", "horizontal-lines"}
SEPARABLE |= {f"{k}-{a}" for k in ("sobel", "prewitt", "scharr") for a in "xy"}


@pytest.mark.parametrize("name", [e.name for e in catalog() if e.name != "dilated"])
def test_catalog_separability_and_factors_reproduce_the_matrix(name):
    kernel = get_kernel(name)
    assert kernel.is_separable == (name in SEPARABLE)
    factors = kernel.separable_factors()
    if name in SEPARABLE:
        col, row, scale = factors
        assert col.shape == (kernel.shape[0],) and row.shape == (kernel.shape[1],)
        np.testing.assert_allclose(np.outer(col, row) * scale, kernel.matrix, rtol=0, atol=1e-12)
    else:
        assert factors is None


def test_sobel_factors_are_the_kernels_own_numbers():
    col, row, scale = get_kernel("sobel-x").separable_factors()
    assert (col.tolist(), row.tolist(), scale) == ([1, 2, 1], [-1, 0, 1], 1)
    col, row, scale = get_kernel("sobel-y").separable_factors()
    assert (col.tolist(), row.tolist(), scale) == ([1, 0, -1], [1, 2, 1], 1)


def test_binomial_factors_are_integers_over_the_divisor():
    col, row, scale = get_kernel("gaussian3").separable_factors()
    assert (col.tolist(), row.tolist(), scale) == ([1, 2, 1], [1, 2, 1], 1 / 16)
    col, row, scale = get_kernel("gaussian5").separable_factors()
    assert (col.tolist(), row.tolist(), scale) == ([1, 4, 6, 4, 1], [1, 4, 6, 4, 1], 1 / 256)


def test_one_row_or_column_is_not_split():
    assert separable_factors([[1, 2, 1]]) is None
    assert separable_factors([[1], [2], [1]]) is None


def test_factors_cannot_be_changed_through_the_cache():
    col = get_kernel("box").separable_factors().column
    with pytest.raises(ValueError, match="read-only"):
        col[:] = 0


vectors = st.lists(st.floats(-10, 10), min_size=2, max_size=7).filter(
    lambda v: max(abs(x) for x in v) > 0.1
)


@settings(max_examples=50, deadline=None)
@given(col=vectors, row=vectors)
def test_outer_products_are_separable_and_factor_back(col, row):
    matrix = np.outer(col, row)
    factors = Kernel("k", matrix).separable_factors()
    assert factors is not None
    col, row, scale = factors
    np.testing.assert_allclose(np.outer(col, row) * scale, matrix, rtol=0, atol=1e-10)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(2, 6), w=st.integers(2, 6))
def test_random_full_rank_matrices_are_not_separable(seed, h, w):
    matrix = np.random.default_rng(seed).normal(size=(h, w))
    assert not Kernel("k", matrix).is_separable
