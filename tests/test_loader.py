"""The policy loader as a library: pure bytes -> Policy in engine.language.loader, the file
edge in engine.io.policies, and the cross-file duplicate-id check API users can call."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.io.policies import check_policy_file, load_policy, read_file
from engine.errors import PolicyError
from engine.language.loader import check_policy_bytes, check_policy_ids, require_policy

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "fixtures" / "valid" / "minimal.yaml"
RAW = MINIMAL.read_bytes()


def policy_named(name: str, raw: bytes = RAW):
    policy, diags = check_policy_bytes(raw, name)
    assert policy is not None, [d.render() for d in diags]
    return policy


def test_no_duplicate_ids_no_diagnostics() -> None:
    other = policy_named("b.yaml", RAW.replace(b"policy: mini", b"policy: mini-2"))
    assert check_policy_ids([policy_named("a.yaml"), other]) == []
    assert check_policy_ids([]) == []


def test_a_repeated_id_is_located_at_the_later_policy_key_and_names_the_first_file() -> None:
    [d] = check_policy_ids([policy_named("a.yaml"), policy_named("b.yaml")])
    assert (d.code, d.severity, d.file, d.line, d.column, d.pointer) == \
        ("policy-duplicate-id", "error", "b.yaml", 2, 9, "/policy")
    assert d.message == "policy id `mini` is also used by a.yaml"
    assert d.render().startswith("b.yaml:2:9: error policy-duplicate-id: policy id `mini` is also used by a.yaml")


def test_every_repeat_names_the_first_file_in_order() -> None:
    other = policy_named("x.yaml", RAW.replace(b"policy: mini", b"policy: other"))
    ds = check_policy_ids([policy_named("a.yaml"), other, policy_named("b.yaml"), policy_named("c.yaml")])
    assert [(d.file, d.message) for d in ds] == [
        ("b.yaml", "policy id `mini` is also used by a.yaml"),
        ("c.yaml", "policy id `mini` is also used by a.yaml"),
    ]


def test_the_check_is_what_validate_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from engine.cli.main import main

    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_bytes(RAW)
    result = CliRunner().invoke(main, ["validate", "--format", "json", str(tmp_path)])
    [shown] = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "policy-duplicate-id"]
    [d] = check_policy_ids([load_policy(tmp_path / "a.yaml"), load_policy(tmp_path / "b.yaml")])
    assert shown == d.to_dict()


def test_file_edge_and_pure_loader_agree() -> None:
    from_file = check_policy_file(MINIMAL)
    from_bytes = check_policy_bytes(RAW, str(MINIMAL))
    assert from_file == from_bytes


@pytest.mark.parametrize("make,message", [
    (lambda tmp: tmp / "none.yaml", "no such file"),
    (lambda tmp: tmp, "is a directory, expected a file"),
], ids=["missing", "folder"])
def test_unreadable_paths_are_one_diagnostic(tmp_path: Path, make, message: str) -> None:
    raw, [d] = read_file(make(tmp_path))
    assert raw is None and (d.code, d.message) == ("unreadable", message)
    with pytest.raises(PolicyError) as err:
        load_policy(make(tmp_path))
    assert [x.code for x in err.value.diagnostics] == ["unreadable"]


def test_require_policy_raises_with_the_errors_only() -> None:
    policy, diags = check_policy_bytes(RAW.replace(b"credit_score: {lt:", b"credit_scor: {lt:"), "broken.yaml")
    assert policy is None
    with pytest.raises(PolicyError) as err:
        require_policy(policy, diags)
    assert err.value.diagnostics and all(d.severity == "error" for d in err.value.diagnostics)
    assert require_policy(*check_policy_bytes(RAW, "ok.yaml")).id == "mini"


def _imports(path: Path) -> set[str]:
    """Modules a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[:len(base) - node.level + 1] if node.level else []
            out.add(".".join(base + ([node.module] if node.module else [])))
    return out


def test_the_language_never_imports_the_file_edge_or_the_cli() -> None:
    for path in sorted((ROOT / "engine" / "language").rglob("*.py")):
        bad = {m for m in _imports(path) if m.startswith(("engine.io", "engine.cli"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_loader_reads_no_files() -> None:
    """Reading is engine.io's; the one read inside engine.language is the schemas (package
    data, through `load_schema`)."""
    for path in sorted((ROOT / "engine" / "language").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", None)
                 for n in ast.walk(tree) if isinstance(n, ast.Call)}
        reads = calls & {"open", "read_text", "read_bytes", "rglob", "glob", "scandir", "listdir"}
        if path.relative_to(ROOT).as_posix() == "engine/language/schema/validate.py":
            assert reads == {"read_text"}, reads
        else:
            assert not reads, f"{path.relative_to(ROOT)} calls {sorted(reads)}"
