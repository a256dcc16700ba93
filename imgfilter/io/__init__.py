"""Reading and writing images: the only modules that open image files or call Pillow.

``load`` and ``load_bytes`` (in ``_read``) turn any supported file into float32 on the
0-255 scale; ``save`` and ``encode`` (in ``_write``) map, quantise and write atomically;
``_png16``, ``_pnm16`` and ``_tiff16`` hold the 16-bit colour codecs Pillow lacks. Which
extension is which format, and what each can hold, is :mod:`imgfilter.formats`.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
>>> save(np.array([[0.0, 127.5], [254.6, 300.0]]), path)
>>> load(path)
array([[  0., 128.],
       [255., 255.]], dtype=float32)
"""

from imgfilter.io._read import describe, load, load_bytes
from imgfilter.io._write import encode, save

__all__ = ["describe", "encode", "load", "load_bytes", "save"]
