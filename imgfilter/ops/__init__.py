"""The operations built on the engine, one module each, behind ``import imgfilter as imf``.

``filters`` (blur, Sobel, Laplacian, sharpening, grayscale, activations), ``canny``,
``denoise`` (mean, median, Gaussian, bilateral, non-local means), ``noise`` (synthetic
noise), ``pool`` and ``metrics`` (PSNR, SSIM). Each public function declares its
parameters with :func:`imgfilter.params.takes`, so the operation table and the command
line check them with the same code.
"""
