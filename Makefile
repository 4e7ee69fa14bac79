# The menu: `make` lists the targets. Each one is a single call of the real tool, so nothing is hidden here.
.DEFAULT_GOAL := help
# uv from PATH, else the one pip installs into this Python (`make setup` installs it when neither exists).
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
export DVC_NO_ANALYTICS := 1
export NO_MKDOCS_2_WARNING := 1
# Python caches compiled modules (__pycache__) unless told not to; some images (Docker's python, this one) say
# PYTHONDONTWRITEBYTECODE=1. The tests and DVC's stages start hundreds of Python processes, and each would then
# recompile pandas, scikit-learn and scipy from source: about 6 s per process, twice the suite's time.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup browser run test test-pr test-e2e test-unit lint format bench clean shellcheck

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install the locked environment into .venv (and uv itself if missing)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen

browser: ## Install Debian's chromium for the browser tests when it is missing (as root, else with sudo)
	@command -v chromium >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

run: setup ## The main job: data, `dvc repro`, report site (site/build/index.html)
	$(UV) run pipeline run

# Tests run in parallel (pytest-xdist, one worker per core; a worker that runs out of tests takes some of the
# other's); the expensive projects are built once per run and shared by every worker (tests/repos.py `shared`).
# Markers: `e2e` (real clones, act, the guide; also the site in a browser) and the rest, fast. See README, "Tests".
PYTEST = $(UV) run pytest -n auto --dist worksteal

test: setup browser shellcheck ## All tests: the project's, the template's unit, site, browser and end-to-end tests
	$(PYTEST)

test-pr: setup shellcheck ## What a pull request's CI runs: the project's tests and the template's fast tests
	$(PYTEST) -m "not e2e"

test-e2e: setup browser shellcheck ## The template's end-to-end and browser tests (their own CI job)
	$(PYTEST) -m e2e

shellcheck: ## Install shellcheck (Debian package) when missing: actionlint uses it on the workflows' scripts
	@command -v shellcheck >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null)

test-unit: setup ## The template's unit tests only (seconds; no pipeline run)
	$(PYTEST) tests/unit -m "not e2e"

lint: setup ## ruff: the code is in its own format (`make format` fixes it) and passes the linter
	$(UV) run ruff format --check pipeline tests benchmarks site
	$(UV) run ruff check pipeline tests benchmarks site

format: setup ## Format the code with ruff
	$(UV) run ruff format pipeline tests benchmarks site

bench: setup ## Benchmarks (print figures; not tests)
	$(UV) run python benchmarks/pipeline_benchmark.py

clean: ## Remove generated files that DVC can rebuild (outputs/, site/build)
	rm -rf outputs/prepared outputs/model site/build
