"""Faults at the output edge and signals, through every command that writes: an output that
cannot be written is one line naming it (never "cannot read", never a traceback), a closed
pipe ends quietly with 141, Ctrl-C with 130, `kill -9` leaves nothing but the intact
target, and a bug is one `internal error` line with exit 3.

Real subprocesses for what only a real process shows (pipes, /dev/full, signals); click's
runner with monkeypatched writers for the failures a test cannot cause for real (a full
disk mid-write, a read-only folder when running as root)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.common import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE
from engine.cli.main import main
from engine.io import files

ROOT = Path(__file__).resolve().parent.parent
D11 = "policies/double11-coupon.yaml"
GOLD = json.loads((ROOT / "examples" / "user-gold.json").read_text(encoding="utf-8"))


def verdict_command() -> list[str]:
    exe = Path(sys.executable).parent / "verdict"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """3,000 clean records (no warnings), far more output than a pipe's buffer holds."""
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps(GOLD) + "\n" for _ in range(3000)), encoding="utf-8")
    return src


# Every command that writes, with arguments that succeed (the output is what fails).
WRITERS = {
    "validate": ["validate", "policies/"],
    "eval one": ["eval", "-p", D11, "examples/user-gold.json"],
    "eval batch": ["eval", "-p", D11, "examples/users.csv"],
    "explain": ["explain", "-p", D11, "examples/user-denied.json"],
    "test": ["test", "policies/"],
    "diff": ["diff", D11, "policies/credit-limit.yaml"],
    "schema": ["schema"],
}
# The commands with `-o` (schema prints only).
WITH_O = [k for k in WRITERS if k != "schema"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("name", list(WRITERS))
def test_stdout_on_a_full_disk_names_stdout(name: str) -> None:
    with open("/dev/full", "w") as full:
        p = subprocess.run([*verdict_command(), *WRITERS[name]], cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    assert p.returncode == EXIT_INPUT, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if "warning" not in ln]
    assert lines == ["verdict: cannot write <stdout>: No space left on device"], p.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("name", WITH_O)
def test_dash_o_on_a_full_device_names_it(name: str) -> None:
    """`-o /dev/full` is written in place (a device is never replaced) and fails as itself."""
    args = WRITERS[name]
    p = subprocess.run([*verdict_command(), *args[:1], "-o", "/dev/full", *args[1:]], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == EXIT_INPUT, p.stderr
    assert "verdict: cannot write /dev/full: No space left on device" in p.stderr.splitlines(), p.stderr
    assert "Traceback" not in p.stderr and "cannot read" not in p.stderr
    assert os.path.exists("/dev/full") and not os.path.isfile("/dev/full")


@pytest.mark.parametrize("args", [
    ["eval", "-p", D11, "{src}"],
    ["eval", "-p", D11, "--format", "text", "{src}"],
    ["explain", "-p", D11, "{src}"],
], ids=["eval-jsonl", "eval-text", "explain"])
def test_a_closed_pipe_ends_quietly_with_141(many: Path, args: list[str]) -> None:
    """`verdict eval … | head -1`: the reader went away; nothing on stderr, status 141."""
    p = subprocess.Popen([*verdict_command(), *(a.format(src=many) for a in args)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline()
    p.stdout.close()  # what `head -1` does after its line
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == EXIT_PIPE
    assert err == ""


def test_a_closed_pipe_through_the_shell_is_141(many: Path) -> None:
    cmd = " ".join(verdict_command()) + f" eval -p {D11} {many} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    p = subprocess.run(["bash", "-c", cmd], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert (p.stdout.strip(), p.stderr) == (str(EXIT_PIPE), "")


# -- `-o`: a missing or read-only folder, a full disk at write or at close ------------------

def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


class _FullWriter:
    """A text file on a disk that fills up after `room` characters."""

    def __init__(self, fh, room: int):
        self._fh, self._room = fh, room

    def write(self, text: str) -> int:
        self._room -= len(text)
        if self._room < 0:
            _enospc()
        return self._fh.write(text)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _full_at_write(monkeypatch):
    real = os.fdopen
    monkeypatch.setattr(files.os, "fdopen", lambda *a, **k: _FullWriter(real(*a, **k), 10))


def _full_at_close(monkeypatch):
    monkeypatch.setattr(files.os, "fsync", _enospc)


def _read_only(monkeypatch):
    def refuse(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files, "_open_anonymous", refuse)


FAULTS = {
    "missing folder": (None, "no/out.txt", "No such file or directory"),
    "read-only folder": (_read_only, "out.txt", "Permission denied"),
    "full disk at write": (_full_at_write, "out.txt", "No space left on device"),
    "full disk at close": (_full_at_close, "out.txt", "No space left on device"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("name", WITH_O)
def test_output_faults_name_the_output_and_leave_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            name: str, fault: str) -> None:
    monkeypatch.chdir(ROOT)
    patch, rel, reason = FAULTS[fault]
    target = tmp_path / rel
    if target.parent.exists():
        target.write_text("before\n", encoding="utf-8")
    if patch is not None:
        patch(monkeypatch)
    args = WRITERS[name]
    result = CliRunner().invoke(main, [*args[:1], "-o", str(target), *args[1:]])
    assert result.exit_code == EXIT_INPUT, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.stderr.splitlines() if "warning" not in ln and "decisions" not in ln]
    assert lines[0] == f"verdict: cannot write {target}: {reason}", result.stderr
    assert "cannot read" not in result.stderr and "Traceback" not in result.output
    if target.parent.exists():
        assert target.read_text(encoding="utf-8") == "before\n"
        assert sorted(os.listdir(target.parent)) == ["out.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_real_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = CliRunner().invoke(main, ["validate", "-o", str(folder / "r.txt"), "policies/"])
    finally:
        folder.chmod(0o755)
    assert (result.exit_code, result.stderr) == (EXIT_INPUT, f"verdict: cannot write {folder / 'r.txt'}: "
                                                             "Permission denied\n")


# -- the anonymous temporary file, its fallback, and stale leftovers ------------------------

def test_o_tmpfile_is_used_where_the_file_system_has_it(tmp_path: Path) -> None:
    if getattr(os, "O_TMPFILE", None) is None or not os.path.isdir("/proc/self/fd"):
        pytest.skip("no O_TMPFILE here")
    fd = files._open_anonymous(tmp_path)
    if fd is None:
        pytest.skip("this file system refuses O_TMPFILE")
    os.close(fd)
    target = tmp_path / "out.txt"
    with files.atomic_writer(target) as sink:
        sink.write("partial")
        assert os.listdir(tmp_path) == []  # nothing has a name while it is written
    assert target.read_text() == "partial" and os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.parametrize("anonymous", [True, False], ids=["o_tmpfile", "named-fallback"])
def test_a_failed_block_leaves_the_target_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           anonymous: bool) -> None:
    if not anonymous:
        monkeypatch.setattr(files, "_open_anonymous", lambda folder: None)
    target = tmp_path / "out.txt"
    target.write_text("before")
    for exc in (RuntimeError("boom"), KeyboardInterrupt(), OSError(errno.EIO, "a read error")):
        with pytest.raises(type(exc)):  # the block's own error passes through unchanged
            with files.atomic_writer(target) as sink:
                sink.write("partial")
                raise exc
    assert target.read_text() == "before" and os.listdir(tmp_path) == ["out.txt"]
    with files.atomic_writer(target) as sink:
        sink.write("after")
    assert target.read_text() == "after" and os.listdir(tmp_path) == ["out.txt"]


def test_o_tmpfile_refused_by_the_file_system_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open
    seen = []

    def no_tmpfile(path, flags, *a, **k):
        if flags & getattr(os, "O_TMPFILE", 0) == getattr(os, "O_TMPFILE", -1):
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        seen.append(os.path.basename(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(files.os, "open", no_tmpfile)
    target = tmp_path / "out.txt"
    files.atomic_write_text(target, "x")
    assert target.read_text() == "x" and os.listdir(tmp_path) == ["out.txt"]
    assert any(n.startswith(".out.txt.verdict-") and n.endswith(".tmp") for n in seen), seen


def test_stale_named_temp_files_are_cleaned_unless_fresh_or_locked(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl")
    old = time.time() - files.STALE_AFTER_SECONDS - 60
    stale = tmp_path / ".out.txt.verdict-dead0001.tmp"
    fresh = tmp_path / ".out.txt.verdict-live0002.tmp"
    locked = tmp_path / ".other.jsonl.verdict-live0003.tmp"
    foreign = tmp_path / ".out.txt.tmp"  # not our pattern: never touched
    for p in (stale, fresh, locked, foreign):
        p.write_text("partial")
    for p in (stale, locked, foreign):
        os.utime(p, (old, old))
    holder = open(locked, "rb")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)  # a writer still at work, however slow
    try:
        files.atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        holder.close()
    assert sorted(os.listdir(tmp_path)) == sorted(["out.txt", fresh.name, locked.name, foreign.name])


def _wait_for_output(pid: int, timeout: float = 60) -> None:
    """Until the child holds its output open (an anonymous file, or our named one)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            links = []
        if any("(deleted)" in link or "/#" in link or ".verdict-" in link for link in links):
            time.sleep(0.3)  # and some decisions written into it
            return
        time.sleep(0.05)
    pytest.fail("the child never opened its output")


@pytest.fixture
def big(tmp_path: Path) -> Path:
    src = tmp_path / "in" / "big.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps(GOLD) + "\n" for _ in range(60000)), encoding="utf-8")
    return src


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to see the child's files")
@pytest.mark.parametrize("sig, code, stderr", [
    (signal.SIGKILL, -signal.SIGKILL, None),
    (signal.SIGINT, EXIT_INTERRUPTED, "verdict: interrupted\n"),
], ids=["kill-9", "ctrl-c"])
def test_a_signal_mid_write_leaves_only_the_intact_target(tmp_path: Path, big: Path, sig, code, stderr) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "out.jsonl"
    target.write_text("before\n", encoding="utf-8")
    # The records come through a pipe that stays open, so the child is still writing when
    # the signal comes, however fast it decides (60,000 records from a file once took
    # longer than the wait below; now they may be done before it).
    p = subprocess.Popen([*verdict_command(), "eval", "-p", D11, "--input-format", "jsonl", "-", "-o", str(target)],
                         cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write(big.read_text(encoding="utf-8"))
        p.stdin.flush()
        _wait_for_output(p.pid)
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code, err
    if stderr is not None:
        assert err == stderr
    assert target.read_text(encoding="utf-8") == "before\n"
    assert os.listdir(out_dir) == ["out.jsonl"]


# -- the one exit point: a bug is exit 3, one line -----------------------------------------

def _boom(*_a, **_k):
    raise RuntimeError("boom\nsecond line")


INTERNAL = {
    "validate": ("engine.cli.validate.check_policy_file", ["validate", "policies/"]),
    "eval": ("engine.explain.render.decision_dict", ["eval", "-p", D11, "examples/user-gold.json"]),
    "explain": ("engine.explain.render.explain_text", ["explain", "-p", D11, "examples/user-gold.json"]),
    "test": ("engine.suites.run.run_suites", ["test", "policies/"]),
    "diff": ("engine.analysis.diff.diff_policies", ["diff", D11, D11]),
    "schema": ("engine.language.schema.validate.load_schema", ["schema"]),
}


@pytest.mark.parametrize("name", list(INTERNAL))
def test_an_unexpected_exception_is_one_internal_error_line(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("VERDICT_DEBUG", raising=False)
    target, args = INTERNAL[name]
    monkeypatch.setattr(target, _boom)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_INTERNAL
    assert result.stderr == "verdict: internal error: RuntimeError: boom second line (please report this)\n"
    assert "Traceback" not in result.output


def test_verdict_debug_re_raises_the_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("VERDICT_DEBUG", "1")
    monkeypatch.setattr("engine.explain.render.decision_dict", _boom)
    result = CliRunner().invoke(main, ["eval", "-p", D11, "examples/user-gold.json"])
    assert isinstance(result.exception, RuntimeError)


def test_an_internal_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    """The console script as a user runs it: a library function made to fail."""
    hook = tmp_path / "sitecustomize.py"
    hook.write_text("import engine.explain.render\n"
                    "def _boom(*a, **k):\n    raise ZeroDivisionError('made to fail')\n"
                    "engine.explain.render.decision_dict = _boom\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    env.pop("VERDICT_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "engine.cli", "eval", "-p", D11, "examples/user-gold.json"],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert (p.returncode, p.stderr) == (EXIT_INTERNAL, "verdict: internal error: ZeroDivisionError: made to fail "
                                                       "(please report this)\n")


def test_usage_errors_and_help_stay_clicks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catch-all does not swallow click's own endings."""
    monkeypatch.chdir(ROOT)
    assert CliRunner().invoke(main, ["eval", "--help"]).exit_code == EXIT_OK
    r = CliRunner().invoke(main, ["eval", "--format", "nope", "-p", D11])
    assert r.exit_code == EXIT_INPUT and "Invalid value" in r.stderr


def test_stdout_is_never_written_but_through_a_sink() -> None:
    """The class guard: a command that printed with click.echo to stdout would fail on a full
    disk or a closed pipe as a bug (exit 3), not as the output's error."""
    import ast

    for path in sorted((ROOT / "engine" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "echo":
                err = [k for k in node.keywords if k.arg == "err"]
                assert err and getattr(err[0].value, "value", None) is True, \
                    f"{path.name}:{node.lineno}: click.echo to stdout; write through engine.io.files"
            if isinstance(node, ast.Attribute) and node.attr == "stdout" and path.name != "main.py":
                pytest.fail(f"{path.name}:{node.lineno}: sys.stdout used directly; write through engine.io.files")


WRITES = {"write_output", "write", "echo", "run_records", "open_output", "atomic_writer", "atomic_write_text",
          "append_text", "flush"}


def test_no_command_catches_oserror_around_a_write() -> None:
    """The class guard for "users.csv: cannot read: No space left on device": reading fails
    as RecordsError and writing as OutputError; a command that caught OSError around code
    that writes would report a failed write as something else (main.py alone handles stray
    ones, as the exit point)."""
    import ast

    for path in sorted((ROOT / "engine" / "cli").glob("*.py")):
        if path.name == "main.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Try):
                continue
            caught = set()
            for handler in node.handlers:
                types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                caught |= {getattr(t, "id", getattr(t, "attr", "")) for t in types if t is not None}
                caught |= {"BaseException"} if handler.type is None else set()
            if not caught & {"OSError", "IOError", "EnvironmentError", "BrokenPipeError", "Exception",
                             "BaseException"}:
                continue
            calls = {getattr(c.func, "attr", getattr(c.func, "id", "")) for stmt in node.body
                     for c in ast.walk(stmt) if isinstance(c, ast.Call)}
            assert not calls & WRITES, f"{path.name}:{node.lineno}: catches {sorted(caught)} around " \
                                       f"{sorted(calls & WRITES)}; writes fail as OutputError, reported by main"
