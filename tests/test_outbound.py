#!/usr/bin/env python3
"""test_outbound.py: outbound mutual TLS (the application is the TLS client), --app,
--expect-thumbprint and --ca over the outbound captures (TAP).

Usage: test_outbound.py MTLSDIAG CAPTURES_DIR

Truth: CAPTURES_DIR/outbound-expected.json, written by captures/make-outbound-captures.sh from
how each capture was made (the application at 127.0.0.10 calling a server at 127.0.0.20 that
asks for a client certificate; curl presenting nothing, the wrong certificate, the right one,
or a leaf whose intermediate has expired; the last also in TLS 1.3), with frames, addresses and
the presented certificates read back by tshark, and every chain verdict computed by
`openssl verify -attime <capture time> -purpose sslclient` (never by mtlsdiag).  For each
capture (TLS 1.3: always with its key log):
- direction: "outbound" with --app 127.0.0.10 (the client's address), "inbound" with --app
  127.0.0.20 (the server's), "unknown" plus a warning with --app 127.0.0.0/24 (both ends),
  "unknown" without --app;
- with --app 127.0.0.10 --expect-thumbprint <SHA-1 of pki/client.pem> --ca pki/root.pem (and
  --ca pki/outbound/root.pem for the expired intermediate): an empty Certificate gives
  OUTBOUND_CERT_NOT_LOADED (not CERT_REQUESTED_EMPTY); a leaf that is not client.pem gives
  CLIENT_CERT_UNEXPECTED, client.pem CLIENT_CERT_EXPECTED; the chain gives CLIENT_CHAIN_TRUSTED
  or CLIENT_CHAIN_UNTRUSTED with OpenSSL's first error text and "(depth N" as openssl verify
  found them; CLIENT_CERT_EXPIRED only when the leaf had expired at the capture's time (never
  here); each finding cites the client's Certificate frame; exit status 1 exactly when one of
  these error findings is expected;
- with --app 127.0.0.20 the empty Certificate is CERT_REQUESTED_EMPTY again;
- client_chain_check for each trust anchor set the truth holds (pki/root.pem,
  pki/outbound/root.pem, both): status, reason and depth as openssl verify said;
- TLS 1.3 without its key log: the chain cannot be read, so no thumbprint or chain verdict
  and no error finding about them;
- bad values of --app, --expect-thumbprint and --ca exit 2 with one line naming the value;
- no secret of a key log used appears in any output.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, check_no_crash, command_line, require_executable, run, skip_all  # noqa: E402

APP = "127.0.0.10"     # the application: the TLS client of every outbound capture
SERVER = "127.0.0.20"  # the API server it calls
BOTH_ENDS = "127.0.0.0/24"
ROOT = "pki/root.pem"
OUTBOUND_ROOT = "pki/outbound/root.pem"
# The captures (make-outbound-captures.sh) and the --ca files of the findings run.
CAPTURES = (("outbound-none.pcap", (ROOT,)),
            ("outbound-wrong-cert.pcap", (ROOT,)),
            ("outbound-right-cert.pcap", (ROOT,)),
            ("outbound-expired-intermediate.pcap", (ROOT, OUTBOUND_ROOT)),
            ("outbound-tls13-right-cert.pcap", (ROOT,)))
# Severities of the findings this test is about.
SEVERITY = {"OUTBOUND_CERT_NOT_LOADED": "error", "CLIENT_CERT_UNEXPECTED": "error",
            "CLIENT_CERT_EXPECTED": "info", "CLIENT_CHAIN_UNTRUSTED": "error",
            "CLIENT_CHAIN_TRUSTED": "info", "CLIENT_CERT_EXPIRED": "warning"}


class OutboundTap(Tap):
    def skip(self, desc, reason):
        """One skipped check (TAP "# SKIP" directive)."""
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc.replace("#", "\\#"), reason))
        sys.stdout.flush()


class Runner:
    """Runs mtlsdiag and keeps every output, for the key-log secret check at the end."""

    def __init__(self, tap, binary):
        self.tap = tap
        self.binary = binary
        self.outputs = []

    def json(self, args, what):
        """(exit status, report or None)."""
        code, out, err = run(self.binary, ["analyze", "--format", "json"] + args)
        self.outputs.append((what, out + err))
        check_no_crash(self.tap, what, code, err)
        try:
            return code, json.loads(out)
        except ValueError as exc:
            self.tap.ok(False, "%s: JSON parses" % what, "%s\nstderr: %s" % (exc, err[:2000]))
            return code, None


def connection_of(report, truth):
    """The report's connection between the truth's application and server ends (or None)."""
    app, server = truth["app"], truth["server"]
    for c in (report or {}).get("connections", []):
        cl, sv = c.get("client") or {}, c.get("server") or {}
        if ((cl.get("ip"), cl.get("port")) == (app["ip"], app["port"])
                and (sv.get("ip"), sv.get("port")) == (server["ip"], server["port"])):
            return c
    return None


def findings_by_code(conn):
    out = {}
    for f in (conn or {}).get("findings") or []:
        out.setdefault(f.get("code"), f)
    return out


def cites(finding, frame):
    return finding.get("frame") == frame or frame in [e.get("frame") for e in
                                                      finding.get("evidence") or []]


def expected_findings(truth, thumbprint, cas):
    """{code: extra} the findings run must give, from the truth alone; extra is the chain
    check's (error, depth) for CLIENT_CHAIN_UNTRUSTED, else None."""
    want = {}
    if truth["cert_presented"] == "empty":
        want["OUTBOUND_CERT_NOT_LOADED"] = None
        return want
    if truth["client_leaf_sha1"] == thumbprint:
        want["CLIENT_CERT_EXPECTED"] = None
    else:
        want["CLIENT_CERT_UNEXPECTED"] = None
    check = truth["chain_checks"][" + ".join(cas)]
    if check["status"] == "trusted":
        want["CLIENT_CHAIN_TRUSTED"] = None
    else:
        want["CLIENT_CHAIN_UNTRUSTED"] = (check["error"], check["depth"])
    if truth["leaf_expired_at_capture"]:
        want["CLIENT_CERT_EXPIRED"] = None
    return want


def check_chain_verdict(tap, what, conn, check):
    """client_chain_check against the verdict of openssl verify (truth)."""
    got = (conn or {}).get("client_chain_check") or {}
    tap.eq(got.get("status"), check["status"], "%s: client_chain_check.status = openssl verify's"
           % what)
    if check["status"] == "trusted":
        tap.eq(got.get("error"), None, "%s: client_chain_check.error is null" % what)
        return
    error = got.get("error") or ""
    tap.ok(check["error"] in error and "(depth %d" % check["depth"] in error,
           "%s: client_chain_check.error names %r at depth %d" % (what, check["error"],
                                                                 check["depth"]),
           "got: %r" % got.get("error"))


def check_capture(tap, runner, folder, name, cas, truth, thumbprint):
    path = os.path.join(folder, name)
    keys = os.path.join(folder, truth["key_log"])
    is_tls13 = truth["tls_version"] == "TLS 1.3"
    if not os.path.exists(path) or (is_tls13 and not os.path.exists(keys)):
        tap.skip("%s: outbound facts" % name, "capture or key log missing "
                 "(run captures/make-outbound-captures.sh)")
        return
    base = (["--keylog", keys] if is_tls13 else []) + [path]
    frame = truth["client_certificate_frame"]

    # Without --app: nobody's side is known.
    _, plain = runner.json(base, name)
    conn = connection_of(plain, truth)
    if not tap.ok(conn is not None, "%s: the connection %s:%d -> %s:%d is found"
                  % (name, truth["app"]["ip"], truth["app"]["port"], truth["server"]["ip"],
                     truth["server"]["port"])):
        return
    tap.eq(conn.get("direction"), "unknown", "%s: without --app, direction unknown" % name)
    # The server asked for a certificate (how the capture was made): the handshake shows it as
    # the mTLS endpoint, said as a guess.
    guess = conn.get("direction_guess") or ""
    tap.ok("guess" in guess and "mTLS endpoint" in guess and "--app" in guess,
           "%s: without --app, direction_guess names the server as the mTLS endpoint, as a guess"
           % name, "direction_guess %r" % guess)
    tap.eq(conn.get("expected_thumbprint"), None,
           "%s: without --expect-thumbprint, expected_thumbprint null" % name)
    tap.eq((conn.get("client_chain_check") or {}).get("status"), "not_checked",
           "%s: without --ca, client_chain_check not_checked" % name)
    plain_warnings = list(conn.get("warnings") or [])

    # --app on either end, and on both.
    for app, want in ((APP, "outbound"), (SERVER, "inbound"), (BOTH_ENDS, "unknown")):
        _, report = runner.json(["--app", app] + base, "%s --app %s" % (name, app))
        c = connection_of(report, truth)
        tap.eq((c or {}).get("direction"), want, "%s: --app %s (the %s) -> direction %s"
               % (name, app, {APP: "client's address", SERVER: "server's address",
                              BOTH_ENDS: "network of both ends"}[app], want))
        if want != "unknown":
            tap.eq((c or {}).get("direction_guess"), None,
                   "%s: --app %s decided the direction: no guess" % (name, app))
        codes = findings_by_code(c)
        if app == BOTH_ENDS:
            new = [w for w in (c or {}).get("warnings") or [] if w not in plain_warnings]
            tap.ok(any("--app" in w for w in new), "%s: --app %s matches both ends: a warning "
                   "saying so" % (name, app), "warnings: %r" % ((c or {}).get("warnings"),))
        if truth["cert_presented"] != "empty":
            tap.ok("OUTBOUND_CERT_NOT_LOADED" not in codes,
                   "%s: --app %s: no OUTBOUND_CERT_NOT_LOADED (a certificate was sent)"
                   % (name, app), repr(sorted(codes)))
        elif want == "outbound":
            tap.ok("OUTBOUND_CERT_NOT_LOADED" in codes and "CERT_REQUESTED_EMPTY" not in codes,
                   "%s: --app %s: the empty Certificate is OUTBOUND_CERT_NOT_LOADED, not "
                   "CERT_REQUESTED_EMPTY" % (name, app), repr(sorted(codes)))
        else:
            tap.ok("CERT_REQUESTED_EMPTY" in codes and "OUTBOUND_CERT_NOT_LOADED" not in codes,
                   "%s: --app %s: the empty Certificate is CERT_REQUESTED_EMPTY, not "
                   "OUTBOUND_CERT_NOT_LOADED" % (name, app), repr(sorted(codes)))

    # The findings run: the application's address, the certificate it should present, the CAs.
    args = ["--app", APP, "--expect-thumbprint", thumbprint]
    for ca in cas:
        args += ["--ca", os.path.join(folder, ca)]
    what = "%s --app %s --expect-thumbprint client.pem --ca %s" % (name, APP, " --ca ".join(cas))
    code, report = runner.json(args + base, what)
    c = connection_of(report, truth)
    codes = findings_by_code(c)
    want = expected_findings(truth, thumbprint, cas)
    tap.eq((c or {}).get("direction"), "outbound", "%s: direction outbound" % what)
    for finding_code, extra in sorted(want.items()):
        f = codes.get(finding_code)
        if not tap.ok(f is not None, "%s: %s" % (what, finding_code), repr(sorted(codes))):
            continue
        tap.eq(f.get("severity"), SEVERITY[finding_code], "%s: %s severity" % (name, finding_code))
        tap.ok(cites(f, frame), "%s: %s cites the client's Certificate (frame %d)"
               % (name, finding_code, frame), repr(f))
        if extra is not None:
            message = f.get("message") or ""
            tap.ok(extra[0] in message and "(depth %d" % extra[1] in message,
                   "%s: %s says %r at depth %d (openssl verify)" % (name, finding_code,
                                                                    extra[0], extra[1]),
                   "message: %r" % message)
    for finding_code in sorted(set(SEVERITY) - set(want)):
        tap.ok(finding_code not in codes, "%s: no %s" % (name, finding_code),
               repr(codes.get(finding_code)))
    if truth["cert_presented"] == "empty":
        tap.ok("CERT_REQUESTED_EMPTY" not in codes, "%s: no CERT_REQUESTED_EMPTY (outbound)"
               % name, repr(sorted(codes)))
        tap.eq((c or {}).get("expected_thumbprint"), None,
               "%s: expected_thumbprint null (no client certificate)" % name)
        tap.eq(((c or {}).get("client_chain_check") or {}).get("status"), "not_checked",
               "%s: client_chain_check not_checked (no client certificate)" % name)
    else:
        chain = (((c or {}).get("tls") or {}).get("client_chain")) or [{}]
        tap.eq([x.get("sha1") for x in chain], [x["sha1"] for x in truth["client_chain"]],
               "%s: the client chain read is the one presented" % name)
        tap.eq((c or {}).get("expected_thumbprint"), truth["client_leaf_sha1"] == thumbprint,
               "%s: expected_thumbprint" % name)
        check_chain_verdict(tap, what, c, truth["chain_checks"][" + ".join(cas)])
    want_error = any(SEVERITY[k] == "error" for k in want)
    tap.eq(code, 1 if want_error else 0, "%s: exit status %d" % (what, 1 if want_error else 0))

    # The chain against each anchor set of the truth.
    for anchors, check in sorted((truth["chain_checks"] or {}).items()):
        args = ["--app", APP]
        for ca in anchors.split(" + "):
            args += ["--ca", os.path.join(folder, ca)]
        what = "%s --ca %s" % (name, anchors.replace(" + ", " --ca "))
        _, report = runner.json(args + base, what)
        check_chain_verdict(tap, what, connection_of(report, truth), check)

    # TLS 1.3 without the key log: the client's Certificate is encrypted.
    if is_tls13:
        args = ["--app", APP, "--expect-thumbprint", thumbprint]
        for ca in cas:
            args += ["--ca", os.path.join(folder, ca)]
        what = "%s without its key log" % name
        _, report = runner.json(args + [path], what)
        c = connection_of(report, truth)
        codes = findings_by_code(c)
        tap.eq((c or {}).get("expected_thumbprint"), None,
               "%s: expected_thumbprint null (chain encrypted)" % what)
        tap.eq(((c or {}).get("client_chain_check") or {}).get("status"), "not_checked",
               "%s: client_chain_check not_checked (chain encrypted)" % what)
        bad = sorted(k for k in ("OUTBOUND_CERT_NOT_LOADED", "CLIENT_CERT_UNEXPECTED",
                                 "CLIENT_CHAIN_UNTRUSTED") if k in codes)
        tap.eq(bad, [], "%s: no error finding about a certificate it cannot read" % what)


def check_bad_options(tap, binary, folder, capture, key_pem):
    """Unusable option values: exit 2 and one line on standard error naming the value."""
    with tempfile.TemporaryDirectory(prefix="mtd-outbound-") as tmp:
        no_cert = os.path.join(tmp, "no-certificate.pem")
        with open(no_cert, "w") as f:
            f.write("this file holds no certificate\n")
        cases = [(["--app", "300.1.1.1"], "300.1.1.1"),
                 (["--app", "10.0.0.0/33"], "10.0.0.0/33"),
                 (["--expect-thumbprint", "xyz"], "xyz"),
                 (["--ca", "/nonexistent.pem"], "/nonexistent.pem"),
                 (["--ca", no_cert], no_cert)]
        if os.path.exists(key_pem):
            cases.append((["--ca", key_pem], key_pem))  # a PEM file, but a private key
        for args, value in cases:
            what = " ".join(args)
            code, out, err = run(binary, ["analyze", "--format", "json"] + args + [capture])
            check_no_crash(tap, what, code, err)
            tap.eq(code, 2, "%s: exit status 2" % what)
            lines = err.strip().splitlines()
            tap.ok(len(lines) == 1 and value in lines[0],
                   "%s: one line on standard error naming %r" % (what, value), "stderr: %r" % err)
            tap.eq(out, "", "%s: no report" % what)
            if value == "/nonexistent.pem":
                # The style's rule for errors: the file AND the reason in plain words.
                tap.ok(any(w in err for w in ("No such file", "does not exist", "not found")),
                       "%s: the error says the file does not exist" % what, "stderr: %r" % err)


def read_secrets(path):
    secrets = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and not fields[0].startswith("#"):
                secrets.add(fields[2].lower())
    return secrets


def main():
    binary, folder = command_line("test_outbound.py MTLSDIAG CAPTURES_DIR")
    expected_path = os.path.join(folder, "outbound-expected.json")
    if not os.path.exists(expected_path):
        skip_all("no outbound-expected.json in %s (run captures/make-outbound-captures.sh)"
                 % folder)
    tap = OutboundTap()
    require_executable(tap, binary)
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    thumbprint = expected["thumbprints"]["pki/client.pem"]
    runner = Runner(tap, binary)
    for name, cas in CAPTURES:
        truth = expected.get(name)
        if not tap.ok(truth is not None, "%s: in outbound-expected.json" % name):
            continue
        check_capture(tap, runner, folder, name, cas, truth, thumbprint)

    present = [os.path.join(folder, n) for n, _ in CAPTURES
               if os.path.exists(os.path.join(folder, n))]
    if present:
        check_bad_options(tap, binary, folder, present[0],
                          os.path.join(folder, "pki", "outbound", "client-key.TEST-ONLY.pem"))
    else:
        tap.skip("bad option values", "no outbound capture present")

    # No secret of a key log used here, in anything written.
    secrets = set()
    for name, _ in CAPTURES:
        keys = os.path.join(folder, (expected.get(name) or {}).get("key_log", name + ".keys"))
        if os.path.exists(keys) and expected.get(name, {}).get("tls_version") == "TLS 1.3":
            secrets |= read_secrets(keys)
    if not secrets:
        tap.skip("key log secrets to look for", "no TLS 1.3 key log present")
    for what, output in runner.outputs if secrets else []:
        lowered = output.lower()
        found = [s[:8] + "..." for s in secrets if s in lowered]
        tap.eq(found, [], "%s: no key log secret in the output" % what)
    tap.finish()


if __name__ == "__main__":
    main()
