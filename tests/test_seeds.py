"""The worked examples of the lecture notes (DESIGN.md, last section), exactly."""

import numpy as np
import pytest

import imgfilter as imf


def test_seed_1_binary_image_valid():
    image = [[1, 0, 1, 0, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [0, 1, 1, 1, 0]]
    kernel = [[1, 0, 1], [0, 1, 1], [1, 0, 1]]
    result = imf.convolve(np.array(image), np.array(kernel), padding="valid")
    assert result.tolist() == [[6, 2, 3], [4, 3, 4], [4, 4, 3]]


def test_seed_2_valid():
    image = [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]]
    kernel = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
    result = imf.convolve(np.array(image), np.array(kernel), padding="valid")
    assert result.tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


def test_seed_3_two_by_two_kernel():
    result = imf.convolve(np.arange(9).reshape(3, 3), np.array([[0, 1], [2, 3]]), padding="valid")
    assert result.tolist() == [[19, 25], [37, 43]]


def test_seed_4_horizontal_edge_and_minmax():
    image = np.zeros((6, 6))
    image[3:] = 255
    kernel = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    result = imf.convolve(image, kernel, padding="valid")
    assert result.tolist() == [[0] * 4, [-1020] * 4, [-1020] * 4, [0] * 4]
    assert imf.rescale(result, "minmax").tolist() == [[255] * 4, [0] * 4, [0] * 4, [255] * 4]
    # The same kernel is the catalog's sobel-y.
    assert imf.convolve(image, "sobel-y", padding="valid").tolist() == result.tolist()


@pytest.mark.parametrize(
    ("mode", "expected"), [("max", [[7, 3], [9, 3]]), ("avg", [[3, 1], [4, 2]])]
)
def test_seed_5_pooling(mode, expected):
    image = np.array([[3, 2, 0, 0], [0, 7, 1, 3], [5, 2, 3, 0], [0, 9, 2, 3]], dtype=float)
    assert imf.pool(image, size=2, stride=2, mode=mode).tolist() == expected


def test_seed_6_output_sizes():
    assert imf.output_shape((6, 6), (3, 3), padding="valid") == (4, 4)
    assert imf.output_shape((6, 6), (3, 3), padding=1) == (6, 6)
    assert imf.output_shape((6, 6), (3, 3), padding="valid", stride=2) == (2, 2)
    assert imf.output_shape((5, 5), (3, 3), padding="same") == (5, 5)
    for w1, f, p, s in [(6, 3, 0, 1), (6, 3, 1, 1), (6, 3, 0, 2), (7, 3, 1, 2), (32, 5, 2, 3)]:
        w2 = (w1 - f + 2 * p) // s + 1
        assert imf.output_shape((w1, w1), (f, f), padding=p, stride=s) == (w2, w2)
        assert imf.convolve(np.zeros((w1, w1)), np.ones((f, f)), padding=p, stride=s).shape == (
            w2,
            w2,
        )
