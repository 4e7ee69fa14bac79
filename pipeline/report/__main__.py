"""`python -m pipeline.report ...` runs the report stage alone, as `dvc.yaml` does."""

from pipeline.cli import run_alone
from pipeline.report.render import main

run_alone(main)
