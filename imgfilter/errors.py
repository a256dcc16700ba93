"""Exceptions that carry a file name, so the command line can report one clear line."""


class ImageFileError(ValueError):
    """A file could not be read, decoded, encoded or written.

    The message starts with the path: ``"photo.png: truncated PNG data"``.
    """
