"""Kernels written inline on the command line and in steps equal their JSON-file twins."""

import json

import numpy as np
import pytest
from conftest import write_png

from imgfilter.kernels import as_kernel, load_kernel
from imgfilter.pipeline import Pipeline

SHARPEN = "[[0,-1,0],[-1,5,-1],[0,-1,0]]"
BINOMIAL = '{"matrix": [[1,2,1],[2,4,2],[1,2,1]], "divisor": 16}'


@pytest.mark.parametrize(
    "text", [SHARPEN, BINOMIAL, "[[[1,0],[0,1]],[[0,1],[1,0]]]", '{"kernels": [{"matrix": [[1]]}]}']
)
def test_inline_kernels_equal_their_json_file_twins(tmp_path, text):
    path = tmp_path / "twin.json"
    data = json.loads(text)
    path.write_text(json.dumps({"matrix": data} if isinstance(data, list) else data))
    inline, twin = as_kernel(text), load_kernel(path)
    members = getattr(inline, "kernels", (inline,))
    twins = getattr(twin, "kernels", (twin,))
    for a, b in zip(members, twins, strict=True):
        np.testing.assert_array_equal(a.matrix, b.matrix)


def test_the_command_line_and_a_quoted_step_take_inline_kernels(cli, tmp_path, rng):
    image = write_png(tmp_path / "in.png", rng.integers(0, 256, (12, 15)))
    twin = tmp_path / "sharpen.json"
    twin.write_text(json.dumps({"matrix": json.loads(SHARPEN)}))
    a, b, c = (tmp_path / f"{n}.npy" for n in "abc")
    assert cli("convolve", image, "-o", a, "--kernel", SHARPEN).exit_code == 0
    assert cli("run", f"convolve kernel='{SHARPEN}'", image, "-o", b).exit_code == 0
    assert cli("convolve", image, "-o", c, "--kernel", twin).exit_code == 0
    np.testing.assert_array_equal(np.load(a), np.load(c))
    np.testing.assert_array_equal(np.load(b), np.load(c))


def test_a_step_with_an_inline_kernel_writes_itself_back():
    pipe = Pipeline.parse(f"convolve kernel='{BINOMIAL}'")
    again = Pipeline.parse(str(pipe))
    np.testing.assert_array_equal(
        again.steps[0].params["kernel"].matrix, pipe.steps[0].params["kernel"].matrix
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[0,-1,0],[-1,5]]", r"^kernel: ragged matrix: row 1 has 2 values, expected 3"),
        ('{"matrix": [[1, NaN]]}', r"^kernel: NaN at \[0\]\[1\]"),
        ('{"matrix": [[1, 1]], "normalise": true}', r"unknown key 'normalise' \(did you mean"),
        ('{"matrix": [[1, -1]], "normalize": true}', "sums to 0"),
        ("[[0,", r"invalid JSON at line 1, column 5.*received '\[\[0,': quote the whole kernel"),
    ],
)
def test_bad_inline_kernels_are_refused_with_the_file_wording(text, message):
    with pytest.raises(ValueError, match=message):
        as_kernel(text)


def test_a_shell_mangled_kernel_says_what_it_received(cli, tmp_path, rng):
    image = write_png(tmp_path / "in.png", rng.integers(0, 256, (8, 8)))
    result = cli("convolve", image, "-o", tmp_path / "o.png", "--kernel", "[[0,", "1]]")
    assert result.exit_code == 2
    assert "received '[[0,'" in result.stderr and "--kernel" in result.stderr
