"""What a file carries besides its pixels: the ICC colour profile, EXIF and resolution.

They are read on load (``load(path, metadata=True)``) and written back by ``save(...,
metadata=...)`` where the output format can hold them: PNG, JPEG and TIFF keep all
three, WebP the profile and EXIF (it has no resolution field), BMP the resolution; GIF,
PNM, .npy and text matrices none. EXIF is kept as its TIFF-structured block, byte for
byte, except the orientation tag, which is set to 1: the rotation was applied on load.
A corrupt profile or EXIF block in the input is dropped with a warning, and so is
metadata too large for the output format; the pixels are always written.

>>> meta = Metadata(icc_profile=b"x" * 588, dpi=(300.0, 300.0), bit_depth=16)
>>> meta
Metadata(icc_profile=<588 bytes>, exif=None, dpi=(300.0, 300.0), bit_depth=16)
>>> meta.stripped()
Metadata(icc_profile=None, exif=None, dpi=None, bit_depth=16)
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imgfilter.errors import ImageWarning

EXIF_HEADER = b"Exif\x00\x00"
ORIENTATION = 0x0112
JPEG_EXIF_LIMIT = 65533 - len(EXIF_HEADER)  # one APP1 segment
JPEG_ICC_LIMIT = 255 * (65533 - 14)  # at most 255 APP2 segments
JPEG_DPI_LIMIT = 65535  # a 16-bit field
ICC_LIMIT = 1 << 26  # bytes of a decompressed PNG profile kept
METRE = 0.0254  # inches per metre, as Pillow converts pHYs
# The EXIF tags of a TIFF's first directory (the EXIF spec's "TIFF tags" that are not
# the picture's layout), and its EXIF, GPS and Windows XP tags.
TIFF_EXIF_TAGS = (270, 271, 272, 274, 305, 306, 315, 316, 318, 319, 33432, 34665, 34853)
TIFF_EXIF_TAGS += (18246, 18249, 40091, 40092, 40093, 40094, 40095)
IFD_GROUPS = (34665, 34853, 40965)
CAN_HOLD = {
    "PNG": ("icc", "exif", "dpi"),
    "JPEG": ("icc", "exif", "dpi"),
    "TIFF": ("icc", "exif", "dpi"),
    "WEBP": ("icc", "exif"),
    "BMP": ("dpi",),
}
"""Format -> what of the metadata it stores; a format not listed stores none."""


@dataclass(frozen=True)
class Metadata:
    """The ICC profile and EXIF block (bytes), the resolution (x, y) in dots per inch,
    and the bits per sample of the file's pixels (None for .npy and text matrices).

    ``exif`` is TIFF-structured (it starts ``II*`` or ``MM*``), orientation 1; read it
    with ``PIL.Image.Exif().load(meta.exif)``.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None
    dpi: tuple[float, float] | None = None
    bit_depth: int | None = None

    def stripped(self) -> Metadata:
        """The same without profile, EXIF and resolution (``--strip``); the depth stays."""
        return Metadata(bit_depth=self.bit_depth)

    def __repr__(self) -> str:
        def short(data: bytes | None) -> str:
            return "None" if data is None else f"<{len(data)} bytes>"

        return (
            f"Metadata(icc_profile={short(self.icc_profile)}, exif={short(self.exif)}, "
            f"dpi={self.dpi}, bit_depth={self.bit_depth})"
        )


# --- reading -------------------------------------------------------------------------


def from_pillow(image: Image.Image, name: str, notes: list[str]) -> tuple[Metadata, int]:
    """(metadata, EXIF orientation) of a loaded Pillow image; problems go to ``notes``."""
    if image.format == "TIFF":
        orientation = _tiff_orientation(image)
        raw = _tiff_exif(image, name, notes)
    else:
        raw = image.info.get("exif")
        if raw is None and "Raw profile type exif" in image.info:  # ImageMagick's PNG text
            text = "".join(str(image.info["Raw profile type exif"]).split("\n")[3:])
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raw = b"not hex"
        raw, orientation = exif_block(raw, name, notes)
    icc = check_icc(image.info.get("icc_profile"), name, notes)
    dpi = image.info.get("dpi")
    if image.format == "TIFF":
        dpi = _tiff_dpi(image)
    elif image.format == "JPEG" and image.info.get("jfif_unit") not in (1, 2):
        dpi = dpi if raw is not None and _exif_has_resolution(image) else None
    return Metadata(icc, raw, _dpi(dpi, orientation)), orientation


def from_png_chunks(found: dict[bytes, bytes], name: str, notes: list[str]):
    """(metadata, orientation) from the payloads of a PNG's iCCP, pHYs and eXIf chunks."""
    exif, orientation = exif_block(found.get(b"eXIf"), name, notes)
    icc, dpi = None, None
    if b"iCCP" in found:
        icc = check_icc(_inflate_icc(found[b"iCCP"], name, notes), name, notes)
    phys = found.get(b"pHYs", b"")
    if len(phys) == 9 and phys[8] == 1:
        x, y = struct.unpack(">II", phys[:8])
        dpi = _dpi((x * METRE, y * METRE), orientation)
    return Metadata(icc, exif, dpi), orientation


def _inflate_icc(payload: bytes, name: str, notes: list[str]) -> bytes | None:
    start = payload.find(b"\0")
    if start < 0 or payload[start + 1 : start + 2] != b"\0":
        notes.append(f"{name}: corrupt ICC profile (a malformed iCCP chunk); not kept")
        return None
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(payload[start + 2 :], ICC_LIMIT)
    except zlib.error as exc:
        notes.append(f"{name}: corrupt ICC profile ({exc}); not kept")
        return None
    if inflate.unconsumed_tail:
        notes.append(f"{name}: ICC profile larger than {ICC_LIMIT} bytes; not kept")
        return None
    return data


def check_icc(data: bytes | None, name: str, notes: list[str]) -> bytes | None:
    """``data`` if it is an ICC profile (a header that fits, a tag table, lcms reads it);
    else None, with a note saying what is wrong."""
    if not data:
        return None
    data = bytes(data)
    declared = int.from_bytes(data[:4], "big")
    problem = None
    if len(data) < 132 or data[36:40] != b"acsp":
        problem = "no ICC header"
    elif declared > len(data):
        problem = f"it says {declared} bytes but holds {len(data)}"
    elif 132 + 12 * int.from_bytes(data[128:132], "big") > declared:
        problem = "its tag table runs past its end"
    else:
        problem = _lcms_problem(data)
    if problem is not None:
        notes.append(f"{name}: corrupt ICC profile ({problem}); not kept")
        return None
    return data


def _lcms_problem(data: bytes) -> str | None:
    try:
        from PIL import ImageCms
    except ImportError:  # a Pillow built without Little CMS: the header checks stand
        return None
    try:
        ImageCms.ImageCmsProfile(io.BytesIO(data))
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return "Little CMS cannot read it"
    return None


def exif_block(data: bytes | None, name: str, notes: list[str]) -> tuple[bytes | None, int]:
    """(the TIFF-structured EXIF block with orientation 1, the orientation it had).

    A block whose first directory cannot be read is None, with a note in ``notes``.

    >>> tags = Image.Exif()
    >>> tags[0x0112] = 6
    >>> block, orientation = exif_block(tags.tobytes(), "x.jpg", [])
    >>> tags.load(block)
    >>> orientation, tags[0x0112]
    (6, 1)
    """
    if not data:
        return None, 1
    block = bytearray(data[len(EXIF_HEADER) :] if data.startswith(EXIF_HEADER) else data)
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(bytes(block[:4]))
    problem, orientation = None, 1
    first = struct.unpack(order + "I", block[4:8])[0] if order and len(block) >= 8 else 0
    if order is None:
        problem = "no TIFF header"
    elif not 8 <= first <= len(block) - 2:
        problem = "its first directory lies outside the block"
    else:
        end = first + 2 + 12 * struct.unpack(order + "H", block[first : first + 2])[0]
        if end > len(block):
            problem, end = "its first directory is cut short", first
        for at in range(first + 2, end, 12):
            tag, kind, number = struct.unpack(order + "HHI", block[at : at + 8])
            if tag == ORIENTATION and kind == 3 and number == 1:
                (orientation,) = struct.unpack(order + "H", block[at + 8 : at + 10])
                block[at + 8 : at + 10] = struct.pack(order + "H", 1)
    if problem is not None:
        notes.append(f"{name}: corrupt EXIF block ({problem}); not kept")
        return None, 1
    return bytes(block), orientation if 1 <= orientation <= 8 else 1


def _tiff_orientation(image: Image.Image) -> int:
    value = image.tag_v2.get(ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _exif_has_resolution(image: Image.Image) -> bool:
    """Whether a JPEG's resolution came from its EXIF (Pillow says 72 dpi when unknown)."""
    try:
        return 0x011A in image.getexif()
    except Exception:  # noqa: BLE001 - no readable EXIF, no resolution
        return False


def _tiff_dpi(image: Image.Image) -> tuple[float, float] | None:
    """The resolution tags in dots per inch (the unit the TIFF spec assumes), if present."""
    tags = image.tag_v2
    unit = tags.get(296, 2)
    if 282 not in tags or 283 not in tags or unit not in (2, 3):
        return None
    scale = 2.54 if unit == 3 else 1.0
    return float(tags[282]) * scale, float(tags[283]) * scale


def _tiff_exif(image: Image.Image, name: str, notes: list[str]) -> bytes | None:
    """A TIFF's EXIF tags (not its layout tags) as an EXIF block, orientation 1."""
    try:
        tags = image.getexif()
        exif = Image.Exif()
        for tag in TIFF_EXIF_TAGS:
            if tag in tags:
                exif[tag] = tags.get_ifd(tag) if tag in IFD_GROUPS else tags[tag]
        if not len(exif):
            return None
        exif[ORIENTATION] = 1  # Pillow applied it on load, and took the tag away
        return exif.tobytes()[len(EXIF_HEADER) :]
    except Exception as exc:  # noqa: BLE001 - metadata is never a reason to refuse pixels
        notes.append(f"{name}: corrupt EXIF tags ({' '.join(str(exc).split())}); not kept")
        return None


def _dpi(value: Any, orientation: int) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(x) and math.isfinite(y) and x > 0 and y > 0):
        return None
    return (y, x) if orientation >= 5 else (x, y)  # a quarter turn swaps the axes


# --- writing -------------------------------------------------------------------------


def _drop(name: str, text: str) -> None:
    warnings.warn(f"{name}: {text}", ImageWarning, stacklevel=5)


def fitted(meta: Metadata | None, fmt: str, name: str, gray: bool = False) -> Metadata:
    """What of ``meta`` a ``fmt`` file of gray or colour pixels keeps.

    What is too large for the format goes, with a warning; a profile for other colours
    than the pixels' (an RGB profile on a gray edge map) goes quietly.
    """
    if meta is None:
        return Metadata()
    holds = CAN_HOLD.get(fmt, ())
    icc = meta.icc_profile if "icc" in holds else None
    if icc is not None and icc[16:20] != (b"GRAY" if gray else b"RGB "):
        icc = None
    exif = meta.exif if "exif" in holds else None
    dpi = meta.dpi if "dpi" in holds else None
    if fmt == "JPEG":
        if icc is not None and len(icc) > JPEG_ICC_LIMIT:
            _drop(name, f"JPEG cannot store an ICC profile of {len(icc)} bytes (at most "
                  f"{JPEG_ICC_LIMIT}); the profile was dropped")  # fmt: skip
            icc = None
        if exif is not None and len(exif) > JPEG_EXIF_LIMIT:
            _drop(name, f"JPEG cannot store an EXIF block of {len(exif)} bytes (at most "
                  f"{JPEG_EXIF_LIMIT}); the EXIF was dropped")  # fmt: skip
            exif = None
        if dpi is not None and max(round(d) for d in dpi) > JPEG_DPI_LIMIT:
            _drop(name, f"JPEG cannot store a resolution of {max(dpi):g} dpi (at most "
                  f"{JPEG_DPI_LIMIT}); the resolution was dropped")  # fmt: skip
            dpi = None
    if fmt == "TIFF" and exif is not None and _tiff_exif_tags(exif) is None:
        _drop(name, "TIFF cannot store this EXIF block (Pillow cannot rewrite its tags); "
              "the EXIF was dropped")  # fmt: skip
        exif = None
    return Metadata(icc, exif, dpi, meta.bit_depth)


def pillow_options(meta: Metadata, fmt: str) -> dict[str, Any]:
    """Pillow's save options for a ``fitted`` metadata."""
    if fmt == "TIFF":
        return {"tiffinfo": tiff_tags(meta)}
    options: dict[str, Any] = {}
    if meta.icc_profile is not None:
        options["icc_profile"] = meta.icc_profile
    if meta.exif is not None:
        options["exif"] = EXIF_HEADER + meta.exif if fmt == "JPEG" else meta.exif
    if meta.dpi is not None:
        options["dpi"] = meta.dpi
    return options


def png_chunks(meta: Metadata) -> list[tuple[bytes, bytes]]:
    """The iCCP, pHYs and eXIf chunks (type, payload) of a ``fitted`` metadata."""
    chunks = []
    if meta.icc_profile is not None:
        chunks.append((b"iCCP", b"ICC Profile\0\0" + zlib.compress(meta.icc_profile)))
    if meta.dpi is not None:
        x, y = (int(d / METRE + 0.5) for d in meta.dpi)
        chunks.append((b"pHYs", struct.pack(">IIB", x, y, 1)))
    if meta.exif is not None:
        chunks.append((b"eXIf", meta.exif))
    return chunks


def tiff_tags(meta: Metadata) -> dict[int, Any]:
    """TIFF tags (number -> value, Pillow's kinds) of a ``fitted`` metadata."""
    tags: dict[int, Any] = {}
    if meta.exif is not None:
        tags.update(_tiff_exif_tags(meta.exif) or {})
    if meta.icc_profile is not None:
        tags[34675] = meta.icc_profile
    if meta.dpi is not None:
        tags.update({296: 2, 282: meta.dpi[0], 283: meta.dpi[1]})
    return tags


def _tiff_exif_tags(exif: bytes) -> dict[int, Any] | None:
    """The EXIF block as TIFF tags, or None if Pillow cannot read or write them."""
    from PIL import TiffImagePlugin

    try:
        parsed = Image.Exif()
        parsed.load(exif)
        tags = {t: parsed.get_ifd(t) if t in IFD_GROUPS else parsed[t] for t in parsed}
        scratch = TiffImagePlugin.ImageFileDirectory_v2()
        for tag, value in tags.items():
            scratch[tag] = value
        scratch.tobytes()
    except Exception:  # noqa: BLE001 - any tag Pillow cannot handle drops the block
        return None
    return tags
