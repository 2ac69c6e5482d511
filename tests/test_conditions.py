"""The one walk over condition trees (`engine.language.conditions`), and that it is the only one.

Order and polarity of `fold`, `walk`, `leaves` and `nnf` on nested all/any/not, `TypeError`
on a node of no known kind wherever it sits, and a scan of `engine/`'s source: no module
but `engine/language/conditions.py` tests a node's class to recurse.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.io.policies import load_policy
from engine.language.conditions import ALL, ANY, LEAF, NOT, children, fold, kind, leaves, nnf, walk
from engine.language.model import All, Any, Comparison, Not, Operand
from engine.runtime.semantics import kleene

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
POLICIES = sorted(p for p in (ROOT / "policies").glob("*.yaml") if not p.name.endswith(".test.yaml"))


def leaf(name: str, index: int) -> Comparison:
    return Comparison("fact", name, "eq", Operand(True), index)


A, B, C, D, E = (leaf(n, i) for i, n in enumerate("abcde"))
# all of [a; any of [not (b); c]; not (all of [d; not (e)])]
INNER_ANY = Any((Not(B), C))
INNER_ALL = All((D, Not(E)))
TREE = All((A, INNER_ANY, Not(INNER_ALL)))


def text(cond) -> str:
    return fold(cond, lambda c: c.subject, lambda _, ps: f"all[{','.join(ps)}]",
                lambda _, ps: f"any[{','.join(ps)}]", lambda _, p: f"not({p})")


# -- fold ------------------------------------------------------------------------------------

def test_fold_is_bottom_up_in_document_order_and_visits_every_child() -> None:
    calls = []

    def note(tag):
        def f(node, *_):
            calls.append((tag, node))
            return tag
        return f

    fold(TREE, note("leaf"), note("all"), note("any"), note("not"))
    assert calls == [("leaf", A), ("leaf", B), ("not", Not(B)), ("leaf", C), ("any", INNER_ANY),
                     ("leaf", D), ("leaf", E), ("not", Not(E)), ("all", INNER_ALL), ("not", Not(INNER_ALL)),
                     ("all", TREE)]


def test_fold_passes_each_node_and_its_childrens_results() -> None:
    assert text(TREE) == "all[a,any[not(b),c],not(all[d,not(e)])]"
    assert fold(A, lambda c: c.index, None, None, None) == 0  # a leaf alone: only `leaf` is called
    rebuilt = fold(TREE, lambda c: c, lambda _, ps: All(tuple(ps)), lambda _, ps: Any(tuple(ps)),
                   lambda _, p: Not(p))
    assert rebuilt == TREE


def test_kleene_asks_every_leaf_in_order() -> None:
    asked = []
    values = {"a": False, "b": None, "c": True, "d": True, "e": None}

    def value(c):
        asked.append(c.subject)
        return values[c.subject]

    assert kleene(TREE, value) is False  # `a` is false: the `all` is false, yet every leaf is asked
    assert asked == list("abcde")
    values["a"] = True
    assert kleene(TREE, lambda c: values[c.subject]) is None  # `not (all of [d; not (e)])`: e unknown


# -- walk and leaves ---------------------------------------------------------------------------

def test_walk_is_top_down_in_document_order_with_polarity_and_ancestors() -> None:
    got = [(n, neg, anc) for n, neg, anc in walk(TREE)]
    assert [(text(n), neg) for n, neg, _ in got] == [
        ("all[a,any[not(b),c],not(all[d,not(e)])]", False),
        ("a", False),
        ("any[not(b),c]", False),
        ("not(b)", False),
        ("b", True),
        ("c", False),
        ("not(all[d,not(e)])", False),
        ("all[d,not(e)]", True),
        ("d", True),
        ("not(e)", True),
        ("e", False),  # two `not`s above: positive again
    ]
    assert dict((n.subject, anc) for n, _, anc in got if isinstance(n, Comparison))["e"] == \
        (TREE, Not(INNER_ALL), INNER_ALL, Not(E))
    assert got[0][2] == () and got[1][2] == (TREE,)


def test_walk_starts_from_a_given_polarity_and_ancestors() -> None:
    assert list(walk(Not(A), True, ("root",))) == [(Not(A), True, ("root",)), (A, False, ("root", Not(A)))]


def test_leaves_in_order_with_polarity() -> None:
    assert [(c.subject, neg) for c, neg in leaves(TREE)] == \
        [("a", False), ("b", True), ("c", False), ("d", True), ("e", False)]
    assert list(leaves(A)) == [(A, False)]
    assert list(leaves(All(()))) == []


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_leaves_of_a_built_rule_are_its_leaf_list(path: Path) -> None:
    """The builder numbers leaves in document order: the walk finds them in the same order."""
    for rule in load_policy(path).rules:
        assert [c for c, _ in leaves(rule.when)] == list(rule.leaves)
        assert [c.index for c, _ in leaves(rule.when)] == list(range(len(rule.leaves)))


# -- nnf ------------------------------------------------------------------------------------------

def nnf_text(cond, positive: bool = True) -> str:
    return nnf(cond, lambda c, p: c.subject if p else f"¬{c.subject}", lambda ps: f"and[{','.join(ps)}]",
               lambda ps: f"or[{','.join(ps)}]", positive)


def test_nnf_pushes_negation_to_the_leaves() -> None:
    assert nnf_text(TREE) == "and[a,or[¬b,c],or[¬d,e]]"
    assert nnf_text(TREE, positive=False) == "or[¬a,and[b,¬c],and[d,¬e]]"
    assert nnf_text(Not(Not(A))) == "a"


def test_nnf_visits_each_leaf_once_in_document_order() -> None:
    seen = []
    nnf(TREE, lambda c, p: seen.append((c.subject, p)), lambda ps: None, lambda ps: None)
    assert seen == [("a", True), ("b", False), ("c", True), ("d", False), ("e", True)]


# -- one level --------------------------------------------------------------------------------

def test_children_and_kind() -> None:
    assert children(A) == ()
    assert tuple(children(TREE)) == (A, INNER_ANY, Not(INNER_ALL))
    assert tuple(children(Not(B))) == (B,)
    assert [kind(n) for n in (A, TREE, INNER_ANY, Not(B))] == [LEAF, ALL, ANY, NOT]


# -- a node of no known kind -----------------------------------------------------------------

FOREIGN = object()


@pytest.mark.parametrize("where", ["root", "nested"])
@pytest.mark.parametrize("op", ["fold", "walk", "leaves", "nnf", "kleene"])
def test_a_foreign_node_is_a_type_error(op: str, where: str) -> None:
    cond = FOREIGN if where == "root" else All((A, Any((Not(FOREIGN),))))
    run = {
        "fold": lambda: text(cond),
        "walk": lambda: list(walk(cond)),
        "leaves": lambda: list(leaves(cond)),
        "nnf": lambda: nnf_text(cond),
        "kleene": lambda: kleene(cond, lambda c: True),
    }[op]
    with pytest.raises(TypeError, match="not a condition node: object"):
        run()


@pytest.mark.parametrize("op", [children, kind])
def test_one_level_of_a_foreign_node_is_a_type_error(op) -> None:
    with pytest.raises(TypeError, match="not a condition node: str"):
        op("all")


# -- no other walk ------------------------------------------------------------------------------

NODE_KINDS = {"All", "Any", "Not"}
# module (relative to the repository) → why it may name the inner node classes
MAY_IMPORT = {
    "engine/language/conditions.py": "the one walk",
    "engine/language/model.py": "defines them",
    "engine/language/validate.py": "builds the IR from the document (constructs nodes, never inspects them)",
    "engine/language/tables.py": "builds table rows' conditions (constructs nodes, never inspects them)",
}
# module → why it still tests a node's class itself (none today: add a reason, or use the walk)
MAY_TEST = {
    "engine/language/conditions.py": "the one walk",
}


def _names(node: ast.AST) -> set[str]:
    """The class names an `isinstance`/`issubclass` second argument or a comparison mentions."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def kind_tests(source: str, filename: str) -> list[str]:
    """Where a module tests a condition node's class: `isinstance(x, All)` and the like,
    `type(x) is Not`, `case Any(...)`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        hit = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("isinstance", "issubclass") and len(node.args) == 2:
            hit = _names(node.args[1]) & NODE_KINDS
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Call) and \
                isinstance(node.left.func, ast.Name) and node.left.func.id == "type":
            hit = set().union(*(_names(c) for c in node.comparators)) & NODE_KINDS
        elif isinstance(node, ast.MatchClass):
            hit = _names(node.cls) & NODE_KINDS
        if hit:
            found.append(f"{filename}:{node.lineno}: tests {', '.join(sorted(hit))}")
    return found


def node_imports(source: str, filename: str) -> list[str]:
    """Where a module imports an inner node class from the IR."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "model":
            names = {a.name for a in node.names} & NODE_KINDS
            if names:
                found.append(f"{filename}:{node.lineno}: imports {', '.join(sorted(names))}")
    return found


def engine_sources():
    for path in sorted(ENGINE.rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_only_the_walk_tests_node_kinds() -> None:
    bad = [hit for name, src in engine_sources() if name not in MAY_TEST for hit in kind_tests(src, name)]
    assert not bad, "recurse with engine.language.conditions (fold, walk, leaves, nnf, kind):\n" + "\n".join(bad)


def test_only_the_walk_and_the_builder_import_node_kinds() -> None:
    bad = [hit for name, src in engine_sources() if name not in MAY_IMPORT for hit in node_imports(src, name)]
    assert not bad, "use engine.language.conditions instead of the node classes:\n" + "\n".join(bad)


@pytest.mark.parametrize("snippet", [
    "isinstance(x, All)",
    "isinstance(x, (Comparison, Any))",
    "isinstance(x, model.Not)",
    "type(x) is All",
    "match x:\n    case Not(item=i):\n        pass",
])
def test_the_scan_finds_a_hand_written_kind_test(snippet: str) -> None:
    assert kind_tests(snippet, "m.py")


def test_the_scan_leaves_leaf_tests_and_typing_alone() -> None:
    assert not kind_tests("isinstance(x, Comparison)\nisinstance(x, (int, float))\ny: Any = 1", "m.py")
    assert node_imports("from ..language.model import All, Comparison", "m.py")
    assert not node_imports("from typing import Any\nfrom .model import Comparison", "m.py")
