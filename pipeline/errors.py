"""The one exception type a person is meant to read.

Every stage raises `PipelineError` for problems with its inputs (a broken file, a missing column, a bad key in
`params.yaml`). The command line prints its message, without a traceback, and exits non-zero; anything else
is a bug and keeps its traceback.
"""


class PipelineError(Exception):
    """An input problem, described in words that name the file, the column or key, and the rule."""
