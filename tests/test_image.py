"""Rescaling into 0-255."""

import numpy as np
import pytest

from imgfilter.image import join_alpha, rescale, split_alpha


def test_clip_clamps():
    assert rescale(np.array([[-5.0, 100.0, 300.0]]), "clip").tolist() == [[0, 100, 255]]


def test_abs_takes_magnitude_then_clamps():
    assert rescale(np.array([[-5.0, 100.0, -300.0]]), "abs").tolist() == [[5, 100, 255]]


def test_minmax_stretches_globally():
    result = rescale(np.array([[10.0, 20.0], [30.0, 60.0]]), "minmax")
    assert result.tolist() == [[0, 51], [102, 255]]


def test_minmax_per_channel_stretches_each_channel():
    image = np.dstack([np.array([[0.0, 10.0]]), np.array([[100.0, 300.0]])])
    assert rescale(image, "minmax", per_channel=True).tolist() == [[[0, 0], [255, 255]]]
    assert rescale(image, "minmax").tolist() == [[[0, 85], [8.5, 255]]]


def test_minmax_of_a_flat_image_is_zero():
    assert rescale(np.full((3, 3), 42.0), "minmax").tolist() == [[0] * 3] * 3


def test_none_keeps_values():
    values = np.array([[-1020.0, 3.25]])
    assert rescale(values, "none").tolist() == values.tolist()


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be one of clip, minmax, abs, none; got 'log'"):
        rescale(np.zeros((2, 2)), "log")


def test_split_and_join_alpha_round_trip(rng):
    for channels in (2, 4):
        image = rng.uniform(0, 255, size=(3, 4, channels)).astype(np.float32)
        colour, alpha = split_alpha(image)
        assert colour.shape == ((3, 4) if channels == 2 else (3, 4, 3))
        np.testing.assert_array_equal(alpha, image[..., -1])
        np.testing.assert_array_equal(join_alpha(colour, alpha), image)


def test_split_alpha_leaves_gray_and_rgb_alone(rng):
    for shape in [(3, 4), (3, 4, 3)]:
        image = rng.uniform(0, 255, size=shape).astype(np.float32)
        colour, alpha = split_alpha(image)
        assert alpha is None and colour is image
        assert join_alpha(colour, None) is colour


def test_join_alpha_refuses_mismatched_shapes():
    with pytest.raises(
        ValueError, match=r"alpha shape \(2, 2\) does not match the image's \(3, 4\)"
    ):
        join_alpha(np.zeros((3, 4, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="alpha joins a gray or RGB image only"):
        join_alpha(np.zeros((3, 4, 5)), np.zeros((3, 4)))
