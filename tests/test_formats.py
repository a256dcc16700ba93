"""The output formats: extensions, names and the one output check (shared by save and the CLI)."""

import pytest

from imgfilter import formats


def test_extensions_map_to_format_names():
    assert formats.FORMATS[".jpg"] == "JPEG" and formats.FORMATS[".tif"] == "TIFF"
    assert formats.FORMATS[".npy"] == "NPY"
    assert all(ext.startswith(".") and ext == ext.lower() for ext in formats.FORMATS)


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.PNG", "PNG"), ("b.jpeg", "JPEG"), ("c.tiff", "TIFF"), ("d.pgm", "PPM")]
)
def test_format_of_reads_the_extension_in_any_case(name, fmt):
    assert formats.format_of(name) == fmt


@pytest.mark.parametrize("name", ["x.xyz", "noext", "dir.d/file"])
def test_format_of_refuses_unknown_extensions(name):
    with pytest.raises(ValueError, match="cannot tell the image format from"):
        formats.format_of(name)


@pytest.mark.parametrize(
    ("fmt", "mapping", "depth", "quality", "message"),
    [
        ("JPEG", "clip", 16, None, "depth 16 needs PNG or TIFF; JPEG stores 8 bits"),
        ("PNG", "clip", 8, 80, "quality applies to JPEG and WebP only, not PNG"),
        ("PNG", "none", 8, None, "rescale 'none' keeps floats, which PNG cannot store"),
        ("TIFF", "none", 16, None, "cannot be combined with depth 16"),
        ("JPEG", "clip", 8, 0, r"quality must be in \[1, 100\], got 0"),
        ("PNG", "clip", 12, None, "depth must be 8, 16 or auto, got 12"),
        ("PNG", "bogus", 8, None, "rescale must be one of clip, minmax, abs, none"),
    ],
)
def test_check_output_refuses_what_the_format_cannot_hold(fmt, mapping, depth, quality, message):
    with pytest.raises(ValueError, match=message):
        formats.check_output(fmt, mapping, depth, quality)


def test_check_output_fills_the_default_mapping():
    assert formats.check_output("NPY") == ("none", 8, None)
    assert formats.check_output("PNG", depth=16) == ("clip", 16, None)
    assert formats.check_output("TIFF", "none") == ("none", 8, None)
