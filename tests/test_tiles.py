"""Strips give the whole-image result: random chains against step-by-step runs and OpenCV."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgfilter.kernels import as_kernel
from imgfilter.pipeline import Pipeline
from imgfilter.tiles import Reach, output_shapes, plan_tile, run_steps, run_tile

STEPS = [
    "gaussian sigma={sigma} border={border}",
    "box size={k},{k2} border={border}",
    "sobel border={border}",
    "sobel direction=y border={border}",
    "laplacian kind=8 border={border}",
    "sharpen border={border}",
    "unsharp sigma={sigma} amount=1.5",
    "relu",
    "grayscale",
    "convolve kernel=sobel-x padding={padding} stride={s} dilation={d} border={border}",
    "convolve kernel=gaussian5 padding={padding} stride={s},{s2} border={border} cval=9",
    "convolve kernel=box:size={k},{k2} padding={padding} stride={s} dilation={d},1",
    "pool size={k} stride={s} mode={mode} padding={padding} border={border}",
    "denoise method=mean size={k}",
]
BORDERS = ["constant", "reflect", "symmetric", "edge"]


def whole_image(steps, image):
    for step in steps:
        image = step.op.apply(image, step.params)
    return image


@st.composite
def chains(draw):
    texts = []
    for _ in range(draw(st.integers(1, 3))):
        template = draw(st.sampled_from(STEPS))
        texts.append(
            template.format(
                sigma=draw(st.sampled_from([0.7, 1.5, 3])),
                border=draw(st.sampled_from(BORDERS)),
                k=draw(st.integers(1, 5)),
                k2=draw(st.integers(1, 4)),
                s=draw(st.integers(1, 3)),
                s2=draw(st.integers(1, 3)),
                d=draw(st.integers(1, 3)),
                mode=draw(st.sampled_from(["max", "avg", "min"])),
                padding=draw(st.sampled_from(["valid", "same", "1", "2,0", "0,1,3,2", "7"])),
            )
        )
    return " | ".join(texts)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(
    chain=chains(),
    height=st.integers(1, 40),
    width=st.integers(1, 12),
    colour=st.booleans(),
    strip=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_random_chains_in_strips_equal_the_whole_image(chain, height, width, colour, strip, seed):
    pipe = Pipeline.parse(chain)
    shape = (height, width, 3) if colour else (height, width)
    image = np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)
    try:
        expected = whole_image(pipe.steps, image)
    except ValueError:  # the chain does not fit this image: the strips must say so too
        with pytest.raises(ValueError):
            run_steps(pipe.steps, image, None, strip_rows=strip)
        return
    got, _ = run_steps(pipe.steps, image, None, strip_rows=strip)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    chain=chains(),
    height=st.integers(1, 30),
    width=st.integers(1, 30),
    tile=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    seed=st.integers(0, 2**16),
)
def test_random_chains_in_tiles_of_rows_and_columns_equal_the_whole_image(
    chain, height, width, tile, seed
):
    steps = [s for s in Pipeline.parse(chain).steps if not s.op.needs_whole_image(s.params)]
    image = np.random.default_rng(seed).uniform(0, 255, (height, width)).astype(np.float32)
    try:
        expected = whole_image(steps, image)
    except ValueError:
        return
    shapes = output_shapes(steps, image.shape)
    got = np.empty(shapes[-1], np.float32)
    for y0 in range(0, got.shape[0], tile[0]):
        for x0 in range(0, got.shape[1], tile[1]):
            rows = (y0, min(got.shape[0], y0 + tile[0]))
            cols = (x0, min(got.shape[1], x0 + tile[1]))
            plan = plan_tile(steps, shapes, rows, cols)
            ys, xs = plan[0][1] if plan else (None, None)
            block = image[ys.first : ys.stop, xs.first : xs.stop] if plan else image
            got[slice(*rows), slice(*cols)] = run_tile(plan, block, None)[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize(
    ("border", "cv_border"),
    [
        ("reflect", cv2.BORDER_REFLECT_101),
        ("symmetric", cv2.BORDER_REFLECT),
        ("edge", cv2.BORDER_REPLICATE),
        ("constant", cv2.BORDER_CONSTANT),
    ],
)
def test_strips_agree_with_opencv_filter2d(border, cv_border):
    rng = np.random.default_rng(3)
    image = rng.uniform(0, 255, (53, 31)).astype(np.float32)
    kernel = rng.normal(size=(5, 3)).astype(np.float32)
    steps = Pipeline.parse(f"convolve kernel=box:size=5,3 border={border}").steps
    steps[0].params["kernel"] = as_kernel(kernel.astype(np.float64))
    got, _ = run_steps(steps, image, None, strip_rows=4)
    expected = cv2.filter2D(image, -1, kernel, borderType=cv_border)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)


def test_alpha_in_strips_equals_alpha_on_the_whole_image():
    rng = np.random.default_rng(4)
    image = rng.uniform(0, 255, (37, 11, 3)).astype(np.float32)
    alpha = rng.uniform(0, 255, (37, 11)).astype(np.float32)
    steps = Pipeline.parse("convolve kernel=sobel-x stride=2 padding=1 | pool size=2").steps
    colour, plane = image, alpha
    for step in steps:
        colour, plane = step.op.carry(colour, plane, step.params, "follow")
    got, got_alpha = run_steps(steps, image, alpha, "follow", strip_rows=3)
    np.testing.assert_array_equal(got, colour)
    np.testing.assert_array_equal(got_alpha, plane)


def test_steps_that_need_the_whole_image_run_whole():
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 255, (29, 17)).astype(np.float32)
    steps = Pipeline.parse("gaussian sigma=2 border=wrap | canny | box size=3").steps
    got, _ = run_steps(steps, image, None, strip_rows=2)
    np.testing.assert_array_equal(got, whole_image(steps, image))


def test_uint8_input_is_converted_one_strip_at_a_time():
    rng = np.random.default_rng(6)
    image = rng.integers(0, 256, (33, 21, 3), dtype=np.uint8)
    steps = Pipeline.parse("gaussian sigma=1.2 | sobel").steps
    got, _ = run_steps(steps, image, None, strip_rows=5)
    np.testing.assert_array_equal(got, whole_image(steps, image.astype(np.float32)))


def test_rows_at_true_edges_hold_what_reflection_needs():
    # 20 rows of padding above a 30-row image: the first strip must read 21 rows.
    rows = Reach(1, 3, 20, 20, True).span_of(0, 1, 30)
    assert (rows.first, rows.before, rows.keep) == (0, 20, 0) and rows.stop >= 21
    # Taller padding than the image: the whole image.
    assert Reach(1, 3, 40, 40, True).span_of(5, 6, 30).stop == 30
