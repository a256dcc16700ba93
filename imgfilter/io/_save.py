"""Saving images: one output mapping, quantising in bands, the encoder of each format.

:func:`save` checks everything, builds the bytes' recipe and hands it to
:mod:`imgfilter.io._write`, which puts the file in place atomically; :func:`encode`
returns the bytes instead. What the file carries besides pixels (ICC profile, EXIF,
resolution) is fitted to each format by :mod:`imgfilter.io._metadata`.

>>> import numpy as np
>>> encode(np.zeros((1, 1)), "png")[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from imgfilter import _native, formats
from imgfilter.errors import ImageFileError, ImageWarning
from imgfilter.image import join_alpha, split_alpha
from imgfilter.image import rescale as _rescale
from imgfilter.io import _metadata, _png16, _text, _tiff16, _write
from imgfilter.io._metadata import Metadata

PNG_COMPRESS_LEVEL = 3  # 4096x4096 RGB: 1.2 s and 8.0 MB, against 2.9 s and 6.7 MB at 6
JPEG_QUALITY = 92  # ImageMagick's default; Pillow's own 75 smears edge maps


def save(
    image: np.ndarray,
    path: str | os.PathLike,
    rescale: str | None = None,
    *,
    depth: int | str = "auto",
    quality: int | None = None,
    format: str | None = None,
    metadata: Metadata | None = None,
) -> None:
    """Write an image atomically: the file appears complete or not at all.

    Parameters
    ----------
    image : array (H, W) or (H, W, C) with C = 1-4, alpha last for C = 2 or 4;
        a boolean array is written as 0 and 255.
    path : the target; its extension picks the format unless ``format`` is given
        (see ``imgfilter.formats.FORMATS``). The folder must exist. An existing file is
        replaced and keeps its permission bits; a symlink is written through (the link
        stays); a device, FIFO or ``/dev/stdout`` is written directly.
    rescale : how values map into 0-255 (``clip``, ``minmax``, ``abs``; see
        :func:`imgfilter.image.rescale`). Default ``clip``, or ``none`` for ``.npy``.
        ``none`` keeps floats: only ``.npy`` and gray TIFF (a float32 "F" TIFF) can.
        The mapping applies to the colour channels; alpha is clipped. Values are then
        rounded half to even, and NaN is written as 0.
    depth : 8, or 16 for PNG and TIFF (values x257); ``"auto"`` (the default) is the
        bit depth of ``metadata`` where the format can hold it, else 8.
    quality : 1-100 for JPEG (default 92) and WebP (default: lossless).
    format : a name or extension from ``imgfilter.formats.FORMATS`` (e.g. "png"),
        overriding the extension.
    metadata : a :class:`~imgfilter.io.Metadata` (from ``load(path, metadata=True)``):
        its ICC profile, EXIF and resolution are written where the format holds them
        (see :mod:`imgfilter.io._metadata`); ``meta.stripped()`` keeps only the depth.

    Warns
    -----
    ImageWarning
        JPEG, BMP, GIF and PPM cannot store alpha: it is dropped, with a warning naming
        the file. WebP has no gray mode: gray is written (and reloads) as RGB. Metadata
        too large for the format (EXIF over 64 KB in JPEG) is dropped with a warning.

    Raises
    ------
    ValueError, TypeError
        A bad image or argument (nothing is written).
    ImageFileError
        The path is a folder, its folder is missing or not writable, or writing failed;
        the temporary file is removed and an existing target is left untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "edges.png")
    >>> save(np.array([[-1020.0, 0.0]]), path, rescale="abs")
    >>> from imgfilter.io import load
    >>> load(path)
    array([[255.,   0.]], dtype=float32)
    """
    path = os.fspath(path)
    try:
        fmt = formats.format_of(path) if format is None else formats.format_name(format)
    except ValueError as error:
        if format is None:
            raise ImageFileError(f"{path}: {error}") from None
        raise ValueError(f"{path}: {error}") from None
    write = _prepare(image, fmt, rescale, depth, quality, path, metadata)
    _write.put(path, write, fmt)


def encode(
    image: np.ndarray,
    format: str,
    rescale: str | None = None,
    *,
    depth: int | str = "auto",
    quality: int | None = None,
    name: str | None = None,
    metadata: Metadata | None = None,
) -> bytes:
    """Encode an image as the bytes of a file in ``format`` ("png", ".jpg", "NPY", ...).

    The options are those of :func:`save`; ``name`` is how warnings name the output
    (default ``<PNG output>``).

    >>> encode(np.zeros((1, 1)), "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    fmt = formats.format_name(format)
    buffer = io.BytesIO()
    _prepare(image, fmt, rescale, depth, quality, name or f"<{fmt} output>", metadata)(buffer)
    return buffer.getvalue()


class Quantised(np.ndarray):
    """uint16 pixels already on the file's 0-65535 scale (the command line's strip path
    makes them): written as they are, where a plain uint16 array holds 0-255 values."""


def _as_image(image: Any, fmt: str) -> np.ndarray:
    if isinstance(image, Quantised):
        return image
    array = np.asarray(image)
    if array.dtype == bool:
        array = array * np.float32(255)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"image must be an array of numbers, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    stacks = fmt == "NPY" or fmt in formats.TEXT_FORMATS  # feature maps: any count
    if not (array.ndim == 2 or (array.ndim == 3 and (stacks or array.shape[2] <= 4))):
        raise ValueError(
            f"image must have shape (H, W) or (H, W, C) with 1-4 channels, got {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"image must not be empty, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array  # 8-bit pixels already: no float32 copy of the image
    return array.astype(np.float32, copy=False)


_QUANTISE_BAND_BYTES = 1 << 20


def quantise(values: np.ndarray, depth: int, out: np.ndarray | None = None) -> np.ndarray:
    """0-255 floats -> uint8 or uint16 (x257), clipped, rounding half to even; NaN -> 0.

    Works through the rows in bands, so no full-size float temporary is made. With
    ``out`` (an array of ``values``' shape and the depth's dtype) the result goes there.

    >>> quantise(np.array([[-3.0, 2.5, 3.5, 300.0]], np.float32), 8)
    array([[  0,   2,   4, 255]], dtype=uint8)
    """
    scale, top, dtype = (1, 255, np.uint8) if depth == 8 else (257, 65535, np.uint16)
    if values.dtype == dtype and out is None:
        return values
    compiled = _native.module("_quantise")
    if compiled is not None and values.dtype == np.float32:
        if out is None:
            return compiled.quantise(values, depth)
        rgbx = _rgbx_base(out)
        if rgbx is not None or out.flags.c_contiguous:
            compiled.quantise(values, depth, out if rgbx is None else rgbx)
            return out
    if out is None:
        out = np.empty(values.shape, dtype=dtype)
    rows = max(1, _QUANTISE_BAND_BYTES // max(1, values[0].nbytes))
    for r0 in range(0, values.shape[0], rows):
        band = values[r0 : r0 + rows] * np.float32(scale)
        band[np.isnan(band)] = 0
        np.clip(band, 0, top, out=band)
        out[r0 : r0 + rows] = np.rint(band, out=band)
    return out


def _prepare(
    image: Any,
    fmt: str,
    rescale: str | None,
    depth: int | str,
    quality: int | None,
    name: str,
    metadata: Metadata | None = None,
) -> Callable[[Any], None]:
    """Validate everything and build the pixels; return a function that writes them to a file."""
    if metadata is not None and not isinstance(metadata, Metadata):
        raise TypeError(
            "metadata must be an imgfilter.io.Metadata (from load(path, metadata=True)) or "
            f"None, got {type(metadata).__name__}"
        )
    image = _as_image(image, fmt)
    mode, depth, quality = formats.check_output(fmt, rescale, depth, quality)
    bits = None if metadata is None else metadata.bit_depth
    channels = 1 if image.ndim == 2 else image.shape[2]
    depth = formats.output_depth(fmt, depth, bits, mode, channels)
    if mode == "none" and fmt == "TIFF" and image.ndim == 3:
        raise ValueError(
            f"a float TIFF holds one gray channel, got shape {image.shape}; save colour "
            "floats as .npy, or choose rescale clip, minmax or abs"
        )

    if fmt in formats.TEXT_FORMATS:
        values = image if mode == "none" else _rescale(image, mode)
        return _write_bytes(lambda: _text.format_text(values, fmt))
    colour, alpha = split_alpha(image)
    if alpha is not None and fmt not in formats.ALPHA_FORMATS:
        warnings.warn(
            f"{name}: {fmt} cannot store alpha; the alpha channel was dropped",
            ImageWarning,
            stacklevel=3,
        )
        alpha = None
    quantised = fmt != "NPY" and mode != "none"
    if not (quantised and mode == "clip"):  # quantising clips: no full-size copy for it
        colour = _rescale(colour, mode)
    if alpha is not None and mode != "none" and not quantised:
        alpha = _rescale(alpha, "clip")

    if fmt == "NPY":
        array = join_alpha(colour, alpha).astype(np.float32, copy=False)
        return lambda file: np.save(file, array, allow_pickle=False)
    kept = _metadata.fitted(metadata, fmt, name, gray=colour.ndim == 2 and fmt != "WEBP")
    if mode == "none":
        pillow = Image.fromarray(colour.astype(np.float32))
        tiff = _metadata.pillow_options(kept, "TIFF")
        return lambda file: pillow.save(file, format="TIFF", **tiff)

    pixels = quantise(join_alpha(colour, alpha), depth)
    if depth == 16 and fmt == "PNG":
        chunks = _metadata.png_chunks(kept)
        return _write_bytes(lambda: _png16.encode(pixels, PNG_COMPRESS_LEVEL, extra=chunks))
    if depth == 16 and pixels.ndim == 3:
        if pixels.shape[2] == 2:
            raise ValueError(
                "a 16-bit TIFF cannot hold gray+alpha here (Pillow could not read it back); "
                "save as 16-bit PNG, or drop the alpha"
            )
        return _write_bytes(lambda: _tiff16.encode(pixels, _metadata.tiff_tags(kept)))

    pillow = _pillow_image(pixels, fmt)
    options: dict[str, Any] = _metadata.pillow_options(kept, fmt)
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "JPEG":
        options["quality"] = quality or JPEG_QUALITY
    elif fmt == "WEBP":
        options.update({"quality": quality} if quality else {"lossless": True, "exact": True})
    return lambda file: pillow.save(file, format=fmt, **options)


def finished_strip(block: np.ndarray, mapping: str, depth: int, out=None) -> np.ndarray:
    """A finished strip of float32 results mapped by ``mapping`` and, for ``depth`` 8 or
    16, quantised (into ``out`` if given); float32 for ``depth`` 32.

    >>> finished_strip(np.array([[-3.0, 300.0]]), "abs", 8).tolist()
    [[3, 255]]
    """
    if mapping != "none" and not (mapping == "clip" and depth != 32):
        block = _rescale(block, mapping)  # quantising clips on its own
    return block if depth == 32 else quantise(block, depth, out)


def pixel_buffer(shape: tuple[int, ...], fmt: str) -> np.ndarray:
    """An empty uint8 array of ``shape`` to fill with the pixels of an ``fmt`` file,
    laid out so that :func:`save` hands it to the encoder as it is.

    Pillow keeps RGB in four bytes a pixel (RGBX) and its JPEG encoder reads that
    layout, so RGB for JPEG is a view of an RGBX array: no copy into Pillow at save.
    Only the compiled quantiser writes that view in one pass (numpy's copy into it
    cost 115 ms at 4096², against 6 ms into plain RGB), so the numpy engine gets RGB.

    >>> pixel_buffer((2, 3, 3), "JPEG").shape
    (2, 3, 3)
    """
    rgbx = fmt == "JPEG" and len(shape) == 3 and shape[2] == 3
    if rgbx and _native.module("_quantise") is not None:
        return np.empty((*shape[:2], 4), np.uint8)[..., :3]
    return np.empty(shape, np.uint8)


def _pillow_image(pixels: np.ndarray, fmt: str) -> Image.Image:
    """A Pillow image of uint8 ``pixels``: for JPEG, whose encoder ignores the fourth
    byte, the RGB view of an RGBX array is shared; anything else is copied."""
    rgbx = _rgbx_base(pixels) if fmt == "JPEG" else None
    if rgbx is None:
        return Image.fromarray(pixels)
    height, width = pixels.shape[:2]
    return Image.frombuffer("RGBX", (width, height), rgbx, "raw", "RGBX", 0, 1)


def _rgbx_base(pixels: np.ndarray) -> np.ndarray | None:
    """The rows of a C-contiguous (H, W, 4) uint8 array whose first three channels
    ``pixels`` is (:func:`pixel_buffer` for JPEG, or rows of it), or None."""
    base = pixels.base
    if not (
        pixels.size
        and pixels.dtype == np.uint8
        and pixels.ndim == 3
        and pixels.shape[2] == 3
        and isinstance(base, np.ndarray)
        and base.dtype == np.uint8
        and base.ndim == 3
        and base.shape[1:] == (pixels.shape[1], 4)
        and base.flags.c_contiguous
        and pixels.strides == base.strides
    ):
        return None
    first, rest = divmod(pixels.ctypes.data - base.ctypes.data, base.strides[0])
    if rest or first < 0 or first + pixels.shape[0] > base.shape[0]:
        return None
    return base[first : first + pixels.shape[0]]


def _write_bytes(make: Callable[[], bytes]) -> Callable[[Any], None]:
    return lambda file: file.write(make())
