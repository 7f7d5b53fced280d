"""taplib.py: what the python TAP test scripts share (stdlib only).

test_captures.py, test_cli.py, test_live.py and test_public_captures.py import it with
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
because meson runs them as `python3 tests/test_X.py ...` with the build directory as cwd.

Here: the TAP producer (Tap, skip_all), the command line every script takes (MTLSDIAG and a
folder), running mtlsdiag with a timeout, the crash/sanitizer check, and a file's state for
"unchanged by the run" checks.  What a script checks stays in that script.
"""
import hashlib
import os
import subprocess
import sys

RUN_TIMEOUT_S = 60
SANITIZER_MARKERS = ("runtime error", "AddressSanitizer", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer", "ThreadSanitizer", "MemorySanitizer")


class Tap:
    """Minimal TAP producer: one line per check, plan at the end, exit 1 when any failed."""

    def __init__(self):
        self.n = 0
        self.n_failed = 0

    def ok(self, condition, desc, diag=None):
        self.n += 1
        desc = desc.replace("#", "\\#")
        print(("ok %d - %s" if condition else "not ok %d - %s") % (self.n, desc))
        if not condition:
            self.n_failed += 1
            for line in (diag or "").splitlines():
                print("# " + line)
        sys.stdout.flush()
        return condition

    def eq(self, got, want, desc):
        return self.ok(got == want, desc, "expected: %r\n     got: %r" % (want, got))

    def is_in(self, got, allowed, desc):
        return self.ok(got in allowed, desc, "expected one of: %r\n             got: %r"
                       % (list(allowed), got))

    def note(self, text):
        for line in text.splitlines():
            print("# " + line)

    def bail(self, reason):
        print("Bail out! " + reason)
        sys.exit(1)

    def finish(self):
        print("1..%d" % self.n)
        sys.exit(1 if self.n_failed else 0)


def skip_all(reason):
    """The whole script is skipped: an empty plan with the reason, exit 0."""
    print("1..0 # SKIP %s" % reason)
    sys.exit(0)


def command_line(usage):
    """The two arguments every script takes (MTLSDIAG and a folder), as (binary, folder).
    usage is e.g. "test_cli.py MTLSDIAG CAPTURES_DIR"; a wrong count exits 2 with it."""
    if len(sys.argv) != 3:
        print("usage: " + usage, file=sys.stderr)
        sys.exit(2)
    return sys.argv[1], sys.argv[2]


def require_executable(tap, binary):
    if not os.access(binary, os.X_OK):
        tap.bail("mtlsdiag not found or not executable: %s" % binary)


def _text(data):
    return (data or b"").decode("utf-8", "replace")


def run(binary, args, stdin_bytes=None):
    """Runs binary with args for at most RUN_TIMEOUT_S seconds.  stdin_bytes None gives it
    /dev/null as standard input, bytes (even b"") a pipe holding them.
    Returns (returncode, stdout str, stderr str); returncode None on timeout."""
    try:
        proc = subprocess.run([binary] + args, input=stdin_bytes,
                              stdin=None if stdin_bytes is not None else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        return None, _text(e.stdout), _text(e.stderr)
    return proc.returncode, _text(proc.stdout), _text(proc.stderr)


def sanitizer_markers(err):
    """The sanitizer report markers found in a process's standard error."""
    return [m for m in SANITIZER_MARKERS if m in err]


def check_no_crash(tap, what, code, err):
    """One check: the process ended by itself (not a timeout, not a signal) and stderr holds
    no sanitizer report."""
    markers = sanitizer_markers(err)
    return tap.ok(code is not None and code >= 0 and not markers,
                  "%s: no crash, timeout or sanitizer report" % what,
                  "returncode: %r (None = timeout after %d s, negative = signal)\n"
                  "sanitizer markers in stderr: %r\nstderr (first 2000 chars):\n%s"
                  % (code, RUN_TIMEOUT_S, markers, err[:2000]))


def file_state(path):
    """What must not change when mtlsdiag reads a path: size, mtime and sha256 of a file;
    mtime and the sorted entries of a directory."""
    st = os.stat(path)
    if os.path.isdir(path):
        return (st.st_mtime_ns, sorted(os.listdir(path)))
    with open(path, "rb") as f:
        return (st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest())
