"""`DataError`: the one error every bad data input or data setting becomes.

Its own module so that every part of `core/data` can raise it without importing another part
(preprocess and dataset used to import each other for it)."""


class DataError(ValueError):
    """Bad data or a bad data setting. The message is one line: the cause, then the fix."""


class LoadCancelled(Exception):
    """The caller asked `load` to stop (its cancel flag was set); nothing was loaded. Not a
    DataError: nothing is wrong with the data."""
