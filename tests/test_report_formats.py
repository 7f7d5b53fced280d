#!/usr/bin/env python3
"""test_report_formats.py: --format markdown and --format html on every sample capture (TAP).

Usage: test_report_formats.py MTLSDIAG CAPTURES_DIR

The captures are those of CAPTURES_DIR/expected.json, chains-expected.json and
decrypt-expected.json (the decryption ones with their key log, as test_decrypt.py runs them;
outbound-expected.json's with --app, so that the direction is known).  The JSON report of the
same run is the reference for what the ticket report must hold: its exit status, every finding
code, the verdict values and the frames each finding and verdict cites (as the tshark command
that opens them, with the input's path).  That the JSON itself is right is test_captures.py's,
test_chains.py's and test_decrypt.py's business.

The HTML must be one self-contained, well-formed file (checked as XML: the report writes
XHTML-compatible markup) that refers to nothing outside itself.  Untrusted text from the wire
must not become markup in either format: a capture made here puts markup and control characters
into an SNI and an HTTP request.  Connections must be spooled, not kept: in a build without
AddressSanitizer, ten times the connections must not cost more memory, nor more than the JSON
report needs.  When /usr/bin/chromium (or chromium on PATH) exists, a few reports are rendered
headless and their rendered text must hold the verdict and every code.
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_captures  # noqa: E402
from taplib import (Tap, check_no_crash, command_line, require_executable,  # noqa: E402
                    run)

FORMATS = ("markdown", "html")
# Rendered in a browser when one is installed: an empty list, a dropped certificate, a TLS 1.3
# late request read with keys, plain HTTP.
BROWSER_CAPTURES = ("tls12-empty.pcap", "chain-no-header.pcap", "tls13-pha-none.pcap",
                    "http-200.pcap")
# The outbound captures' application (captures/make-outbound-captures.sh).
OUTBOUND_APP = "127.0.0.10"
# Chain verdicts that say the certificate did not arrive: such a chain is drawn even with one hop.
DRAWN_VERDICTS = {"dropped_at_hop", "never_presented", "plain_http", "header_mismatch"}
REMOTE_REFERENCE_RE = re.compile(
    r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//)"""
    r"""|@import|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)
FORBIDDEN_ELEMENT_RE = re.compile(r"<\s*(script|link|img|iframe|object|embed|base|form|audio|"
                                  r"video|source|frame)\b", re.IGNORECASE)


def capture_runs(captures):
    """[(name, files, extra arguments)] of the truth files, each run once."""
    runs = []
    seen = set()

    def add(name, files, extra):
        paths = [os.path.join(captures, f) for f in files]
        if not all(os.path.isfile(p) for p in paths):
            return
        key = (tuple(paths), tuple(extra))
        if key not in seen:
            seen.add(key)
            runs.append((name, paths, list(extra)))

    def entries(truth):
        path = os.path.join(captures, truth)
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [(n, e) for n, e in json.load(f).items()
                    if not n.startswith("_") and isinstance(e, dict)]

    for name, entry in entries("expected.json"):
        add(name, [name], [])
    for name, entry in entries("chains-expected.json"):
        add(name, entry.get("files") or [name], [])
    for name, entry in entries("decrypt-expected.json"):
        capture = entry.get("capture") or name
        keys = entry.get("key_log")
        add(name, [capture], ["--keylog", os.path.join(captures, keys)] if keys else [])
    for name, entry in entries("outbound-expected.json"):
        if name.endswith(".pcap"):
            add(name, [name], ["--app", OUTBOUND_APP])
    return runs


def findings_of(doc):
    for connection in doc.get("connections") or []:
        for finding in connection.get("findings") or []:
            yield ("connection", connection.get("id")), finding
    for chain in doc.get("chains") or []:
        for finding in chain.get("findings") or []:
            yield ("chain", chain.get("id")), finding


def is_chain_drawn(chain):
    severities = {f.get("severity") for f in chain.get("findings") or []}
    return (len(chain.get("hops") or []) > 1 or chain.get("verdict") in DRAWN_VERDICTS
            or "error" in severities or "warning" in severities)


def section(report, fmt, kind, ident):
    """The part of a report about one connection or chain, "" when there is none."""
    if fmt == "html":
        match = re.search(r'<article id="%s-%s"[^>]*>(.*?)</article>' % (kind, ident), report,
                          re.S)
        return match.group(1) if match else ""
    title = "Connection #%s:" % ident if kind == "connection" else "Chain %s:" % ident
    match = re.search(r"^### %s.*?(?=^### |^## |\Z)" % re.escape(title), report, re.S | re.M)
    return match.group(0) if match else ""


def code_text(fmt, value):
    return "<code>%s</code>" % value if fmt == "html" else "`%s`" % value


def tshark_line(fmt, path, frame):
    line = "tshark -r %s -Y frame.number==%d" % (path, frame)
    return html.escape(line, quote=True) if fmt == "html" else line


def check_well_formed(tap, what, text):
    try:
        ElementTree.fromstring(text.encode("utf-8"))
        tap.ok(True, "%s: well-formed XML (XHTML-compatible markup)" % what)
    except ElementTree.ParseError as e:
        tap.ok(False, "%s: well-formed XML (XHTML-compatible markup)" % what, str(e))


def check_xmllint(tap, what, path):
    if shutil.which("xmllint") is None:
        return
    proc = subprocess.run(["xmllint", "--noout", path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    tap.ok(proc.returncode == 0 and not proc.stderr.strip(), "%s: xmllint --noout is silent"
           % what, proc.stderr.decode("utf-8", "replace")[:2000])


def check_self_contained(tap, what, text):
    remote = REMOTE_REFERENCE_RE.findall(text)
    tap.ok(not remote, "%s: no reference to anything outside the file" % what, repr(remote[:5]))
    elements = FORBIDDEN_ELEMENT_RE.findall(text)
    tap.ok(not elements, "%s: no script, link, image or frame element" % what,
           repr(elements[:5]))


def frames_cited(item, input_paths):
    """(path, frame) of every frame a connection or chain of the JSON report cites."""
    cited = set()
    for finding in item.get("findings") or []:
        for evidence in finding.get("evidence") or []:
            index = evidence.get("input", 0)
            if index < len(input_paths) and evidence.get("frame"):
                cited.add((input_paths[index], evidence["frame"]))
    tls = item.get("tls")
    if isinstance(tls, dict):
        path = input_paths[item.get("input", 0)]
        for key in ("client_cert_requested", "client_cert_presented"):
            for frame in (tls.get(key) or {}).get("frames") or []:
                cited.add((path, frame))
    return cited


def check_report(tap, fmt, what, report, doc, input_paths, code, json_code):
    tap.eq(code, json_code, "%s: exit status as with --format json" % what)
    if fmt == "html":
        check_self_contained(tap, what, report)
    want = "Client-certificate problem" if json_code == 1 else "No client-certificate problem"
    if json_code != 2:
        tap.ok(want in report, "%s: the verdict says \"%s\"" % (what, want))

    codes = {f.get("code") for _, f in findings_of(doc)}
    missing = sorted(c for c in codes if code_text(fmt, c) not in report)
    tap.ok(not missing, "%s: every finding code of the JSON report (%d)" % (what, len(codes)),
           "missing: %r" % missing)

    problems = []
    for connection in doc.get("connections") or []:
        ident = connection.get("id")
        part = section(report, fmt, "connection", ident)
        if not part:
            problems.append("connection #%s has no section" % ident)
            continue
        for finding in connection.get("findings") or []:
            if code_text(fmt, finding.get("code")) not in part:
                problems.append("connection #%s: %s not in its section" % (ident,
                                                                          finding.get("code")))
        tls = connection.get("tls")
        if isinstance(tls, dict):
            for label, key in (("certificate requested", "client_cert_requested"),
                               ("certificate presented", "client_cert_presented")):
                value = (tls.get(key) or {}).get("value")
                if fmt == "html":
                    pattern = '<th scope="row">%s</th><td><code>%s</code>' % (label, value)
                else:
                    pattern = "| %s | `%s`" % (label, value)
                if pattern not in part:
                    problems.append("connection #%s: %s %s not shown" % (ident, label, value))
        for path, frame in sorted(frames_cited(connection, input_paths)):
            if tshark_line(fmt, path, frame) not in part:
                problems.append("connection #%s: no tshark line for frame %d" % (ident, frame))
    tap.ok(not problems, "%s: each connection's section holds its findings, verdict values and "
           "a tshark line per cited frame" % what, "\n".join(problems[:20]))

    problems = []
    for chain in doc.get("chains") or []:
        ident = chain.get("id")
        part = section(report, fmt, "chain", ident)
        if not is_chain_drawn(chain):
            if part:
                problems.append("chain %s drawn though it has one hop and no problem" % ident)
            continue
        if not part:
            problems.append("chain %s (%s) has no section" % (ident, chain.get("verdict")))
            continue
        if code_text(fmt, chain.get("verdict")) not in part:
            problems.append("chain %s: verdict %s not shown" % (ident, chain.get("verdict")))
        for finding in chain.get("findings") or []:
            if code_text(fmt, finding.get("code")) not in part:
                problems.append("chain %s: %s not in its section" % (ident, finding.get("code")))
        for path, frame in sorted(frames_cited(chain, input_paths)):
            if tshark_line(fmt, path, frame) not in part:
                problems.append("chain %s: no tshark line for frame %d" % (ident, frame))
        for hop in chain.get("hops") or []:
            request = hop.get("request") or {}
            for frame in (request.get("frame"), request.get("status_frame")):
                if frame and not re.search(r"(?<!\d)%d(?!\d)" % frame, part):
                    problems.append("chain %s: hop %s's frame %d not in its ladder"
                                    % (ident, hop.get("hop"), frame))
        if fmt == "html" and "<svg" not in part:
            problems.append("chain %s: no ladder drawing" % ident)
    tap.ok(not problems, "%s: each drawn chain shows its verdict, findings, ladder frames and "
           "tshark lines" % what, "\n".join(problems[:20]))

    verdicts = {c.get("verdict") for c in doc.get("chains") or []}
    missing = sorted(v for v in verdicts if v not in report)
    tap.ok(not missing, "%s: every chain verdict is named" % what, "missing: %r" % missing)

    # Worst first: the connections' severities never rise down the report.
    order = {"error": 0, "warning": 1, "info": 2, "none": 2}
    if fmt == "html":
        classes = re.findall(r'<article id="connection-\d+" class="(\w+)"', report)
        ranks = [order.get(c, 2) for c in classes]
        tap.ok(ranks == sorted(ranks), "%s: connections worst first" % what, repr(classes))


def check_top(tap, fmt, what, report, doc):
    """The top: the decision path with the worst's answers marked."""
    connections = doc.get("connections") or []
    if not connections:
        return
    if fmt == "html":
        tap.ok('class="answer taken"' in report, "%s: the decision tree marks the path taken"
               % what)
    else:
        tap.ok(re.search(r"^\s*- → \*\*", report, re.M) is not None,
               "%s: the decision tree marks the path taken" % what)
    directions = {c.get("direction") for c in connections}
    if directions == {"unknown"}:
        tap.ok("unknown (give --app ADDRESS)" in report, "%s: direction unknown, says to give "
               "--app" % what)
    for direction in directions - {"unknown"}:
        if fmt == "html":
            pattern = r'<li class="answer taken">→ <span class="answer">%s:' % direction
        else:
            pattern = r"- → \*\*%s:" % direction
        tap.ok(re.search(pattern, report) is not None, "%s: direction %s is the path taken"
               % (what, direction))


def analyse_formats(tap, binary, work, name, paths, extra):
    code, out, err = run(binary, ["analyze", "--format", "json"] + extra + paths)
    check_no_crash(tap, "%s json" % name, code, err)
    try:
        doc = json.loads(out)
    except ValueError as e:
        tap.ok(False, "%s: the JSON report parses" % name, str(e))
        return None
    reports = {}
    for fmt in FORMATS:
        what = "%s %s" % (name, fmt)
        path = os.path.join(work, "%s.%s" % (name, "md" if fmt == "markdown" else "html"))
        fmt_code, _, fmt_err = run(binary, ["analyze", "--format", fmt, "-o", path] + extra
                                   + paths)
        check_no_crash(tap, what, fmt_code, fmt_err)
        if not tap.ok(os.path.isfile(path), "%s: -o wrote the report" % what):
            continue
        with open(path, "rb") as f:
            data = f.read()
        try:
            report = data.decode("utf-8")
        except UnicodeDecodeError as e:
            tap.ok(False, "%s: the report is UTF-8" % what, str(e))
            continue
        if fmt == "html":
            check_well_formed(tap, what, report)
            check_xmllint(tap, what, path)
        check_report(tap, fmt, what, report, doc, paths, fmt_code, code)
        check_top(tap, fmt, what, report, doc)
        reports[fmt] = (path, report)
    return doc, reports


# ---- Options -----------------------------------------------------------------------------

def check_redacted(tap, binary, work, captures):
    path = os.path.join(captures, "chain-no-header.pcap")
    _, out, _ = run(binary, ["analyze", "--format", "json", path])
    addresses = set()
    for connection in json.loads(out).get("connections") or []:
        addresses.add(connection["client"]["ip"])
        addresses.add(connection["server"]["ip"])
    for fmt in FORMATS:
        code, report, err = run(binary, ["analyze", "--format", fmt, "--redact", path])
        check_no_crash(tap, "--redact %s" % fmt, code, err)
        tap.ok("This report is redacted" in report, "--redact %s: said at the top" % fmt)
        top = report[:report.find("Verdict")]
        tap.ok("This report is redacted" in top, "--redact %s: before the verdict" % fmt)
        shown = sorted(a for a in addresses
                       if re.search(r"(?<![\d.])%s(?![\d])" % re.escape(a), report))
        tap.ok(not shown, "--redact %s: no address of the capture is shown" % fmt, repr(shown))
        tap.ok("host-1" in report, "--redact %s: pseudonyms instead" % fmt)
        tap.ok(not re.search(r"\|\s*3001\s*\|", report) and ">3001<" not in report,
               "--redact %s: no certificate serial" % fmt)


def check_summary_only(tap, binary, captures):
    path = os.path.join(captures, "chain-no-header.pcap")
    for fmt in FORMATS:
        code, report, err = run(binary, ["analyze", "--format", fmt, "--summary-only", path])
        check_no_crash(tap, "--summary-only %s" % fmt, code, err)
        tap.eq(code, 1, "--summary-only %s: exit status 1" % fmt)
        tap.ok("CERT_DROPPED_AT_HOP" in report and "Client-certificate problem" in report,
               "--summary-only %s: verdict and top findings still there" % fmt)
        tap.ok("Connection #1" not in report and "Chain 1:" not in report,
               "--summary-only %s: no connection or chain sections" % fmt)
        tap.ok("Environment" in report, "--summary-only %s: the environment" % fmt)


def check_command_line(tap, reports, name):
    for fmt, (_, report) in reports.items():
        tap.ok(re.search(r"analyze --format %s -o \S+ .*%s" % (fmt, re.escape(name)), report)
               is not None, "%s %s: the command line is in the environment" % (name, fmt))
        tap.ok(re.search(r"[0-9A-F]{64}", report) is not None,
               "%s %s: the input's SHA-256 is in the environment" % (name, fmt))


# ---- Hostile text ------------------------------------------------------------------------

HOSTILE = b"<script>alert(1)</script>|*_`[x](javascript:y)&amp;\x1b[31m\n# heading\\x41"


def sni_extension(name):
    """RFC 6066 section 3: server_name with one host_name entry."""
    entry = b"\x00" + len(name).to_bytes(2, "big") + name
    body = len(entry).to_bytes(2, "big") + entry
    return b"\x00\x00" + len(body).to_bytes(2, "big") + body


def write_hostile_capture(path):
    writer = hostile_captures.Writer(path)
    tcp = hostile_captures.Tcp(writer, client=("10.9.0.1", 40001), server=("10.9.0.2", 443))
    tcp.client_sends(hostile_captures.record(22, hostile_captures.client_hello(
        extensions=sni_extension(b"evil.example" + HOSTILE))))
    tcp.server_sends(hostile_captures.record(22, hostile_captures.server_hello()
                                             + hostile_captures.certificate_request()))
    tcp.client_sends(hostile_captures.record(22, hostile_captures.empty_certificate()))
    tcp.close()
    tcp = hostile_captures.Tcp(writer, client=("10.9.0.1", 40002), server=("10.9.0.2", 80))
    # Visible characters only: a request line with control characters is not HTTP at all.
    tcp.client_sends(b"GET /a<b><script>x</script>|*_`[x](y)&amp;\\x41 HTTP/1.1\r\n"
                     b"Host: h<i>|x\r\n\r\n")
    tcp.server_sends(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    tcp.close()
    writer.close()


def check_hostile(tap, binary, work):
    path = os.path.join(work, "hostile.pcap")
    write_hostile_capture(path)
    code, out, _ = run(binary, ["analyze", "--format", "json", path])
    doc = json.loads(out)
    texts = [c["tls"]["sni"] for c in doc["connections"] if c.get("tls") and c["tls"].get("sni")]
    texts += [h["path"] for c in doc["connections"] for h in c.get("http") or [] if h.get("path")]
    tap.ok(sum("<script>" in t for t in texts) == 2,
           "hostile: the JSON holds the markup as text (SNI and path)", repr(texts))
    for fmt in FORMATS:
        what = "hostile %s" % fmt
        report_path = os.path.join(work, "hostile." + fmt)
        fmt_code, _, err = run(binary, ["analyze", "--format", fmt, "-o", report_path, path])
        check_no_crash(tap, what, fmt_code, err)
        tap.eq(fmt_code, code, "%s: exit status as with --format json" % what)
        with open(report_path, encoding="utf-8") as f:
            report = f.read()
        tap.ok("\x1b" not in report, "%s: no escape character" % what)
        tap.ok("\\x1B" in report, "%s: the escape character shown as \\x1B" % what)
        if fmt == "html":
            check_well_formed(tap, what, report)
            check_xmllint(tap, what, report_path)
            check_self_contained(tap, what, report)
            tap.ok("<script" not in report and "<b>" not in report and "<i>" not in report,
                   "%s: wire markup is escaped" % what)
            tap.ok("&lt;script&gt;" in report, "%s: shown as text" % what)
            tap.ok("\\\\x41" in report, "%s: a backslash in the wire text is doubled" % what)
        else:
            tap.ok(re.search(r"(?<!\\)<(script|b|i)\b", report) is None,
                   "%s: no tag that is not escaped" % what)
            tap.ok("\\<script>" in report and "\\|" in report and "\\*" in report
                   and "\\_" in report and "\\`" in report and "\\[x\\]" in report
                   and "\\&amp;" in report, "%s: markup characters backslash-escaped" % what)
            tap.ok(re.search(r"^#+ heading", report, re.M) is None,
                   "%s: a line end in the SNI does not start a heading" % what)
            tap.ok("\\\\\\\\x41" in report, "%s: a backslash in the wire text is doubled" % what)


# ---- Memory --------------------------------------------------------------------------------

MIB = 1024 * 1024


def write_many_empty(path, n):
    """n TLS 1.2 connections, each asked for a certificate and answering with an empty list."""
    writer = hostile_captures.Writer(path)
    for i in range(n):
        client = ("10.%d.%d.1" % ((i >> 8) & 255, i & 255), 40000 + i % 20000)
        tcp = hostile_captures.Tcp(writer, client=client, server=("10.200.0.2", 443))
        tcp.client_sends(hostile_captures.record(22, hostile_captures.client_hello()))
        tcp.server_sends(hostile_captures.record(22, hostile_captures.server_hello()
                                                 + hostile_captures.certificate_request()))
        tcp.client_sends(hostile_captures.record(22, hostile_captures.empty_certificate()))
        tcp.close()
    writer.close()


def peak_rss(binary, args):
    """(exit status, peak resident set in bytes) of one run, its output to /dev/null."""
    process = subprocess.Popen([binary] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


def check_memory(tap, binary, work):
    """Connections are spooled, not kept: ten times the connections cost no more memory, and
    no more than the JSON report (which writes each connection as it comes) needs."""
    with open(binary, "rb") as f:
        if b"__asan_init" in f.read():
            tap.note("memory not measured: AddressSanitizer's shadow memory would hide it")
            return
    small = os.path.join(work, "many-400.pcap")
    big = os.path.join(work, "many-4000.pcap")
    write_many_empty(small, 400)
    write_many_empty(big, 4000)
    # ru_maxrss counts the child's pages from the fork on, this process's among them: every
    # run is measured before this process reads anything big.
    _, json_rss = peak_rss(binary, ["analyze", "--format", "json", "-o", os.devnull, big])
    results = {}
    for fmt in FORMATS:
        out = os.path.join(work, "many." + fmt)
        results[fmt] = (peak_rss(binary, ["analyze", "--format", fmt, "-o", out, small]),
                        peak_rss(binary, ["analyze", "--format", fmt, "-o", out, big]), out)
    for fmt in FORMATS:
        (small_code, small_rss), (big_code, big_rss), out = results[fmt]
        tap.ok(small_code == 1 and big_code == 1, "memory %s: both runs find the problem" % fmt,
               "exit statuses %r, %r" % (small_code, big_code))
        tap.ok(big_rss <= small_rss + 4 * MIB, "memory %s: 4000 connections need no more than "
               "400 (+4 MiB)" % fmt, "400: %d KiB, 4000: %d KiB" % (small_rss // 1024,
                                                                    big_rss // 1024))
        tap.ok(big_rss <= json_rss + 4 * MIB, "memory %s: no more than --format json (+4 MiB)"
               % fmt, "%s: %d KiB, json: %d KiB" % (fmt, big_rss // 1024, json_rss // 1024))
        with open(out, encoding="utf-8") as f:
            n_codes = sum(line.count("CERT_REQUESTED_EMPTY") for line in f)
        tap.ok(n_codes >= 4000, "memory %s: every connection is in the report" % fmt,
               "CERT_REQUESTED_EMPTY %d times" % n_codes)


# ---- A browser ---------------------------------------------------------------------------

def find_chromium():
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def rendered_text(chromium, path, profile):
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--user-data-dir=" + profile, "--dump-dom", "file://" + path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    dom = proc.stdout.decode("utf-8", "replace")
    body = re.sub(r"<(style|title)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    return proc.returncode, re.sub(r"\s+", " ", text)


def check_browser(tap, work, rendered):
    chromium = find_chromium()
    if chromium is None:
        tap.note("chromium not installed: the HTML reports are not rendered")
        print("ok %d # SKIP chromium not installed" % (tap.n + 1))
        tap.n += 1
        return
    profile = tempfile.mkdtemp(prefix="mtd-chromium-", dir=work)
    for name, path, doc in rendered:
        code, text = rendered_text(chromium, path, profile)
        tap.ok(code == 0 and "Verdict" in text, "chromium %s: renders" % name,
               "exit status %r, text: %r" % (code, text[:300]))
        codes = sorted({f.get("code") for _, f in findings_of(doc)})
        has_problem = any(f.get("severity") == "error" for _, f in findings_of(doc))
        want = "Client-certificate problem: " if has_problem else "No client-certificate problem"
        tap.ok(want in text, "chromium %s: the rendered verdict says \"%s\"" % (name, want))
        missing = [c for c in codes if c not in text]
        tap.ok(not missing, "chromium %s: every finding code rendered (%d)" % (name, len(codes)),
               "missing: %r" % missing)
        tap.ok("→ " in text, "chromium %s: the path taken is marked" % name)


def main():
    binary, captures = command_line("test_report_formats.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    runs = capture_runs(captures)
    if not runs:
        tap.bail("no captures listed in %s" % captures)
    rendered = []
    with tempfile.TemporaryDirectory(prefix="mtd-formats-") as work:
        check_memory(tap, binary, work)
        for name, paths, extra in runs:
            result = analyse_formats(tap, binary, work, name, paths, extra)
            if result is None:
                continue
            doc, reports = result
            if name in BROWSER_CAPTURES and "html" in reports:
                rendered.append((name, reports["html"][0], doc))
            if name == "tls12-empty.pcap":
                check_command_line(tap, reports, name)
        check_redacted(tap, binary, work, captures)
        check_summary_only(tap, binary, captures)
        check_hostile(tap, binary, work)
        check_browser(tap, work, rendered)
    tap.finish()


if __name__ == "__main__":
    main()
