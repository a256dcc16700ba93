"""16-bit PNG at full precision: Pillow keeps only the high byte of 48/64-bit colour.

Reading parses the chunks here (with CRC checks) and lets Pillow's C "zip" decoder
inflate and unfilter the pixel stream, which also handles Adam7 interlacing. Unfiltering
is sequential along each row (Average and Paeth predict from the pixel just decoded), so
numpy cannot vectorise it: a wavefront over anti-diagonals took 7 s on a 4096x4096 RGB
image against 5 s for the whole Pillow route. The decoder is asked for the same stream
twice, once through a big-endian unpacker (the high bytes) and once through a
little-endian one (which then picks the low bytes); gray+alpha needs one pass with the
plain 32-bit "RGBA" unpacker, gray one pass as "I;16B".

Writing is plain numpy: the five PNG filters are computed for every row at once, each row
keeps the one with the smallest sum of absolute differences (libpng's heuristic), and
zlib compresses the result.

>>> import numpy as np
>>> pixels = np.array([[[0, 1, 65535]]], dtype=np.uint16)
>>> sorted(decode(encode(pixels, extra=[(b"pHYs", bytes(9))]))[1])
[b'pHYs']
>>> decode(encode(pixels))[0].tolist()
[[[0, 1, 65535]]]
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import BinaryIO

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> number of channels, for the types that exist at 16 bits.
CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}
COLOUR_TYPE = {channels: ctype for ctype, channels in CHANNELS.items()}
MODES = {0: "I;16", 4: "LA", 2: "RGB", 6: "RGBA"}
IDAT_SIZE = 1 << 20
CHECK_PIECE = 1 << 20  # bytes of a chunk read (and CRC-checked) at a time
EXIF_LIMIT = 1 << 24  # bytes of an eXIf chunk kept; a longer one is cut (orientation comes first)
ICC_LIMIT = 1 << 26  # bytes of a compressed iCCP chunk kept
METADATA = (b"iCCP", b"pHYs", b"eXIf")  # the chunks of what a file carries besides pixels
# Adam7 passes: (first column, first row, column step, row step).
ADAM7 = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
]


def is_png16(data: bytes) -> bool:
    """True for PNG data whose IHDR says 16 bits per sample."""
    return data[:8] == SIGNATURE and data[12:16] == b"IHDR" and len(data) > 24 and data[24] == 16


def header(data: bytes) -> tuple[int, int, int]:
    """Return (width, height, colour type) from the IHDR chunk of a 16-bit PNG."""
    width, height, _, ctype = struct.unpack(">IIBB", data[16:26])
    return width, height, ctype


def raw_size(width: int, height: int, channels: int, interlace: int) -> int:
    """Bytes of the unfiltered pixel stream: one filter byte per row of each pass.

    >>> raw_size(3, 2, 1, 0), raw_size(3, 2, 1, 1)
    (14, 16)
    """
    passes = [(0, 0, 1, 1)] if not interlace else ADAM7
    total = 0
    for x0, y0, dx, dy in passes:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            total += rows * (1 + columns * 2 * channels)
    return total


def chunks(data: bytes | BinaryIO, keep=None):
    """Yield (type, payload) for each chunk after the signature, checking lengths and CRCs.

    ``data`` is the whole file or a binary file positioned after the signature.
    ``keep(type)``, if given, says how many bytes of a payload to keep; the rest is read
    and CRC-checked piece by piece, so that a huge chunk is never held in memory.
    """
    stream = io.BytesIO(data[len(SIGNATURE) :]) if isinstance(data, bytes) else data
    while True:
        head = stream.read(8)
        if not head:
            raise ValueError("truncated PNG data (no IEND chunk)")
        if len(head) < 8:
            raise ValueError("truncated PNG data (cut inside a chunk header)")
        (length,) = struct.unpack(">I", head[:4])
        kind = head[4:]
        name = kind.decode("latin-1")
        budget = length if keep is None else min(length, keep(kind))
        crc, payload, left = zlib.crc32(kind), [], length
        while left:
            piece = stream.read(min(left, CHECK_PIECE))
            if not piece:
                raise ValueError(f"truncated PNG data ({name} chunk cut short)")
            crc, left = zlib.crc32(piece, crc), left - len(piece)
            if budget > 0:
                payload.append(piece[:budget])
                budget -= len(piece)
        stored = stream.read(4)
        if len(stored) < 4:
            raise ValueError(f"truncated PNG data ({name} chunk cut short)")
        if struct.unpack(">I", stored)[0] != crc:
            raise ValueError(f"corrupt PNG data (bad CRC in {name} chunk)")
        yield kind, b"".join(payload)
        if kind == b"IEND":
            return


def decode(data: bytes | BinaryIO) -> tuple[np.ndarray, dict[bytes, bytes]]:
    """Decode a 16-bit PNG to uint16 (H, W) or (H, W, C), and the payloads of its
    iCCP, pHYs and eXIf chunks (type -> bytes; the first of each).

    ``data`` is the file's bytes or a binary file at its start. A tRNS colour key becomes
    an alpha channel (65535 everywhere but on the key colour). The compressed stream is
    collected only up to what the image size can need, so no IDAT flood is held, and the
    decoder inflates only as many bytes as the image holds.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    first = stream.read(33)
    if len(first) < 29 or not is_png16(first):
        raise ValueError("truncated PNG data (cut inside the IHDR chunk)")
    width, height, ctype = header(first)
    compression, filtering, interlace = first[26:29]
    if ctype not in CHANNELS or compression or filtering or interlace > 1:
        raise ValueError(f"unsupported 16-bit PNG (colour type {ctype}, interlace {interlace})")
    stream.seek(len(SIGNATURE) - len(first), io.SEEK_CUR)
    # Deflate's worst case is stored blocks (5 bytes per 64 KiB): IDAT bytes past that
    # cannot be needed, so a flood of them is checked but not kept.
    enough = raw_size(width, height, CHANNELS[ctype], interlace)
    budget = {b"IDAT": enough + enough // 1024 + 1024, b"tRNS": 6, b"eXIf": EXIF_LIMIT}
    budget.update({b"iCCP": ICC_LIMIT, b"pHYs": 9})
    parts, key, found = [], None, {}

    def keep(kind: bytes) -> int:
        return budget.get(kind, 0)

    for kind, payload in chunks(stream, keep):
        if kind == b"IDAT":
            parts.append(payload)
            budget[b"IDAT"] -= len(payload)
        elif kind == b"tRNS" and ctype in (0, 2) and len(payload) == 2 * CHANNELS[ctype]:
            key = np.frombuffer(payload, ">u2")
        elif kind in METADATA and kind not in found:
            found[kind] = payload
    if not parts:
        raise ValueError("truncated PNG data (no IDAT chunk)")
    compressed, size = b"".join(parts), (width, height)
    del parts

    def unpack(mode: str, rawmode: str) -> np.ndarray:
        try:
            return np.asarray(Image.frombytes(mode, size, compressed, "zip", rawmode, interlace))
        except (ValueError, OSError) as exc:
            raise ValueError(f"truncated or corrupt PNG data ({exc})") from exc

    # In-place shifts and ors: the result is the only full-size uint16 array at any time.
    if ctype == 0:
        pixels = unpack("I;16", "I;16B").astype(np.uint16, copy=False)
    elif ctype == 4:
        both = unpack("RGBA", "RGBA")
        pixels = both[..., 0::2].astype(np.uint16)
        pixels <<= 8
        pixels |= both[..., 1::2]
        del both
    else:
        mode = MODES[ctype]
        pixels = unpack(mode, mode + ";16B").astype(np.uint16)
        pixels <<= 8
        pixels |= unpack(mode, mode + ";16L")
    if key is not None:
        colour = pixels if ctype == 2 else pixels[..., None]
        opaque = np.any(colour != key[: colour.shape[-1]], axis=-1)
        pixels = np.dstack([pixels, np.where(opaque, 65535, 0).astype(np.uint16)])
    return pixels, found


def without(data: BinaryIO, kinds: tuple[bytes, ...]) -> tuple[bytes, dict[bytes, bytes]]:
    """A PNG file's bytes without the chunks of ``kinds``, and the first payload of each.

    For a file Pillow refuses over one of them (a profile over 1 MB): pixels first.
    """
    data.seek(len(SIGNATURE))
    kept, found = [SIGNATURE], {}
    for kind, payload in chunks(data):
        if kind in kinds:
            found.setdefault(kind, payload)
        else:
            kept.append(chunk(kind, payload))
    return b"".join(kept), found


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC."""
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _filter_rows(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """Filter a band of raw rows (int16, R bytes each) given the row above the band."""
    up = np.vstack([above, rows[:-1]])
    left = np.zeros_like(rows)
    left[:, bpp:] = rows[:, :-bpp]
    upleft = np.zeros_like(rows)
    upleft[:, bpp:] = up[:, :-bpp]
    predictions = (0, left, up, (left + up) // 2, _paeth(left, up, upleft))
    candidates = np.stack([(rows - p).astype(np.uint8) for p in predictions])
    cost = [np.abs(c.view(np.int8), dtype=np.int16).sum(axis=1) for c in candidates]
    best = np.argmin(cost, axis=0)
    chosen = candidates[best, np.arange(len(rows))]
    return np.hstack([best.astype(np.uint8)[:, None], chosen])


def encode(
    pixels: np.ndarray, level: int = 6, band: int = 256, extra: list[tuple[bytes, bytes]] = ()
) -> bytes:
    """Encode uint16 (H, W) or (H, W, C) pixels (C = 2, 3, 4) as a 16-bit PNG.

    ``extra`` chunks (type, payload) go before the pixels: iCCP, pHYs, eXIf.
    """
    pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    height, width, channels = pixels.shape
    raw = np.ascontiguousarray(pixels, dtype=">u2").view(np.uint8).reshape(height, -1)
    compressor = zlib.compressobj(level)
    above = np.zeros((1, raw.shape[1]), np.int16)
    stream = []
    for start in range(0, height, band):
        rows = raw[start : start + band].astype(np.int16)
        stream.append(compressor.compress(_filter_rows(rows, above, 2 * channels).tobytes()))
        above = rows[-1:]
    stream.append(compressor.flush())
    compressed = b"".join(stream)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, COLOUR_TYPE[channels], 0, 0, 0)
    idats = [
        chunk(b"IDAT", compressed[i : i + IDAT_SIZE])
        for i in range(0, max(len(compressed), 1), IDAT_SIZE)
    ]
    before = b"".join(chunk(kind, payload) for kind, payload in extra)
    return SIGNATURE + chunk(b"IHDR", ihdr) + before + b"".join(idats) + chunk(b"IEND", b"")
