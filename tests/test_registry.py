"""The operation registry: declarations, parameter checks, mappings and alpha geometry."""

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imgfilter import choices, engine, registry
from imgfilter.kernels import parse_kernel_spec, resolve_kernel
from imgfilter.operation import Operation
from imgfilter.ops import filters
from imgfilter.registry import OPERATIONS, get_operation

PACKAGE = Path(registry.__file__).resolve().parent


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_option_is_a_declared_parameter_of_the_function(name):
    op = OPERATIONS[name]
    function = op.function()
    signature = inspect.signature(function)
    for option in op.options:
        assert option.name in signature.parameters, (name, option.name)
        assert option.name in function.params, f"{name}: @takes does not declare {option.name}"


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_defaults_pass_their_own_validation(name):
    """Each default in the function's signature survives the function's own check unchanged
    (a default of sigma=-5 would make this fail: validate checks the defaults too)."""
    op = OPERATIONS[name]
    values = {"kernel": "sobel-x"} if name == "convolve" else {}
    params = op.validate(values)
    signature = inspect.signature(op.function())
    for option in op.options:
        if option.name in values:
            continue
        default = signature.parameters[option.name].default
        assert params[option.name] == op.param(option.name).check(option.name, default)
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            assert params[option.name] == default, (name, option.name)


def test_a_bad_default_is_caught_by_the_check():
    from imgfilter.params import Param, takes

    @takes(sigma=Param("float", low=0, low_open=True))
    def blur(image, sigma=-5.0):
        return image

    with pytest.raises(ValueError, match="sigma must be > 0, got -5.0"):
        blur.check_arguments({})


def test_choice_lists_are_the_ones_declared_in_choices():
    declared = {value for value in vars(choices).values() if isinstance(value, tuple)}
    for op in OPERATIONS.values():
        for option in op.options:
            param = op.param(option.name)
            if param.choices:
                assert param.choices in declared, (op.name, option.name)


def test_registry_and_cli_import_no_numpy():
    code = (
        "import sys, imgfilter.registry, imgfilter.cli;"
        "print(sorted({'numpy', 'scipy', 'PIL'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True
    ).stdout
    assert out.strip() == "[]"


def test_help_imports_no_numpy():
    code = (
        "import sys\n"
        "from imgfilter.cli import main\n"
        "for args in (['--help'], ['run', '--help'], ['kernels', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted({'numpy', 'scipy', 'PIL'} & set(sys.modules)), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


# --- parameter conversion: one wording ---------------------------------------------------


@pytest.mark.parametrize(
    ("op", "key", "value", "message"),
    [
        ("gaussian", "sigma", "-1", "sigma must be > 0, got -1.0"),
        ("gaussian", "sigma", "0", "sigma must be > 0, got 0.0"),
        ("gaussian", "sigma", "abc", "sigma must be a number, got 'abc'"),
        ("gaussian", "sigma", "nan", "sigma must be finite, got nan"),
        ("gaussian", "size", "2.5", "size must be an integer, got '2.5'"),
        ("gaussian", "size", "0", "size must be >= 1, got 0"),
        ("box", "size", "-3", "size must be >= 1, got -3"),
        ("sobel", "direction", "z", "direction must be one of x, y, magnitude; got 'z'"),
        ("laplacian", "kind", "6", "kind must be one of 4, 8; got 6"),
        ("unsharp", "amount", "-0.5", "amount must be >= 0, got -0.5"),
        ("convolve", "stride", "0", "stride must be >= 1, got 0"),
        ("convolve", "stride", "2,0", r"stride\[1\] must be >= 1, got 0"),
        ("convolve", "stride", "1,2,3", "stride must be a single value or a pair y,x"),
        ("convolve", "padding", "-1", "padding must be >= 0, got -1"),
        ("convolve", "padding", "1,2,3", "padding must be 'valid', 'same', an integer"),
        ("convolve", "padding", "full", "padding must be 'valid', 'same', an integer"),
        ("convolve", "border", "mirror", "border must be one of constant, reflect, symmetric"),
        ("convolve", "flip", "maybe", "flip must be true or false, got 'maybe'"),
        ("convolve", "kernel", "sobelx", "unknown kernel 'sobelx'"),
        ("rescale", "mode", "stretch", "mode must be one of clip, minmax, abs, none"),
    ],
)
def test_bad_values_are_refused_with_the_shared_wording(op, key, value, message):
    values = {key: value}
    if op == "convolve" and key != "kernel":
        values["kernel"] = "box"
    with pytest.raises(ValueError, match=message):
        get_operation(op).validate(values)


def test_checks_wording_is_the_library_wording():
    """The registry's message for a negative sigma is the one filters.gaussian raises."""
    with pytest.raises(ValueError) as from_library:
        filters.gaussian(np.zeros((3, 3)), sigma=-1.0)
    with pytest.raises(ValueError) as from_registry:
        get_operation("gaussian").validate({"sigma": "-1"})
    assert str(from_library.value) == str(from_registry.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("valid", "valid"),
        ("SAME", "same"),
        ("2", 2),
        ("1,2", (1, 2)),
        ("1,2,3,4", (1, 2, 3, 4)),
    ],
)
def test_padding_text_forms(text, expected):
    assert engine.PADDING.check("padding", text) == expected


def test_padding_accepts_json_lists_and_engine_agrees():
    value = engine.PADDING.check("padding", [1, 2, 0, 3])
    assert value == (1, 2, 0, 3)
    assert engine.resolve_padding(value, (3, 3)) == (1, 2, 0, 3)


@pytest.mark.parametrize(("text", "expected"), [("2", (2, 2)), ("2,3", (2, 3)), ("2x3", (2, 3))])
def test_pair_text_forms(text, expected):
    assert engine.STRIDE.check("stride", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("Yes", True),
        ("1", True),
        ("off", False),
        ("false", False),
    ],
)
def test_bool_text_forms(text, expected):
    assert get_operation("convolve").param("flip").check("flip", text) is expected


def test_optional_parameter_takes_none_or_auto():
    size = get_operation("gaussian").param("size")
    assert size.check("size", "auto") is None
    assert size.check("size", "none") is None
    assert size.check("size", "7") == (7, 7)


def test_native_values_from_json_are_checked_too():
    op = get_operation("convolve")
    params = op.validate({"kernel": "box", "stride": [2, 1], "flip": True, "cval": 3})
    assert params["stride"] == (2, 1) and params["flip"] is True and params["cval"] == 3.0
    with pytest.raises(TypeError, match=r"cval must be a number, got \[1\]"):
        op.validate({"kernel": "box", "cval": [1]})


def test_dashed_and_underscored_keys_are_the_same_parameter():
    op = get_operation("rescale")
    assert op.validate({"per-channel": "true"})["per_channel"] is True
    assert op.validate({"per_channel": "true"})["per_channel"] is True


# --- names ---------------------------------------------------------------------------


def test_unknown_operation_suggests_the_closest():
    with pytest.raises(
        ValueError, match=r"unknown operation 'gausian' \(did you mean 'gaussian'\?\)"
    ):
        get_operation("gausian")


def test_unknown_parameter_suggests_and_lists():
    with pytest.raises(
        ValueError,
        match=r"gaussian has no parameter 'sigm' \(did you mean 'sigma'\?\);"
        r" it takes sigma, size, border",
    ):
        get_operation("gaussian").validate({"sigm": "2"})


def test_parameter_to_an_operation_without_any():
    with pytest.raises(ValueError, match="relu takes no parameters, got 'amount'"):
        get_operation("relu").validate({"amount": "2"})


def test_alias_mean_is_box():
    assert get_operation("mean") is get_operation("box")


def test_register_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Operation("mean", "again", "imgfilter.ops.filters:box"))


def test_convolve_needs_a_kernel():
    with pytest.raises(ValueError, match=r"convolve needs kernel=\.\.\."):
        get_operation("convolve").validate({})


# --- kernel specs ----------------------------------------------------------------------


def test_kernel_spec_with_parameters():
    assert parse_kernel_spec("gaussian:sigma=2,size=7") == (
        "gaussian",
        {"sigma": "2", "size": "7"},
    )
    kernel = resolve_kernel("gaussian:sigma=2,size=7")
    assert kernel.shape == (7, 7)
    np.testing.assert_allclose(kernel.matrix.sum(), 1.0)


def test_kernel_spec_dilated_base():
    kernel = resolve_kernel("dilated:base=sobel-x,rate=2")
    assert kernel.shape == (5, 5)
    np.testing.assert_array_equal(kernel.matrix[::2, ::2], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert not kernel.matrix[1::2].any()


def test_kernel_spec_json_path_is_not_split(samples_dir):
    path = samples_dir / "kernels" / "relief.json"
    assert parse_kernel_spec(str(path)) == (str(path), {})
    assert resolve_kernel(str(path)).shape == (3, 3)


def test_kernel_spec_malformed_parameter():
    with pytest.raises(ValueError, match="parameters must read key=value, got 'sigma'"):
        parse_kernel_spec("gaussian:sigma")


# --- mappings and running ------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "values", "mapping"),
    [
        ("gaussian", {}, "clip"),
        ("sobel", {}, "clip"),
        ("sobel", {"direction": "x"}, "abs"),
        ("laplacian", {}, "abs"),
        ("convolve", {"kernel": "sobel-x"}, "abs"),
        ("convolve", {"kernel": "gaussian3"}, "clip"),
        ("convolve", {"kernel": "sharpen"}, "clip"),
        ("rescale", {"mode": "minmax"}, "minmax"),
        ("grayscale", {}, None),
    ],
)
def test_natural_output_mapping(op, values, mapping):
    operation = get_operation(op)
    assert operation.natural_mapping(operation.validate(values)) == mapping


def test_apply_runs_the_library_function(rng):
    image = rng.uniform(0, 255, (9, 11)).astype(np.float32)
    op = get_operation("gaussian")
    got = op.apply(image, op.validate({"sigma": "1.5"}))
    np.testing.assert_array_equal(got, filters.gaussian(image, 1.5))
    assert got.dtype == np.float32


def test_apply_convolve_passes_every_engine_option(rng):
    image = rng.uniform(0, 255, (10, 12)).astype(np.float32)
    op = get_operation("convolve")
    params = op.validate(
        {
            "kernel": "sobel-x",
            "padding": "1,2",
            "border": "constant",
            "cval": "7",
            "stride": "2,1",
            "dilation": "2",
            "flip": "true",
        }
    )
    expected = engine.convolve(
        image,
        "sobel-x",
        padding=(1, 2),
        border="constant",
        cval=7,
        stride=(2, 1),
        dilation=2,
        flip=True,
    )
    np.testing.assert_array_equal(op.apply(image, params), expected)


@pytest.mark.parametrize(
    "values",
    [
        {"padding": "valid", "stride": "2"},
        {"padding": "same", "stride": "3,2", "dilation": "2"},
        {"padding": "1,0,2,1", "dilation": "1,3"},
        {"padding": "valid", "kernel": "box:size=4x2", "stride": "2"},
    ],
)
def test_alpha_follows_the_window_centre(rng, values):
    """Alpha equals a convolution of alpha with a one-hot kernel at the anchor, border edge."""
    alpha = rng.uniform(0, 255, (13, 17)).astype(np.float32)
    values = {"kernel": "sobel-x", **values}
    op = get_operation("convolve")
    params = op.validate(values)
    kh, kw = params["kernel"].shape
    one_hot = np.zeros((kh, kw))
    one_hot[(kh - 1) // 2, (kw - 1) // 2] = 1
    expected = engine.convolve(
        alpha,
        one_hot,
        padding=params["padding"],
        border="edge",
        stride=params["stride"],
        dilation=params["dilation"],
    )
    got = op.apply_alpha(alpha, params)
    np.testing.assert_array_equal(got, expected)
    assert got.shape == op.apply(alpha, params).shape


def test_pixelwise_steps_leave_alpha_alone(rng):
    alpha = rng.uniform(0, 255, (5, 6)).astype(np.float32)
    for name in ("gaussian", "relu", "grayscale", "sobel"):
        op = get_operation(name)
        assert op.apply_alpha(alpha, op.validate({})) is alpha


def test_output_shape_prediction_matches_the_result(rng, samples_dir):
    image = rng.uniform(0, 255, (14, 15, 3)).astype(np.float32)
    for name, values in [
        ("convolve", {"kernel": "box", "padding": "valid", "stride": "2"}),
        ("convolve", {"kernel": str(samples_dir / "kernels" / "luma.json")}),
        ("gaussian", {"sigma": "2"}),
        ("grayscale", {}),
        ("relu", {}),
    ]:
        op = get_operation(name)
        params = op.validate(values)
        assert op.output_shape(image.shape, params) == op.apply(image, params).shape, name
