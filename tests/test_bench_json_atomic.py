"""The bench scripts rewrite their result JSON after every measured row (so a run cut short
keeps what it measured): each write goes through ``video.atomic.atomic_file``, or a kill in the
middle of one leaves a truncated JSON in place of the rows already measured. Checked on the
source: the scripts need a GPU and model weights to run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
WRITES = {"write_text", "write_bytes", "dump"}


def unprotected_writes(source: str) -> list[int]:
    """Lines of file writes (``.write_text``, ``.write_bytes``, ``json.dump``, ``open(.., "w")``)
    outside a ``with atomic_file(...)`` block."""
    bad: list[int] = []

    def is_write(node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr in WRITES:
            return True
        if isinstance(f, ast.Name) and f.id == "open":
            modes = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            modes += [k.value.value for k in node.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
            return any(isinstance(m, str) and ("w" in m or "a" in m) for m in modes)
        return False

    def atomic(node: ast.With) -> bool:
        return any(isinstance(i.context_expr, ast.Call) and getattr(i.context_expr.func, "id", "") == "atomic_file"
                   for i in node.items)

    def visit(node: ast.AST, inside: bool) -> None:
        if is_write(node) and not inside:
            bad.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, inside or (isinstance(node, ast.With) and atomic(node)))

    visit(ast.parse(source), False)
    return bad


def test_the_checker_finds_a_bare_write():
    assert unprotected_writes("out.write_text('x')\nwith atomic_file(out) as t:\n    t.write_text('x')\n") == [1]


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_bench_results_are_written_atomically(script):
    assert unprotected_writes((BENCH / script).read_text()) == []
