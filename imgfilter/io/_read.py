"""Reading images: every supported file becomes a float32 array on the 0-255 scale.

Pixels come back as ``(H, W)`` gray, ``(H, W, 2)`` gray+alpha, ``(H, W, 3)`` RGB or
``(H, W, 4)`` RGBA, with alpha always the last channel. 8-bit files load as they are,
16-bit files are divided by 257, ``.npy`` arrays load unchanged. Palette, CMYK, YCbCr,
LAB and HSV images become RGB (RGBA if they carry transparency; a palette of grays
becomes gray), 1-bit images become 0/255 gray, and the EXIF orientation is applied.
Every failure is an :class:`~imgfilter.errors.ImageFileError` starting with the path.

>>> load_bytes(b"P2 2 1 255 0 255")
array([[  0., 255.]], dtype=float32)
"""

from __future__ import annotations

import io
import os
import re
import warnings
from typing import Any

import numpy as np
from PIL import Image

from imgfilter._checks import file_problem
from imgfilter.errors import ImageFileError
from imgfilter.io import _png16, _pnm16, _tiff16

_NPY_MAGIC = b"\x93NUMPY"
_ORIENTATION = 0x0112
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


def load(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as float32 on the 0-255 scale.

    Parameters
    ----------
    path : a PNG, JPEG, TIFF, BMP, WebP, GIF (first frame), PGM/PPM/PNM or ``.npy`` file.
        The format is recognised from the content, not the name.

    Returns
    -------
    np.ndarray
        float32, shape (H, W), (H, W, 2), (H, W, 3) or (H, W, 4) (alpha last).

    Raises
    ------
    ImageFileError
        The file is missing, unreadable, empty, not an image, truncated or too large.

    Examples
    --------
    A 2x2 16-bit gray PNG holding 0, 257, 32896 and 65535 loads as 0, 1, 128 and 255.
    """
    return _decode(_read_file(os.fspath(path)), os.fspath(path))[0]


def load_bytes(data: bytes, name: str = "<stdin>") -> np.ndarray:
    """Decode an image held in memory, like :func:`load`; errors start with ``name``.

    >>> load_bytes(b"P2 2 1 255 7 7")
    array([[7., 7.]], dtype=float32)
    """
    return _decode(bytes(data), name)[0]


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """Describe an image file for ``imgfilter info``.

    Returns
    -------
    dict
        ``path``, ``format`` (e.g. "PNG", "NPY"), ``width``, ``height``, ``channels``,
        ``mode`` (Pillow's mode of the file, or the dtype of a .npy), ``bit_depth``
        (per sample, in the file), ``channel_names`` (e.g. ["R", "G", "B", "A"]) and
        per-channel ``min``, ``max``, ``mean`` of the loaded values (0-255 scale).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.png")
    >>> with open(path, "wb") as file:
    ...     _ = file.write(b"P2 2 1 255 0 255")
    >>> info = describe(path)
    >>> info["width"], info["height"], info["mode"], info["bit_depth"], info["mean"]
    (2, 1, 'L', 8, [127.5])
    """
    path = os.fspath(path)
    pixels, meta = _decode(_read_file(path), path)
    planes = pixels.reshape(pixels.shape[0], pixels.shape[1], -1).astype(np.float64)
    channels = planes.shape[2]
    names = {1: ["L"], 2: ["L", "A"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}[channels]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN .npy channel
        stats = {
            key: [float(f(planes[..., c])) for c in range(channels)]
            for key, f in (("min", np.nanmin), ("max", np.nanmax), ("mean", np.nanmean))
        }
    return {
        "path": path,
        "format": meta["format"],
        "width": pixels.shape[1],
        "height": pixels.shape[0],
        "channels": channels,
        "mode": meta["mode"],
        "bit_depth": meta["bit_depth"],
        "channel_names": names,
        **stats,
    }


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise ImageFileError(file_problem(path, exc, "image file")) from None
    if not data:
        raise ImageFileError(f"{path}: empty file (0 bytes)")
    return data


def _decode(data: bytes, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (pixels, meta) where meta holds the file's format, mode and bit depth."""
    if not data:
        raise ImageFileError(f"{name}: empty input (0 bytes)")
    try:
        if data.startswith(_NPY_MAGIC):
            return _decode_npy(data, name)
        if name.lower().endswith(".npy"):
            raise ImageFileError(f"{name}: not a .npy file (no NumPy header)")
        if _png16.is_png16(data):
            pixels, orientation, meta = _decode_png16(data, name)
        elif _pnm16.header(data):
            pixels, orientation, meta = _decode_pnm16(data, name)
        else:
            pixels, orientation, meta = _decode_pillow(data, name)
    except ImageFileError:
        raise
    except Image.DecompressionBombError as exc:
        numbers = re.findall(r"\d+", str(exc))
        size = f"{numbers[0]} pixels" if numbers else str(exc)
        raise ImageFileError(_too_large(name, size, int(numbers[-1]) if numbers else 0)) from None
    except Image.UnidentifiedImageError:
        raise ImageFileError(
            f"{name}: not a recognised image (unknown format or not an image)"
        ) from None
    except MemoryError:
        raise ImageFileError(f"{name}: image too large to fit in memory") from None
    except Exception as exc:  # Pillow reports broken data with many exception types
        raise ImageFileError(f"{name}: truncated or corrupt image data ({exc})") from exc
    if orientation in _ORIENT:
        pixels = np.ascontiguousarray(_ORIENT[orientation](pixels))
    return pixels, meta


def _too_large(name: str, size: str, limit: int) -> str:
    return (
        f"{name}: image too large: {size}, over the limit of {limit} pixels "
        "(a guard against decompression bombs; raise PIL.Image.MAX_IMAGE_PIXELS to allow it)"
    )


def _check_size(name: str, width: int, height: int) -> None:
    """Apply Pillow's decompression-bomb limit to the decoders that bypass Image.open."""
    if Image.MAX_IMAGE_PIXELS and width * height > 2 * Image.MAX_IMAGE_PIXELS:
        size = f"{width}x{height} = {width * height} pixels"
        raise ImageFileError(_too_large(name, size, 2 * Image.MAX_IMAGE_PIXELS))


def _decode_npy(data: bytes, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ImageFileError(
                f"{name}: .npy holds Python objects (non-numeric dtype); expected numbers"
            ) from None
        raise ImageFileError(f"{name}: truncated or corrupt .npy data ({exc})") from None
    meta = {"format": "NPY", "mode": str(array.dtype), "bit_depth": array.dtype.itemsize * 8}
    if array.dtype.kind not in "biuf":
        raise ImageFileError(
            f"{name}: .npy has non-numeric dtype {array.dtype}; expected integers or floats"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)):
        raise ImageFileError(
            f"{name}: .npy array must be 2-D (H, W) or 3-D (H, W, C) with 1-4 channels, "
            f"got shape {array.shape}"
        )
    if array.size == 0:
        raise ImageFileError(f"{name}: .npy array is empty, shape {array.shape}")
    if array.dtype.kind == "b":
        array = array * np.float32(255)
    return np.ascontiguousarray(array, dtype=np.float32), meta


def _decode_png16(data: bytes, name: str) -> tuple[np.ndarray, int, dict[str, Any]]:
    width, height, ctype = _png16.header(data)
    _check_size(name, width, height)
    try:
        pixels, exif = _png16.decode(data)
    except ValueError as exc:  # its messages say truncated or corrupt in plain words
        raise ImageFileError(f"{name}: {exc}") from exc
    orientation = 1
    if exif:
        parsed = Image.Exif()
        try:
            parsed.load(exif)
            orientation = parsed.get(_ORIENTATION, 1)
        except Exception:  # a broken EXIF block is metadata, not a reason to refuse pixels
            pass
    meta = {"format": "PNG", "mode": _png16.MODES.get(ctype, "?"), "bit_depth": 16}
    return pixels.astype(np.float32) / 257, orientation, meta


def _decode_pnm16(data: bytes, name: str) -> tuple[np.ndarray, int, dict[str, Any]]:
    width, height, _, _ = _pnm16.header(data)
    _check_size(name, width, height)
    meta = {"format": "PPM", "mode": "RGB", "bit_depth": 16}
    try:
        pixels = _pnm16.decode(data)
    except ValueError as exc:  # see _decode_png16
        raise ImageFileError(f"{name}: {exc}") from exc
    return pixels.astype(np.float32) / 257, 1, meta


def _decode_pillow(data: bytes, name: str) -> tuple[np.ndarray, int, dict[str, Any]]:
    image = Image.open(io.BytesIO(data))
    bits = _bit_depth(image, data)
    meta = {"format": image.format, "mode": image.mode, "bit_depth": bits}
    if image.format == "TIFF" and _tiff16.applies(image):
        pixels = _tiff16.decode(image, data).astype(np.float32) / 257
    else:
        image.load()
        pixels = _pillow_pixels(image, name, bits)
    try:
        orientation = image.getexif().get(_ORIENTATION, 1)
    except Exception:  # see _decode_png16
        orientation = 1
    return pixels, orientation, meta


def _bit_depth(image: Image.Image, data: bytes) -> int:
    """Bits per sample as stored in the file."""
    if image.format == "PNG" and data.startswith(_png16.SIGNATURE):
        return data[24]
    if image.format == "TIFF":
        bits = image.tag_v2.get(258, 1)
        return int(bits[0] if isinstance(bits, tuple) else bits)
    if image.format == "PPM" and image.mode == "I":
        return 16
    if image.mode.startswith("I;16"):
        return 16
    return {"1": 1, "I": 32, "F": 32}.get(image.mode, 8)


def _pillow_pixels(image: Image.Image, name: str, bits: int) -> np.ndarray:
    """Pixels of a loaded Pillow image in the image model (gray/LA/RGB/RGBA, 0-255 scale)."""
    mode, keyed = image.mode, "transparency" in image.info
    if bits > 8 and mode in ("LA", "RGB", "RGBA", "CMYK"):
        warnings.warn(f"{name}: {bits}-bit {mode} data read at 8-bit precision", stacklevel=5)
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
    elif mode in ("L", "LA", "RGB", "RGBA", "F"):
        pixels = np.asarray(image)
    elif mode.startswith("I;16") or (mode == "I" and bits <= 16):
        return np.asarray(image).astype(np.float32) / 257
    elif mode == "I":
        pixels = np.asarray(image)
    else:
        raise ImageFileError(f"{name}: unsupported image mode {mode!r}")
    return pixels.astype(np.float32)


def _gray_palette(image: Image.Image) -> bool:
    palette = np.asarray(image.getpalette() or [0, 1, 2]).reshape(-1, 3)
    return bool((palette == palette[:, :1]).all())
