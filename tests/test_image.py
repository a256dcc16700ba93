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


def test_a_float_image_on_the_0_1_scale_gets_one_warning():
    import warnings

    import imgfilter as imf

    unit = np.random.default_rng(0).uniform(0, 1, (32, 32))
    for call in (
        lambda: imf.canny(unit, low=20, high=60),
        lambda: imf.denoise(unit, "nlm"),
        lambda: imf.Pipeline.parse("gaussian sigma=2 | sobel | pool size=2").run(unit),
    ):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            call()
        messages = [str(w.message) for w in seen]
        assert messages == [
            "image values all lie in [0, 1]; imgfilter works on the 0-255 scale: "
            "multiply by 255 first"
        ]


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 4)), np.full((4, 4), 2.0), np.ones((4, 4), int), np.eye(4)],
)
def test_no_warning_for_black_images_the_0_255_scale_integers_or_masks(image):
    import warnings

    import imgfilter as imf

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        imf.gaussian(image, 1)


def test_the_command_line_warns_in_one_line(cli, tmp_path):
    source = tmp_path / "unit.npy"
    np.save(source, np.full((6, 6), 0.5))
    result = cli("gaussian", source, "-o", tmp_path / "out.npy")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"imgfilter: warning: {source}: image values all lie in [0, 1]; imgfilter works on"
        " the 0-255 scale: multiply by 255 first"
    ]
