#!/usr/bin/env python3
"""test_report_options.py: --format jsonl, --redact, -q, --summary-only, --color and the progress
line, on the sample captures (TAP).

Usage: test_report_options.py MTLSDIAG CAPTURES_DIR

The captures are those of CAPTURES_DIR/expected.json, chains-expected.json and
decrypt-expected.json, each analysed with its key log when it has one (so that HTTP inside TLS,
with its Host headers and forwarding headers, is in the reports too).  What --redact must hide
does not come from mtlsdiag: the addresses are what tshark reads from the packets (ip.src, ip.dst,
ipv6.src, ipv6.dst), the serials and SAN e-mail addresses what openssl reads from captures/pki.
Without tshark, the addresses come from the unredacted JSON report instead (said in a note).
"""
import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, check_no_crash, command_line, require_executable, run  # noqa: E402

CLIENT_CN = "mtlsdiag test client"
IPV4_RE = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
IPV6_RE = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
ESC = "\x1b"


def captures_with_keys(captures):
    """[(name, [files], keylog or None)] of the three truth files, each run once."""
    runs = {}

    def add(name, files, key_log):
        paths = [os.path.join(captures, f) for f in files]
        if not all(os.path.isfile(p) for p in paths):
            return
        keys = os.path.join(captures, key_log) if key_log else None
        if keys is not None and not os.path.isfile(keys):
            keys = None
        runs.setdefault((tuple(files), keys), name)

    for truth in ("expected.json", "chains-expected.json", "decrypt-expected.json"):
        with open(os.path.join(captures, truth), encoding="utf-8") as f:
            entries = json.load(f)
        for name, entry in entries.items():
            if name.startswith("_") or not isinstance(entry, dict):
                continue
            files = entry.get("files") or [entry.get("capture") or name]
            add(name, files, entry.get("key_log"))
    return [(name, list(files), keys) for (files, keys), name in runs.items()]


def analyse(binary, files, keys, extra):
    args = ["analyze"] + extra
    if keys is not None:
        args += ["--keylog", keys]
    return run(binary, args + files)


def normalize(text):
    """The address text stands for, as ipaddress writes it (IPv4-mapped as IPv4); None if none."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def addresses_in(text):
    """Every IPv4 or IPv6 address written in text, normalized."""
    found = set()
    for match in IPV4_RE.finditer(text):
        address = normalize(match.group(0))
        if address is not None:
            found.add(address)
    for match in IPV6_RE.finditer(text):
        token = match.group(0).strip(".:")
        if token.count(":") >= 2 or match.group(0).startswith("::"):
            for candidate in (match.group(0).rstrip("."), token):
                address = normalize(candidate)
                if address is not None:
                    found.add(address)
    return found


def tshark_addresses(path):
    """The addresses of a capture as tshark reads them, normalized; None without tshark."""
    if shutil.which("tshark") is None:
        return None
    proc = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "ip.src", "-e",
                           "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
    found = set()
    for field in re.split(r"[\t\n,]", proc.stdout.decode("ascii", "replace")):
        address = normalize(field.strip())
        if address is not None:
            found.add(address)
    return found


def pki_secrets(captures):
    """(serials, SAN e-mail addresses) of every certificate in captures/pki, read by openssl."""
    serials, emails = set(), set()
    paths = []
    for folder, _, names in os.walk(os.path.join(captures, "pki")):
        paths += [os.path.join(folder, n) for n in names if n.endswith(".pem")]
    for path in sorted(paths):
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read()
        for block in re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text,
                                re.S):
            proc = subprocess.run(["openssl", "x509", "-noout", "-serial", "-ext",
                                   "subjectAltName"], input=block.encode(),
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
            out = proc.stdout.decode()
            serials.add(re.search(r"serial=([0-9A-F]+)", out).group(1))
            emails.update(re.findall(r"email:([^,\s]+)", out))
    return serials, emails


def json_strings(value, key=None):
    """(key, string) of every string in a JSON value, with the key it is under."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from json_strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v, key)
    elif isinstance(value, str):
        yield key, value


def serial_values(value):
    """Every value under a "serial" key."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "serial":
                yield v
            else:
                yield from serial_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from serial_values(v)


def parse_jsonl(text):
    """The lines of a JSON Lines report as objects; raises ValueError on a bad line."""
    if text and not text.endswith("\n"):
        raise ValueError("the last line has no newline")
    return [json.loads(line) for line in text.split("\n")[:-1]]


def as_document(fmt, out):
    """A JSON or JSON Lines report as one document (connections, chains, the rest)."""
    if fmt == "json":
        return json.loads(out)
    lines = parse_jsonl(out)
    doc = dict(lines[-1])
    del doc["type"]

    def of_type(kind):
        return [dict((k, v) for k, v in l.items() if k != "type") for l in lines
                if l.get("type") == kind]
    doc["connections"] = of_type("connection")
    doc["chains"] = of_type("chain")
    return doc


# ---- JSON Lines ----------------------------------------------------------------------------

def check_jsonl(tap, binary, name, files, keys):
    code, json_out, err = analyse(binary, files, keys, ["--format", "json"])
    lcode, jsonl_out, lerr = analyse(binary, files, keys, ["--format", "jsonl"])
    check_no_crash(tap, "%s --format jsonl" % name, lcode, lerr)
    tap.eq(lcode, code, "%s: jsonl exit status as json's" % name)
    try:
        doc = json.loads(json_out)
        lines = parse_jsonl(jsonl_out)
    except ValueError as e:
        tap.ok(False, "%s: every jsonl line parses" % name, str(e))
        return
    tap.ok(True, "%s: every jsonl line parses (%d lines)" % (name, len(lines)))
    types = [l.get("type") for l in lines]
    n_conn, n_chain = len(doc["connections"]), len(doc["chains"])
    tap.eq(types, ["connection"] * types.count("connection") + ["chain"] * types.count("chain")
           + ["summary"] if types and types[-1] == "summary" and "summary" not in types[:-1]
           and len(types) == n_conn + n_chain + 1 else types,
           "%s: lines are connections and chains, then one summary line" % name)
    conns = [dict((k, v) for k, v in l.items() if k != "type") for l in lines
             if l.get("type") == "connection"]
    chains = [dict((k, v) for k, v in l.items() if k != "type") for l in lines
              if l.get("type") == "chain"]
    tap.eq(len(conns), n_conn, "%s: one connection line per connection of the JSON report"
           % name)
    tap.ok(conns == doc["connections"],
           "%s: the connection lines are the JSON report's connections" % name)
    tap.eq(len(chains), n_chain, "%s: one chain line per chain of the JSON report" % name)
    tap.ok(chains == doc["chains"], "%s: the chain lines are the JSON report's chains" % name)
    summary = lines[-1] if lines else {}
    tap.ok(summary.get("type") == "summary"
           and all(summary.get(k) == doc.get(k) for k in ("schema_version", "tool", "redacted",
                                                          "inputs", "summary")),
           "%s: the last line holds the JSON report's inputs and summary" % name)


# ---- --redact ------------------------------------------------------------------------------

def pseudonyms_consistent(tap, what, plain_doc, pairs):
    """pairs: (connection id, side, pseudonym) seen in a redacted report.  The same address
    must have the same pseudonym, and different addresses different ones."""
    by_id = {c["id"]: c for c in plain_doc["connections"]}
    forward, backward = {}, {}
    is_ok, diag = True, ""
    for conn_id, side, pseudonym in pairs:
        address = by_id[conn_id][side]["ip"]
        if forward.setdefault(address, pseudonym) != pseudonym \
                or backward.setdefault(pseudonym, address) != address:
            is_ok = False
            diag = "%s is %s and %s" % (address, forward[address], pseudonym)
    tap.ok(is_ok and len(pairs) == 2 * len(by_id),
           "%s: the same address has the same pseudonym, different ones different" % what,
           diag or "%d endpoints for %d connections" % (len(pairs), len(by_id)))


TEXT_HEADER_RE = re.compile(r"^#(\d+) .*?  (\S+):\d+ -> (?:\(guessed\) )?(\S+):\d+  frames",
                            re.M)


def check_redacted_output(tap, what, fmt, mode, out, truth, serials, emails, plain_doc):
    leaked = sorted(truth & addresses_in(out))
    literal = [a for a in truth if re.search(r"(?<![0-9A-Fa-f:.])%s(?![0-9A-Fa-f:]|\.[0-9])"
                                             % re.escape(a), out)]
    tap.ok(not leaked and not literal, "%s: no address of the capture" % what,
           "leaked: %r %r" % (leaked, literal))
    found_emails = EMAIL_RE.findall(out)
    tap.ok(not found_emails and not any(e in out for e in emails),
           "%s: no e-mail address" % what, repr(found_emails))
    serial_leaks = []
    for serial in serials:
        if re.search(r"serial\W{0,4}%s(?![0-9A-F])" % serial, out, re.I) \
                or (len(serial) >= 8 and re.search(r"(?<![0-9A-Fa-f])%s(?![0-9A-Fa-f])" % serial,
                                                   out)):
            serial_leaks.append(serial)
    if fmt in ("json", "jsonl"):
        doc = as_document(fmt, out)
        serial_leaks += [v for v in serial_values(doc) if v is not None]
        for key, value in json_strings(doc):
            for serial in serials:
                if re.search(r"(?<![0-9A-Fa-f])%s(?![0-9A-Fa-f])" % serial, value):
                    serial_leaks.append("%s in %s: %r" % (serial, key, value[:120]))
        tap.eq(doc.get("redacted"), mode, "%s: \"redacted\": \"%s\"" % (what, mode))
        pairs = [(c["id"], side, c[side]["ip"]) for c in doc["connections"]
                 for side in ("client", "server")]
        pseudonyms_consistent(tap, what, plain_doc, pairs)
        if mode == "all":
            names = [(k, v) for k, v in json_strings(doc) if k in ("subject", "issuer")]
            tap.eq(names, [], "%s: subjects and issuers are null" % what)
    elif fmt == "text":
        tap.ok(out.startswith("redacted (--redact%s): " % ("=all" if mode == "all" else "")),
               "%s: says at the top that it is redacted" % what, out[:300])
        pairs = []
        for m in TEXT_HEADER_RE.finditer(out):
            pairs += [(int(m.group(1)), "client", m.group(2)), (int(m.group(1)), "server",
                                                                  m.group(3))]
        pseudonyms_consistent(tap, what, plain_doc, pairs)
    tap.eq(serial_leaks, [], "%s: no certificate serial" % what)
    if mode == "all":
        tap.ok(CLIENT_CN.lower() not in out.lower() and "CN=" not in out,
               "%s: no subject (no \"%s\", no CN=)" % (what, CLIENT_CN),
               "at %d" % out.lower().find(CLIENT_CN.lower()))


def check_redaction(tap, binary, name, files, keys, secrets, extra_formats, stats):
    serials, emails = secrets
    code, plain, err = analyse(binary, files, keys, ["--format", "json"])
    try:
        plain_doc = json.loads(plain)
    except ValueError:
        tap.ok(False, "%s: unredacted JSON report" % name, err)
        return
    stats["serials_unredacted"] += len([v for v in serial_values(plain_doc) if v is not None])
    truth = set()
    sources = []
    for f in files:
        found = tshark_addresses(f)
        if found is None:
            sources.append("report")
            for c in plain_doc["connections"]:
                truth.update(normalize(c[s]["ip"]) for s in ("client", "server"))
        else:
            sources.append("tshark")
            truth |= found
    truth.discard(None)
    stats["sources"].update(sources)
    tap.ok(bool(truth) and addresses_in(plain) & truth,
           "%s: the unredacted report shows the capture's addresses" % name)
    for mode, option in (("default", "--redact"), ("all", "--redact=all")):
        for fmt in ["text", "json", "jsonl"] + extra_formats:
            what = "%s %s --format %s" % (name, option, fmt)
            rcode, out, rerr = analyse(binary, files, keys, ["--format", fmt, option])
            check_no_crash(tap, what, rcode, rerr)
            tap.eq(rcode, code, "%s: the exit status is unchanged" % what)
            check_redacted_output(tap, what, fmt, mode, out, truth, serials, emails, plain_doc)
            if fmt == "jsonl":
                _, json_out, _ = analyse(binary, files, keys, ["--format", "json", option])
                doc, jsonl_doc = json.loads(json_out), as_document("jsonl", out)
                tap.ok(doc["connections"] == jsonl_doc["connections"]
                       and doc["chains"] == jsonl_doc["chains"],
                       "%s: the same pseudonyms as --format json" % what)


def extra_formats_supported(tap, binary, captures):
    """Markdown and HTML, when this mtlsdiag has them (another issue adds them)."""
    supported = []
    path = os.path.join(captures, "tls12-presented.pcap")
    for fmt in ("markdown", "html"):
        code, out, err = run(binary, ["analyze", "--format", fmt, path])
        if code == 2 and re.search(r"unknown format", err, re.I):
            tap.note("--format %s: not in this build, its redaction is not checked" % fmt)
        else:
            supported.append(fmt)
    return supported


# ---- -q, --summary-only, --color, progress --------------------------------------------------

def check_quiet(tap, binary, captures, tmp):
    for capture, status in (("tls12-empty.pcap", 1), ("tls12-presented.pcap", 0),
                            ("tls13-truncated.pcap", None)):
        path = os.path.join(captures, capture)
        plain_code, plain_out, _ = run(binary, ["analyze", path])
        if status is not None:
            tap.eq(plain_code, status, "%s: exit status %d without -q" % (capture, status))
        for option in ("-q", "--quiet"):
            code, out, err = run(binary, ["analyze", option, path])
            check_no_crash(tap, "%s %s" % (option, capture), code, err)
            tap.eq((code, out, err), (plain_code, "", ""),
                   "%s %s: nothing printed, the same exit status" % (option, capture))
        report = os.path.join(tmp, "quiet-report.txt")
        code, out, err = run(binary, ["analyze", "-q", "-o", report, path])
        with open(report, encoding="utf-8") as f:
            written = f.read()
        tap.eq((code, out, err, written), (plain_code, "", "", plain_out),
               "-q -o FILE %s: the file is written, nothing printed" % capture)
    code, out, err = run(binary, ["analyze", "-q", "--format", "json",
                                  os.path.join(tmp, "missing.pcap")])
    tap.ok(code == 2 and out == "" and len(err.splitlines()) == 1 and "missing.pcap" in err,
           "-q with a missing file: exit 2 and its one error line",
           "code %r, stdout %r, stderr %r" % (code, out, err))
    code, out, err = run(binary, ["analyze", "-q", "--format", "xml",
                                  os.path.join(captures, "tls12-empty.pcap")])
    tap.ok(code == 2 and out == "" and len(err.splitlines()) == 1 and "xml" in err,
           "-q --format xml: exit 2 and its one error line", "stderr %r" % err)
    code, out, err = run(binary, ["analyze", "--redact=some",
                                  os.path.join(captures, "tls12-empty.pcap")])
    tap.ok(code == 2 and out == "" and len(err.splitlines()) == 1 and "--redact" in err,
           "--redact=some: exit 2 and one error line", "stderr %r" % err)
    code, out, err = run(binary, ["analyze", "--color", "sometimes",
                                  os.path.join(captures, "tls12-empty.pcap")])
    tap.ok(code == 2 and out == "" and len(err.splitlines()) == 1 and "--color" in err,
           "--color sometimes: exit 2 and one error line", "stderr %r" % err)


def check_summary_only(tap, binary, captures):
    files = [os.path.join(captures, f) for f in ("chain-two-vantage-caller.pcap",
                                                 "chain-two-vantage-app.pcap")]
    full_code, full, _ = run(binary, ["analyze", "--format", "json"] + files)
    full_doc = json.loads(full)
    code, out, err = run(binary, ["analyze", "--summary-only"] + files)
    tap.eq(code, full_code, "--summary-only text: the same exit status")
    tap.ok(out.startswith("verdict: ") and "\n\nSummary\ninput 1: " in out
           and not re.search(r"^(#\d|chain \d|Request|Connections)", out, re.M),
           "--summary-only text: the verdict and the Summary block alone", out[:300])
    code, out, err = run(binary, ["analyze", "--summary-only", "--format", "json"] + files)
    doc = json.loads(out)
    tap.eq(sorted(doc), ["inputs", "redacted", "schema_version", "summary", "tool"],
           "--summary-only json: no connections and no chains")
    tap.ok(doc["summary"] == full_doc["summary"] and doc["inputs"] == full_doc["inputs"],
           "--summary-only json: the full report's summary and inputs")
    code, out, err = run(binary, ["analyze", "--summary-only", "--format", "jsonl"] + files)
    lines = parse_jsonl(out)
    tap.ok(len(lines) == 1 and lines[0]["type"] == "summary"
           and lines[0]["summary"] == full_doc["summary"],
           "--summary-only jsonl: the summary line alone")


def in_pty(command, env=None):
    """Runs command (a list) with a pseudo-terminal for its standard streams (script(1));
    returns (exit status, what the terminal got)."""
    line = " ".join("'%s'" % a.replace("'", "'\\''") for a in command)
    proc = subprocess.run(["script", "-q", "-e", "-c", line, "/dev/null"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=120)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def check_color(tap, binary, captures):
    path = os.path.join(captures, "tls12-empty.pcap")
    code, out, err = run(binary, ["analyze", "--color", "always", path])
    tap.ok("\x1b[1;31mERROR\x1b[0m CERT_REQUESTED_EMPTY" in out,
           "--color always: ERROR in red in the text report", out[:400])
    for fmt in ("json", "jsonl"):
        code, out, err = run(binary, ["analyze", "--color", "always", "--format", fmt, path])
        tap.ok(ESC not in out, "--color always --format %s: no escape" % fmt)
    code, out, err = run(binary, ["analyze", path])
    tap.ok(ESC not in out, "--color auto into a pipe: no escape")
    if shutil.which("script") is None:
        tap.note("script(1) is missing: colour and progress on a terminal are not checked")
        return False
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    code, out = in_pty([binary, "analyze", path], env)
    tap.ok("\x1b[1;31mERROR\x1b[0m" in out, "--color auto on a terminal: colours", out[:300])
    code, out = in_pty([binary, "analyze", "--color", "never", path], env)
    tap.ok(ESC not in out, "--color never on a terminal: no escape", repr(out[:300]))
    env["NO_COLOR"] = "1"
    code, out = in_pty([binary, "analyze", path], env)
    tap.ok(ESC not in out, "NO_COLOR=1, --color auto on a terminal: no escape", repr(out[:300]))
    code, out = in_pty([binary, "analyze", "--color", "always", path], env)
    tap.ok("\x1b[1;31mERROR" in out, "NO_COLOR=1 with --color always: colours")
    env["NO_COLOR"] = ""
    code, out = in_pty([binary, "analyze", path], env)
    tap.ok("\x1b[1;31mERROR" in out, "NO_COLOR empty, --color auto on a terminal: colours")
    return True


def make_long_capture(captures, path, copies):
    """captures/http-200.pcap's packets again and again, ten seconds apart, as one capture."""
    with open(os.path.join(captures, "http-200.pcap"), "rb") as f:
        data = f.read()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records, at = [], 24
    while at + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack_from(endian + "IIII", data, at)
        records.append((sec, usec, orig, data[at + 16:at + 16 + incl]))
        at += 16 + incl
    with open(path, "wb") as f:
        f.write(data[:24])
        for k in range(copies):
            for sec, usec, orig, body in records:
                f.write(struct.pack(endian + "IIII", sec + 10 * k, usec, len(body), orig) + body)
    return len(records) * copies


def check_progress(tap, binary, captures, tmp, has_script):
    path = os.path.join(captures, "tls12-presented.pcap")
    code, out, err = run(binary, ["analyze", path])
    tap.eq(err, "", "standard error not a terminal: no progress, nothing on it")
    if not has_script:
        return
    long_capture = os.path.join(tmp, "long.pcap")
    n_packets = make_long_capture(captures, long_capture, 1000)
    report = os.path.join(tmp, "long.txt")
    code, screen = in_pty([binary, "analyze", "-o", report, long_capture])
    tap.ok(re.search(r"\r[0-9.]+ of [0-9.]+ MB \([0-9]+%\), [0-9]+ packets, [0-9]+ flows", screen)
           is not None, "a terminal and -o FILE: the progress line (%d packets)" % n_packets,
           repr(screen[:300]))
    tap.ok(screen.endswith("\r\x1b[K"), "the progress line is cleared at the end",
           repr(screen[-80:]))
    with open(report, encoding="utf-8") as f:
        text = f.read()
    tap.ok("\r" not in text and ESC not in text and "connections: 1000 " in text,
           "the report file holds the report only", text[-600:])
    code, screen = in_pty([binary, "analyze", "--format", "json", long_capture])
    tap.ok(" MB (" not in screen, "the report on the terminal itself: no progress line")
    code, screen = in_pty([binary, "analyze", "-q", "-o", report, long_capture])
    tap.eq(screen, "", "-q on a terminal: no progress line")


def main():
    binary, captures = command_line("test_report_options.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    runs = captures_with_keys(captures)
    tap.ok(len(runs) >= 40, "the truth files list the sample captures (%d runs)" % len(runs))
    with open(os.path.join(captures, "expected.json"), encoding="utf-8") as f:
        expected = set(k for k in json.load(f) if not k.startswith("_"))
    for name, files, keys in runs:
        if name in expected:
            check_jsonl(tap, binary, name, [os.path.join(captures, f) for f in files], keys)
    check_jsonl(tap, binary, "chain-two-vantage (two inputs)",
                [os.path.join(captures, f) for f in ("chain-two-vantage-caller.pcap",
                                                     "chain-two-vantage-app.pcap")], None)

    secrets = pki_secrets(captures)
    tap.ok(len(secrets[0]) >= 5, "openssl reads the serials of captures/pki (%s)"
           % ", ".join(sorted(secrets[0])))
    extra_formats = extra_formats_supported(tap, binary, captures)
    stats = {"serials_unredacted": 0, "sources": set()}
    for name, files, keys in runs:
        check_redaction(tap, binary, name, [os.path.join(captures, f) for f in files], keys,
                        secrets, extra_formats, stats)
    tap.ok(stats["serials_unredacted"] > 0,
           "the unredacted reports do show serials (%d), so their absence means something"
           % stats["serials_unredacted"])
    if "report" in stats["sources"]:
        tap.note("tshark is missing: the addresses were taken from the unredacted reports")

    with tempfile.TemporaryDirectory(prefix="mtlsdiag-options-") as tmp:
        check_quiet(tap, binary, captures, tmp)
        check_summary_only(tap, binary, captures)
        has_script = check_color(tap, binary, captures)
        check_progress(tap, binary, captures, tmp, has_script)
    check_text_order(tap, binary, captures)
    tap.finish()


def check_text_order(tap, binary, captures):
    """The text report starts with its verdict and lists the worst first.  Made so: in
    tls12-presented.pcap the client presents its certificate (no problem), in tls12-empty.pcap it
    answers the request with an empty list (an error); given in that order, the empty list's
    connection must still come first, and the verdict line must name it."""
    files = [os.path.join(captures, n) for n in ("tls12-presented.pcap", "tls12-empty.pcap")]
    code, out, err = analyse(binary, files, None, ["--format", "text"])
    check_no_crash(tap, "text order", code, err)
    tap.eq(code, 1, "text order: exit status 1 (the empty list)")
    first = out.split("\n", 1)[0]
    tap.ok(first.startswith("verdict: ERROR CERT_REQUESTED_EMPTY in connection #"),
           "text order: the first line is the verdict naming the empty list", first)
    _, jout, _ = analyse(binary, files, None, ["--format", "json"])
    doc = json.loads(jout)
    # Which connection is which comes from the run itself (input 0 is tls12-presented.pcap,
    # input 1 tls12-empty.pcap), not from the findings under test.
    ids = {}
    for conn in doc["connections"]:
        ids["empty" if conn.get("input") == 1 else "presented"] = conn["id"]
    tap.eq(len(doc["connections"]), 2, "text order: one connection per input")
    tap.ok(first.startswith("verdict: ERROR CERT_REQUESTED_EMPTY in connection #%d:"
                            % ids.get("empty", -1)),
           "text order: the verdict names the empty list's connection id", first)
    heads = [int(m) for m in re.findall(r"^#(\d+) ", out, re.M)]
    tap.eq(heads, [ids.get("empty"), ids.get("presented")],
           "text order: the connection with the error is listed first")
    chains_at = out.find("\nRequest chains:")
    connections_at = out.find("\nConnections: 2, worst first")
    summary_at = out.find("\nSummary\n")
    tap.ok(0 < chains_at < connections_at < summary_at,
           "text order: verdict, chains, connections, summary")


if __name__ == "__main__":
    main()
