"""Canny: agreement with OpenCV and scikit-image on photos, structure on synthetic shapes."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.feature
from PIL import Image
from scipy import ndimage

from imgfilter.ops.canny import canny
from imgfilter.ops.filters import grayscale

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "images"
PHOTO_DIR = SHARED if SHARED.is_dir() else REPO / "samples"
PHOTOS = sorted(p for p in PHOTO_DIR.iterdir() if p.suffix in (".png", ".jpg"))


def load_gray(path: Path) -> np.ndarray:
    """8-bit luminance, cropped to at most 384×384 to keep the suite fast."""
    return np.asarray(Image.open(path).convert("L"))[:384, :384]


def f1_score(found: np.ndarray, expected: np.ndarray, tolerance: int = 1) -> float:
    """F1 of two edge maps, a pixel counting as matched within ``tolerance`` pixels."""
    grow = np.ones((2 * tolerance + 1,) * 2, dtype=bool)
    near_expected = ndimage.binary_dilation(expected, grow)
    near_found = ndimage.binary_dilation(found, grow)
    precision = (found & near_expected).sum() / max(found.sum(), 1)
    recall = (expected & near_found).sum() / max(expected.sum(), 1)
    return 2 * precision * recall / max(precision + recall, 1e-12)


def has_2x2_block(edges: np.ndarray) -> bool:
    return bool((edges[:-1, :-1] & edges[1:, :-1] & edges[:-1, 1:] & edges[1:, 1:]).any())


def test_photo_list_is_not_empty():
    assert len(PHOTOS) >= 4


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
@pytest.mark.parametrize("low, high", [(40, 80), (80, 160)])
def test_matches_opencv_l2_canny_on_a_preblurred_photo(path, low, high):
    blurred = cv2.GaussianBlur(load_gray(path), (0, 0), 1.4)
    expected = cv2.Canny(blurred, low, high, L2gradient=True) > 0
    found = canny(blurred, sigma=0, low=low, high=high)
    assert f1_score(found, expected) >= 0.9


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
def test_matches_skimage_canny_with_same_sigma_and_thresholds(path):
    gray = load_gray(path).astype(np.float64)
    expected = skimage.feature.canny(gray, sigma=2.0, low_threshold=20, high_threshold=40)
    found = canny(gray, sigma=2.0, low=20, high=40)
    assert f1_score(found, expected) >= 0.9


def noisy_shape(kind: str, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A 120×120 bright disk or square on a dark ground plus Gaussian noise; and its mask."""
    yy, xx = np.mgrid[:120, :120]
    if kind == "disk":
        inside = (yy - 58.3) ** 2 + (xx - 61.7) ** 2 <= 37.5**2
    else:
        inside = (yy >= 25) & (yy < 90) & (xx >= 30) & (xx < 97)
    rng = np.random.default_rng(seed)
    image = np.where(inside, 170.0, 70.0) + rng.normal(0, noise, inside.shape)
    return np.clip(image, 0, 255), inside


@pytest.mark.parametrize("kind", ["disk", "square"])
@pytest.mark.parametrize("noise, sigma", [(10, 1.0), (25, 2.0)])
def test_automatic_thresholds_find_the_true_boundary_one_pixel_wide(kind, noise, sigma):
    image, inside = noisy_shape(kind, noise, seed=3)
    edges = canny(image, sigma=sigma)
    boundary = inside ^ ndimage.binary_erosion(inside)
    distance = ndimage.distance_transform_edt(~boundary)
    assert edges.any()
    assert distance[edges].max() <= 2  # every edge pixel lies on the boundary
    near_edges = ndimage.binary_dilation(edges, iterations=2)
    assert (boundary & near_edges).sum() >= 0.97 * boundary.sum()  # and it is all found
    assert not has_2x2_block(edges)


def test_a_straight_step_gives_a_single_column_of_edge_pixels():
    image = np.zeros((20, 30))
    image[:, 13:] = 200
    edges = canny(image, sigma=1.5, low=50, high=100)
    assert edges[:, 13].all()
    assert edges.sum() == 20


def test_hysteresis_keeps_weak_edges_connected_to_strong_ones_only():
    image = np.zeros((24, 40))
    image[:, 10:] = 30  # a weak step at column 10 ...
    image[:8, 10:20] += 70  # ... that is strong in its top rows
    image[:, 30:] += 30  # and a separate weak step at column 30
    edges = canny(image, sigma=0, low=100, high=300)  # magnitudes: 400 strong, 120 weak
    assert edges[:8, 10].all() and edges[10:, 10].all()  # (row 8-9 is a corner)
    assert not edges[:, 25:].any()
    assert canny(image, sigma=0, low=100, high=100)[:, 30].all()


def test_colour_input_uses_luminance():
    rng = np.random.default_rng(1)
    rgb = ndimage.gaussian_filter(rng.random((40, 50, 3)) * 255, (2, 2, 0))
    assert np.array_equal(canny(rgb, 1.0, 5, 10), canny(grayscale(rgb), 1.0, 5, 10))


def test_flat_and_ramp_images_have_no_edges():
    assert not canny(np.full((30, 30), 77.0)).any()
    ramp = np.tile(np.linspace(0, 255, 40), (30, 1))
    # (Near the border the mirrored ramp is a roof whose crest NMS may keep.)
    assert not canny(ramp, sigma=1.0, low=20, high=40)[:, 6:-6].any()


def reference_magnitude(image: np.ndarray, sigma: float) -> np.ndarray:
    smooth = ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="mirror", truncate=4)
    gx = ndimage.sobel(smooth, axis=1, mode="mirror")
    gy = ndimage.sobel(smooth, axis=0, mode="mirror")
    return np.hypot(gx, gy)


def test_quantiles_are_quantiles_of_the_gradient_magnitude():
    gray = load_gray(PHOTOS[0])
    low, high = np.quantile(reference_magnitude(gray, 1.5), [0.8, 0.9])
    by_quantile = canny(gray, sigma=1.5, quantiles=(0.8, 0.9))
    by_value = canny(gray, sigma=1.5, low=low, high=high)
    assert f1_score(by_quantile, by_value, tolerance=0) > 0.995


def test_one_threshold_sets_the_other_at_one_to_two():
    gray = load_gray(PHOTOS[0])
    both = canny(gray, 1.0, 30, 60)
    assert np.array_equal(canny(gray, 1.0, low=30), both)
    assert np.array_equal(canny(gray, 1.0, high=60), both)


def test_higher_thresholds_give_a_subset_of_edges():
    gray = load_gray(PHOTOS[0])
    many, few = canny(gray, 1.0, 20, 40), canny(gray, 1.0, 60, 120)
    assert few.sum() < many.sum()
    assert not (few & ~many).any()


def test_output_is_a_boolean_map_of_the_input_size():
    edges = canny(np.zeros((7, 9, 3)))
    assert edges.dtype == bool and edges.shape == (7, 9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"low": 50, "high": 10}, "low must be <= high, got low=50 and high=10"),
        ({"sigma": -1}, "sigma must be >= 0, got -1.0"),
        ({"low": -5, "high": 10}, "low must be >= 0"),
        ({"quantiles": (0.5, 1.5)}, r"quantiles\[1\] must be in \[0, 1\]"),
        ({"quantiles": (0.9, 0.5)}, "low <= high"),
        ({"quantiles": (0.5, 0.9), "low": 3}, "either low/high thresholds or quantiles"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        canny(np.zeros((8, 8)), **kwargs)


@pytest.mark.parametrize("image", [np.zeros(5), np.zeros((0, 4)), np.zeros((2, 2, 2, 2))])
def test_bad_image_shapes_are_refused(image):
    with pytest.raises(ValueError, match="image must be"):
        canny(image)


def test_non_numeric_image_is_refused():
    with pytest.raises(TypeError, match="real numbers"):
        canny(np.array([["a", "b"], ["c", "d"]]))


def test_result_does_not_depend_on_the_band_size(monkeypatch):
    import imgfilter.ops.canny as module

    gray = load_gray(PHOTOS[0])[:100, :90]
    whole = canny(gray, 1.0, 20, 40)
    monkeypatch.setattr(module, "BAND_ROWS", 7)
    assert np.array_equal(canny(gray, 1.0, 20, 40), whole)


def test_8_bit_pixels_give_the_edges_of_their_float32_values_without_a_float32_copy():
    """canny (and grayscale) read uint8 as it is: the same bits as from float32, and
    no float32 copy of the colour image (12.6 MB here) is ever made."""
    import tracemalloc

    from imgfilter.ops import filters
    from imgfilter.pipeline import Pipeline

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    values = pixels.astype(np.float32)
    gray = filters.grayscale(pixels)
    assert gray.dtype == np.float32
    np.testing.assert_array_equal(gray.view(np.uint32), filters.grayscale(values).view(np.uint32))
    step = Pipeline.parse("canny sigma=1.4 low=30 high=90")

    def run(image):
        tracemalloc.start()
        try:
            return step.run(image), tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    expected, float_peak = run(values)
    got, byte_peak = run(pixels)
    np.testing.assert_array_equal(got, expected)
    # A float32 copy of the colour would add values.nbytes to the peak of the float run.
    assert byte_peak < float_peak + values.nbytes / 2, (byte_peak, float_peak)
