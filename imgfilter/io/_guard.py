"""What a file may cost before a byte of it is decoded: the pixel guard and regular files only.

The pixel guard refuses images with more than :func:`max_pixels` pixels (width x height),
178956970 unless ``IMGFILTER_MAX_PIXELS`` or :func:`set_max_pixels` say otherwise, and
warns from half of that up: Pillow's decompression-bomb rule (warn above
``PIL.Image.MAX_IMAGE_PIXELS``, refuse above twice it), applied the same to the decoders
that bypass Pillow and to ``.npy``. Pillow's own setting follows it, so that Pillow
refuses no image the guard allows.

>>> check_pixels("a.png", 640, 480)
>>> check_pixels("b.png", 0, 480)
Traceback (most recent call last):
...
imgfilter.errors.ImageFileError: b.png: the image has no pixels (480×0)
"""

from __future__ import annotations

import io
import os
import stat
import threading

from PIL import Image

from imgfilter._checks import file_problem, positive_int, size_text
from imgfilter.errors import ImageFileError

ENVIRONMENT = "IMGFILTER_MAX_PIXELS"
# Pillow's default refusal limit: twice its MAX_IMAGE_PIXELS of 1024 * 1024 * 1024 // 4 // 3.
PILLOW_DEFAULT = 178956970
_lock = threading.Lock()
# "limit": the chosen limit, or None to follow PIL.Image.MAX_IMAGE_PIXELS; the environment
# is read once, at the first image (or by set_max_pixels(None)).
_state: dict[str, object] = {"limit": None, "environment_read": False}


def set_max_pixels(n: int | None) -> None:
    """Refuse images of more than ``n`` pixels (width x height); None restores the default.

    The default is ``IMGFILTER_MAX_PIXELS`` when set, else Pillow's 178956970. Images over
    half the limit load with a warning, as Pillow's decompression-bomb check does.

    >>> set_max_pixels(1000); max_pixels()
    1000
    >>> set_max_pixels(None); max_pixels() == default_max_pixels()
    True
    """
    if n is None:
        _choose(default_max_pixels() if os.environ.get(ENVIRONMENT) is not None else None)
    else:
        _choose(positive_int("max_pixels", n))


def default_max_pixels() -> int:
    """``IMGFILTER_MAX_PIXELS`` if set (a positive integer), else Pillow's 178956970.

    >>> default_max_pixels() if "IMGFILTER_MAX_PIXELS" not in os.environ else 178956970
    178956970
    """
    text = os.environ.get(ENVIRONMENT)
    if text is None:
        return PILLOW_DEFAULT
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{ENVIRONMENT} must be a whole number of pixels >= 1 (e.g. 500000000), got {text!r}"
        )
    return value


def max_pixels() -> int | None:
    """The number of pixels over which an image is refused (None: no limit).

    Unless :func:`set_max_pixels` or ``IMGFILTER_MAX_PIXELS`` chose it, this is twice
    ``PIL.Image.MAX_IMAGE_PIXELS``, so a program that sets Pillow's limit sets this one.
    """
    if not _state["environment_read"] and os.environ.get(ENVIRONMENT) is not None:
        _choose(default_max_pixels())
    _state["environment_read"] = True
    if _state["limit"] is not None:
        return _state["limit"]
    return None if Image.MAX_IMAGE_PIXELS is None else 2 * Image.MAX_IMAGE_PIXELS


def _choose(limit: int | None) -> None:
    with _lock:
        _state["limit"], _state["environment_read"] = limit, True
        # Half, rounded up: Pillow then refuses nothing under the limit (it refuses above
        # twice its setting); the guard itself refuses the one pixel more an odd limit leaves.
        Image.MAX_IMAGE_PIXELS = -(-(limit or PILLOW_DEFAULT) // 2)


def check_pixels(name: str, width: int, height: int) -> str | None:
    """Refuse an empty or too large image; return the warning for a large one, else None."""
    if width <= 0 or height <= 0:
        raise ImageFileError(f"{name}: the image has no pixels ({size_text((height, width))})")
    limit, pixels = max_pixels(), width * height
    if limit is None or pixels * 2 <= limit:
        return None
    size = f"{size_text((height, width))} = {pixels} pixels"
    if pixels > limit:
        raise ImageFileError(too_large(name, size))
    return f"{name}: {size}, over half the limit of {limit} pixels (could be a decompression bomb)"


def too_large(name: str, size: str) -> str:
    """The message for an image over the pixel guard; ``size`` says how large it is."""
    return (
        f"{name}: image too large: {size}, over the limit of {max_pixels()} pixels "
        f"(a guard against decompression bombs; raise it with --max-pixels N or {ENVIRONMENT})"
    )


def check_regular(path: str, status: os.stat_result) -> None:
    """Refuse anything but a regular file: reading a device or FIFO may never end."""
    if stat.S_ISREG(status.st_mode):
        return
    if stat.S_ISDIR(status.st_mode):
        raise ImageFileError(
            file_problem(path, IsADirectoryError(21, "Is a directory"), "image file")
        )
    raise ImageFileError(
        f"{path}: not a regular file (a device, FIFO or socket); to read standard input, name it -"
    )


def open_without_blocking(path: str, flags: int) -> int:
    """An ``opener`` for :func:`open`: opening a FIFO must not wait for a writer."""
    extra = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    return os.open(path, flags | extra)


class Capped(io.RawIOBase):
    """A binary file read no further than ``size`` bytes: a file that grows is not followed.

    >>> capped = io.BufferedReader(Capped(io.BytesIO(b"abcdef"), 4))
    >>> capped.read()
    b'abcd'
    """

    def __init__(self, raw, size: int):
        super().__init__()
        self.raw, self.size = raw, size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self.size - self.raw.tell()
        if left <= 0:
            return 0
        return self.raw.readinto(memoryview(buffer).cast("B")[:left])

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.raw.close()
        super().close()
