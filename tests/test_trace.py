"""The arithmetic of one output pixel, checked against sums worked by hand and by numpy."""

import numpy as np
import pytest

from imgfilter.pipeline import Pipeline
from imgfilter.trace import trace

STEP = np.zeros((6, 6), np.float32)
STEP[3:] = 255


def lines(pipeline, image, y, x):
    return trace(Pipeline.parse(pipeline), image, y, x).splitlines()


def test_the_seeds_sobel_sum_and_the_minmax():
    got = lines("convolve kernel=sobel-y padding=valid", STEP, 1, 0)
    assert got[0] == "step 1 'convolve kernel=sobel-y padding=valid': output (1, 0) = −1020"
    assert got[1:5] == [
        "  input window rows 1..3, columns 0..2",
        "      0   0   0",
        "      0   0   0",
        "    255 255 255",
    ]
    assert "  0×1 + 0×2 + 0×1 + 0×0 + 0×0 + 0×0 + 255×(−1) + 255×(−2) + 255×(−1) = −1020" in got
    got = lines("convolve kernel=sobel-y padding=valid | rescale mode=minmax", STEP, 1, 0)
    assert "  pixel-wise: −1020 -> 0" in got
    assert lines("convolve kernel=sobel-y padding=valid", STEP, 0, 0)[-2].endswith("= 0")


def test_the_seeds_first_example_sums_to_six(tmp_path):
    image = np.array(
        [[1, 0, 1, 0, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [0, 1, 1, 1, 0]],
        np.float32,
    )
    kernel = tmp_path / "k.json"
    kernel.write_text('{"matrix": [[1, 0, 1], [0, 1, 1], [1, 0, 1]]}')
    got = trace(Pipeline.parse(f"convolve kernel={kernel} padding=valid"), image, 0, 0)
    assert "  1×1 + 0×0 + 1×1 + 1×0 + 1×1 + 1×1 + 1×1 + 0×0 + 1×1 = 6" in got.splitlines()


def test_padded_cells_are_marked_and_dilation_skips_are_dots():
    image = np.arange(36, dtype=np.float32).reshape(6, 6)
    got = lines("convolve kernel=box dilation=2 border=constant cval=9", image, 0, 0)
    assert got[1] == "  input window rows -2..2, columns -2..2 (padding: constant, marked ')"
    assert got[2].split() == ["9'", "·", "9'", "·", "9'"]
    assert got[4].split() == ["9'", "·", "0", "·", "2"]
    total = (9 * 5 + 0 + 2 + 12 + 14) / 9
    assert got[0].endswith(f"= {total:.6g}")


def test_stride_moves_the_window_by_the_stride():
    image = np.arange(49, dtype=np.float32).reshape(7, 7)
    got = lines("convolve kernel=sobel-x padding=valid stride=2", image, 1, 2)
    assert got[1] == "  input window rows 2..4, columns 4..6"
    window = image[2:5, 4:7]
    expected = float((window * np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])).sum())
    assert got[-2].endswith(f"= {expected:g}")


def test_pooling_shows_the_window_and_the_reduction():
    image = np.array([[3, 2, 0, 0], [0, 7, 1, 3], [5, 2, 3, 0], [0, 9, 2, 3]], np.float32)
    got = lines("pool size=2 mode=avg", image, 1, 0)
    assert got[0].endswith("output (1, 0) = 4")
    assert got[2].split() == ["5", "2"] and got[3].split() == ["0", "9"]
    assert "  avg = 4" in got


def test_a_chain_follows_the_anchor_back_through_each_step():
    image = np.random.default_rng(0).uniform(0, 255, (12, 12)).astype(np.float32)
    got = lines("gaussian sigma=1 | convolve kernel=sobel-x padding=valid stride=2", image, 1, 1)
    assert got[0].startswith("step 1 'gaussian sigma=1': output (3, 3) = ")
    assert any(line.startswith("step 2 ") and "output (1, 1)" in line for line in got)


@pytest.mark.parametrize(
    ("pipeline", "y", "x", "message"),
    [
        ("convolve kernel=sobel-y padding=valid", 4, 0, r"outside the output 4×4"),
        ("relu | rescale", 0, 0, "needs a windowed step"),
        ("pool size=global", 0, 0, "global pooling gives one value per channel"),
    ],
)
def test_bad_traces_are_refused(pipeline, y, x, message):
    with pytest.raises(ValueError, match=message):
        trace(Pipeline.parse(pipeline), STEP, y, x)
