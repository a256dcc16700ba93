"""INPUT... and -o OUTPUT to tasks: which file is written where, checked before any is read.

Inputs are files, folders (``-r`` walks their subfolders; dot-files are skipped), quoted
globs (``'photos/*.png'``, expanded here when no file has that literal name) or ``-``.
One input writes the file OUTPUT; several, or a folder, write into the folder OUTPUT,
mirroring the folders' trees. Every problem knowable from names alone is a usage error.

>>> _stem_words(["sigma=1.4", "in.png"])
['sigma=1.4']
"""

from __future__ import annotations

import glob
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from imgfilter import formats, registry
from imgfilter.cli._options import Options

STDIO = Path("-")
_STDOUT_NAMES = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
_STEP_WORD = re.compile(r"[A-Za-z][\w-]*=.*|\|")


@dataclass(frozen=True)
class Task:
    """One file to make: ``source`` (``-`` for stdin) to ``target`` (``-`` for stdout)."""

    source: Path
    target: Path
    in_folder: bool = False  # written into a folder OUTPUT, which is created if needed


@dataclass
class Inputs:
    """The files INPUT... names, each with its place under OUTPUT when OUTPUT is a folder."""

    files: list[tuple[Path, Path]] = field(default_factory=list)
    batch: bool = False  # several files, or a folder: OUTPUT is a folder
    notes: list[str] = field(default_factory=list)  # warnings to show (subfolders left out)


def expand(inputs: Sequence[str], recursive: bool = False) -> Inputs:
    """Files, folders, quoted globs and ``-`` to the list of files to read."""
    found = Inputs()
    for text in inputs:
        path = Path(text)
        if text == "-":
            found.files.append((STDIO, Path("stdin")))
        elif path.is_dir():
            found.batch = True
            files = _walk(path, recursive, found.notes)
            if not files:
                raise click.UsageError(f"{path}: folder holds no image files{_hint_r(path)}")
            found.files.extend((file, file.relative_to(path)) for file in files)
        elif not os.path.lexists(text) and any(c in text for c in "*?["):
            matches = sorted(glob.glob(text, recursive=recursive))  # dot-files need a '.'
            if not matches:
                raise click.UsageError(f"{text}: no file matches this pattern")
            inner = expand(matches, recursive)
            found.files.extend(inner.files)
            found.notes.extend(inner.notes)
            found.batch = found.batch or inner.batch
        else:
            found.files.append((path, Path(path.name)))
    found.batch = found.batch or len(found.files) > 1
    if sum(source == STDIO for source, _ in found.files) > 1:
        raise click.UsageError("'-' (stdin) can be read only once")
    return found


def _walk(folder: Path, recursive: bool, notes: list[str]) -> list[Path]:
    known = {f".{ext}" for ext in formats.extensions(text=False)}
    files, skipped = [], 0
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        if not recursive:
            skipped, folders[:] = len(folders), []
        for name in sorted(names):
            path = Path(root) / name
            if not name.startswith(".") and path.suffix.lower() in known and path.is_file():
                files.append(path)
    if skipped and files:
        notes.append(f"{folder}: {skipped} subfolder(s) not read (-r reads them)")
    return sorted(files, key=lambda p: p.relative_to(folder).parts)


def _hint_r(folder: Path) -> str:
    has_folders = any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())
    return " (-r reads its subfolders)" if has_folders else ""


def _stem_words(inputs: Sequence[str]) -> list[str]:
    """The leading inputs that are no file but look like pipeline words (``sigma=1.4``)."""
    words = []
    for text in inputs:
        looks = _STEP_WORD.fullmatch(text) or text in registry.names()
        if not looks or os.path.lexists(text):
            break
        words.append(text)
    return words


def check_stray_step_words(inputs: Sequence[str], pipeline_text: str | None, output) -> None:
    """``imgfilter run gaussian sigma=1.4 in.png``: the pipeline was not quoted."""
    words = _stem_words(inputs)
    if not words:
        return
    if pipeline_text is None:
        key, _, value = words[0].partition("=")
        raise click.UsageError(
            f"{words[0]!r} is not a file; options are written --{key.replace('_', '-')} {value}"
        )
    rest = [*inputs[len(words) :], *(["-o", str(output)] if output is not None else [])]
    example = shlex.join(["imgfilter", "run", " ".join([pipeline_text, *words]), *rest])
    raise click.UsageError(f"{words[0]!r} is not a file: quote the pipeline, as in: {example}")


def plan(found: Inputs, opts: Options, mapping: str, count: int = 0) -> list[Task]:
    """The tasks for ``found`` and ``-o``; a usage error for any plan that cannot work.

    ``count`` is the number of feature maps the pipeline makes (0: an image).
    """
    output = str(opts.output)
    if output == "-" or os.path.normpath(os.path.abspath(output)) in _STDOUT_NAMES:
        if found.batch:
            raise click.UsageError("'-o -' (stdout) takes exactly one input")
        if opts.fmt is None:
            raise click.UsageError(
                "'-o -' writes to stdout: give --format (png, jpg, tif, npy, ...)"
            )
        tasks = [Task(found.files[0][0], STDIO)]
    else:
        tasks = _file_tasks(found, opts, output)
    for task in tasks:
        _check_output_format(task, opts, mapping)
    for task in tasks:
        paths = written_paths(task, opts, mapping, count)
        if task.target == STDIO and len(paths) > 1:
            raise click.UsageError(
                f"--maps files writes {count} files, one per feature map; stdout ('-o -') "
                "takes one: use --maps sheet"
            )
        for path in paths:
            if not opts.overwrite and task.source != STDIO and _same_file(task.source, path):
                raise click.UsageError(
                    f"{path}: output is the input file; pass --overwrite to replace it"
                )
    return tasks


def feature_maps(pipeline) -> list[str] | None:
    """The kernel names of the bank whose feature maps the pipeline's result holds.

    None when it gives an image: no bank, or a later step that makes one map of many
    (a 3-D kernel, grayscale, canny).
    """
    names = None
    for step in pipeline:
        kernel = step.params.get("kernel")
        members = getattr(kernel, "kernels", None)
        if members is not None:
            names = [member.name for member in members]
        elif len(getattr(kernel, "shape", ())) == 3 or step.op.name in ("grayscale", "canny"):
            names = None
    return names


def written_paths(task: Task, opts: Options, mapping: str, count: int) -> list[Path]:
    """The files ``task`` writes: its target, or one per map with ``--maps files``."""
    if count < 2 or opts.maps != "files":
        return [task.target]
    fmt = target_format(task, opts.fmt)
    if formats.mapping_for(fmt, opts.rescale, mapping) == "none" or fmt in formats.ARRAY_FORMATS:
        return [task.target]  # the array is kept in one file
    return [Path(p) for p in formats.map_paths(task.target, count)]


def _file_tasks(found: Inputs, opts: Options, output: str) -> list[Task]:
    folder = Path(output)
    if opts.suffix and any(sep and sep in opts.suffix for sep in (os.sep, os.altsep)):
        raise click.UsageError(f"--suffix {opts.suffix!r}: a suffix cannot hold a '/'")
    as_folder = found.batch or folder.is_dir() or output.endswith(("/", os.sep))
    if as_folder and not found.batch and os.path.lexists(folder) and not folder.is_dir():
        raise click.UsageError(f"{output}: ends in '/' but names a file, not a folder")
    if found.batch and not folder.is_dir():
        if os.path.lexists(output):
            raise click.UsageError(
                f"{output}: several inputs (or a folder) need OUTPUT to be a folder; this is a file"
            )
        if folder.suffix.lower() in formats.FORMATS:
            raise click.UsageError(
                f"{output}: several inputs (or a folder) need OUTPUT to be a folder, not a"
                " file name (write out/ for a new folder)"
            )
    if not as_folder:
        if opts.suffix:
            raise click.UsageError(
                f"--suffix names the files written into a folder, but {output} names a file"
            )
        return [Task(found.files[0][0], folder)]
    tasks, seen = [], {}
    for source, place in found.files:
        extension = f".{opts.fmt}" if opts.fmt else (place.suffix or ".png")
        target = folder / place.parent / f"{place.stem}{opts.suffix or ''}{extension}"
        if target in seen:
            raise click.UsageError(f"{seen[target]} and {source} would both be written to {target}")
        seen[target] = source
        tasks.append(Task(source, target, in_folder=True))
    return tasks


def target_format(task: Task, fmt: str | None) -> str:
    """The format ``task`` writes: ``--format`` (agreeing with a known extension) or the name's."""
    if task.target == STDIO:
        return formats.format_name(fmt)
    return formats.output_format(task.target, fmt)


def _check_output_format(task: Task, opts: Options, mapping: str) -> None:
    """Refuse, before any work, an output whose format cannot honour the options."""
    try:
        fmt = target_format(task, opts.fmt)
        mapping = formats.mapping_for(fmt, opts.rescale, mapping)
        formats.check_output(fmt, mapping, opts.depth, opts.quality)
    except ValueError as problem:
        raise click.UsageError(f"{task.target}: {problem}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_float_tiff(pipeline, tasks: Sequence[Task], opts: Options, mapping: str) -> None:
    """``--rescale none`` into TIFF keeps one gray float channel: refuse a colour result.

    Only the first input's header is read (no pixel), so a batch that mixes gray and
    colour still finds a colour file at run time.
    """
    first = next((t for t in tasks if t.source != STDIO), None)
    if mapping != "none" or first is None:
        return
    tiffs = [t for t in tasks if target_format(t, opts.fmt) == "TIFF"]
    if not tiffs:
        return
    shape = header_shape(first.source)
    channels = None if shape is None else _output_channels(pipeline, shape)
    if channels is not None and channels > 1:
        raise click.UsageError(
            f"{tiffs[0].target}: a float TIFF holds one gray channel, but {first.source} gives"
            f" {channels} channels; save colour floats as .npy, or choose --rescale clip,"
            " minmax or abs"
        )


def header_shape(path: Path) -> tuple[int, ...] | None:
    """``(H, W, C)`` from a file's header alone (no pixel decoded), or None if unsure."""
    try:
        with open(path, "rb") as file:
            if file.read(6) == b"\x93NUMPY":
                return _npy_shape(file)
            file.seek(0)
            from PIL import Image

            listed = ["PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF", "PPM"]
            with Image.open(file, formats=listed) as image:
                channels = {"1": 1, "L": 1, "I": 1, "F": 1, "LA": 2, "La": 2, "RGBA": 4}
                count = channels.get(image.mode, 3 if image.mode in ("RGB", "CMYK") else 0)
                if image.mode.startswith("I;16"):
                    count = 1
                if not count or "transparency" in image.info:
                    return None
                return (image.height, image.width, count)
    except Exception:  # noqa: BLE001 - any doubt leaves the check to run time
        return None


def _npy_shape(file) -> tuple[int, ...] | None:
    import numpy as np

    file.seek(0)
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape = np.lib.format.read_array_header_1_0(file)[0]
    elif version == (2, 0):
        shape = np.lib.format.read_array_header_2_0(file)[0]
    else:
        return None
    if len(shape) == 2:
        return (*shape, 1)
    return tuple(shape) if len(shape) == 3 else None


def _output_channels(pipeline, shape: tuple[int, ...]) -> int | None:
    """How many channels the pipeline's result has on an image of ``shape``, alpha included."""
    height, width, channels = shape
    alpha = channels in (2, 4)
    colour: tuple[int, ...] = (height, width) if channels <= 2 else (height, width, 3)
    if channels not in (1, 2, 3, 4):
        colour = (height, width, channels)
    try:
        for step in pipeline:
            colour = tuple(step.op.output_shape(colour, step.params))
    except (ValueError, TypeError):
        return None
    if len(colour) == 1:
        return None
    count = 1 if len(colour) == 2 else colour[2]
    return count + (alpha and count in (1, 3))
