"""Writing images: one output mapping, quantising in bands, and atomic replacement.

A regular file appears complete or not at all. On Linux the bytes go to an unnamed
file in the target folder (``O_TMPFILE``), flushed to disk and linked into place, so
even SIGKILL leaves nothing behind; elsewhere to a hidden ``.NAME.XXXXXXXX.tmp`` file
renamed into place. A replaced file keeps its permission bits; a symlink is written
through to its target; a device, a FIFO or ``/dev/stdout`` is written directly.

>>> import numpy as np
>>> encode(np.zeros((1, 1)), "png")[:8]
b'\\x89PNG\\r\\n\\x1a\\n'
"""

from __future__ import annotations

import errno
import io
import os
import re
import secrets
import shutil
import stat
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from imgfilter import formats
from imgfilter.errors import ImageFileError, ImageWarning
from imgfilter.image import join_alpha, split_alpha
from imgfilter.image import rescale as _rescale
from imgfilter.io import _png16, _text, _tiff16

PNG_COMPRESS_LEVEL = 3  # 4096x4096 RGB: 1.2 s and 8.0 MB, against 2.9 s and 6.7 MB at 6
JPEG_QUALITY = 92  # ImageMagick's default; Pillow's own 75 smears edge maps


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
        (see ``imgfilter.formats.FORMATS``). The folder must exist. An existing file is
        replaced and keeps its permission bits; a symlink is written through (the link
        stays); a device, FIFO or ``/dev/stdout`` is written directly.
    rescale : how values map into 0-255 (``clip``, ``minmax``, ``abs``; see
        :func:`imgfilter.image.rescale`). Default ``clip``, or ``none`` for ``.npy``.
        ``none`` keeps floats: only ``.npy`` and gray TIFF (a float32 "F" TIFF) can.
        The mapping applies to the colour channels; alpha is clipped. Values are then
        rounded half to even, and NaN is written as 0.
    depth : 8, or 16 for PNG and TIFF (values x257).
    quality : 1-100 for JPEG (default 92) and WebP (default: lossless).
    format : a name or extension from ``imgfilter.formats.FORMATS`` (e.g. "png"),
        overriding the extension.

    Warns
    -----
    ImageWarning
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
    write = _prepare(image, fmt, rescale, depth, quality, path)
    _put(path, write, fmt)


def encode(
    image: np.ndarray,
    format: str,
    rescale: str | None = None,
    *,
    depth: int = 8,
    quality: int | None = None,
    name: str | None = None,
) -> bytes:
    """Encode an image as the bytes of a file in ``format`` ("png", ".jpg", "NPY", ...).

    The options are those of :func:`save`; ``name`` is how warnings name the output
    (default ``<PNG output>``).

    >>> encode(np.zeros((1, 1)), "png")[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    fmt = formats.format_name(format)
    buffer = io.BytesIO()
    _prepare(image, fmt, rescale, depth, quality, name or f"<{fmt} output>")(buffer)
    return buffer.getvalue()


def _as_image(image: Any, fmt: str) -> np.ndarray:
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
    image = _as_image(image, fmt)
    mode, depth, quality = formats.check_output(fmt, rescale, depth, quality)
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


# --- putting the bytes in place --------------------------------------------------------

# On Linux an O_TMPFILE file has no name until it is linked, via /proc/self/fd/N.
_UNNAMED = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_DESCRIPTOR_PATH = re.compile(r"/(?:dev/fd|proc/self/fd|proc/thread-self/fd)/(\d+)")
_STREAMS = {"/dev/stdout": 1, "/dev/stderr": 2}
_LOCK = threading.RLock()  # re-entered by a signal handler that cleans up
_TEMPORARIES: set[str] = set()  # named temporary files that exist now
_STOPPED = {"on": False}


def discard_temporaries(stop: bool = False) -> int:
    """Remove the named temporary files of writes in progress; return how many.

    The command line calls it when a signal ends a batch. ``stop=True`` also refuses
    new temporary files, for a process about to exit with writer threads still running.

    >>> discard_temporaries()
    0
    """
    with _LOCK:
        _STOPPED["on"] = _STOPPED["on"] or stop
        names = sorted(_TEMPORARIES)
        _TEMPORARIES.clear()
    for name in names:
        _unlink(name)
    return len(names)


def _put(path: str, write: Callable[[Any], None], fmt: str) -> None:
    """Write ``path``: a special file directly, a regular file (or new name) atomically."""
    number = _descriptor_number(path)
    if number is not None:
        return _write_descriptor(number, path, write, fmt)
    try:
        info = os.stat(path)  # follows symlinks
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ImageFileError(f"{path}: cannot write: {exc.strerror or exc}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ImageFileError(f"{path}: is a directory; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return _write_special(path, write, fmt)
    target = os.path.realpath(path) if os.path.islink(path) else path
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise ImageFileError(f"{path}: folder {folder} does not exist")
    descriptor = _open_unnamed(folder, path)
    if descriptor is None:
        _replace_through_name(target, path, write, fmt, info)
        return None
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            _keep_owner_and_mode(file.fileno(), info)
            os.fsync(file.fileno())
            _link_into_place(file.fileno(), target, path, fmt, info)
    except BaseException as exc:
        _raise_write_error(path, fmt, exc)
    return None


def _descriptor_number(path: str) -> int | None:
    """The file descriptor ``/dev/stdout``, ``/dev/fd/N`` or ``/proc/self/fd/N`` names."""
    if os.name != "posix":
        return None
    absolute = os.path.normpath(os.path.abspath(path))
    if absolute in _STREAMS:
        return _STREAMS[absolute]
    match = _DESCRIPTOR_PATH.fullmatch(absolute)
    return int(match.group(1)) if match else None


def _encoded(write: Callable[[Any], None]) -> memoryview:
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getbuffer()


def _write_descriptor(number: int, path: str, write: Callable[[Any], None], fmt: str) -> None:
    """Write to an open descriptor as the shell opened it (appending, a pipe, a terminal)."""
    try:
        data = _encoded(write)
        while data:
            data = data[os.write(number, data) :]
    except BaseException as exc:
        _raise_write_error(path, fmt, exc)


def _write_special(path: str, write: Callable[[Any], None], fmt: str) -> None:
    """A device or FIFO: encoded in memory first, then opened (never created) and written."""
    try:
        data = _encoded(write)
        with open(os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0)), "wb") as file:
            file.write(data)
    except BaseException as exc:
        _raise_write_error(path, fmt, exc)


def _open_unnamed(folder: str, path: str) -> int | None:
    """An unnamed file in ``folder`` (Linux O_TMPFILE), or None where it is unavailable."""
    if not _UNNAMED:
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_RDWR | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None  # the file system or kernel cannot: use a named temporary
        raise _create_error(path, folder, exc) from None


def _link_into_place(
    descriptor: int, target: str, path: str, fmt: str, info: os.stat_result | None
) -> None:
    """Give the finished unnamed file its name: directly if new, else by a rename."""
    folder = os.path.dirname(os.path.abspath(target))
    # os.link calls linkat(AT_SYMLINK_FOLLOW), which /proc/self/fd/N needs, only with a dir_fd.
    folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    source = f"/proc/self/fd/{descriptor}"

    def link(name: str) -> None:
        os.link(source, os.path.basename(name), dst_dir_fd=folder_fd, follow_symlinks=True)

    try:
        try:
            link(target)
            return
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EMLINK):
                raise
            # linkat refused (a sandbox, an odd file system): copy into a named temporary.
            os.lseek(descriptor, 0, os.SEEK_SET)
            with open(descriptor, "rb", closefd=False) as data:
                copy = lambda file: shutil.copyfileobj(data, file)  # noqa: E731
                _replace_through_name(target, path, copy, fmt, info)
            return
        temp, _ = _claim_name(folder, target, path, link)
        try:
            os.replace(temp, target)
        except BaseException:
            _unlink(temp)
            raise
        finally:
            _forget(temp)
    finally:
        os.close(folder_fd)


def _replace_through_name(
    target: str, path: str, write: Callable[[Any], None], fmt: str, info
) -> None:
    """Write a hidden named temporary file in the target folder, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(target))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    temp, descriptor = _claim_name(folder, target, path, lambda name: os.open(name, flags, 0o666))
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            _keep_owner_and_mode(file.fileno(), info)
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        _unlink(temp)
        _raise_write_error(path, fmt, exc)
    finally:
        _forget(temp)


def _claim_name(
    folder: str, target: str, path: str, create: Callable[[str], Any]
) -> tuple[str, Any]:
    """Create a fresh ``.NAME.XXXXXXXX.tmp`` with ``create`` and register it for clean-up."""
    base = os.path.basename(target)[:200]  # room for the suffix within the 255-byte limit
    for _ in range(100):
        temp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        with _LOCK:  # registered before it exists, so a clean-up after a signal never misses it
            if _STOPPED["on"]:
                raise ImageFileError(f"{path}: not written: imgfilter is stopping")
            _TEMPORARIES.add(temp)
            try:
                made = create(temp)
            except FileExistsError:
                _TEMPORARIES.discard(temp)
                continue
            except OSError as exc:
                _TEMPORARIES.discard(temp)
                raise _create_error(path, folder, exc) from None
        return temp, made
    raise ImageFileError(f"{path}: cannot create a temporary file in {folder}")


def _forget(temp: str) -> None:
    with _LOCK:
        _TEMPORARIES.discard(temp)


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _keep_owner_and_mode(descriptor: int, info: os.stat_result | None) -> None:
    """A replaced file's permission bits (and, where allowed, its owner and group)."""
    if info is None:
        return
    if hasattr(os, "fchown"):
        try:
            os.fchown(descriptor, info.st_uid, info.st_gid)
        except OSError:
            pass  # only root may give a file away; the mode is what matters
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, stat.S_IMODE(info.st_mode) & 0o777)


def _create_error(path: str, folder: str, exc: OSError) -> ImageFileError:
    if isinstance(exc, PermissionError):
        return ImageFileError(f"{path}: permission denied (cannot write in {folder})")
    return ImageFileError(f"{path}: cannot write: {exc.strerror or exc}")


def _raise_write_error(path: str, fmt: str, exc: BaseException) -> None:
    """Raise the one-line error for a failed write; signals and our own errors pass as they are."""
    if isinstance(exc, OSError):
        raise ImageFileError(f"{path}: cannot write {fmt}: {exc.strerror or exc}") from exc
    if isinstance(exc, (ValueError, TypeError)) and not isinstance(exc, ImageFileError):
        raise ImageFileError(f"{path}: cannot encode {fmt}: {exc}") from exc
    raise exc
