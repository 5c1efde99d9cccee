"""docs/architecture.md's module tables name every module of the core and of the shell
(``daemon/runtime``): a module added without a line there fails here, naming it."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_architecture_table_names_every_core_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    core = ROOT / "daemon" / "core"
    modules = sorted(  # paths below daemon/core/, e.g. planning/planner.py
        p.relative_to(core).as_posix() for p in core.rglob("*.py") if p.name != "__init__.py"
    )
    missing = [m for m in modules if f"`{m}`" not in doc]
    assert missing == [], f"docs/architecture.md does not list: {', '.join(missing)}"


def test_the_shell_table_names_every_runtime_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    table = doc[doc.index("| module (`daemon/runtime/`) |"):]
    table = table[: table.index("\n\n")]
    modules = sorted(p.name for p in (ROOT / "daemon" / "runtime").glob("*.py")
                     if p.name != "__init__.py")
    missing = [m for m in modules if f"`{m}`" not in table]
    assert missing == [], f"docs/architecture.md's shell table does not list: {', '.join(missing)}"
