"""Read and write images as float32 arrays on the 0-255 scale.

Pixels come back as ``(H, W)`` gray, ``(H, W, 2)`` gray+alpha, ``(H, W, 3)`` RGB or
``(H, W, 4)`` RGBA, with alpha always the last channel. 8-bit files load as they are,
16-bit files are divided by 257 (and multiplied back on a 16-bit save), ``.npy`` arrays
load unchanged. Palette, CMYK, YCbCr, LAB and HSV images become RGB (RGBA if they carry
transparency; a palette of grays becomes gray), 1-bit images become 0/255 gray, and the
EXIF orientation is applied. Every failure to read or write a file is an
:class:`~imgfilter.errors.ImageFileError` whose message starts with the path.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
>>> save(np.array([[0.0, 127.5], [254.6, 300.0]]), path)
>>> load(path)
array([[  0., 128.],
       [255., 255.]], dtype=float32)
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from imgfilter import _png16, _pnm16, _tiff16
from imgfilter._checks import choice, in_range, integer
from imgfilter.errors import ImageFileError
from imgfilter.rescaling import RESCALE_MODES
from imgfilter.rescaling import rescale as _rescale

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
}
"""File extension -> format name (Pillow's, plus NPY) for :func:`save` and :func:`encode`."""

PNG_COMPRESS_LEVEL = 3  # 4096x4096 RGB: 1.2 s and 8.0 MB, against 2.9 s and 6.7 MB at 6
JPEG_QUALITY = 92  # ImageMagick's default; Pillow's own 75 smears edge maps
DEPTH_FORMATS = ("PNG", "TIFF")  # can store 16 bits per sample
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP", "NPY")  # can store an alpha channel
QUALITY_FORMATS = ("JPEG", "WEBP")

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


# ---------------------------------------------------------------------------- reading


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

    >>> load_bytes(encode(np.full((1, 2), 7.0), "png"))
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
    >>> save(np.array([[0.0, 255.0]]), path)
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
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageFileError(f"{path}: is a directory, not an image file") from None
    except PermissionError:
        raise ImageFileError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
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


# ---------------------------------------------------------------------------- alpha


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split off the alpha channel (the last channel of a 2- or 4-channel image).

    >>> colour, alpha = split_alpha(np.zeros((2, 3, 4)))
    >>> colour.shape, alpha.shape
    ((2, 3, 3), (2, 3))
    >>> split_alpha(np.zeros((2, 3)))[1] is None
    True
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in (2, 4):
        return image, None
    colour = image[..., 0] if image.shape[2] == 2 else image[..., :3]
    return np.ascontiguousarray(colour), np.ascontiguousarray(image[..., -1])


def join_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Put an alpha channel (H, W) back after gray (H, W) or RGB (H, W, 3) colour.

    >>> join_alpha(np.zeros((2, 3)), np.ones((2, 3))).shape
    (2, 3, 2)
    """
    colour = np.asarray(colour)
    if alpha is None:
        return colour
    alpha = np.asarray(alpha)
    gray = colour.ndim == 2 or (colour.ndim == 3 and colour.shape[2] == 1)
    if not (gray or (colour.ndim == 3 and colour.shape[2] == 3)):
        raise ValueError(f"alpha joins a gray or RGB image only, got colour shape {colour.shape}")
    if alpha.shape != colour.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match the image's {colour.shape[:2]}")
    colour = colour.reshape(*colour.shape[:2], -1)
    return np.concatenate([colour, alpha[..., None]], axis=2).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------- writing


def save(
    image: np.ndarray,
    path: str | os.PathLike,
    rescale: str | None = None,
    *,
    depth: int = 8,
    quality: int | None = None,
    format: str | None = None,
) -> None:
    """Write an image atomically: the file appears complete or not at all.

    Parameters
    ----------
    image : array (H, W) or (H, W, C) with C = 1-4, alpha last for C = 2 or 4;
        a boolean array is written as 0 and 255.
    path : the target; its extension picks the format unless ``format`` is given
        (see ``FORMATS``). The folder must exist; an existing file is replaced.
    rescale : how values map into 0-255 (``clip``, ``minmax``, ``abs``; see
        :func:`imgfilter.rescaling.rescale`). Default ``clip``, or ``none`` for ``.npy``.
        ``none`` keeps floats: only ``.npy`` and gray TIFF (a float32 "F" TIFF) can.
        The mapping applies to the colour channels; alpha is clipped. Values are then
        rounded half to even, and NaN is written as 0.
    depth : 8, or 16 for PNG and TIFF (values x257).
    quality : 1-100 for JPEG (default 92) and WebP (default: lossless).
    format : a name or extension from ``FORMATS`` (e.g. "png"), overriding the extension.

    Warns
    -----
    UserWarning
        JPEG, BMP, GIF and PPM cannot store alpha: it is dropped, with a warning naming
        the file. WebP has no gray mode: gray is written (and reloads) as RGB.

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
    >>> load(path)
    array([[255.,   0.]], dtype=float32)
    """
    path = os.fspath(path)
    fmt = _format_name(format, path) if format is not None else _format_of(path)
    write = _prepare(image, fmt, rescale, depth, quality, path)
    _write_atomic(path, write, fmt)


def encode(
    image: np.ndarray,
    format: str,
    rescale: str | None = None,
    *,
    depth: int = 8,
    quality: int | None = None,
) -> bytes:
    """Encode an image as the bytes of a file in ``format`` ("png", ".jpg", "NPY", ...).

    The options are those of :func:`save`.

    >>> encode(np.zeros((1, 1)), "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    fmt = _format_name(format)
    buffer = io.BytesIO()
    _prepare(image, fmt, rescale, depth, quality, f"<{fmt} output>")(buffer)
    return buffer.getvalue()


def _supported() -> str:
    return ", ".join(sorted(FORMATS))


def _format_of(path: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        found = f"extension {extension!r}" if extension else "no extension"
        raise ImageFileError(
            f"{path}: cannot tell the image format from {found}; use one of {_supported()} "
            "(or give a format)"
        )
    return FORMATS[extension]


def _format_name(name: Any, path: str | None = None) -> str:
    names = {ext.lstrip("."): fmt for ext, fmt in FORMATS.items()}
    names.update({fmt.lower(): fmt for fmt in FORMATS.values()})
    key = name.lower().lstrip(".") if isinstance(name, str) else None
    if key not in names:
        where = f"{path}: " if path else ""
        raise ValueError(f"{where}format must be one of {', '.join(sorted(names))}; got {name!r}")
    return names[key]


def _as_image(image: Any) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype == bool:
        array = array * np.float32(255)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"image must be an array of numbers, got dtype {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)):
        raise ValueError(
            f"image must have shape (H, W) or (H, W, C) with 1-4 channels, got {array.shape}"
        )
    if array.size == 0:
        raise ValueError(f"image must not be empty, got shape {array.shape}")
    return array.astype(np.float32, copy=False)


_QUANTISE_BAND_BYTES = 1 << 20


def _quantise(values: np.ndarray, depth: int) -> np.ndarray:
    """0-255 floats -> uint8 or uint16 (x257), clipped, rounding half to even; NaN -> 0.

    Works through the rows in bands, so no full-size float temporary is made.
    """
    scale, top, dtype = (1, 255, np.uint8) if depth == 8 else (257, 65535, np.uint16)
    out = np.empty(values.shape, dtype=dtype)
    rows = max(1, _QUANTISE_BAND_BYTES // max(1, values[0].nbytes))
    for r0 in range(0, values.shape[0], rows):
        band = values[r0 : r0 + rows] * np.float32(scale)
        band[np.isnan(band)] = 0
        np.clip(band, 0, top, out=band)
        out[r0 : r0 + rows] = np.rint(band, out=band)
    return out


def _prepare(
    image: Any, fmt: str, rescale: str | None, depth: int, quality: int | None, name: str
) -> Callable[[Any], None]:
    """Validate everything and build the pixels; return a function that writes them to a file."""
    image = _as_image(image)
    if rescale is None:
        rescale = "none" if fmt == "NPY" else "clip"
    mode = choice("rescale", rescale, RESCALE_MODES)
    depth = integer("depth", depth)
    if depth not in (8, 16):
        raise ValueError(f"depth must be 8 or 16, got {depth}")
    if depth == 16 and fmt not in DEPTH_FORMATS:
        raise ValueError(f"depth 16 needs PNG or TIFF; {fmt} stores 8 bits per sample")
    if quality is not None:
        if fmt not in QUALITY_FORMATS:
            raise ValueError(f"quality applies to JPEG and WebP only, not {fmt}")
        quality = int(in_range("quality", integer("quality", quality), 1, 100))
    if mode == "none" and fmt not in ("NPY", "TIFF"):
        raise ValueError(
            f"rescale 'none' keeps floats, which {fmt} cannot store; save as .npy or a gray "
            "TIFF, or choose clip, minmax or abs"
        )
    if mode == "none" and depth == 16:
        raise ValueError("rescale 'none' writes floats; it cannot be combined with depth 16")
    if mode == "none" and fmt == "TIFF" and image.ndim == 3:
        raise ValueError(
            f"a float TIFF holds one gray channel, got shape {image.shape}; save colour "
            "floats as .npy, or choose rescale clip, minmax or abs"
        )

    colour, alpha = split_alpha(image)
    if alpha is not None and fmt not in ALPHA_FORMATS:
        warnings.warn(
            f"{name}: {fmt} cannot store alpha; the alpha channel was dropped", stacklevel=3
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
    if mode == "none":
        pillow = Image.fromarray(colour.astype(np.float32))
        return lambda file: pillow.save(file, format="TIFF")

    pixels = _quantise(join_alpha(colour, alpha), depth)
    if depth == 16 and fmt == "PNG":
        return _write_bytes(lambda: _png16.encode(pixels, PNG_COMPRESS_LEVEL))
    if depth == 16 and pixels.ndim == 3:
        if pixels.shape[2] == 2:
            raise ValueError(
                "a 16-bit TIFF cannot hold gray+alpha here (Pillow could not read it back); "
                "save as 16-bit PNG, or drop the alpha"
            )
        return _write_bytes(lambda: _tiff16.encode(pixels))

    pillow = Image.fromarray(pixels)
    options: dict[str, Any] = {}
    if fmt == "PNG":
        options["compress_level"] = PNG_COMPRESS_LEVEL
    elif fmt == "JPEG":
        options["quality"] = quality or JPEG_QUALITY
    elif fmt == "WEBP":
        options.update({"quality": quality} if quality else {"lossless": True, "exact": True})
    return lambda file: pillow.save(file, format=fmt, **options)


def _write_bytes(make: Callable[[], bytes]) -> Callable[[Any], None]:
    return lambda file: file.write(make())


def _write_atomic(path: str, write: Callable[[Any], None], fmt: str) -> None:
    """Write through a hidden temporary file in the target folder, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ImageFileError(f"{path}: is a directory; give a file name")
    if not os.path.isdir(folder):
        raise ImageFileError(f"{path}: folder {folder} does not exist")
    base = os.path.basename(path)[:200]  # room for the suffix within the 255-byte name limit
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except PermissionError:
            raise ImageFileError(f"{path}: permission denied (cannot write in {folder})") from None
        except OSError as exc:
            raise ImageFileError(f"{path}: cannot write: {exc.strerror or exc}") from None
    else:
        raise ImageFileError(f"{path}: cannot create a temporary file in {folder}")
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise ImageFileError(f"{path}: cannot write {fmt}: {reason}") from exc
        if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, ImageFileError):
            raise ImageFileError(f"{path}: cannot encode {fmt}: {exc}") from exc
        raise
