"""Seeded, bounded fuzzing of the kernel JSON loader, the pipeline parser and the public API.

Every input must end in a valid result or a ValueError/TypeError that names the file or
the parameter, within a time bound per input and a memory bound for the whole module
(the address space is capped while these tests run).
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import imgfilter as imf
from imgfilter.choices import (
    BORDER_HINTS,
    BORDERS,
    DENOISE_METHODS,
    NOISE_KINDS,
    POOL_MODE_ALIASES,
    POOL_MODES,
    RESCALE_MODES,
)
from imgfilter.kernels import Kernel, KernelBank, load_kernel, parse_kernel
from imgfilter.pipeline import Pipeline, PipelineError

SECONDS = 10  # per input
MEMORY_MARGIN = 2 << 30  # address space allowed beyond what the process holds already

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module", autouse=True)
def bounded_memory():
    """Cap the address space: an allocation past it is a MemoryError, which fails a test."""
    size = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmSize:")
    )
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + MEMORY_MARGIN
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard < 0 else min(cap, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def outcome(call, *names: str):
    """Run ``call``; return its result, or None after a ValueError/TypeError naming one of
    ``names``. Anything else (another exception, a vague message, too slow) fails."""
    start = time.monotonic()
    try:
        result = call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert any(name in message for name in names), f"{type(error).__name__}: {message}"
        assert len(message) < 1000 and "\n" not in message, message
        result = None
    assert time.monotonic() - start < SECONDS, "too slow"
    return result


# --- values users and scripts throw at us -------------------------------------------------

HUGE = [10**400, -(10**400), 2**63, 10**30, 10**8, -1]
FLOATS = [float("inf"), float("-inf"), float("nan"), 1e308, 2.2e307, 1e-300, -0.0, 1e9]
LIMITS = [0, 1, 2, 3, 4, 5, 6, 101, 103, 201, 203, 1023, 1024, 1025, 4096, 4097]
WORDS = [
    *BORDERS,
    *BORDER_HINTS,
    *POOL_MODES,
    *POOL_MODE_ALIASES,
    *RESCALE_MODES,
    *DENOISE_METHODS,
    *NOISE_KINDS,
    "x",
    "y",
    "magnitude",
    "global",
    "same",
    "valid",
    "auto",
    "none",
    "5,3",
    "5x3",
    "1,99999999",
    "1e9",
    "inf",
    "nan",
    "-3",
    "",
    " ",
    "9" * 5000,
]
KERNELS = [
    "box",
    "sobel-x",
    "gaussian:sigma=2",
    "gaussian:sigma=1e308",
    "box:size=1024",
    "box:size=10000",
    "dilated:base=box,rate=600",
    "dilated:base=sobel-x,rate=2",
    "nope",
    "missing.json",
    [[1, 2], [3, 4]],
    [[1, float("nan")]],
    [[10**400]],
    [1, 2, 3],
    [],
    np.ones((3, 3, 2)),
    ["sobel-x", "sobel-y"],
]

scalars = st.one_of(
    st.integers(-3, 9),
    st.sampled_from(LIMITS + HUGE),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(FLOATS),
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.sampled_from(WORDS),
)
wild = st.one_of(scalars, st.lists(scalars, max_size=5), st.tuples(scalars, scalars))

PLAUSIBLE = {
    "sigma": st.one_of(st.floats(0.1, 4), st.sampled_from([0, 1e-300, 1000, 1000.5, 40])),
    "size": st.one_of(
        st.integers(1, 7), st.tuples(st.integers(1, 5), st.integers(1, 5)), st.sampled_from(LIMITS)
    ),
    "padding": st.sampled_from(["same", "valid", 0, 1, 2, (1, 2), (0, 1, 2, 3), 4096, 4097]),
    "stride": st.one_of(st.integers(1, 4), st.sampled_from([(1, 2), 1024, 1025, 0])),
    "dilation": st.one_of(st.integers(1, 4), st.sampled_from([(2, 1), 1024, 1025])),
    "border": st.sampled_from([*BORDERS, *BORDER_HINTS]),
    "mode": st.sampled_from([*POOL_MODES, *POOL_MODE_ALIASES, *RESCALE_MODES]),
    "method": st.sampled_from(DENOISE_METHODS),
    "kind": st.sampled_from([*NOISE_KINDS, 4, 8]),
    "direction": st.sampled_from(["x", "y", "magnitude"]),
    "kernel": st.sampled_from(KERNELS),
    "amount": st.one_of(st.floats(0, 1), st.sampled_from([10, 1e6, 1e7])),
    "patch": st.sampled_from([1, 3, 5, 25, 27]),
    "search": st.sampled_from([1, 3, 5, 51, 53]),
    "quantiles": st.sampled_from([(0.2, 0.8), (0.9, 0.1), (0, 1), (-1, 2)]),
}


def value_for(name: str):
    """Mostly plausible values (to reach deep code), one in four wild."""
    if name not in PLAUSIBLE:
        return wild
    return st.one_of(PLAUSIBLE[name], PLAUSIBLE[name], PLAUSIBLE[name], wild)


arrays = st.one_of(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.uint8, np.int16, np.bool_]),
        st.one_of(
            hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5),
            st.tuples(st.integers(1, 4), st.integers(1, 4), st.sampled_from([1, 2, 3, 4, 5])),
        ),
    ),
)
images = st.one_of(
    arrays,
    arrays,
    arrays,
    st.sampled_from(
        [
            np.zeros((0, 3)),
            np.zeros(5),
            np.zeros((2, 2, 2, 2)),
            np.array([[np.nan, np.inf], [-np.inf, 1e38]]),
            np.array([["a"]]),
            np.zeros((2, 2), complex),
            [[1, 2], [3]],
            [[1.0, 2.0], [3.0, 4.0]],
            "image.png",
            None,
        ]
    ),
)

# Each public function and the parameters it takes after the image.
API = {
    "convolve": ("kernel", "padding", "border", "cval", "stride", "dilation", "flip", "strategy"),
    "gaussian": ("sigma", "size", "border", "cval"),
    "box": ("size", "border", "cval"),
    "sobel": ("direction", "border", "cval"),
    "laplacian": ("kind", "border", "cval"),
    "sharpen": ("border", "cval"),
    "unsharp": ("sigma", "amount", "threshold", "border"),
    "canny": ("sigma", "low", "high", "quantiles"),
    "denoise": ("method", "size", "sigma", "sigma_range", "h", "patch", "search", "border"),
    "add_noise": ("kind", "amount", "seed"),
    "pool": ("size", "stride", "mode", "padding", "border", "cval"),
    "rescale": ("mode", "per_channel"),
    "relu": (),
    "leaky_relu": ("slope",),
    "grayscale": (),
}


ONE_IN_TEN = st.sampled_from([False] * 9 + [True])


@st.composite
def api_calls(draw, plausible: bool = False):
    function = draw(st.sampled_from(sorted(API)))
    names = []
    if API[function]:
        names = draw(st.lists(st.sampled_from(API[function]), unique=True, max_size=4))
    if function == "convolve" and "kernel" not in names and draw(ONE_IN_TEN) is False:
        names.append("kernel")
    if plausible:
        kwargs = {name: draw(PLAUSIBLE.get(name, scalars)) for name in names}
        return function, draw(arrays), kwargs
    kwargs = {name: draw(value_for(name)) for name in names}
    return function, draw(images), kwargs


@pytest.mark.parametrize("function", sorted(API))
def test_an_unknown_keyword_is_a_type_error_naming_it(function):
    kernel = ("box",) if function == "convolve" else ()
    with pytest.raises(TypeError, match="bogus"):
        getattr(imf, function)(np.ones((3, 3)), *kernel, bogus=1)


def check_image_result(result) -> None:
    assert isinstance(result, np.ndarray), type(result)
    assert result.dtype in (np.float32, np.bool_), result.dtype
    assert result.ndim in (1, 2, 3) and result.size > 0, result.shape


@settings(FUZZ, max_examples=300)
@given(st.one_of(api_calls(), api_calls(plausible=True)))
def test_public_api_ends_in_a_result_or_a_named_error(call):
    function, image, kwargs = call
    files = [v for v in kwargs.values() if isinstance(v, str) and v.endswith(".json")]
    names = (*kwargs, "image", "kernel", *files)
    result = outcome(lambda: getattr(imf, function)(image, **kwargs), *names)
    if result is not None:
        check_image_result(result)


@FUZZ
@given(
    st.tuples(
        st.one_of(st.tuples(scalars, scalars), st.lists(scalars, max_size=4), scalars),
        st.one_of(st.tuples(scalars, scalars), st.lists(scalars, max_size=4), scalars),
    ),
    st.fixed_dictionaries(
        {},
        optional={n: value_for(n) for n in ("padding", "stride", "dilation")},
    ),
)
def test_output_shape_ends_in_a_shape_or_a_named_error(shapes, kwargs):
    names = (*kwargs, "image_shape", "kernel_shape", "kernel")
    result = outcome(lambda: imf.output_shape(*shapes, **kwargs), *names)
    if result is not None:
        assert all(isinstance(n, int) and n >= 1 for n in result), result


@FUZZ
@given(
    st.one_of(
        st.sampled_from(
            ["box", "gaussian", "identity", "dilated", "sobel-x", "nope", "", "a.json"]
        ),
        scalars,
    ),
    st.dictionaries(
        st.sampled_from(["size", "sigma", "base", "rate", "bogus"]),
        st.one_of(st.sampled_from(KERNELS[:9]), wild),
        max_size=3,
    ),
)
def test_get_kernel_ends_in_a_kernel_or_a_named_error(name, kwargs):
    file = [name] if isinstance(name, str) and name.endswith(".json") else []
    result = outcome(lambda: imf.get_kernel(name, **kwargs), *kwargs, "kernel", *file)
    if result is not None:
        assert isinstance(result, (Kernel, KernelBank))
        assert max(result.shape[:2]) <= 1024


# --- kernel JSON ----------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from(HUGE),
    st.builds(pow, st.just(10), st.just(5000)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["matrix", "divisor", "normalize", "dilation", "name", "kernels", "x"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=30,
)
matrices = st.one_of(
    st.lists(st.lists(json_scalars, min_size=1, max_size=3), min_size=1, max_size=3),
    st.lists(st.lists(st.floats(-9, 9), min_size=2, max_size=2), min_size=2, max_size=2),
    st.lists(
        st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=2, max_size=2),
        min_size=2,
        max_size=2,
    ),
    json_values,
)
kernel_objects = st.fixed_dictionaries(
    {"matrix": matrices},
    optional={
        "divisor": st.one_of(st.sampled_from([16, 0, 10**400, float("nan")]), json_scalars),
        "normalize": st.one_of(st.booleans(), json_scalars),
        "dilation": st.one_of(st.sampled_from([1, 2, (1, 2), 600, 10**400]), json_values),
        "name": json_scalars,
        "description": json_scalars,
    },
)
kernel_data = st.one_of(
    kernel_objects,
    st.fixed_dictionaries({"kernels": st.lists(kernel_objects, max_size=3)}),
    json_values,
)


def _deep(depth: int, what: str) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value] if what == "l" else {"matrix": value}
    return value


@FUZZ
@given(
    st.one_of(
        kernel_data, st.builds(_deep, st.integers(1, 2000), st.sampled_from(["list", "dict"]))
    )
)
def test_parse_kernel_ends_in_a_kernel_or_names_the_source(data):
    result = outcome(lambda: parse_kernel(data, "fuzz.json"), "fuzz.json")
    if result is not None:
        assert isinstance(result, (Kernel, KernelBank))
        assert all(np.isfinite(k.matrix).all() for k in getattr(result, "kernels", [result]))


def _dumps(data) -> str:
    try:
        return json.dumps(data, allow_nan=True)
    except (ValueError, RecursionError):
        return "[1]"


kernel_texts = st.one_of(
    st.builds(_dumps, kernel_data),
    st.text(alphabet='[]{}:,"0123456789.-eE matrixNaIfinity', max_size=60),
    st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 5000)),
    st.builds(lambda n: '{"matrix": [[' + "9" * n + "]]}", st.integers(1, 6000)),
    st.sampled_from(
        [
            '{"matrix": [[NaN, Infinity]]}',
            '{"matrix": [[-Infinity]]}',
            '{"matrix": [[1e400]]}',
            '{"matrix": [[1]], "divisor": 1e400}',
            "\ufeff" + '{"matrix": [[1]]}',
            "",
        ]
    ),
)


@settings(FUZZ, max_examples=100)
@given(st.one_of(kernel_texts, st.binary(max_size=40)))
def test_load_kernel_ends_in_a_kernel_or_names_the_file(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("k") / "fuzz.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = outcome(lambda: load_kernel(path), str(path))
    if result is not None:
        assert isinstance(result, (Kernel, KernelBank))


# --- pipelines ------------------------------------------------------------------------------

OPS = [
    "convolve",
    "gaussian",
    "box",
    "mean",
    "sobel",
    "laplacian",
    "sharpen",
    "unsharp",
    "rescale",
    "grayscale",
    "relu",
    "leaky-relu",
    "canny",
    "denoise",
    "noise",
    "pool",
    "blur",
]
KEYS = [
    "sigma",
    "size",
    "kernel",
    "padding",
    "stride",
    "dilation",
    "border",
    "mode",
    "method",
    "kind",
    "amount",
    "seed",
    "patch",
    "search",
    "sigma-range",
    "sigma_range",
    "low",
    "high",
    "direction",
    "per-channel",
    "flip",
    "bogus",
]
TEXT_VALUES = [
    *(str(v) for v in LIMITS + HUGE[:4] + FLOATS),
    *WORDS[:-1],
    "box:size=3",
    "gaussian:sigma=2,size=5",
    "'sobel-x'",
    '"unbalanced',
]

steps_text = st.builds(
    lambda op, pairs: " ".join([op, *(f"{k}={v}" for k, v in pairs)]),
    st.sampled_from(OPS),
    st.lists(st.tuples(st.sampled_from(KEYS), st.sampled_from(TEXT_VALUES)), max_size=3),
)
pipeline_texts = st.one_of(
    st.builds(" | ".join, st.lists(steps_text, max_size=4)),
    st.text(alphabet="gausin sobel=|12.,x'\"-", max_size=40),
)
PIPELINE_VALUES = st.one_of(st.sampled_from(KERNELS), wild)
step_lists = st.lists(
    st.one_of(
        st.builds(
            lambda op, values: {"op": op, **values},
            st.sampled_from(OPS),
            st.dictionaries(
                st.sampled_from(KEYS), st.one_of(st.sampled_from(KERNELS), wild), max_size=3
            ),
        ),
        json_values,
    ),
    max_size=4,
)


def check_pipeline(source) -> None:
    pipeline = outcome(lambda: Pipeline.parse(source), "step", "pipeline")
    if pipeline is None:
        return
    assert len(pipeline) >= 1
    for image in (np.arange(20.0).reshape(4, 5), np.full((3, 4, 4), 100.0)):
        outcome(lambda image=image: pipeline.explain(image.shape), "step")
        result = outcome(lambda image=image: pipeline.run(image), "step", "image")
        if result is not None:
            assert isinstance(result, np.ndarray) and result.size > 0


@settings(FUZZ, max_examples=120)
@given(pipeline_texts)
def test_pipeline_text_ends_in_a_pipeline_or_names_the_step(text):
    check_pipeline(text)


@settings(FUZZ, max_examples=120)
@given(step_lists)
def test_pipeline_step_lists_end_in_a_pipeline_or_name_the_step(steps):
    check_pipeline(steps)


def test_pipeline_errors_are_pipeline_errors():
    with pytest.raises(PipelineError):
        Pipeline.parse("gaussian sigma=1e9")
