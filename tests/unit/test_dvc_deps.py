"""Each stage of `dvc.yaml` lists every module of `pipeline/` that its command imports, directly or not.

DVC re-runs a stage when one of its `deps:` changes; a module the stage imports but does not list can change
(a label rule, a loader) and leave `dvc status` clean over stale outputs. The import graph is read from the
code itself (every `import` statement, also those inside functions), so the test follows the code as it moves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from tests.conftest import ROOT

PACKAGE = "pipeline"


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of a module of the package (`pipeline.x` -> pipeline/x.py or pipeline/x/__init__.py)."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, module: str) -> set[str]:
    """The modules of the package that one file imports (absolute and relative imports alike)."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parent = node.module or ""
            if node.level:  # `from . import x`, `from .y import x`
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                parent = ".".join(anchor + ([node.module] if node.module else []))
            found.add(parent)
            found |= {f"{parent}.{alias.name}" for alias in node.names}  # `from pipeline import drift`
    return {name for name in found if name.split(".")[0] == PACKAGE}


def closure(module: str, root: Path = ROOT) -> set[Path]:
    """Every file of the package that running `module` loads: itself, what it imports, and their parents."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b runs a/__init__.py
        path = module_file(name, root)
        if path is not None:
            todo += sorted(imported_modules(path, name))
    return {path.relative_to(root) for name in seen if (path := module_file(name, root)) and not empty(path)}


def empty(path: Path) -> bool:
    """A file holding only its docstring: no code whose change could change an output."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def stage_modules(dvc_yaml: Path = ROOT / "dvc.yaml") -> dict[str, str]:
    """stage -> the module its command runs (`python -m pipeline.x ...`)."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    found = {}
    for name, stage in stages.items():
        match = re.search(rf"python -m ({PACKAGE}(?:\.\w+)*)", " ".join(stage["cmd"].split()))
        if match:
            found[name] = match[1]
    return found


def listed(deps: list[str], path: Path) -> bool:
    """A file is listed when it, or a folder holding it, is one of the stage's deps."""
    return any(path == Path(dep) or Path(dep) in path.parents for dep in deps)


def stage_imports(root: Path = ROOT) -> dict[str, set[Path]]:
    """stage -> every file of the package its command loads (`-m` on a package runs its `__main__`)."""
    found = {}
    for stage, module in stage_modules(root / "dvc.yaml").items():
        is_package = module_file(module, root).name == "__init__.py"
        found[stage] = closure(f"{module}.__main__" if is_package else module, root)
    return found


def test_every_stage_runs_a_module_of_the_package():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert set(stage_modules()) == set(stages)


def test_every_stage_lists_every_module_it_imports():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    missing = {
        stage: sorted(p.as_posix() for p in files if not listed(stages[stage]["deps"], p))
        for stage, files in stage_imports().items()
    }
    assert {stage: files for stage, files in missing.items() if files} == {}


def test_no_stage_lists_a_module_it_does_not_import():
    """A dependency the code does not have re-runs a stage for nothing (and hides the real graph)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    extra = {}
    for stage, files in stage_imports().items():
        code = [d for d in stages[stage]["deps"] if d.startswith(f"{PACKAGE}/") and d.endswith(".py")]
        extra[stage] = sorted(d for d in code if Path(d) not in files)
    assert {stage: deps for stage, deps in extra.items() if deps} == {}


def test_the_import_graph_follows_relative_and_lazy_imports(tmp_path):
    """The reader of the graph itself: a lazy import inside a function and a relative import both count."""
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Docstring only."""\n')
    (package / "sub" / "__init__.py").write_text("VALUE = 1\n")
    (package / "stage.py").write_text("def main():\n    from pipeline.helper import x\n")
    (package / "helper.py").write_text("from .sub import leaf\nx = 1\n")
    (package / "sub" / "leaf.py").write_text("y = 2\n")
    (package / "unused.py").write_text("z = 3\n")
    assert closure("pipeline.stage", tmp_path) == {
        Path("pipeline/stage.py"),
        Path("pipeline/helper.py"),
        Path("pipeline/sub/__init__.py"),
        Path("pipeline/sub/leaf.py"),
    }
