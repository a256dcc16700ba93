"""Rescaling into 0-255."""

import numpy as np
import pytest

from imgfilter.rescaling import rescale


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
