"""Observability reads the pipeline through `readings.py` and never imports it: the
pipeline imports observability, and the two must not depend on each other both ways."""

from __future__ import annotations

import ast
from pathlib import Path

import supporter.observability

PACKAGE = Path(supporter.observability.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, `from a import b`
    counted as both `a` and `a.b` (b may be a module)."""
    package = "supporter.observability"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def pipeline_imports(path: Path) -> set[str]:
    return {
        module
        for module in imported_modules(path)
        if module == "supporter.pipeline" or module.startswith("supporter.pipeline.")
    }


def test_no_observability_module_imports_the_pipeline() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert PACKAGE / "metrics.py" in modules
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(found)
        for path in modules
        if (found := pipeline_imports(path))
    }
    assert offenders == {}


def test_the_check_sees_every_way_of_importing_the_pipeline(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    for line in (
        "import supporter.pipeline.stats",
        "from supporter.pipeline.circuit import CircuitBreaker",
        "from supporter import pipeline",
        "from ..pipeline import worker",
        "from ..pipeline.stats import RunStats",
    ):
        source.write_text(f"{line}\n", encoding="utf-8")
        assert pipeline_imports(source), line
    source.write_text(
        "from supporter.observability.readings import RunReadings\nfrom . import tracing\n",
        encoding="utf-8",
    )
    assert pipeline_imports(source) == set()
