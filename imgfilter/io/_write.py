"""Writing files atomically: a regular file appears complete or not at all.

On Linux the bytes go to an unnamed file in the target folder (``O_TMPFILE``), flushed
to disk and linked into place, so even SIGKILL leaves nothing behind; elsewhere to a
hidden ``.NAME.XXXXXXXX.tmp`` file renamed into place. A replaced file keeps its
permission bits; a symlink is written through to its target; a device, a FIFO or
``/dev/stdout`` is written directly. What is written is a function of a binary file
(the encoders of :mod:`imgfilter.io._save`).

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "note.bin")
>>> put(path, lambda file: file.write(b"done"), "BIN")
>>> open(path, "rb").read()
b'done'
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import threading
from collections.abc import Callable
from typing import Any

from imgfilter.errors import ImageFileError

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


def put(path: str, write: Callable[[Any], None], fmt: str) -> None:
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
        temp = os.path.join(folder, f".{base}.{os.urandom(4).hex()}.tmp")
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
