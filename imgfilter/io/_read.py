"""Reading images: every supported file becomes a float32 array on the 0-255 scale.

Pixels come back as ``(H, W)`` gray, ``(H, W, 2)`` gray+alpha, ``(H, W, 3)`` RGB or
``(H, W, 4)`` RGBA, with alpha always the last channel. 8-bit files load as they are,
16-bit files are divided by 257, ``.npy`` arrays load unchanged. Palette, CMYK, YCbCr,
LAB and HSV images become RGB (RGBA if they carry transparency; a palette of grays
becomes gray), 1-bit images become 0/255 gray, and the EXIF orientation is applied.
Every failure is an :class:`~imgfilter.errors.ImageFileError` starting with the path;
every warning an :class:`~imgfilter.errors.ImageWarning`, one line, starting with it.

What reading may cost is bounded before the pixels are decoded: only regular files are
opened (a device or FIFO could be read forever), only the formats below are handed to
Pillow (no PostScript to Ghostscript), and the pixel guard (:mod:`imgfilter.io._guard`)
checks width x height from the header, for .npy and the 16-bit decoders too. Pillow
reads from the open file, so a huge file costs what its first image needs.

>>> load_bytes(b"P2 2 1 255 0 255")
array([[  0., 255.]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from imgfilter._checks import file_problem
from imgfilter.errors import ImageFileError
from imgfilter.io import _contain, _guard, _metadata, _npy, _png16, _pnm16, _text, _tiff16
from imgfilter.io._metadata import Metadata
from imgfilter.io._pillow_rows import PillowRows, copied_in_bands

# Pillow's names of the formats the contract lists (PPM covers PBM, PGM, PPM, PNM, PFM).
FORMATS = ["PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF", "PPM"]
READS = "PNG, JPEG, TIFF, BMP, WebP, GIF, PNM and .npy"
_HEAD = 1 << 12  # bytes read to tell the format
_PNM_HEAD = 1 << 20  # bytes in which a 16-bit PPM header must end
_ORIENTATION = 0x0112
_PNG_TEXT = (b"iCCP", b"zTXt", b"iTXt")  # chunks Pillow refuses over 1 MB decompressed
_CONVERT = {
    "1": "L",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "HSV": "RGB",
}
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def load(path: str | os.PathLike, metadata: bool = False, integer: bool = False):
    """Read an image file as float32 on the 0-255 scale.

    Parameters
    ----------
    path : a PNG, JPEG, TIFF, BMP, WebP, GIF (first frame), PGM/PPM/PNM or ``.npy`` file,
        recognised from the content, not the name; or a ``.csv``, ``.tsv`` or ``.txt``
        matrix of numbers (by its name), loaded as gray with the values as written.
    metadata : also return what the file carries besides pixels, for ``save``.
    integer : keep 8-bit pixels as uint8 (0-255) and 16-bit ones as uint16 (0-65535, not
        divided by 257): the memory of the file's pixels, not of float32, for a caller
        that converts them a strip at a time; other files are float32.

    Returns
    -------
    np.ndarray, or (np.ndarray, Metadata) with ``metadata=True``
        float32, shape (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) (alpha last); the
        :class:`~imgfilter.io.Metadata` holds the ICC profile, the EXIF block (its
        orientation, applied here, reset to 1), the resolution and the bit depth.
        A corrupt profile or EXIF block is left out with an ImageWarning.

    Raises
    ------
    ImageFileError
        The file is missing, unreadable, empty, not a regular file, not an image,
        truncated or too large (see :func:`imgfilter.io.set_max_pixels`).

    Examples
    --------
    A 2x2 16-bit gray PNG holding 0, 257, 32896 and 65535 loads as 0, 1, 128 and 255;
    ``pixels, meta = load("photo.jpg", metadata=True)`` then ``save(pixels, "out.png",
    metadata=meta)`` keeps its colour profile, EXIF and resolution.
    """
    return _load(path, metadata, integer)


def load_rows(path: str | os.PathLike):
    """``load(path, metadata=True, integer=True)`` for a caller that reads the pixels
    a strip at a time: an 8-bit gray or RGB file that Pillow decodes comes back as a
    :class:`~imgfilter.io._pillow_rows.PillowRows` over Pillow's memory, not a copy.
    """
    return _load(path, True, True, rows=True)


def _load(path: str | os.PathLike, metadata: bool, integer: bool, rows: bool = False):
    path = os.fspath(path)
    with _contain.decoding(path) as notes, open_image_file(path) as (file, size):
        pixels, meta = decode(file, size, path, notes, metadata, integer, rows=rows)
    _contain.emit(notes)
    return (pixels, meta["metadata"]) if metadata else pixels


def load_bytes(data: bytes, name: str = "<stdin>", metadata: bool = False, integer: bool = False):
    """Decode an image held in memory, like :func:`load`; errors start with ``name``.

    >>> load_bytes(b"P2 2 1 255 7 7")
    array([[7., 7.]], dtype=float32)
    >>> load_bytes(b"P2 2 1 255 7 7", metadata=True)[1]
    Metadata(icc_profile=None, exif=None, dpi=None, bit_depth=8)
    """
    data = bytes(data)
    if not data:
        raise ImageFileError(f"{name}: empty input (0 bytes)")
    with _contain.decoding(name) as notes:
        pixels, meta = decode(io.BytesIO(data), len(data), name, notes, metadata, integer)
    _contain.emit(notes)
    return (pixels, meta["metadata"]) if metadata else pixels


@contextlib.contextmanager
def open_image_file(path: str):
    """Open a regular file for reading: yield (binary file, its size in bytes).

    The path is checked before it is opened, and the open file again (it may have been
    replaced in between); opening never waits, even for a FIFO. Reads stop at the size
    the file had when opened.
    """
    try:
        status = os.stat(path)
    except OSError as exc:
        raise ImageFileError(file_problem(path, exc, "image file")) from None
    except ValueError as exc:  # an embedded NUL byte
        raise ImageFileError(f"{path}: cannot read: {exc}") from None
    _guard.check_regular(path, status)
    try:
        raw = open(path, "rb", buffering=0, opener=_guard.open_without_blocking)
    except OSError as exc:
        raise ImageFileError(file_problem(path, exc, "image file")) from None
    with raw:
        status = os.fstat(raw.fileno())
        _guard.check_regular(path, status)
        if status.st_size == 0:
            raise ImageFileError(f"{path}: empty file (0 bytes)")
        with io.BufferedReader(_guard.Capped(raw, status.st_size)) as file:
            yield file, status.st_size


def decode(
    file: BinaryIO,
    size: int,
    name: str,
    notes: list[str],
    metadata: bool = False,
    integer: bool = False,
    *,
    rows: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (pixels, meta) of the image in ``file`` (``size`` bytes from its start).

    meta holds the file's format, mode and bit depth, and with ``metadata`` its
    :class:`Metadata` under "metadata"; warnings are added to ``notes``. With
    ``integer``, 8- and 16-bit pixels stay uint8 and uint16 (see :func:`load`), and
    with ``rows`` too 8-bit gray and RGB may be a ``PillowRows`` (see :func:`load_rows`).
    """
    text_format = _text.format_of_name(name)
    if text_format is not None:
        pixels = _text.parse_text(file.read(), name)
        return pixels, {"format": text_format, "mode": "F", "bit_depth": 32, "metadata": Metadata()}
    head = peek(file, _HEAD)
    if head.startswith(_npy.MAGIC):
        header = npy_header(file, size, name, notes)
        return _npy.read(file, header), {**npy_meta(header), "metadata": Metadata()}
    if name.lower().endswith(".npy"):
        raise ImageFileError(f"{name}: not a .npy file (no NumPy header)")
    pnm = _pnm16.header(peek(file, _PNM_HEAD)) if head.startswith(b"P6") else None
    want = notes if metadata else None
    if _png16.is_png16(head):
        pixels, orientation, meta = _decode_png16(file, head, name, notes, want)
    elif pnm:
        pixels, orientation, meta = _decode_pnm16(file, size, pnm, name, notes)
        meta["metadata"] = Metadata()
    else:
        pixels, orientation, meta = _decode_pillow(
            file, head, name, notes, want, integer, rows and integer
        )
    if pixels.dtype == np.uint16 and not integer:
        pixels = _scaled(pixels)
    if orientation in _ORIENT:
        pixels = np.ascontiguousarray(_ORIENT[orientation](np.asarray(pixels)))
    if metadata:
        found = meta["metadata"]
        bits = meta["bit_depth"] if meta["mode"] != "F" else None
        meta["metadata"] = Metadata(found.icc_profile, found.exif, found.dpi, bits)
    return pixels, meta


def peek(file: BinaryIO, count: int) -> bytes:
    """The first ``count`` bytes of ``file``, which is left at its start."""
    file.seek(0)
    head = file.read(count)
    file.seek(0)
    return head


def npy_header(file: BinaryIO, size: int, name: str, notes: list[str]) -> _npy.Header:
    """The checked header of a .npy file, the pixel guard applied; ``file`` is left after it."""
    header = _npy.read_header(file, name)
    _note(notes, _guard.check_pixels(name, header.shape[1], header.shape[0]))
    _npy.check_size(header, size)
    return header


def npy_meta(header: _npy.Header) -> dict[str, Any]:
    return {"format": "NPY", "mode": str(header.dtype), "bit_depth": header.dtype.itemsize * 8}


def _note(notes: list[str], text: str | None) -> None:
    if text is not None:
        notes.append(text)


def _decode_png16(
    file: BinaryIO, head: bytes, name: str, notes: list[str], want: list[str] | None
) -> tuple[np.ndarray, int, dict[str, Any]]:
    """A 16-bit PNG; with ``want`` (the notes) its metadata too."""
    width, height, ctype = _png16.header(head)
    _note(notes, _guard.check_pixels(name, width, height))
    try:
        pixels, found = _png16.decode(file)
    except ValueError as exc:  # its messages say truncated or corrupt in plain words
        raise ImageFileError(f"{name}: {exc}") from exc
    meta = {"format": "PNG", "mode": _png16.MODES.get(ctype, "?"), "bit_depth": 16}
    if want is not None:
        meta["metadata"], orientation = _metadata.from_png_chunks(found, name, want)
        return pixels, orientation, meta
    orientation = 1
    if found.get(b"eXIf"):
        parsed = Image.Exif()
        try:
            parsed.load(found[b"eXIf"])
            orientation = parsed.get(_ORIENTATION, 1)
        except Exception:  # a broken EXIF block is metadata, not a reason to refuse pixels
            pass
    return pixels, orientation, meta


def _decode_pnm16(
    file: BinaryIO, size: int, pnm: tuple[int, int, int, int], name: str, notes: list[str]
) -> tuple[np.ndarray, int, dict[str, Any]]:
    width, height, _, offset = pnm
    _note(notes, _guard.check_pixels(name, width, height))
    meta = {"format": "PPM", "mode": "RGB", "bit_depth": 16}
    try:
        pixels = _pnm16.decode(file.read(min(size, offset + 6 * width * height)))
    except ValueError as exc:  # see _decode_png16
        raise ImageFileError(f"{name}: {exc}") from exc
    return pixels, 1, meta


def as_float(pixels: np.ndarray) -> np.ndarray:
    """Pixels from ``load(..., integer=True)`` as ``load`` gives them: float32, 0-255.

    >>> as_float(np.array([[0, 65535]], dtype=np.uint16)).tolist()
    [[0.0, 255.0]]
    """
    pixels = np.asarray(pixels)  # a PillowRows is copied out here
    if pixels.dtype == np.uint16:
        return _scaled(pixels)
    return pixels.astype(np.float32, copy=False)


def _scaled(pixels: np.ndarray) -> np.ndarray:
    """uint16 to float32 on the 0-255 scale, dividing in place: one float32 array."""
    result = pixels.astype(np.float32)
    result /= 257
    return result


def _decode_pillow(
    file: BinaryIO,
    head: bytes,
    name: str,
    notes: list[str],
    want: list[str] | None,
    integer: bool = False,
    rows: bool = False,
) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Any file Pillow reads; with ``want`` (the notes) its metadata too; 16-bit
    pixels come back as uint16, 8-bit ones as uint8 with ``integer`` (or as a
    ``PillowRows`` with ``rows``)."""
    found: dict[bytes, bytes] = {}
    try:
        image = Image.open(file, formats=FORMATS)
    except Image.UnidentifiedImageError:
        raise ImageFileError(_unrecognised(name, head)) from None
    except ValueError as exc:
        if "MAX_TEXT_CHUNK" not in str(exc) or not head.startswith(_png16.SIGNATURE):
            raise
        # A profile (or text) over Pillow's 1 MB: the pixels without it, the profile read here.
        data, found = _png16.without(file, _PNG_TEXT)
        image = Image.open(io.BytesIO(data), formats=["PNG"])
    _note(notes, _guard.check_pixels(name, *image.size))
    if image.format == "TIFF":
        _contain.quiet_libtiff()
    bits = _bit_depth(image, head)
    meta = {"format": image.format, "mode": image.mode, "bit_depth": bits}
    if image.format == "TIFF" and _tiff16.applies(image):
        pixels = _tiff16.decode(image, file)
    else:
        image.load()
        pixels = _pillow_pixels(image, name, bits, notes, integer, rows)
    if want is not None:
        meta["metadata"], orientation = _metadata.from_pillow(image, name, want)
        if b"iCCP" in found:
            icc = _metadata.from_png_chunks({b"iCCP": found[b"iCCP"]}, name, want)[0].icc_profile
            meta["metadata"] = dataclasses.replace(meta["metadata"], icc_profile=icc)
        return pixels, orientation, meta
    try:
        orientation = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # see _decode_png16
        orientation = 1
    return pixels, orientation, meta


def _unrecognised(name: str, head: bytes) -> str:
    """The refusal, naming the format when Pillow knows it (EPS, PSD, ...)."""
    Image.init()  # registers every plugin; their checks only compare the first bytes
    known = [*FORMATS, *(f for f in Image.OPEN if f not in FORMATS)]
    for fmt in known:
        accept = Image.OPEN[fmt][1]
        try:  # as Image.open judges: a text means "recognised but not supported here"
            verdict = accept(head[:16]) if accept is not None else False
            found = bool(verdict) and not isinstance(verdict, str)
        except Exception:  # a plugin's check that cannot judge these bytes
            found = False
        if found and fmt in FORMATS:
            return f"{name}: truncated or corrupt {fmt} data (its header cannot be read)"
        if found:
            return f"{name}: not a recognised image ({fmt} data; imgfilter reads {READS})"
    return (
        f"{name}: not a recognised image (unknown format or not an image; imgfilter reads {READS})"
    )


def _bit_depth(image: Image.Image, head: bytes) -> int:
    """Bits per sample as stored in the file."""
    if image.format == "PNG" and head.startswith(_png16.SIGNATURE):
        return head[24]
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, 1)
        return int(bits[0] if isinstance(bits, tuple) else bits)
    if image.format == "PPM" and image.mode == "I":
        return 16
    if image.mode.startswith("I;16"):
        return 16
    return {"1": 1, "I": 32, "F": 32}.get(image.mode, 8)


def _pillow_pixels(
    image: Image.Image,
    name: str,
    bits: int,
    notes: list[str] | None = None,
    integer: bool = False,
    rows: bool = False,
) -> np.ndarray:
    """Pixels of a loaded Pillow image in the image model (gray/LA/RGB/RGBA, 0-255 scale).

    A warning for ``name`` (8-bit precision of deeper colour) is added to ``notes``.
    With ``rows`` (and ``integer``) gray and RGB stay in Pillow, as a ``PillowRows``.
    """
    notes = [] if notes is None else notes
    mode, keyed = image.mode, "transparency" in image.info
    if bits > 8 and mode in ("LA", "RGB", "RGBA", "CMYK"):
        notes.append(f"{name}: {bits}-bit {mode} data read at 8-bit precision")
    if mode in ("P", "PA"):
        alpha = mode == "PA" or keyed
        pixels = np.asarray(image.convert("RGBA" if alpha else "RGB"))
        if _gray_palette(image):
            pixels = pixels[..., [0, 3]] if alpha else pixels[..., 0]
    elif mode in ("L", "RGB") and keyed:
        pixels = np.asarray(image.convert("LA" if mode == "L" else "RGBA"))
    elif mode in _CONVERT:
        pixels = np.asarray(image.convert(_CONVERT[mode]))
    elif mode == "LAB":
        from PIL import ImageCms

        lab, srgb = ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB")
        pixels = np.asarray(
            ImageCms.applyTransform(image, ImageCms.buildTransform(lab, srgb, "LAB", "RGB"))
        )
    elif rows and mode in ("L", "RGB"):
        return PillowRows(image)
    elif mode in ("L", "LA", "RGB", "RGBA"):
        pixels = copied_in_bands(image)
    elif mode == "F":
        pixels = np.asarray(image)
    elif mode.startswith("I;16") or (mode == "I" and bits <= 16):
        return np.asarray(image).astype(np.uint16)
    elif mode == "I":
        pixels = np.asarray(image)
    else:
        raise ImageFileError(f"{name}: unsupported image mode {mode!r}")
    return pixels if integer and pixels.dtype == np.uint8 else pixels.astype(np.float32)


def _gray_palette(image: Image.Image) -> bool:
    palette = np.asarray(image.getpalette() or [0, 1, 2]).reshape(-1, 3)
    return bool((palette == palette[:, :1]).all())
