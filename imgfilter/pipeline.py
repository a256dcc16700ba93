"""Chains of operations: ``gaussian sigma=1.4 | sobel | rescale mode=minmax``.

A pipeline is parsed and fully validated before any image is read; every error
names the step (its number and text) and the parameter. Running it keeps
float32 between steps and carries alpha through each step's geometry.

>>> import numpy as np
>>> pipe = Pipeline.parse("convolve kernel=sobel-y padding=valid | rescale mode=minmax")
>>> image = np.zeros((6, 6), np.float32); image[3:] = 255
>>> pipe.run(image)[:, 0]
array([255.,   0.,   0., 255.], dtype=float32)
>>> Pipeline.parse("gaussian sigma=-1")
Traceback (most recent call last):
...
imgfilter.pipeline.PipelineError: step 1 'gaussian sigma=-1': sigma must be > 0, got -1.0
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgfilter import _checks
from imgfilter._checks import image_array, shown, size_text
from imgfilter.choices import ALPHA_MODES
from imgfilter.operation import Operation
from imgfilter.params import inside_library, value_text, warn_unit_scale
from imgfilter.registry import get_operation


class PipelineError(ValueError):
    """A pipeline that cannot run as written; the message points at the step."""


@dataclass(frozen=True)
class Step:
    """One validated step: the operation, its checked values, and how it was written.

    The values are final (a kernel is a resolved Kernel), so running a step never
    parses or reads anything again.
    """

    op: Operation
    params: dict[str, Any]
    text: str
    index: int = 1

    def __reduce__(self):
        # Operations hold functions: a step travels (to a worker process) by the
        # operation's name, with its checked values as they are.
        return _restore_step, (self.op.name, self.params, self.text, self.index)

    @property
    def label(self) -> str:
        return f"step {self.index} {shown(self.text)}"

    @property
    def mapping(self) -> str | None:
        return self.op.natural_mapping(self.params)


def make_step(
    name: str, values: Mapping[str, Any], text: str | None = None, index: int = 1
) -> Step:
    """Validate one step; errors read ``step 2 'sobel direction=q': direction must be ...``.

    >>> make_step("gaussian", {"sigma": "2"}).params["sigma"]
    2.0
    """
    if text is None:
        text = " ".join([name, *(f"{k}={v}" for k, v in values.items())])
    try:
        op = get_operation(name)
        params = op.validate(values)
    except (ValueError, TypeError) as error:
        raise PipelineError(f"step {index} {shown(text)}: {error}") from None
    return Step(op, params, text, index)


def _restore_step(name: str, params: dict[str, Any], text: str, index: int) -> Step:
    return Step(get_operation(name), params, text, index)


class Pipeline:
    """A validated chain of steps.

    Build one with ``Pipeline.parse(text_or_path)``; ``run(image)`` applies it.
    """

    def __init__(self, steps: Sequence[Step]):
        if not steps:
            raise PipelineError("a pipeline needs at least one step")
        self.steps = tuple(steps)
        for step, after in zip(self.steps, self.steps[1:], strict=False):
            if _gives_values(step):
                raise PipelineError(
                    f"{step.label}: global pooling gives one value per channel, not an image,"
                    f" so it must end the pipeline; {after.label} follows it"
                )

    @classmethod
    def parse(cls, source: str | os.PathLike | Sequence[Mapping[str, Any]]) -> Pipeline:
        """A pipeline from text (``a k=v | b``), a ``.json`` path, or a list of step dicts.

        A JSON file holds ``{"steps": [{"op": "gaussian", "sigma": 1.4}, ...]}``
        (a bare list of steps works too). Text ending in ``.json`` is a path unless it
        holds ``=`` (``convolve kernel=my.json`` is a step) and names no file.

        >>> len(Pipeline.parse("gaussian sigma=1.4 | sobel | rescale mode=minmax"))
        3
        """
        if isinstance(source, os.PathLike) or _names_a_file(source):
            return cls._from_file(Path(source))
        if isinstance(source, str):
            return cls._from_text(source)
        if isinstance(source, Sequence):
            return cls._from_list(source, "pipeline")
        raise TypeError(f"pipeline must be text, a path or a list of steps, got {shown(source)}")

    @classmethod
    def _from_text(cls, text: str) -> Pipeline:
        lexer = shlex.shlex(text, posix=True, punctuation_chars="|")
        lexer.whitespace_split = True
        lexer.commenters = ""
        try:
            tokens = list(lexer)
        except ValueError as error:
            raise PipelineError(f"pipeline {shown(text)}: unbalanced quotes ({error})") from None
        groups: list[list[str]] = [[]]
        for token in tokens:
            if set(token) == {"|"}:
                groups.extend([] for _ in token)
            else:
                groups[-1].append(token)
        steps = []
        for index, words in enumerate(groups, start=1):
            if not words:
                where = "is empty" if text.strip() else "is empty: the pipeline has no steps"
                raise PipelineError(f"step {index} {where} (in {shown(text)})")
            steps.append(_step_from_words(words, index))
        return cls(steps)

    @classmethod
    def _from_file(cls, path: Path) -> Pipeline:
        try:
            data = _checks.parse_json(path.read_text(encoding="utf-8"), path)
        except OSError as error:
            raise PipelineError(_checks.file_problem(path, error, "pipeline file")) from None
        except UnicodeDecodeError:
            raise PipelineError(f"{path}: not a JSON pipeline file (not UTF-8 text)") from None
        except ValueError as error:
            raise PipelineError(str(error)) from None
        if isinstance(data, dict):
            unknown = set(data) - {"steps", "name", "description"}
            if unknown:
                raise PipelineError(
                    f"{path}: unknown key {shown(sorted(unknown)[0])}; a pipeline file holds"
                    ' {"steps": [{"op": ..., ...}, ...]}'
                )
            data = data.get("steps")
        if not isinstance(data, list):
            raise PipelineError(
                f'{path}: "steps" must be a list of steps like {{"op": "gaussian", "sigma": 1.4}},'
                f" got {type(data).__name__}"
            )
        return cls._from_list(data, str(path))

    @classmethod
    def _from_list(cls, items: Sequence[Any], origin: str) -> Pipeline:
        if not items:
            raise PipelineError(f"{origin}: the list of steps is empty")
        try:
            _checks.check_depth(list(items), origin)
        except ValueError as error:
            raise PipelineError(str(error)) from None
        steps = []
        for index, item in enumerate(items, start=1):
            if not isinstance(item, Mapping) or not isinstance(item.get("op"), str):
                raise PipelineError(
                    f'{origin}: step {index} must be an object with an "op" name, got {shown(item)}'
                )
            values = {k: v for k, v in item.items() if k != "op"}
            text = " ".join([item["op"], *(f"{k}={value_text(v)}" for k, v in values.items())])
            try:
                steps.append(make_step(item["op"], values, text, index))
            except PipelineError as error:
                raise PipelineError(f"{origin}: {error}") from None
        return cls(steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __str__(self) -> str:
        return " | ".join(step.text for step in self.steps)

    def __repr__(self) -> str:
        return f"Pipeline.parse({str(self)!r})"

    @property
    def gives_values(self) -> bool:
        """True when the result is one value per channel (global pooling), not an image."""
        last = self.steps[-1]
        try:
            return len(last.op.output_shape((1024, 1024), last.params)) == 1
        except ValueError:
            return False

    @property
    def output_mapping(self) -> str:
        """How a saved 8-bit file maps values: the last step's that names one, else clip.

        A ``rescale`` step names its mode; ``grayscale`` names none and keeps the one before.

        >>> Pipeline.parse("sobel direction=x | grayscale").output_mapping
        'abs'
        """
        mapping = "clip"
        for step in self.steps:
            mapping = step.mapping or mapping
        return mapping

    @property
    def save_mapping(self) -> str:
        """The mapping a saved file still needs: after a final ``rescale`` into 0-255 the
        values are mapped already, and quantising (which clips) is all that is left.

        >>> Pipeline.parse("sobel | rescale mode=minmax").save_mapping
        'clip'
        """
        last = self.steps[-1]
        if last.op.name == "rescale" and last.params["mode"] != "none":
            return "clip"
        return self.output_mapping

    def run(self, image, alpha: str = "premultiply") -> Any:
        """Apply every step to ``image`` (float32 throughout; 8-bit pixels are converted
        a strip at a time), strip by strip.

        An image with 2 or 4 channels carries alpha in its last channel. ``alpha``:
        ``premultiply`` (steps that average neighbours filter colour × alpha and alpha
        with the same window, so hidden colour never bleeds), ``follow`` (alpha only
        follows each step's geometry: crop, stride, pooling) or ``drop``. A Dask array
        gives a lazy Dask array, computed chunk by chunk (see :mod:`imgfilter.chunked`).
        The result equals running the steps one by one on the whole image.
        """
        from imgfilter.image import join_alpha, split_alpha

        _checks.choice("alpha", alpha, ALPHA_MODES)
        if type(image).__module__.split(".")[0] == "dask":
            from imgfilter import chunked

            return chunked.run_pipeline(self, image, alpha)
        warn_unit_scale(image)
        colour, plane = split_alpha(image_array(image, keep_bytes=True))  # strips convert
        self.check_shape(colour.shape)
        from imgfilter import tiles

        plane = None if alpha == "drop" or self.makes_maps else plane
        with inside_library():
            colour, plane = tiles.run_steps(self.steps, colour, plane, alpha)
        if plane is None or colour.ndim == 1 or colour.ndim == 3 and colour.shape[2] not in (1, 3):
            return colour  # values, or feature maps: no place for alpha
        return join_alpha(colour, plane)

    def split_final_minmax(self) -> tuple[Sequence[Step], Step | None]:
        """(the steps before a final min-max ``rescale``, that step), or (all steps,
        None): a final min-max runs as two passes over the strips.

        >>> steps, final = Pipeline.parse("box | rescale mode=minmax").split_final_minmax()
        >>> [step.op.name for step in steps], final.op.name
        (['box'], 'rescale')
        """
        last = self.steps[-1]
        if last.op.name == "rescale" and last.params["mode"] == "minmax":
            return self.steps[:-1], last
        return self.steps, None

    @property
    def makes_maps(self) -> bool:
        """True when a step applies a bank of kernels: the result is feature maps, which
        carry no alpha."""
        return any(hasattr(step.params.get("kernel"), "kernels") for step in self.steps)

    def check_shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        """The output shape on an input of ``shape``; a step that cannot fit says so.

        >>> Pipeline.parse("convolve kernel=box padding=valid").check_shape((2, 9))
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: convolve: kernel 3×3 is larger than the padded image 2×9 (...)
        """
        shape = tuple(shape)
        for step in self.steps:
            try:
                shape = tuple(step.op.output_shape(shape, step.params))
            except (ValueError, TypeError) as error:
                where = step.label if len(self.steps) > 1 else step.op.name
                raise type(error)(f"{where}: {error}") from error
        return shape

    def explain(self, shape: Sequence[int], image=None) -> str:
        """Per step: input shape -> output shape, the size formula with numbers, the strategy;
        then the chain's receptive field and which steps need the whole image. Given the
        ``image`` itself, the thresholds Canny chooses on it are shown too.

        >>> print(Pipeline.parse("convolve kernel=box padding=valid stride=2").explain((6, 6)))
        input: 6×6 (H×W, gray)
        step 1 'convolve kernel=box padding=valid stride=2': 6×6 -> 2×2
          kernel box 3×3, pads (top, bottom, left, right) (0, 0, 0, 0), stride 2×2, dilation 1×1
          H: floor((6 + 0 + 0 - (1*(3-1)+1)) / 2) + 1 = floor(3 / 2) + 1 = 2
          W: floor((6 + 0 + 0 - (1*(3-1)+1)) / 2) + 1 = floor(3 / 2) + 1 = 2
          strategy: separable
        receptive field: 3×3 input pixels per output pixel
        runs in strips: every step
        output mapping: clip
        """
        from imgfilter import tiles

        shape = _checks.shape_tuple("shape", shape)
        has_alpha = len(shape) == 3 and shape[2] in (2, 4)
        if has_alpha:
            shape = shape[:2] if shape[2] == 2 else shape[:2] + (3,)
        alpha_note = " + alpha (follows the geometry)" if has_alpha else ""
        lines = [f"input: {_shape(shape)}{alpha_note}"]
        reaches = []
        for step in self.steps:
            try:
                window = step.op.window_of(step.params)
                plan = step.op.plan(shape, step.params, window)
                out = step.op.output_shape(shape, step.params, plan)
            except (ValueError, TypeError) as error:
                raise type(error)(f"{step.label}: {error}") from error
            lines.append(f"{step.label}: {_shape(shape, bare=True)} -> {_shape(out, bare=True)}")
            note = step.op.note(step.params) if step.op.note else ""
            if note:
                lines.append(f"  {note}")
            if image is not None and step.op.name == "canny" and step.params["low"] is None:
                lines.append(self._chosen_thresholds(image, self.steps.index(step)))
            if plan is None and not note:
                lines.append("  pixel-wise: no window")
            elif plan is not None:
                name = getattr(window[0], "name", "")
                what = f"kernel {name}" if step.op.weighted else "window"
                pads, (sy, sx), (dy, dx) = plan.pads, plan.stride, plan.dilation
                lines.append(
                    f"  {what} {_shape(plan.kernel_shape, bare=True)},"
                    f" pads (top, bottom, left, right) {pads},"
                    f" stride {sy}×{sx}, dilation {dy}×{dx}"
                )
                formula = plan.explain().splitlines()
                if not step.op.weighted:
                    formula = [line for line in formula if not line.startswith("strategy:")]
                lines.extend("  " + line for line in formula)
            reaches.append(None if plan is None else tiles.reach_of(step, shape, plan))
            shape = out
        lines.extend(self._reach_lines(reaches))
        lines.append(f"output mapping: {self.output_mapping}")
        return "\n".join(lines)

    def _reach_lines(self, reaches) -> list[str]:
        """The receptive field of the chain, and how it runs: strips, or the whole image."""
        field, jump = [1, 1], [1, 1]
        wholes = [s for s in self.steps if s.op.needs_whole_image(s.params)]
        for step, reach in zip(self.steps, reaches, strict=True):
            if step in wholes:
                break
            for axis, r in enumerate(reach or ()):
                field[axis] += (r.span - 1) * jump[axis]
                jump[axis] *= r.stride
        through = f" (up to {wholes[0].label}, which reads the whole image)" if wholes else ""
        lines = [f"receptive field: {field[0]}×{field[1]} input pixels per output pixel{through}"]
        if wholes:
            labels = ", ".join(s.label for s in wholes)
            lines.append(f"runs in strips, except on the whole image: {labels}")
        else:
            lines.append("runs in strips: every step")
        return lines

    def _chosen_thresholds(self, image, index: int) -> str:
        """Canny's automatic thresholds on ``image`` at step ``index`` (run up to it)."""
        from imgfilter import tiles
        from imgfilter.image import split_alpha
        from imgfilter.ops.canny import thresholds

        colour, _ = split_alpha(image_array(image))
        with inside_library():
            colour, _ = tiles.run_steps(self.steps[:index], colour, None)
            params = self.steps[index].params
            low, high = thresholds(colour, params["sigma"], quantiles=params["quantiles"])
        return f"  thresholds chosen: low {low:.6g}, high {high:.6g}"


def _gives_values(step: Step) -> bool:
    """True when the step's result is values, not an image (global pooling)."""
    if step.op.shape is None:
        return False
    try:
        return len(step.op.output_shape((64, 64), step.params)) == 1
    except (ValueError, TypeError):
        return False


def _names_a_file(source: object) -> bool:
    if not isinstance(source, str) or not source.strip().lower().endswith(".json"):
        return False
    return "=" not in source or Path(source.strip()).is_file()


def _step_from_words(words: list[str], index: int) -> Step:
    name, *pairs = words
    text = shlex.join(words)
    if "=" in name:
        raise PipelineError(f"step {index} {shown(text)}: a step starts with an operation name")
    values: dict[str, str] = {}
    for word in pairs:
        key, eq, value = word.partition("=")
        if not eq:
            problem = f"expected key=value, got {shown(word)}"
        elif not key:
            problem = f"parameter name missing in {shown(word)}"
        elif not value:
            problem = f"{key}= has no value"
        elif key.replace("_", "-") in (k.replace("_", "-") for k in values):
            problem = f"{key} is given twice"
        else:
            values[key] = value
            continue
        raise PipelineError(f"step {index} {shown(text)}: {problem}")
    return make_step(name, values, text, index)


def _shape(shape: Sequence[int], bare: bool = False) -> str:
    size = size_text(shape)
    if bare:
        return size
    channels = 1 if len(shape) == 2 else shape[2]
    kind = "H×W, gray" if channels == 1 else f"H×W×C, {channels} channels"
    return f"{size} ({kind})"
