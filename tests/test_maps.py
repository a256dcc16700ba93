"""Feature maps are saved as maps, never as colour or alpha, each mapped on its own; and
``compare`` pairs gray with colour. The numbers are checked against numpy written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SAMPLES, write_png
from PIL import Image

from imgfilter.io import _maps

H, W = 18, 23


def correlate_same(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 cross-correlation, 'same' size, numpy's reflect padding: the contract's defaults."""
    padded = np.pad(image.astype(np.float64), 1, mode="reflect")
    out = np.zeros(image.shape)
    for dy in range(3):
        for dx in range(3):
            out += kernel[dy, dx] * padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]
    return out


def minmax(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)


def bank_file(tmp_path, count: int, seed: int = 0):
    """A bank of ``count`` random 3x3 kernels (not zero-sum), and the kernels themselves."""
    rng = np.random.default_rng(seed)
    kernels = [rng.integers(-4, 6, (3, 3)).astype(float) for _ in range(count)]
    names = [f"k{k}-{'abcdef'[k]}" for k in range(count)]
    path = tmp_path / f"bank{count}.json"
    members = [{"name": n, "matrix": k.tolist()} for n, k in zip(names, kernels, strict=True)]
    data = {"name": f"bank{count}", "kernels": members}
    path.write_text(json.dumps(data))
    return path, kernels, names


@pytest.fixture
def gray(tmp_path):
    values = np.random.default_rng(7).integers(0, 256, (H, W)).astype(np.uint8)
    return write_png(tmp_path / "gray.png", values), values


def run_ok(cli, *args):
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    return result


def pixels(path) -> np.ndarray:
    with Image.open(path) as picture:
        assert picture.mode in ("L", "I;16"), picture.mode  # never colour, never alpha
        return np.asarray(picture).astype(np.float64)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6])
def test_a_bank_makes_a_labelled_sheet_each_map_mapped_on_its_own(cli, tmp_path, gray, count):
    source, values = gray
    bank, kernels, names = bank_file(tmp_path, count)
    out = tmp_path / "sheet.png"
    run_ok(cli, "convolve", source, "--kernel", bank, "-o", out, "--rescale", "minmax")
    sheet = pixels(out)
    expected = [minmax(correlate_same(values, k)) for k in kernels]
    if count == 1:  # one map is a gray image
        assert sheet.shape == (H, W)
        np.testing.assert_allclose(sheet, expected[0], atol=0.5 + 1e-6)
        return
    grid = _maps.layout(count, H, W, names)
    assert sheet.shape == grid.shape
    assert (grid.columns, grid.rows) == {2: (2, 1), 3: (2, 2), 4: (2, 2), 5: (3, 2), 6: (3, 2)}[
        count
    ]
    for k, (y, x) in enumerate(grid.origins):
        np.testing.assert_allclose(sheet[y : y + H, x : x + W], expected[k], atol=0.5 + 1e-6)
        assert sheet[y : y + H, x : x + W].min() == 0 and sheet[y : y + H, x : x + W].max() == 255
        label = sheet[y - 1 - grid.label : y - 1, x - 1 : x + W]
        assert label.min() < 128 and (label == 255).mean() > 0.5  # dark text on white
        assert (sheet[y - 1, x - 1 : x + W + 1] == 128).all()  # the frame's top edge


@pytest.mark.parametrize("count", [1, 2, 5])
def test_maps_files_writes_one_gray_file_per_map(cli, tmp_path, gray, count):
    source, values = gray
    bank, kernels, _ = bank_file(tmp_path, count, seed=count)
    out = tmp_path / "edges.png"
    run_ok(cli, "convolve", source, "--kernel", bank, "-o", out, "--maps", "files")
    raw = [correlate_same(values, k) for k in kernels]
    if count == 1:
        assert sorted(p.name for p in tmp_path.glob("edges*")) == ["edges.png"]
        np.testing.assert_allclose(pixels(out), np.rint(np.clip(raw[0], 0, 255)), atol=1e-6)
        return
    assert not out.exists()
    for k in range(count):
        got = pixels(tmp_path / f"edges-{k}.png")
        np.testing.assert_allclose(got, np.rint(np.clip(raw[k], 0, 255)), atol=1e-6)


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6])
def test_npy_keeps_the_stack_of_maps(cli, tmp_path, gray, count):
    source, values = gray
    bank, kernels, _ = bank_file(tmp_path, count)
    run_ok(cli, "convolve", source, "--kernel", bank, "-o", tmp_path / "maps.npy")
    saved = np.load(tmp_path / "maps.npy")
    expected = np.stack([correlate_same(values, k) for k in kernels], axis=-1)
    assert saved.shape == ((H, W) if count == 1 else (H, W, count))
    np.testing.assert_allclose(saved.reshape(H, W, count), expected, rtol=1e-5, atol=1e-3)


def test_text_blocks_are_headed_by_the_kernel_names(cli, tmp_path, gray):
    source, values = gray
    bank, kernels, names = bank_file(tmp_path, 3)
    run_ok(cli, "convolve", source, "--kernel", bank, "-o", tmp_path / "maps.csv")
    blocks = (tmp_path / "maps.csv").read_text().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [f"# map {k}: {n}" for k, n in enumerate(names)]
    first = np.array([[float(v) for v in line.split(",")] for line in blocks[0].splitlines()[1:]])
    np.testing.assert_allclose(first, correlate_same(values, kernels[0]), rtol=1e-5, atol=1e-3)


def test_a_float_tiff_keeps_one_page_per_map_named_by_its_kernel(cli, tmp_path, gray):
    source, values = gray
    bank, kernels, names = bank_file(tmp_path, 4)
    out = tmp_path / "maps.tif"
    run_ok(cli, "convolve", source, "--kernel", bank, "-o", out, "--rescale", "none")
    with Image.open(out) as picture:
        assert picture.n_frames == 4
        for k in range(4):
            picture.seek(k)
            assert picture.mode == "F" and picture.tag_v2[285] == names[k]
            expected = correlate_same(values, kernels[k])
            np.testing.assert_allclose(np.asarray(picture), expected, rtol=1e-5, atol=1e-3)


def test_the_sample_diagonal_bank_is_no_longer_gray_plus_alpha(cli, tmp_path):
    bank = SAMPLES / "kernels" / "diagonal-edges.json"
    out = tmp_path / "diag.png"
    run_ok(cli, "convolve", SAMPLES / "camera.png", "--kernel", bank, "-o", out)
    with Image.open(out) as picture:
        assert picture.mode == "L" and "transparency" not in picture.info
    grid = _maps.layout(2, 512, 512, ["diagonal-up", "diagonal-down"])
    camera = np.asarray(Image.open(SAMPLES / "camera.png").convert("L"))
    up = [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]
    expected = np.rint(np.clip(np.abs(correlate_same(camera, np.array(up))), 0, 255))  # zero-sum
    (y, x) = grid.origins[0]
    np.testing.assert_allclose(pixels(out)[y : y + 512, x : x + 512], expected, atol=1e-6)


def test_maps_of_a_gray_alpha_image_carry_no_alpha(cli, tmp_path):
    values = np.random.default_rng(3).integers(0, 256, (H, W, 2)).astype(np.uint8)
    source = write_png(tmp_path / "la.png", values, mode="LA")
    for count in (1, 3):
        bank, kernels, names = bank_file(tmp_path, count)
        out = tmp_path / f"maps{count}.png"
        run_ok(cli, "convolve", source, "--kernel", bank, "-o", out, "--rescale", "minmax")
        sheet = pixels(out)
        y, x = _maps.layout(count, H, W, names).origins[-1] if count > 1 else (0, 0)
        expected = minmax(correlate_same(values[..., 0], kernels[-1]))
        np.testing.assert_allclose(sheet[y : y + H, x : x + W], expected, atol=0.5 + 1e-6)


def test_a_sheet_goes_to_stdout_but_files_cannot(cli, tmp_path, gray):
    source, _ = gray
    bank, _, names = bank_file(tmp_path, 3)
    result = cli("convolve", source, "--kernel", bank, "-o", "-", "--format", "png")
    assert result.exit_code == 0
    (tmp_path / "piped.png").write_bytes(result.stdout_bytes)
    assert pixels(tmp_path / "piped.png").shape == _maps.layout(3, H, W, names).shape
    refused = cli(
        "convolve", source, "--kernel", bank, "-o", "-", "--format", "png", "--maps", "files"
    )
    assert refused.exit_code == 2 and "use --maps sheet" in refused.stderr


def test_maps_files_never_overwrite_an_input_unasked(cli, tmp_path):
    source = write_png(tmp_path / "x-1.png", np.zeros((5, 5), np.uint8))
    bank, _, _ = bank_file(tmp_path, 2)
    result = cli("convolve", source, "--kernel", bank, "-o", tmp_path / "x.png", "--maps", "files")
    assert result.exit_code == 2 and "x-1.png: output is the input file" in result.stderr
    assert not (tmp_path / "x-0.png").exists()


def test_a_3d_kernel_after_a_bank_makes_one_image_again(cli, tmp_path, gray):
    source, _ = gray
    bank, _, _ = bank_file(tmp_path, 2)
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps({"name": "mix", "matrix": [[[1, -1]] * 3] * 3}))
    out = tmp_path / "one.png"
    run_ok(cli, "run", f"convolve kernel={bank} | convolve kernel={mix}", source, "-o", out)
    assert pixels(out).shape == (H, W)


def test_save_maps_in_the_library(tmp_path):
    stack = np.stack([np.arange(12.0).reshape(3, 4) * s for s in (1, -2, 3)], axis=-1)
    paths = _maps.save_maps(stack, tmp_path / "m.png", ["a", "b", "c"], "minmax", layout="files")
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["m-0.png", "m-1.png", "m-2.png"]
    np.testing.assert_allclose(pixels(paths[1]), np.rint(minmax(stack[..., 1])), atol=1e-6)
    with pytest.raises(ValueError, match="3 feature maps need 3 names, got 2"):
        _maps.save_maps(stack, tmp_path / "x.png", ["a", "b"])


# --- compare: gray against colour -------------------------------------------------------


def compare(cli, a, b):
    result = cli("compare", a, b, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_compare_promotes_gray_to_colour(cli, tmp_path):
    values = np.random.default_rng(5).integers(0, 256, (16, 16)).astype(np.uint8)
    gray = write_png(tmp_path / "g.png", values)
    rgb = write_png(tmp_path / "rgb.png", np.dstack([values] * 3))
    facts = compare(cli, gray, rgb)
    assert facts["psnr"] is None and facts["ssim"] == 1.0 and facts["max_abs_diff"] == 0
    brighter = np.dstack([values, values, np.clip(values.astype(int) + 30, 0, 255)])
    facts = compare(cli, gray, write_png(tmp_path / "blue.png", brighter))
    diff = np.abs(np.dstack([values] * 3).astype(float) - brighter)
    assert facts["max_abs_diff"] == diff.max() and facts["mean_abs_diff"] == pytest.approx(
        diff.mean()
    )


def test_compare_composites_alpha_that_only_one_side_has_over_black(cli, tmp_path):
    rgba = np.random.default_rng(6).integers(0, 256, (16, 16, 4)).astype(np.uint8)
    with_alpha = write_png(tmp_path / "rgba.png", rgba, mode="RGBA")
    over_black = rgba[..., :3] * (rgba[..., 3:] / 255.0)
    plain = write_png(tmp_path / "flat.png", np.rint(over_black).astype(np.uint8))
    facts = compare(cli, with_alpha, plain)
    assert facts["max_abs_diff"] <= 0.5
    gray = write_png(tmp_path / "g.png", rgba[..., 0])
    expected = np.abs(np.dstack([rgba[..., 0]] * 3) - over_black).mean()
    assert compare(cli, gray, with_alpha)["mean_abs_diff"] == pytest.approx(expected, rel=1e-5)


def test_compare_alpha_on_both_sides_is_compared_as_a_channel(cli, tmp_path):
    la = np.random.default_rng(8).integers(0, 256, (16, 16, 2)).astype(np.uint8)
    rgba = np.dstack([la[..., 0]] * 3 + [255 - la[..., 1]])
    facts = compare(cli, write_png(tmp_path / "la.png", la, mode="LA"),
                    write_png(tmp_path / "rgba.png", rgba, mode="RGBA"))  # fmt: skip
    expected = np.abs(la[..., 1].astype(float) - rgba[..., 3]).sum() / (16 * 16 * 4)
    assert facts["mean_abs_diff"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.zeros((1, 1, 4), np.uint8), np.zeros((1, 1), np.uint8)),  # 1x1 RGBA vs gray
        (np.zeros((6, 6, 4), np.uint8), np.zeros((6, 6, 3), np.uint8)),  # all transparent
    ],
    ids=["1x1-rgba", "all-transparent"],
)
def test_compare_small_and_transparent_images(cli, tmp_path, a, b):
    a[..., :3] = 200  # colour hidden under alpha 0 composites to black
    facts = compare(
        cli, write_png(tmp_path / "a.png", a, mode="RGBA"), write_png(tmp_path / "b.png", b)
    )
    assert facts["max_abs_diff"] == 0 and facts["psnr"] is None
    assert facts["ssim"] is None or facts["ssim"] == 1.0
    text = cli("compare", tmp_path / "a.png", tmp_path / "b.png").stdout
    assert ("n/a" in text) == (a.shape[0] < 11)


def test_compare_still_refuses_other_sizes_and_layouts_it_cannot_pair(cli, tmp_path):
    from pathlib import Path

    from imgfilter.cli._inspect import comparable

    one = write_png(tmp_path / "one.png", np.zeros((8, 8), np.uint8))
    other = write_png(tmp_path / "other.png", np.zeros((8, 9, 3), np.uint8))
    result = cli("compare", one, other)
    assert result.exit_code == 1 and "compare needs images of one size" in result.stderr
    with pytest.raises(ValueError, match="8×8×5 but b is 8×8×3: channel counts differ"):
        comparable(np.zeros((8, 8, 5)), np.zeros((8, 8, 3)), Path("a"), Path("b"))
