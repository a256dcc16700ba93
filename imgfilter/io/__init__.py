"""Reading and writing images: the only modules that open image files or call Pillow.

``load`` and ``load_bytes`` (in ``_read``) turn any supported file into float32 on the
0-255 scale (with ``metadata=True`` also its :class:`Metadata`: ICC profile, EXIF,
resolution, bit depth, in ``_metadata``), ``describe`` (in ``_describe``) gives its facts
and statistics; ``save`` and ``encode`` (in ``_save``) map, quantise and encode, and
``_write`` puts the file in place atomically; ``save_maps`` (in ``_maps``) writes
the feature maps of a kernel bank as a sheet, files or a stack; ``_png16``,
``_pnm16`` and ``_tiff16`` hold the 16-bit colour codecs Pillow lacks, ``_npy`` the
.npy reader.
What a read may cost is bounded in ``_guard`` (the pixel guard, :func:`set_max_pixels`,
regular files only) and what it may let out in ``_contain`` (one-line warnings and
errors). Which extension is which format, and what each can hold, is
:mod:`imgfilter.formats`.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
>>> save(np.array([[0.0, 127.5], [254.6, 300.0]]), path)
>>> load(path)
array([[  0., 128.],
       [255., 255.]], dtype=float32)
"""

from imgfilter.io._describe import describe
from imgfilter.io._guard import max_pixels, set_max_pixels
from imgfilter.io._maps import save_maps
from imgfilter.io._metadata import Metadata
from imgfilter.io._read import as_float, load, load_bytes
from imgfilter.io._save import encode, save

__all__ = [
    "Metadata",
    "as_float",
    "describe",
    "encode",
    "load",
    "load_bytes",
    "max_pixels",
    "save",
    "save_maps",
    "set_max_pixels",
]
