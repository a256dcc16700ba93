"""The output formats: which file extension is which format, what each can hold, and the
one check that refuses an output before any pixel work.

numpy-free, so the command line checks ``-o out.jpg --depth 16`` before it loads anything.

>>> format_of("photo.JPG")
'JPEG'
>>> check_output("JPEG", mapping="clip", depth=16)
Traceback (most recent call last):
...
ValueError: depth 16 needs PNG or TIFF; JPEG stores 8 bits per sample
"""

from __future__ import annotations

import os

from imgfilter._checks import choice, in_range, integer
from imgfilter.choices import DEPTHS, RESCALE_MODES

FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".gif": "GIF",
    ".pgm": "PPM",
    ".ppm": "PPM",
    ".pnm": "PPM",
    ".npy": "NPY",
    ".csv": "CSV",
    ".tsv": "TSV",
    ".txt": "TXT",
}
"""File extension -> format name (Pillow's, plus NPY and the text matrices)."""

DEPTH_FORMATS = ("PNG", "TIFF")  # can store 16 bits per sample
AUTO = "auto"  # the depth that keeps the input's where the format can
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP", "NPY")  # can store an alpha channel
QUALITY_FORMATS = ("JPEG", "WEBP")
TEXT_FORMATS = ("CSV", "TSV", "TXT")  # numbers as written, one row a line
FLOAT_FORMATS = ("NPY", "TIFF", *TEXT_FORMATS)  # can keep floats (mapping "none")
ARRAY_FORMATS = ("NPY", *TEXT_FORMATS)  # keep a stack of feature maps in one file


def extensions(text: bool = True) -> list[str]:
    """The known extensions without the dot, sorted: ``['bmp', 'csv', 'gif', ...]``.

    ``text=False`` leaves out the text matrices: a folder walk takes images only, so
    the notes beside a folder of photos are not read as matrices.
    """
    return sorted(
        ext.lstrip(".") for ext, fmt in FORMATS.items() if text or fmt not in TEXT_FORMATS
    )


def format_name(name: object) -> str:
    """The format called ``name``: an extension (``"jpg"``, ``".tif"``) or a format name.

    >>> format_name(".tif"), format_name("jpeg")
    ('TIFF', 'JPEG')
    """
    names = {ext.lstrip("."): fmt for ext, fmt in FORMATS.items()}
    names.update({fmt.lower(): fmt for fmt in FORMATS.values()})
    key = name.lower().lstrip(".") if isinstance(name, str) else None
    if key not in names:
        raise ValueError(f"format must be one of {', '.join(sorted(names))}; got {name!r}")
    return names[key]


def format_of(path: str | os.PathLike) -> str:
    """The format a file name's extension asks for; an unknown one is a ValueError."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in FORMATS:
        found = f"extension {extension!r}" if extension else "no extension"
        raise ValueError(
            f"cannot tell the image format from {found}; use one of "
            f"{', '.join(sorted(FORMATS))} (or give a format)"
        )
    return FORMATS[extension]


def output_format(path: str | os.PathLike, given: str | None = None) -> str:
    """The format a file is written in: ``given`` if any, else the one its extension names.

    A known extension must agree with ``given``; an unknown or missing one is fine.

    >>> output_format("edges.PNG"), output_format("raw.dat", "png")
    ('PNG', 'PNG')
    >>> output_format("x.png", "jpg")
    Traceback (most recent call last):
    ...
    ValueError: the extension '.png' says PNG but the format asked for is JPEG; make them agree
    """
    if given is None:
        return format_of(path)
    fmt = format_name(given)
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension in FORMATS and FORMATS[extension] != fmt:
        raise ValueError(
            f"the extension {extension!r} says {FORMATS[extension]} but the format asked for"
            f" is {fmt}; make them agree"
        )
    return fmt


def map_paths(path: str | os.PathLike, count: int) -> list[str]:
    """The files of ``count`` feature maps written one per file: ``NAME-k.EXT``.

    >>> map_paths("out/edges.png", 2)
    ['out/edges-0.png', 'out/edges-1.png']
    """
    stem, extension = os.path.splitext(os.fspath(path))
    return [f"{stem}-{k}{extension}" for k in range(count)]


def default_mapping(fmt: str) -> str:
    """The mapping a save uses when none is asked for: the numbers kept in .npy and text
    matrices, else clip.

    >>> default_mapping("TXT"), default_mapping("PNG")
    ('none', 'clip')
    """
    return "none" if fmt == "NPY" or fmt in TEXT_FORMATS else "clip"


def mapping_for(fmt: str, asked: str | None, natural: str) -> str:
    """The one mapping a saved file passes through: the one asked for (``--rescale``),
    else none for .npy and text matrices (they keep the numbers), else the pipeline's.

    >>> mapping_for("TXT", None, "abs"), mapping_for("PNG", None, "abs")
    ('none', 'abs')
    """
    if asked is not None:
        return asked
    return "none" if default_mapping(fmt) == "none" else natural


def check_output(
    fmt: str, mapping: str | None = None, depth: int | str = 8, quality: int | None = None
) -> tuple[str, int | str, int | None]:
    """Refuse options that ``fmt`` cannot honour; return (mapping, depth, quality) checked.

    ``depth`` is 8, 16 or ``"auto"`` (kept as it is: :func:`output_depth` decides it
    once the input's depth is known).

    The one output check: ``save`` and ``encode`` call it, and so does the command line
    for every planned output before it reads an image.

    >>> check_output("PNG", "none")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: rescale 'none' keeps floats, which PNG cannot store; ...
    """
    mapping = default_mapping(fmt) if mapping is None else mapping
    choice("rescale", mapping, RESCALE_MODES)
    if depth == AUTO or depth is None:
        depth = AUTO
    elif isinstance(depth, str) and depth.strip().isdigit():
        depth = int(depth)
    else:
        depth = integer("depth", depth)
    if depth != AUTO and depth not in DEPTHS:
        raise ValueError(f"depth must be 8, 16 or auto, got {depth}")
    if depth == 16 and fmt not in DEPTH_FORMATS:
        raise ValueError(f"depth 16 needs PNG or TIFF; {fmt} stores 8 bits per sample")
    if quality is not None:
        if fmt not in QUALITY_FORMATS:
            raise ValueError(f"quality applies to JPEG and WebP only, not {fmt}")
        quality = int(in_range("quality", integer("quality", quality), 1, 100))
    if mapping == "none" and fmt not in FLOAT_FORMATS:
        raise ValueError(
            f"rescale 'none' keeps floats, which {fmt} cannot store; save as .npy, a gray "
            "TIFF or a text matrix (.txt, .csv, .tsv), or choose clip, minmax or abs"
        )
    if mapping == "none" and depth == 16:
        raise ValueError("rescale 'none' writes floats; it cannot be combined with depth 16")
    return mapping, depth, quality


def output_depth(
    fmt: str, depth: int | str, source: int | None, mapping: str, channels: int = 1
) -> int:
    """The bits per sample written: ``depth``, or for ``"auto"`` the input's (``source``
    bits) where ``fmt`` can hold it, else 8.

    >>> output_depth("PNG", "auto", 16, "clip"), output_depth("JPEG", "auto", 16, "clip")
    (16, 8)
    >>> output_depth("PNG", "auto", 8, "clip"), output_depth("PNG", 16, 8, "clip")
    (8, 16)
    """
    if depth != AUTO:
        return int(depth)
    deep = source is not None and 8 < source <= 16 and mapping != "none"
    # Pillow cannot read back a 16-bit gray+alpha TIFF, so it stays 8-bit.
    return 16 if deep and fmt in DEPTH_FORMATS and not (fmt == "TIFF" and channels == 2) else 8
