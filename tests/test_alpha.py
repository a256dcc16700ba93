"""Alpha in pipelines: averaging steps blur premultiplied colour and alpha together (no
colour bleed, soft outlines, as GIMP does); other steps carry alpha through their geometry."""

import numpy as np
import pytest
from conftest import write_png
from PIL import Image

from imgfilter.ops import filters
from imgfilter.pipeline import Pipeline


def logo():
    """The issue's red-under-transparent square: red everywhere, opaque only in the middle."""
    image = np.zeros((100, 100, 4), np.float32)
    image[..., 0] = 255
    image[30:70, 30:70] = 255
    return image


def test_a_blurred_logo_has_no_pink_fringe_and_a_soft_outline():
    got = Pipeline.parse("gaussian sigma=5").run(logo())
    visible = got[..., 3] > 0
    # Colour under transparent pixels was pure red: no visible pixel turns pink or white.
    np.testing.assert_allclose(got[visible][:, 0], 255, atol=1e-3)
    inside = got[..., 3] >= 254.5
    assert inside.any() and np.allclose(got[inside][:, 1:3], 255, atol=1e-3)
    # The outline's alpha is the blurred alpha.
    np.testing.assert_allclose(got[..., 3], filters.gaussian(logo()[..., 3], 5), atol=1e-3)
    assert 0 < got[50, 30, 3] < 255


def test_premultiplied_blur_equals_a_numpy_reference():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (23, 19, 4)).astype(np.float32)
    image[..., 3] = np.where(rng.random((23, 19)) < 0.3, 0, image[..., 3])
    got = Pipeline.parse("box size=3").run(image)
    a = image[..., 3:] / 255
    blurred = filters.box(np.concatenate([image[..., :3] * a, image[..., 3:]], axis=2), 3)
    alpha = blurred[..., 3]
    colour = np.where(
        alpha[..., None] > 0, blurred[..., :3] * 255 / np.maximum(alpha, 1e-30)[..., None], 0
    )
    np.testing.assert_allclose(got[..., 3], alpha, atol=1e-3)
    np.testing.assert_allclose(got[..., :3], colour, rtol=1e-4, atol=1e-2)


def test_a_fully_transparent_result_has_no_colour_and_no_division_by_zero():
    image = np.zeros((6, 7, 4), np.float32)
    image[..., :3] = 200
    with np.errstate(all="raise"):
        got = Pipeline.parse("gaussian sigma=1").run(image)
    assert not got.any()


@pytest.mark.parametrize(
    ("pipeline", "averages"),
    [
        ("gaussian sigma=2", True),
        ("box size=3", True),
        ("sharpen", True),
        ("unsharp sigma=1", True),
        ("denoise method=median", True),
        ("pool size=2 mode=avg", True),
        ("convolve kernel=gaussian3", True),
        ("convolve kernel=sobel-x", False),
        ("sobel", False),
        ("pool size=2 mode=max", False),
        ("relu", False),
    ],
)
def test_which_steps_premultiply(pipeline, averages):
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 255, (12, 12, 4)).astype(np.float32)
    premultiplied = Pipeline.parse(pipeline).run(image)
    followed = Pipeline.parse(pipeline).run(image, alpha="follow")
    assert np.array_equal(premultiplied, followed) != averages


def test_alpha_drop_and_a_bad_mode():
    image = np.zeros((5, 5, 4), np.float32)
    assert Pipeline.parse("gaussian").run(image, alpha="drop").shape == (5, 5, 3)
    with pytest.raises(ValueError, match="alpha must be one of premultiply, follow, drop"):
        Pipeline.parse("gaussian").run(image, alpha="blend")


def test_canny_of_an_rgba_image_is_an_opaque_edge_map(cli, tmp_path):
    pixels = np.zeros((40, 40, 4), np.uint8)
    pixels[:, 20:, :3] = 255
    pixels[..., 3] = 0  # all transparent: the edges must still show
    source = write_png(tmp_path / "in.png", pixels, mode="RGBA")
    out = tmp_path / "edges.png"
    assert cli("canny", source, "-o", out, "--low", "50", "--high", "100").exit_code == 0
    with Image.open(out) as picture:
        assert picture.mode == "L"
        assert (np.asarray(picture) == 255).any()


def test_the_library_functions_treat_alpha_like_any_channel():
    image = logo()
    np.testing.assert_array_equal(
        filters.gaussian(image, 5)[..., 3], filters.gaussian(image[..., 3], 5)
    )


def test_a_3d_kernel_on_rgba_sums_the_colour_channels_only():
    image = np.random.default_rng(4).uniform(0, 255, (9, 9, 4)).astype(np.float32)
    got = Pipeline.parse("convolve kernel='[[[1,1,1]]]'").run(image)
    np.testing.assert_allclose(got[..., 0], image[..., :3].sum(axis=2), rtol=1e-6)
