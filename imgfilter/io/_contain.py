"""What a decoder may let out: one ImageWarning per warning, ImageFileError for any failure.

:func:`decoding` wraps the reading of one file. Warnings that Pillow, libtiff, libjpeg or
numpy raise inside it are collected instead of printed; the caller re-emits each with
:func:`emit` as one :class:`~imgfilter.errors.ImageWarning` line, ``"<name>: <what>"``,
and only if the file was read (after a failure the error says enough). Any exception
but ImageFileError becomes ``ImageFileError("<name>: <what>")``.

Collecting works per thread, so that a batch decoding files on several threads gives
each file its own warnings: while any thread decodes, ``warnings.showwarning`` is a
router that hands each warning to the collector of the thread that raised it, and to the
previous ``showwarning`` when that thread is not decoding.

>>> import warnings
>>> with decoding("x.png") as notes:
...     warnings.warn("Corrupt EXIF data.\\n  Expecting 12 bytes")
>>> notes
['x.png: Corrupt EXIF data. Expecting 12 bytes']
"""

from __future__ import annotations

import contextlib
import ctypes
import re
import threading
import warnings
from pathlib import Path

from PIL import Image

from imgfilter.errors import ImageFileError, ImageWarning
from imgfilter.io import _guard

_lock = threading.Lock()
_local = threading.local()
_router: dict[str, object] = {"users": 0, "previous": None, "libtiff quiet": False}
_PILLOW_SIZE = re.compile(r"\((\d+) pixels\)")


@contextlib.contextmanager
def decoding(name: str):
    """Collect the warnings of one decode (a list of one-line texts) and contain its errors."""
    _guard.max_pixels()  # a bad IMGFILTER_MAX_PIXELS is the caller's ValueError, not the file's
    notes: list[str] = []
    caught: list[warnings.WarningMessage] = []
    outer = getattr(_local, "caught", None)
    _start_routing()
    _local.caught = caught
    try:
        yield notes
    except ImageFileError:
        raise
    except Exception as exc:  # whatever a decoder raises, the user gets one line naming the file
        raise ImageFileError(problem(name, exc)) from exc
    finally:
        _local.caught = outer
        _stop_routing()
    seen = set(notes)
    for message in caught:
        if issubclass(message.category, Image.DecompressionBombWarning):
            continue  # the pixel guard warns in its own words
        text = " ".join(str(message.message).split())
        if not text.startswith(f"{name}: "):
            text = f"{name}: {text}"
        if text not in seen:
            seen.add(text)
            notes.append(text)


def emit(notes: list[str]) -> None:
    """Warn once per note, as ImageWarning, pointing at the caller of the public function."""
    for text in notes:
        warnings.warn(ImageWarning(text), stacklevel=3)


def problem(name: str, exc: BaseException) -> str:
    """One line for a decoder's exception: ``"x.tif: truncated or corrupt image data (...)"``."""
    if isinstance(exc, Image.DecompressionBombError):
        found = _PILLOW_SIZE.search(str(exc))
        return _guard.too_large(name, f"{found[1]} pixels" if found else "too many pixels")
    if isinstance(exc, MemoryError):
        return f"{name}: image too large to fit in memory"
    what = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OverflowError):
        return f"{name}: corrupt image header (a size or offset out of range: {what})"
    if isinstance(exc, RecursionError):
        return f"{name}: corrupt image data (structures nested too deeply)"
    if isinstance(exc, Warning):  # a warnings filter set to "error"
        return f"{name}: {what}"
    return f"{name}: truncated or corrupt image data ({what})"


def quiet_libtiff() -> None:
    """Stop libtiff printing its errors on stderr; Pillow raises them as exceptions anyway.

    libtiff writes them itself (no Python warning to catch), for the whole process, so
    its error handler is unset once, in whichever copy of libtiff Pillow loaded.
    """
    with _lock:
        if _router["libtiff quiet"]:
            return
        _router["libtiff quiet"] = True
    for path in _libtiff_files():
        try:
            ctypes.CDLL(path).TIFFSetErrorHandler(None)
        except (OSError, AttributeError):  # not the library it seemed to be
            pass


def _libtiff_files() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:  # Linux: the libraries this process loaded
            fields = [line.split(None, 5) for line in maps]
        return sorted({f[5].strip() for f in fields if len(f) == 6 and "/libtiff" in f[5]})
    except OSError:  # elsewhere: the copy a Pillow wheel ships, if any
        folder = Path(Image.__file__).parent
        found = [*folder.glob(".dylibs/libtiff*"), *folder.parent.glob("pillow.libs/libtiff*")]
        return [str(path) for path in found]


def _start_routing() -> None:
    with _lock:
        if _router["users"] == 0 and warnings.showwarning is not _route:
            _router["previous"] = warnings.showwarning
            warnings.showwarning = _route
        _router["users"] += 1
    # Forget which warnings were already shown once, so each file reports its own.
    reset = getattr(warnings, "_filters_mutated", None)
    if reset is not None:
        reset()


def _stop_routing() -> None:
    with _lock:
        _router["users"] -= 1
        if _router["users"] == 0 and warnings.showwarning is _route:
            warnings.showwarning = _router["previous"]


def _route(message, category, filename, lineno, file=None, line=None) -> None:
    caught = getattr(_local, "caught", None)
    if caught is not None:
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        return
    # "previous" is kept after the last decode: code that saved the router while it was
    # installed (catch_warnings in another thread) may put it back, and it must still
    # hand warnings on to what it replaced.
    previous = _router["previous"]
    if previous is None or previous is _route:
        previous = warnings._showwarning_orig
    previous(message, category, filename, lineno, file, line)
