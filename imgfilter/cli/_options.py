"""Click options from the library's own parameters, and the options every writer shares.

An operation's option converts with the function's :class:`~imgfilter.params.Param`,
so ``--sigma -1`` and ``sigma=-1`` are refused by the same code with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from imgfilter.choices import ALPHA_MODES, DEPTHS, RESCALE_MODES
from imgfilter.cli._report import debug_option
from imgfilter.operation import Operation, Option
from imgfilter.params import Param


def _convert(self, value: Any, param: click.Parameter | None, ctx):
    if value is None:  # absent: click reports a missing required option itself
        return None
    try:
        return self.param.check(self.param_name, value)
    except (ValueError, TypeError) as error:
        self.fail(str(error), param, ctx)


class _Checked(click.ParamType):
    """Converts with the library's Param (``metavar`` says how to write the value)."""

    def __init__(self, param, name: str):
        self.param, self.param_name, self.name = param, name, param.kind

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.param.metavar

    convert = _convert


class _CheckedFloat(click.FloatRange):
    """click's range type, so help shows the range, converting with the library's Param."""

    def __init__(self, param, name: str):
        super().__init__(min=param.low, max=param.high, min_open=param.low_open)
        self.param, self.param_name = param, name

    convert = _convert


class _CheckedChoice(click.Choice):
    def __init__(self, param, name: str):
        super().__init__([str(c) for c in param.choices])
        self.param, self.param_name = param, name

    convert = _convert


def _click_type(param, name: str) -> click.ParamType:
    if param.choices:
        return _CheckedChoice(param, name)
    if param.kind == "float" and param.low is not None and not param.optional:
        return _CheckedFloat(param, name)
    return _Checked(param, name)


def click_option(op: Operation, option: Option) -> click.Option:
    """The ``--flag`` of one operation option, typed and defaulted by the function."""
    param, default, required = (
        op.param(option.name),
        op.default(option.name),
        op.required(option.name),
    )
    if param.kind == "bool":
        return click.Option(
            [option.flag, option.name], is_flag=True, default=default, help=option.full_help
        )
    help_text = option.full_help
    if default is None:
        help_text += "  [default: auto]"
    extra = {} if default is None else {"default": default}
    return click.Option(
        [option.flag, option.name],
        type=_click_type(param, option.name),
        required=required,
        show_default=default is not None,
        help=help_text,
        **extra,
    )


@dataclass
class Options:
    """The options of every command that writes images; ``output`` as typed (``out/``)."""

    output: str | None
    rescale: str | None
    fmt: str | None
    quality: int | None
    depth: str  # "auto", "8" or "16"
    jobs: int | None
    quiet: bool
    overwrite: bool
    explain: bool
    recursive: bool = False
    suffix: str | None = None
    alpha: str = "premultiply"
    trace: tuple[int, int] | None = None
    scheduler: str | None = None
    strip: bool = False
    maps: str = "sheet"


def _set_max_pixels(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    if value is not None:  # before any file is read: options are parsed first
        from imgfilter import io

        io.set_max_pixels(value)
        # For this command only: a script calling main() twice starts afresh.
        ctx.call_on_close(lambda: io.set_max_pixels(None))


def max_pixels_option(function: Callable) -> Callable:
    """``--max-pixels N`` (or IMGFILTER_MAX_PIXELS): the decompression-bomb guard's limit."""
    return click.option(
        "--max-pixels",
        type=click.IntRange(min=1),
        envvar="IMGFILTER_MAX_PIXELS",
        show_envvar=True,
        expose_value=False,
        callback=_set_max_pixels,
        metavar="N",
        help="Refuse images of more than N pixels (the decompression-bomb guard)  [default: "
        "Pillow's, 178956970; raise it for an image you trust]",
    )(function)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from imgfilter.cli._report import QUIET

    QUIET["on"] = bool(value)
    return value


def quiet_option(help_text: str = "No warnings.") -> Callable:
    """``-q/--quiet``: silences warnings (and, where there is one, the progress bar)."""
    return click.option("--quiet", "-q", is_flag=True, callback=_set_quiet, help=help_text)


def recursive_option(function: Callable) -> Callable:
    """``-r/--recursive``: walk the subfolders of a folder INPUT."""
    return click.option(
        "-r",
        "--recursive",
        is_flag=True,
        help="Walk the subfolders of a folder INPUT (and mirror them under OUTPUT).",
    )(function)


def inputs_argument(function: Callable) -> Callable:
    """``INPUT...``: files, folders, quoted globs ('photos/*.png') or '-' for stdin."""
    return click.argument(
        "inputs", nargs=-1, required=True, type=click.Path(allow_dash=True), metavar="INPUT..."
    )(function)


def io_options(function: Callable) -> Callable:
    """Add INPUT... and the output options (-o, --rescale, --format, ...) to a command."""
    options = [
        inputs_argument,
        click.option(
            "-o",
            "--output",
            type=click.Path(allow_dash=True),
            help="Output file (one input) or folder (several, a folder INPUT, or a name "
            "ending in /); '-' for stdout.",
        ),
        click.option(
            "--rescale",
            type=click.Choice(RESCALE_MODES),
            default=None,
            help="Override the output mapping into 0-255 (default: the last step's: "
            "clip for smoothing, abs for signed edges).",
        ),
        click.option(
            "--format",
            "fmt",
            metavar="EXT",
            default=None,
            help="Output format (png, jpg, tif, webp, bmp, npy, ...): required for "
            "'-o -', else taken from the output name; in a batch, the extension.",
        ),
        click.option(
            "--quality", type=click.IntRange(1, 100), default=None, help="JPEG/WebP quality."
        ),
        click.option(
            "--depth",
            type=click.Choice(["auto", *(str(d) for d in DEPTHS)]),
            default="auto",
            help="Bits per channel of PNG/TIFF output; auto keeps the input's (16-bit in, "
            "16-bit out) where the format can hold it, else 8.",
        ),
        click.option(
            "--strip",
            is_flag=True,
            help="Drop the ICC colour profile, EXIF and resolution (kept by default where "
            "the output format can hold them).",
        ),
        click.option(
            "--maps",
            type=click.Choice(["sheet", "files"]),
            default="sheet",
            help="Feature maps of a kernel bank (K > 1) in an image format: one labelled "
            "sheet, or K files NAME-0.EXT ... NAME-(K-1).EXT (.npy, text and float TIFF "
            "keep the array).",
        ),
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=0),
            default=None,
            help="Files processed in parallel; 0 for the number of cores  [default: 0]",
        ),
        recursive_option,
        click.option(
            "--suffix",
            metavar="TEXT",
            default=None,
            help="Name the files written into a folder STEM+TEXT.EXT (photo.jpg -> "
            "photo-blur.jpg with --suffix -blur).",
        ),
        quiet_option("No progress bar, summary or warnings."),
        click.option("--overwrite", is_flag=True, help="Allow replacing an input file."),
        click.option(
            "--explain",
            is_flag=True,
            help="Print each step's shapes, the output-size "
            "formula and the engine strategy (for the first input).",
        ),
        click.option(
            "--trace",
            type=_Checked(Param("pair", low=0), "trace"),
            default=None,
            metavar="Y,X",
            help="Print the arithmetic of output pixel (Y, X) at every step (first input).",
        ),
        click.option(
            "--alpha",
            type=click.Choice(ALPHA_MODES),
            default="premultiply",
            help="Alpha in averaging steps: blur premultiplied colour and alpha together "
            "(no colour bleed), only follow the geometry, or drop it.",
        ),
        click.option(
            "--scheduler",
            metavar="threads|processes|ADDRESS",
            default=None,
            help="Run on Dask: local threads or processes, or a cluster's scheduler address "
            "(needs pip install 'imgfilter[dask]').",
        ),
        max_pixels_option,
        debug_option,
    ]
    # Decorators on a function are applied bottom-up; on a Command, params append in order.
    for option in options if isinstance(function, click.Command) else reversed(options):
        function = option(function)
    return function
