"""The adoption guide (README.md, "Use this template for your data") runs as written, in the order it gives.

Every ```bash block of the section is joined into one script and run with bash, so a command the guide
forgets, misspells or orders wrongly fails here. What GitHub or a cloud would provide is stood in for
locally, each substitution listed below with its reason; the commands themselves are the guide's own.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import shutil
from pathlib import Path

from pipeline.report import guide
from tests.conftest import ROOT
from tests.repos import SMALL_WINDOW, make_origin, sh

BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def guide_script() -> str:
    """The guide's commands, block after block, as one bash script."""
    return "\n".join(BLOCK.findall(guide.section((ROOT / "README.md").read_text(encoding="utf-8"))))


def cgm_csv(dest: Path) -> Path:
    """The guide's running example: bokeh_sampledata's glucose readings, as the one CSV file a team has."""
    package = Path(next(iter(importlib.util.find_spec("bokeh_sampledata").submodule_search_locations)))
    with gzip.open(package / "_data" / "CGM.csv.gz", "rb") as packed, dest.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return dest


def test_the_guide_runs_from_use_this_template_to_the_first_promotion_pull_request(tmp_path):
    origin = make_origin(tmp_path / "github", through=SMALL_WINDOW)  # "Use this template": the template, one commit
    cgm, storage = cgm_csv(tmp_path / "CGM.csv"), tmp_path / "bucket"
    script = guide_script()
    for placeholder, stand_in in [
        ("https://github.com/OWNER/REPO.git", str(origin)),  # the new repository on GitHub: a bare repository
        ("~/CGM.csv", str(cgm)),  # the team's file
        ("s3://my-bucket/glucose", str(storage)),  # the bucket: a local folder is a DVC remote too
        ("make setup", "true"),  # this environment is installed already (the same lock file)
        ("uv run ", "python -m "),  # ...so its interpreter runs the clone's own package
        ("OWNER/REPO", "team/glucose"),
    ]:
        assert placeholder in script, f"the guide no longer says {placeholder!r}: update this test"
        script = script.replace(placeholder, stand_in)
    work = tmp_path / "work"
    work.mkdir()
    result = sh("bash", "-euxo", "pipefail", "-c", script, cwd=work, check=False)
    assert result.returncode == 0, f"the guide's commands failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"

    assert "features: numeric isig; categorical (none); calendar weekday, hour" in result.stdout  # init's plan
    assert "released as table 'cgm' (of 8 available)" in result.stdout

    repo = work / "glucose"
    assert "TODO" in (repo / "site" / "model_card.md").read_text(encoding="utf-8")  # the stubs to fill in
    evaluate = json.loads((repo / "outputs" / "metrics" / "evaluate.json").read_text())
    assert evaluate["task"] == "regression" and evaluate["model"]["mae"]["value"] < evaluate["baseline"]["mae"]["value"]
    assert "glucose" in (repo / "site" / "build" / "model-card" / "index.html").read_text(encoding="utf-8")
    params = (repo / "params.yaml").read_text(encoding="utf-8")
    assert "type: regression" in params and "column: glucose" in params
    assert "Glucose from the sensor" in (repo / "site" / "build" / "index.html").read_text(encoding="utf-8")
    assert (
        sh("git", "log", "-1", "--format=%s", "origin/main", cwd=repo).stdout.strip()
        == "Adopt the template: glucose from the sensor"
    )
    assert any(storage.rglob("*")), "dvc push stored nothing in the remote"
    requests = [json.loads(line) for line in (repo / "github-requests.jsonl").read_text().splitlines()]
    pulls = [r for r in requests if r["method"] == "POST" and r["path"].endswith("/pulls")]
    assert len(pulls) == 1 and pulls[0]["body"]["head"] == "ct/2010-09"
    assert "glucose" in pulls[0]["body"]["body"] or "mae" in pulls[0]["body"]["body"]
    assert sh("git", "ls-remote", str(origin), "ct/2010-09", cwd=repo).stdout.strip()
    decision = json.loads((repo / "outputs" / "gate" / "decision.json").read_text())  # committed on ct/2010-09
    assert (decision["decision"], decision["period"], decision["primary"]["metric"]) == ("promote", "2010-09", "mae")
    drift = json.loads((repo / "outputs" / "metrics" / "drift.json").read_text())
    assert drift["current"] == "2010-09" and drift["prediction"]["test"] == "ks" and drift["columns"]
