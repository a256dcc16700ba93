"""``imgfilter demo``: the showcase pipelines on the bundled photos, and a contact sheet.

Each showcase is a pipeline as a user would type it after ``imgfilter run``.
Results are written as PNG files, then one contact sheet puts every original
beside its result, labelled with the pipeline, so a person can open one file
and see what each operation does.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imgfilter import io, registry
from imgfilter.cli._tasks import feature_maps
from imgfilter.image import rescale
from imgfilter.io import _maps
from imgfilter.pipeline import Pipeline, PipelineError

THUMB_HEIGHT = 220
LABEL_HEIGHT = 34
GAP = 8


@dataclass(frozen=True)
class Showcase:
    """A titled pipeline over one sample photo; ``needs`` lists operations it relies on."""

    title: str
    photo: str
    pipeline: str
    needs: tuple[str, ...] = ()
    noisy: str | None = None  # a noise step applied first; the sheet then shows PSNR


SHOWCASES = (
    Showcase("Gaussian blur", "chelsea.png", "gaussian sigma=3"),
    Showcase("Unsharp mask", "coins.png", "unsharp sigma=2 amount=2"),
    Showcase("Sobel magnitude", "camera.png", "sobel"),
    Showcase(
        "Laplacian of Gaussian", "coins.png", "gaussian sigma=2 | laplacian | rescale mode=minmax"
    ),
    Showcase("Canny edges", "camera.png", "canny sigma=2", needs=("canny",)),
    Showcase(
        "Median denoise",
        "coins.png",
        "denoise method=median size=3",
        needs=("noise", "denoise"),
        noisy="noise kind=salt-and-pepper amount=0.05 seed=1",
    ),
    Showcase(
        "Bilateral denoise",
        "chelsea.png",
        "denoise method=bilateral",
        needs=("noise", "denoise"),
        noisy="noise kind=gaussian amount=20 seed=1",
    ),
    Showcase("Custom kernel: relief.json", "chelsea.png", "convolve kernel=kernels/relief.json"),
    Showcase("3-D kernel: luma.json", "rocket.jpg", "convolve kernel=kernels/luma.json"),
    Showcase(
        "Feature maps: diagonal-edges.json",
        "camera.png",
        "convolve kernel=kernels/diagonal-edges.json",
    ),
    Showcase(
        "Strided, dilated Sobel",
        "rocket.jpg",
        "grayscale | convolve kernel=sobel-y stride=2 dilation=2 | rescale mode=abs",
    ),
    Showcase(
        "Conv, ReLU, max pool",
        "camera.png",
        "convolve kernel=edge padding=valid | relu | pool size=4 mode=max | rescale mode=minmax",
        needs=("pool",),
    ),
)


def default_samples() -> Path:
    """The photos installed with the package (``imgfilter/samples``), else the checkout's."""
    try:
        folder = importlib.resources.files("imgfilter") / "samples"
        if folder.is_dir():
            return Path(str(folder))
    except (ImportError, OSError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "samples"


def run_demo(
    output: Path, samples: Path | None = None, echo: Callable[[str], None] | None = None
) -> Path:
    """Run every showcase whose operations exist; write results and ``contact-sheet.png``.

    Returns the path of the contact sheet. Kernel paths in the pipelines are
    relative to ``samples``.
    """
    samples = Path(samples) if samples is not None else default_samples()
    if not samples.is_dir():
        raise ValueError(
            f"{samples}: no samples folder; pass --samples DIR (a folder of photos such as"
            " the repository's samples/)"
        )
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    say = echo or (lambda text: None)
    tiles = []
    for number, show in enumerate(SHOWCASES, start=1):
        missing = [op for op in show.needs if op not in registry.OPERATIONS]
        photo_path = samples / show.photo
        if missing or not photo_path.is_file():
            why = f"needs {', '.join(missing)}" if missing else f"{photo_path} is missing"
            say(f"skip  {show.title}: {why}")
            continue
        tile = _run_one(number, show, samples, photo_path, output)
        say(f"wrote {tile.path}  ({show.title}: {tile.label})")
        tiles.append(tile)
    if not tiles:
        raise ValueError(f"{samples}: none of the showcase photos were found")
    sheet = output / "contact-sheet.png"
    io.save(_contact_sheet(tiles), sheet)
    return sheet


@dataclass
class _Tile:
    title: str
    label: str
    before: np.ndarray  # uint8-ready float32, what the step started from
    after: np.ndarray  # float32 in 0-255 after the output mapping
    path: Path


def _run_one(number: int, show: Showcase, samples: Path, photo_path: Path, output: Path) -> _Tile:
    text = show.pipeline.replace("kernel=kernels/", f"kernel={samples / 'kernels'}/")
    try:
        pipeline = Pipeline.parse(text)
    except PipelineError as error:
        raise ValueError(f"demo showcase {show.title!r}: {error}") from None
    original = io.load(photo_path)
    before = original
    label = show.pipeline
    if show.noisy is not None:
        before = Pipeline.parse(show.noisy).run(original)
        label = f"{show.noisy} | {show.pipeline}"
    result = pipeline.run(before)
    mapped = rescale(result, pipeline.output_mapping)
    names = feature_maps(pipeline)
    if names and len(names) > 1 and result.ndim == 3 and result.shape[2] == len(names):
        mapped = _maps.sheet(_maps.each_mapped(result, pipeline.output_mapping), names)
    path = output / f"{number:02d}-{_slug(show.title)}-{photo_path.stem}.png"
    io.save(mapped, path)
    if show.noisy is not None:
        from imgfilter.ops import metrics

        noisy_db = metrics.psnr(original, before)
        clean_db = metrics.psnr(original, np.clip(result, 0, 255))
        label += f"  PSNR {noisy_db:.1f} -> {clean_db:.1f} dB"
    return _Tile(show.title, label, before, mapped, path)


def _slug(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words)


def _to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.clip(np.rint(np.asarray(image, dtype=np.float32)), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] in (2, 4):
        image = image[..., :-1]
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def _thumbnail(image: np.ndarray):
    from PIL import Image

    picture = Image.fromarray(_to_rgb_uint8(image))
    width = max(1, round(picture.width * THUMB_HEIGHT / picture.height))
    return picture.resize((width, THUMB_HEIGHT), Image.Resampling.LANCZOS)


def _contact_sheet(tiles: list[_Tile], columns: int = 2) -> np.ndarray:
    """A grid of showcases: input and result side by side, the title and pipeline below."""
    from PIL import Image, ImageDraw, ImageFont

    pairs = [(_thumbnail(t.before), _thumbnail(t.after), t) for t in tiles]
    cell_w = max(a.width + GAP + b.width for a, b, _ in pairs) + 2 * GAP
    cell_h = THUMB_HEIGHT + LABEL_HEIGHT + GAP
    rows = -(-len(pairs) // columns)
    sheet = Image.new("RGB", (columns * cell_w + GAP, rows * cell_h + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    title_font = ImageFont.load_default(size=14)
    text_font = ImageFont.load_default(size=11)
    for i, (before, after, tile) in enumerate(pairs):
        x, y = GAP + (i % columns) * cell_w, GAP + (i // columns) * cell_h
        sheet.paste(before, (x, y))
        sheet.paste(after, (x + before.width + GAP, y))
        draw.text((x, y + THUMB_HEIGHT + 3), tile.title, fill="black", font=title_font)
        draw.text((x, y + THUMB_HEIGHT + 19), tile.label, fill=(60, 60, 60), font=text_font)
    return np.asarray(sheet, dtype=np.float32)
