"""`DataError`: the one error every bad data input or data setting becomes.

Its own module so that every part of `core/data` can raise it without importing another part
(preprocess and dataset used to import each other for it)."""


class DataError(ValueError):
    """Bad data or a bad data setting. The message is one line: the cause, then the fix."""
