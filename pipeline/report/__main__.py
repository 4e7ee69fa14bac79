"""`python -m pipeline.report ...` runs the report stage alone, as `dvc.yaml` does."""

from pipeline.command import run_alone
from pipeline.report.render import main

run_alone(main)
