"""The bridge uses only the public names of the apps it plugs into (issue 14): no
``from casebridge.cases... import _name``, lazy imports inside functions included. A name
another app's module keeps private may change without notice; what the bridge needs is
made public there first."""

from __future__ import annotations

import ast
from pathlib import Path

import casebridge.bridge

BRIDGE = Path(casebridge.bridge.__file__).parent


def private_imports(root: Path) -> list[str]:
    """Each ``from <another casebridge app> import _name`` under ``root``, as
    ``path:line: module._name``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if not node.module.startswith("casebridge.") or node.module.startswith(
                "casebridge.bridge"
            ):
                continue
            found += [
                f"{path.relative_to(root)}:{node.lineno}: {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    return found


def test_the_bridge_imports_no_private_name_of_another_app():
    assert private_imports(BRIDGE) == []


def test_the_check_sees_a_private_import_inside_a_function(tmp_path):
    (tmp_path / "mod.py").write_text(
        "def f():\n    from casebridge.cases.views.costs import _hidden\n"
        "    from casebridge.bridge.views._common import _own\n"
        "    from casebridge.cases.views.costs import split_sum\n"
    )
    assert private_imports(tmp_path) == ["mod.py:2: casebridge.cases.views.costs._hidden"]
