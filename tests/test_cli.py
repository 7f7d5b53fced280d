#!/usr/bin/env python3
"""test_cli.py: the command line and unusable input (TAP).

Usage: test_cli.py MTLSDIAG CAPTURES_DIR

Unusable input and usage errors must end with exit status 2, exactly one line on standard error
that names the file (or the bad word) and says why, nothing on standard output, and no crash or
sanitizer report.  Damaged but readable input (a truncated capture, a record that lies about its
length, a link type mtlsdiag does not decode) must give partial results and a warning instead.
The bad files are made in a temporary directory; the sample captures are only read.
"""
import hashlib
import json
import os
import random
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taplib  # noqa: E402
from taplib import (Tap, check_no_crash, command_line, file_state, require_executable,  # noqa: E402
                    sanitizer_markers)

PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
               b"\x0a\x0d\x0d\x0a")
LINKTYPE_ETHERNET = 1
LINKTYPE_USER0 = 147


def run(binary, args, stdin_bytes=b""):
    """taplib.run, but standard input is an empty pipe unless stdin_bytes says otherwise."""
    return taplib.run(binary, args, stdin_bytes)


def pcap_global_header(linktype, snaplen=65535):
    # Classic pcap, little-endian, microseconds, version 2.4.
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(ts_sec, data, orig_len=None):
    return struct.pack("<IIII", ts_sec, 0, len(data), len(data) if orig_len is None else orig_len) \
        + data


def check_unusable(tap, what, code, out, err, names, reason_re=None):
    """Exit 2, one stderr line naming one of names (and the reason), empty stdout."""
    check_no_crash(tap, what, code, err)
    tap.eq(code, 2, "%s: exit status 2" % what)
    lines = err.splitlines()
    tap.eq(len(lines), 1, "%s: exactly one line on stderr" % what)
    first = lines[0] if lines else ""
    tap.ok(any(n in first for n in names), "%s: the stderr line names %s" % (what, names[0]),
           "stderr: %r" % err)
    # Says why: more than the program's name and the path, e.g. "not a capture file".
    rest = first
    for n in names:
        rest = rest.replace(n, " ")
    rest = re.sub(r"^\s*mtlsdiag[^:]*:", " ", rest)
    words = re.findall(r"[A-Za-z]{2,}", rest)
    tap.ok(len(words) >= 2, "%s: the stderr line says why" % what, "stderr: %r" % err)
    if reason_re is not None:
        tap.ok(re.search(reason_re, first, re.IGNORECASE) is not None,
               "%s: the reason matches /%s/" % (what, reason_re), "stderr: %r" % err)
    tap.eq(out, "", "%s: nothing on stdout" % what)


def main():
    binary, captures = command_line("test_cli.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    good = os.path.join(captures, "tls12-presented.pcap")
    truncated = os.path.join(captures, "tls13-truncated.pcap")
    with open(good, "rb") as f:
        good_bytes = f.read()
    samples_before = {p: file_state(p) for p in (good, truncated)}

    with tempfile.TemporaryDirectory(prefix="mtlsdiag-cli-") as tmp:
        def make(name, data):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            return path

        garbage = random.Random(20240611).randbytes(4096)
        assert garbage[:4] not in PCAP_MAGICS
        bad_files = [
            ("empty file", make("empty.pcap", b""), None),
            ("text file", make("notes.txt", b"This is not a capture.\nJust some text.\n"), None),
            ("pcap with a truncated global header", make("short-header.pcap", good_bytes[:10]),
             None),
            ("directory", os.path.join(tmp, "a-directory"), r"director"),
            ("missing file", os.path.join(tmp, "does-not-exist.pcap"),
             r"no such file|not found|does not exist|cannot open|could not open"),
            ("random bytes", make("garbage.bin", garbage), None),
        ]
        os.mkdir(os.path.join(tmp, "a-directory"))
        before = {p: file_state(p) for _, p, _ in bad_files if os.path.exists(p)}

        for what, path, reason_re in bad_files:
            code, out, err = run(binary, ["analyze", path])
            check_unusable(tap, what, code, out, err, [path], reason_re)
            code, out, err = run(binary, ["analyze", "--format", "json", path])
            markers = sanitizer_markers(err)
            tap.ok(code == 2 and out == "" and not markers,
                   "%s with --format json: exit 2, nothing on stdout, no sanitizer report" % what,
                   "returncode %r, stdout %r\nstderr:\n%s" % (code, out[:300], err))

        # One bad file among good ones: refused before any analysis, no half report.
        missing = os.path.join(tmp, "does-not-exist.pcap")
        code, out, err = run(binary, ["analyze", good, missing])
        check_unusable(tap, "a good file and a missing one", code, out, err, [missing])

        # Empty standard input.
        code, out, err = run(binary, ["analyze", "-"], stdin_bytes=b"")
        check_unusable(tap, "empty standard input", code, out, err,
                       ["-", "stdin", "standard input"])

        # Usage errors.
        code, out, err = run(binary, ["analyze", "--format", "xml", good])
        check_unusable(tap, "--format xml", code, out, err, ["xml"])
        code, out, err = run(binary, ["analyze"])
        check_no_crash(tap, "analyze without a file", code, err)
        tap.eq(code, 2, "analyze without a file: exit status 2")
        tap.eq(len(err.splitlines()), 1, "analyze without a file: exactly one line on stderr")
        tap.ok(re.search(r"file", err, re.IGNORECASE) is not None,
               "analyze without a file: stderr says a file is missing", "stderr: %r" % err)
        tap.eq(out, "", "analyze without a file: nothing on stdout")
        code, out, err = run(binary, ["frobnicate", good])
        check_unusable(tap, "unknown command frobnicate", code, out, err, ["frobnicate"])
        out_dir_missing = os.path.join(tmp, "no-such-dir", "report.json")
        code, out, err = run(binary, ["analyze", "-o", out_dir_missing, good])
        check_unusable(tap, "-o into a missing directory", code, out, err, [out_dir_missing])

        for path, state in before.items():
            tap.eq(file_state(path), state, "bad input %s unchanged" % os.path.basename(path))

        # --help and --version.
        code, out, err = run(binary, ["--help"])
        check_no_crash(tap, "--help", code, err)
        tap.eq(code, 0, "--help: exit status 0")
        tap.ok(re.search(r"usage", out, re.IGNORECASE) is not None and "analyze" in out
               and "live" in out, "--help: prints usage with the analyze and live commands",
               "stdout: %r" % out)
        code, out, err = run(binary, ["analyze", "--help"])
        tap.eq(code, 0, "analyze --help: exit status 0")
        tap.ok("--format" in out and "--output" in out,
               "analyze --help: lists --format and --output", "stdout: %r" % out)
        code, out, err = run(binary, ["live", "--help"])
        tap.eq(code, 0, "live --help: exit status 0")
        tap.ok("--duration" in out and "-i" in out, "live --help: lists -i and --duration",
               "stdout: %r" % out)
        code, out, err = run(binary, ["--version"])
        tap.eq(code, 0, "--version: exit status 0")
        tap.ok(re.fullmatch(r"mtlsdiag \d+\.\d+\.\d+\n?", out) is not None,
               "--version: prints \"mtlsdiag X.Y.Z\"", "stdout: %r" % out)

        # -o FILE: the report goes to the file, nothing to stdout.
        report = os.path.join(tmp, "report.json")
        code, out, err = run(binary, ["analyze", "--format", "json", "-o", report, good])
        check_no_crash(tap, "-o report.json", code, err)
        tap.eq(code, 0, "-o report.json: exit status 0 (tls12-presented: no problem)")
        tap.eq(out, "", "-o report.json: nothing on stdout")
        try:
            with open(report, encoding="utf-8") as f:
                doc = json.load(f)
            tap.ok(len(doc.get("connections") or []) == 1,
                   "-o report.json: the file holds the JSON report with 1 connection",
                   "connections: %r" % (doc.get("connections"),))
        except (OSError, ValueError) as e:
            tap.ok(False, "-o report.json: the file holds the JSON report with 1 connection",
                   "could not read it: %s" % e)
        text_report = os.path.join(tmp, "report.txt")
        code, out, err = run(binary, ["analyze", "--output", text_report, good])
        tap.eq((code, out), (0, ""), "--output report.txt: exit 0 and nothing on stdout")
        tap.ok(os.path.exists(text_report) and os.path.getsize(text_report) > 0,
               "--output report.txt: the text report is in the file", "file missing or empty")

        # A truncated capture: partial results, one warning line, not "unusable".
        code, out, err = run(binary, ["analyze", "--format", "json", truncated])
        check_no_crash(tap, "truncated capture", code, err)
        tap.ok(code in (0, 1), "truncated capture: exit status 0 or 1 (partial results)",
               "returncode %r, stderr %r" % (code, err))
        lines = err.splitlines()
        tap.eq(len(lines), 1, "truncated capture: exactly one warning line on stderr")
        tap.ok(bool(lines) and truncated in lines[0], "truncated capture: the warning names the file",
               "stderr: %r" % err)
        try:
            doc = json.loads(out)
            tap.ok(len(doc.get("connections") or []) == 1,
                   "truncated capture: the report has its connection",
                   "connections %r" % (doc.get("connections"),))
        except ValueError as e:
            tap.ok(False, "truncated capture: the report has its connection",
                   "stdout is not JSON: %s" % e)

        # A valid global header and no packets: an empty but valid capture.
        zero = make("zero-packets.pcap", pcap_global_header(LINKTYPE_ETHERNET))
        zero_before = file_state(zero)
        code, out, err = run(binary, ["analyze", "--format", "json", zero])
        check_no_crash(tap, "zero-packet capture", code, err)
        tap.eq(code, 0, "zero-packet capture: exit status 0")
        try:
            doc = json.loads(out)
            tap.eq(doc.get("connections"), [], "zero-packet capture: 0 connections")
            tap.eq((doc.get("summary") or {}).get("packets"), 0, "zero-packet capture: 0 packets")
            tap.eq(((doc.get("inputs") or [{}])[0]).get("link_type"), "EN10MB",
                   "zero-packet capture: link_type EN10MB")
        except ValueError as e:
            tap.ok(False, "zero-packet capture: JSON report", "stdout is not JSON: %s" % e)
        tap.eq(file_state(zero), zero_before, "zero-packet capture unchanged")

        # A record header that claims more bytes than the file has (and than any snaplen).
        lying = bytearray(good_bytes)
        endian = "<" if good_bytes[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        struct.pack_into(endian + "I", lying, 24 + 8, 0x00FFFFFF)
        lying_path = make("huge-record.pcap", bytes(lying))
        lying_before = file_state(lying_path)
        code, out, err = run(binary, ["analyze", "--format", "json", lying_path])
        check_no_crash(tap, "record with incl_len 0x00FFFFFF", code, err)
        warned = lying_path in err
        if code in (0, 1):
            try:
                inp = (json.loads(out).get("inputs") or [{}])[0]
                warned = warned and bool(inp.get("warnings"))
            except ValueError:
                warned = False
        tap.ok(code == 2 or (code in (0, 1) and warned),
               "record with incl_len 0x00FFFFFF: exit 2, or a warning naming the file",
               "returncode %r\nstderr %r\nstdout (first 500) %r" % (code, err, out[:500]))
        tap.ok(len(err.splitlines()) == 1,
               "record with incl_len 0x00FFFFFF: one line on stderr", "stderr %r" % err)
        tap.eq(file_state(lying_path), lying_before, "record with incl_len 0x00FFFFFF: unchanged")

        # A link type mtlsdiag does not decode: read, counted, warned about, not rejected.
        user0 = make("user0.pcap", pcap_global_header(LINKTYPE_USER0)
                     + pcap_record(1700000000, bytes(range(64))))
        user0_before = file_state(user0)
        code, out, err = run(binary, ["analyze", "--format", "json", user0])
        check_no_crash(tap, "link type 147 (USER0)", code, err)
        tap.eq(code, 0, "link type 147 (USER0): exit status 0")
        try:
            doc = json.loads(out)
            inp = (doc.get("inputs") or [{}])[0]
            warnings = inp.get("warnings") or []
            tap.ok(any(("USER0" in w or "147" in w) for w in warnings),
                   "link type 147 (USER0): inputs[0].warnings names the link type",
                   "warnings %r" % (warnings,))
            tap.ok("USER0" in str(inp.get("link_type")) or "147" in str(inp.get("link_type")),
                   "link type 147 (USER0): inputs[0].link_type names it",
                   "link_type %r" % (inp.get("link_type"),))
            tap.eq(doc.get("connections"), [], "link type 147 (USER0): 0 connections")
            tap.eq(inp.get("packets"), 1, "link type 147 (USER0): 1 packet read")
        except ValueError as e:
            tap.ok(False, "link type 147 (USER0): JSON report", "stdout is not JSON: %s" % e)
        tap.eq(file_state(user0), user0_before, "link type 147 (USER0): file unchanged")

    for path, state in samples_before.items():
        tap.eq(file_state(path), state, "%s unchanged by the runs" % os.path.basename(path))
    check_input_hash(tap, binary, good, good_bytes)
    check_limits(tap, binary, good)
    check_codes_documented(tap, os.path.dirname(os.path.abspath(captures)))
    tap.finish()


def check_limits(tap, binary, path):
    """--limit NAME=N reaches the module that enforces the cap, and a bad one is a usage error.
    tls12-presented.pcap: the server sends its certificate and the intermediate, the client its
    own and the intermediate (make-captures.sh: -cert_chain on both sides), so with
    certificates=1 each chain is cut to one and each cut is recorded."""
    code, out, err = run(binary, ["analyze", "--format", "json", path])
    full = json.loads(out)["connections"][0]
    code, out, err = run(binary, ["analyze", "--limit", "certificates=1", "--format", "json",
                                  path])
    check_no_crash(tap, "--limit certificates=1", code, err)
    try:
        doc = json.loads(out)
    except ValueError:
        tap.ok(False, "--limit certificates=1: JSON report", err[-800:])
        return
    conn = doc["connections"][0]
    tls = conn.get("tls") or {}
    tap.eq((len(full["tls"]["client_chain"]), len(full["tls"]["server_chain"])), (2, 2),
           "tls12-presented: both chains hold 2 certificates without --limit")
    tap.eq((len(tls.get("client_chain") or []), len(tls.get("server_chain") or [])), (1, 1),
           "--limit certificates=1: each chain keeps 1 certificate")
    tap.eq((conn.get("anomalies") or {}).get("tls_too_many_certs"), 2,
           "--limit certificates=1: each cut is recorded on the connection")
    tap.eq((doc["summary"].get("anomalies") or {}).get("tls_too_many_certs"), 2,
           "--limit certificates=1: and counted in the summary")
    tap.eq(tls.get("client_cert_presented", {}).get("value"), "yes",
           "--limit certificates=1: the verdict stands (the leaf is kept)")
    for bad, word in (("bogus=3", "bogus"), ("certificates=0", "between"),
                      ("certificates", "NAME=N"), ("handshake-message=1x", "NAME=N")):
        code, out, err = run(binary, ["analyze", "--limit", bad, path])
        check_unusable(tap, "--limit %s" % bad, code, out, err, ["--limit " + bad])
        tap.ok(word in err, "--limit %s: the line says why (%s)" % (bad, word), err)


def check_input_hash(tap, binary, path, data):
    """inputs[].sha256 is the SHA-256 of the file (read by a second thread) and of standard
    input (hashed as it is read); --no-hash leaves it out (null) and changes nothing else."""
    want = hashlib.sha256(data).hexdigest().upper()
    results = {}
    for what, args, stdin_bytes in (
            ("file", ["analyze", "--format", "json", path], b""),
            ("standard input", ["analyze", "--format", "json", "-"], data),
            ("file --no-hash", ["analyze", "--no-hash", "--format", "json", path], b""),
            ("standard input --no-hash", ["analyze", "--no-hash", "--format", "json", "-"],
             data)):
        code, out, err = run(binary, args, stdin_bytes)
        check_no_crash(tap, "sha256 of %s" % what, code, err)
        try:
            doc = json.loads(out)
        except ValueError:
            tap.ok(False, "sha256 of %s: JSON report" % what, err[-800:])
            continue
        results[what] = doc
        tap.eq(doc["inputs"][0].get("sha256"), None if "no-hash" in what else want,
               "inputs[0].sha256 of %s" % what)
    if "file" in results and "file --no-hash" in results:
        tap.eq(results["file"].get("connections"), results["file --no-hash"].get("connections"),
               "--no-hash changes nothing but the hash")


def section(text, title):
    start = text.find("\n## " + title)
    if start < 0:
        return ""
    end = text.find("\n## ", start + 4)
    return text[start:] if end < 0 else text[start:end]


def check_codes_documented(tap, source_root):
    """Every finding code the diagnosis can emit has its row in the README's "Finding codes"
    (meaning and next check) and in docs/json-schema.md's, so a reader of any report can look
    it up.  The codes are read from the sources, not listed here, so a new code without its
    documentation fails this check."""
    codes = set()
    for name in ("diagnose.c", "diagnose-chain.c", "conn-checks.c"):
        with open(os.path.join(source_root, "src", name), encoding="utf-8") as f:
            codes |= set(re.findall(r'"([A-Z][A-Z0-9_]{4,})"', f.read()))
    tap.ok(len(codes) >= 30, "finding codes read from the sources", "only %r" % sorted(codes))
    with open(os.path.join(source_root, "README.md"), encoding="utf-8") as f:
        readme = section(f.read(), "Finding codes")
    with open(os.path.join(source_root, "docs", "json-schema.md"), encoding="utf-8") as f:
        schema = section(f.read(), "Finding codes")
    for code in sorted(codes):
        row = re.compile(r"^\| `%s` \| (error|warning|info) \|" % code, re.M)
        tap.ok(row.search(readme), "README explains finding code %s" % code)
        tap.ok(row.search(schema), "docs/json-schema.md lists finding code %s" % code)


if __name__ == "__main__":
    main()
