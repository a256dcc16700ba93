"""Text matrices: .csv, .tsv and .txt read exactly as written and written back as numbers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imgfilter.errors import ImageFileError
from imgfilter.io._text import format_text, number_text, parse_text

SEED_STEP = "0 0 0 0 0 0\n" * 3 + "255 255 255 255 255 255\n" * 3


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3\n4,5,6\n",
        "1\t2\t3\n4\t5\t6\n",
        "1 2 3\n4   5 6\n",
        "# a comment\n\n1, 2, 3\n  # another\n4, 5, 6\n",
        "\ufeff1 2 3\r\n4 5 6\r\n",
    ],
)
def test_separators_comments_and_line_ends(text):
    np.testing.assert_array_equal(
        parse_text(text.encode(), "m.txt"), np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    )


def test_the_seeds_step_image_loads_as_written():
    image = parse_text(SEED_STEP.encode(), "step.txt")
    assert image.dtype == np.float32 and image.shape == (6, 6)
    assert image[:3].sum() == 0 and (image[3:] == 255).all()


def test_negative_and_fractional_values_keep_their_value():
    image = parse_text(b"-1020 0.5\n1e3 -0.25\n", "m.txt")
    np.testing.assert_array_equal(image, np.array([[-1020, 0.5], [1000, -0.25]], np.float32))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 2 3\n4 5\n", r"ragged matrix: row 1 \(line 2\) has 2 values, expected 3 like row 0"),
        ("1 2\n3 x\n", r"row 1 \(line 2\), column 1: 'x' is not a number"),
        ("1,,2\n3,4,5\n", r"row 0 \(line 1\), column 1: an empty cell is not a number"),
        (
            "a,b,c\n1,2,3\n",
            r"line 1 looks like a header \(a, b, c\); remove it, or start it with #",
        ),
        ("", "no numbers in the file"),
        ("# only a comment\n\n", "no numbers in the file"),
        ("42\n", "holds a single number"),
        ("1 nan\n2 3\n", r"NaN at row 0 \(line 1\), column 1; matrix values must be finite"),
        ("1 2\ninf 3\n", r"Infinity at row 1 \(line 2\), column 0"),
        ("1 -inf\n2 3\n", r"-Infinity at row 0 \(line 1\), column 1"),
        ("1 1e39\n2 3\n", "a value too large for float32"),
    ],
)
def test_bad_matrices_name_the_file_and_the_place(text, message):
    with pytest.raises(ImageFileError, match="^m.csv: .*" + message):
        parse_text(text.encode(), "m.csv")


def test_binary_data_is_refused():
    with pytest.raises(ImageFileError, match="m.txt: not a text matrix"):
        parse_text(b"\x89PNG\r\n\x1a\n\xff\xfe", "m.txt")


def test_formats_write_integers_bare_and_others_to_six_digits():
    image = np.array([[0.0, -1020.0, 1 / 3], [255.0, -0.0, 12345678.9]])
    assert format_text(image, "CSV") == b"0,-1020,0.333333\n255,0,1.23457e+07\n"
    assert format_text(image, "TSV") == b"0\t-1020\t0.333333\n255\t0\t1.23457e+07\n"
    assert format_text(image, "TXT").decode().splitlines() == [
        "          0       -1020    0.333333",
        "        255           0 1.23457e+07",
    ]


def test_a_stack_of_maps_writes_one_block_per_map():
    maps = np.stack([np.zeros((2, 2)), np.full((2, 2), 7.0)], axis=-1)
    text = format_text(maps, "TXT", ["sobel-x", "sobel-y"]).decode()
    assert text == "# map 0: sobel-x\n0 0\n0 0\n\n# map 1: sobel-y\n7 7\n7 7\n"


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=6),
        elements=st.integers(-100000, 100000).map(float),
    ),
    st.sampled_from(["CSV", "TSV", "TXT"]),
)
def test_integer_matrices_round_trip_exactly(image, fmt):
    np.testing.assert_array_equal(parse_text(format_text(image, fmt), "m"), image)


@pytest.mark.parametrize(
    ("value", "text"), [(2.0, "2"), (-0.0, "0"), (0.1, "0.1"), (2 / 3, "0.666667"), (1e-7, "1e-07")]
)
def test_number_text(value, text):
    assert number_text(value) == text


def test_text_to_npy_to_text_round_trips_through_the_command_line(cli, tmp_path):
    source = tmp_path / "m.csv"
    source.write_text("# a comment\n-1020,0.5,3\n7,8,255\n")
    assert cli("relu", source, "-o", tmp_path / "m.npy", "--rescale", "none").exit_code == 0
    assert (
        cli("leaky-relu", tmp_path / "m.npy", "-o", tmp_path / "back.txt", "--slope", "1").exit_code
        == 0
    )
    assert (tmp_path / "back.txt").read_text().split() == "0 0.5 3 7 8 255".split()
