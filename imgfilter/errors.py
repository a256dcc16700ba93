"""Exceptions and warnings that carry a file name, so the command line can report one line."""


class ImageFileError(ValueError):
    """A file could not be read, decoded, encoded or written.

    The message starts with the path: ``"photo.png: truncated PNG data"``.
    """


class ImageWarning(UserWarning):
    """Something about a file worth a warning; the message starts with the path.

    The command line prints it as one line, ``imgfilter: warning: photo.jpg: <what>``.
    """
