"""`python -m pipeline ...` is the `pipeline` console script."""

from pipeline.cli import app

app(prog_name="pipeline")
