"""Each Python process's CPU, for benchmarks/ci_benchmark.py's `full` round (on PYTHONPATH there, nowhere else).

Python imports `sitecustomize` at start-up from the first folder of sys.path that has one. With
CI_BENCHMARK_PROCESS_LOG set, every Python process the test run starts (pytest's workers, the stages DVC runs,
`pipeline` and `dvc` commands, a fork's own environment) appends one JSON line there when it exits normally:
its own CPU seconds, working folder and command line. A process killed or ended by `os._exit` writes nothing.
"""

import atexit
import json
import os
import sys


def _account() -> None:
    from pathlib import Path  # at exit, not at every start-up

    times = os.times()
    try:
        folder = str(Path.cwd())
    except OSError:  # the folder was removed under it (a test's temporary clone)
        folder = ""
    line = json.dumps({"cpu": times.user + times.system, "cwd": folder, "argv": sys.argv[:12]})
    # One short write in append mode: lines from processes ending together do not interleave.
    with Path(os.environ["CI_BENCHMARK_PROCESS_LOG"]).open("a", encoding="utf-8") as log:
        log.write(line[:3000] + "\n")


if os.environ.get("CI_BENCHMARK_PROCESS_LOG"):
    atexit.register(_account)
