#!/usr/bin/env python3
"""test_live.py: mtlsdiag live on the loopback interface, with real OpenSSL handshakes (TAP).

Usage: test_live.py MTLSDIAG CAPTURES_DIR

Needs root (it captures on lo) and the openssl command; skipped otherwise.  Uses the TEST-ONLY PKI
in CAPTURES_DIR/pki and the s_server/s_client options that made tls12-presented.pcap and
tls12-empty.pcap (CAPTURES_DIR/commands.txt):
  1. live --duration 8 while two TLS 1.2 handshakes run: the client presents client.pem plus the
     intermediate to a server that requires it (-Verify 2); then a client without a certificate
     (it sends an empty Certificate) to a server that only requests (-verify 2).  The report must
     show both, and the exit status must be 1 (the empty list is a problem).
  2. live without --duration, one handshake, then SIGINT: it must stop within a few seconds and
     still write the full report.
Every process is bounded by a timeout and killed in a finally block.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, command_line, require_executable, sanitizer_markers, skip_all  # noqa: E402

HTTP_REQUEST = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
STARTUP_WAIT_S = 1.5
DURATION_S = 8


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_capture():
    """Root is not always enough (a container without CAP_NET_RAW)."""
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    except (PermissionError, AttributeError, OSError) as e:
        return False, str(e)
    s.close()
    return True, ""


def sha1_fingerprint(pem):
    """openssl x509 -fingerprint -sha1 -noout, as upper-case hex without colons."""
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                         check=True).stdout.decode()
    return out.strip().split("=", 1)[1].replace(":", "").upper()


def stop(proc, sig=signal.SIGKILL):
    """Ends a process this script started (by its Popen object), if it is still running."""
    if proc is not None and proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)


def read_output(proc):
    """Reads the rest of a finished process's stdout and stderr."""
    out, err = proc.communicate(timeout=10)
    return (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace")


class Pki:
    def __init__(self, captures):
        d = os.path.join(captures, "pki")
        self.root = os.path.join(d, "root.pem")
        self.intermediate = os.path.join(d, "intermediate.pem")
        self.server = os.path.join(d, "server.pem")
        self.server_key = os.path.join(d, "server-key.TEST-ONLY.pem")
        self.client = os.path.join(d, "client.pem")
        self.client_key = os.path.join(d, "client-key.TEST-ONLY.pem")
        self.client_ca_names = os.path.join(d, "client-ca-names.pem")


def start_server(pki, port, verify_flag):
    """openssl s_server as for tls12-presented.pcap (-Verify 2) or tls12-empty.pcap (-verify 2).
    Returns the process once it printed ACCEPT."""
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept", "1", "-www",
         "-cert", pki.server, "-key", pki.server_key, "-cert_chain", pki.intermediate, "-tls1_2",
         verify_flag, "2", "-CAfile", pki.client_ca_names, "-verifyCAfile", pki.root,
         "-verify_return_error"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    seen = b""
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.read() or b""
        seen += chunk
        if b"ACCEPT" in seen:
            os.set_blocking(proc.stdout.fileno(), True)
            return proc, seen.decode("utf-8", "replace")
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop(proc)
    return None, seen.decode("utf-8", "replace")


def run_client(pki, port, with_cert):
    """openssl s_client as for tls12-presented.pcap (with client.pem + intermediate) or
    tls12-empty.pcap (no certificate: it answers the request with an empty list)."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost",
            "-CAfile", pki.root, "-verify_return_error", "-verify_hostname", "localhost",
            "-ign_eof", "-tls1_2"]
    if with_cert:
        args += ["-cert", pki.client, "-key", pki.client_key, "-cert_chain", pki.intermediate]
    try:
        proc = subprocess.run(args, input=HTTP_REQUEST, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=15)
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode("utf-8", "replace")
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def exchange(tap, pki, port, verify_flag, with_cert, label):
    """One server + one client; TAP lines say whether the exchange itself worked."""
    server, server_out = start_server(pki, port, verify_flag)
    if not tap.ok(server is not None, "%s: s_server started on port %d" % (label, port),
                  "s_server output:\n%s" % server_out):
        return False
    try:
        code, client_out = run_client(pki, port, with_cert)
        good = code == 0 and "HTTP/1.0 200" in client_out
        tap.ok(good, "%s: s_client completed and got HTTP 200" % label,
               "returncode %r, output (last 1500 chars):\n%s" % (code, client_out[-1500:]))
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return good
    finally:
        stop(server)


def start_live(binary, port, out_path, duration):
    args = [binary, "live", "-i", "lo", "-f", "tcp port %d" % port, "--format", "json",
            "-o", out_path]
    if duration:
        args += ["--duration", str(duration)]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def load_report(tap, what, path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        tap.ok(False, "%s: the report file holds JSON" % what, "%s" % e)
        return None
    tap.ok(isinstance(doc, dict) and doc.get("schema_version") == 1,
           "%s: the report file holds JSON, schema_version 1" % what, "got %r" % (doc,))
    return doc if isinstance(doc, dict) else None


def tls_connections(doc, port):
    conns = [c for c in doc.get("connections") or []
             if (c.get("server") or {}).get("port") == port]
    return sorted(conns, key=lambda c: (c.get("first_frame") or 0, c.get("id") or 0))


def check_presented(tap, what, conn, client_sha1, intermediate_sha1):
    tls = conn.get("tls") or {}
    requested = tls.get("client_cert_requested") or {}
    presented = tls.get("client_cert_presented") or {}
    tap.eq(conn.get("app_protocol"), "tls", "%s: app_protocol = tls" % what)
    tap.eq(tls.get("version"), "TLS 1.2", "%s: version = TLS 1.2" % what)
    tap.eq(tls.get("sni"), "localhost", "%s: sni = localhost" % what)
    tap.eq((requested.get("value"), requested.get("how")), ("yes", "observed"),
           "%s: client_cert_requested = yes, observed" % what)
    tap.eq((presented.get("value"), presented.get("how")), ("yes", "observed"),
           "%s: client_cert_presented = yes, observed" % what)
    chain = tls.get("client_chain") or []
    tap.eq([c.get("sha1") for c in chain], [client_sha1, intermediate_sha1],
           "%s: client chain = client.pem, intermediate.pem (sha1)" % what)
    tap.eq(tls.get("acceptable_cas"), ["CN=mtlsdiag Test Root CA", "CN=mtlsdiag Test Intermediate CA"],
           "%s: acceptable_cas = the two CAs of client-ca-names.pem" % what)
    tap.eq(tls.get("handshake_complete"), True, "%s: handshake_complete = true" % what)


def check_sanitizers(tap, what, err):
    tap.eq(sanitizer_markers(err), [], "%s: no sanitizer report" % what)


def test_duration(tap, binary, pki, tmp, client_sha1, intermediate_sha1):
    port = free_port()
    out_path = os.path.join(tmp, "live-duration.json")
    live = start_live(binary, port, out_path, DURATION_S)
    try:
        time.sleep(STARTUP_WAIT_S)
        if not tap.ok(live.poll() is None, "live --duration: still running after %.1f s"
                      % STARTUP_WAIT_S, "it exited early with %r; stderr:\n%s"
                      % (live.poll(), read_output(live)[1] if live.poll() is not None else "")):
            return
        exchange(tap, pki, port, "-Verify", True, "exchange 1 (required, presented)")
        exchange(tap, pki, port, "-verify", False, "exchange 2 (optional, empty list)")
        try:
            code = live.wait(timeout=DURATION_S + 15)
        except subprocess.TimeoutExpired:
            code = None
        tap.ok(code is not None, "live --duration %d: ended by itself" % DURATION_S,
               "still running 15 s after it should have stopped; sending SIGINT to check the "
               "rest of the report")
        if code is None:
            live.send_signal(signal.SIGINT)
            try:
                code = live.wait(timeout=5)
            except subprocess.TimeoutExpired:
                tap.ok(False, "live --duration: stops on SIGINT after the missed deadline",
                       "still running 5 s after SIGINT")
                return
        out, err = read_output(live)
        check_sanitizers(tap, "live --duration", err)
        tap.eq(code, 1, "live --duration: exit status 1 (an empty list was sent when requested)")
        # With -o the report goes to the file and the live lines to stdout; accept either stream.
        lines = [l for l in (out + err).splitlines() if str(port) in l]
        tap.ok(len(lines) >= 2, "live --duration: a live line for each handshake",
               "lines naming port %d: %r\nstdout:\n%s\nstderr:\n%s" % (port, lines, out, err))
        doc = load_report(tap, "live --duration", out_path)
        if doc is None:
            return
        inputs = doc.get("inputs") or [{}]
        tap.eq(inputs[0].get("path"), "lo", "live --duration: inputs[0].path = lo")
        tap.eq(inputs[0].get("link_type"), "EN10MB", "live --duration: link_type EN10MB")
        conns = tls_connections(doc, port)
        if not tap.ok(len(conns) == 2, "live --duration: two connections to port %d" % port,
                      "got %d: %r" % (len(conns), doc.get("connections"))):
            return
        check_presented(tap, "live conn 1", conns[0], client_sha1, intermediate_sha1)
        tls = conns[1].get("tls") or {}
        requested = tls.get("client_cert_requested") or {}
        presented = tls.get("client_cert_presented") or {}
        tap.eq((requested.get("value"), requested.get("how")), ("yes", "observed"),
               "live conn 2: client_cert_requested = yes, observed")
        tap.eq((presented.get("value"), presented.get("how")), ("empty", "observed"),
               "live conn 2: client_cert_presented = empty, observed")
        tap.eq(tls.get("client_chain"), [], "live conn 2: client_chain is empty")
        tap.eq(tls.get("handshake_complete"), True,
               "live conn 2: handshake_complete = true (-verify only requests)")
        tap.ok(len(conns[1].get("findings") or []) >= 1,
               "live conn 2: a finding explains the empty list",
               "findings %r" % (conns[1].get("findings"),))
        summary = doc.get("summary") or {}
        tap.eq(summary.get("connections_with_problem"), 1,
               "live --duration: summary.connections_with_problem = 1")
    finally:
        stop(live)


def test_sigint(tap, binary, pki, tmp, client_sha1, intermediate_sha1):
    port = free_port()
    out_path = os.path.join(tmp, "live-sigint.json")
    live = start_live(binary, port, out_path, None)
    try:
        time.sleep(STARTUP_WAIT_S)
        if not tap.ok(live.poll() is None, "live (no duration): running after %.1f s"
                      % STARTUP_WAIT_S, "it exited early with %r" % (live.poll(),)):
            return
        exchange(tap, pki, port, "-Verify", True, "SIGINT exchange (required, presented)")
        time.sleep(1.0)
        live.send_signal(signal.SIGINT)
        started = time.monotonic()
        try:
            code = live.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        tap.ok(code is not None, "live: exits within 5 s of SIGINT",
               "still running after %.1f s" % (time.monotonic() - started))
        if code is None:
            return
        out, err = read_output(live)
        check_sanitizers(tap, "live SIGINT", err)
        tap.eq(code, 0, "live SIGINT: exit status 0 (the one connection presented its certificate)")
        doc = load_report(tap, "live SIGINT", out_path)
        if doc is None:
            return
        conns = tls_connections(doc, port)
        if tap.ok(len(conns) == 1, "live SIGINT: the report has the connection to port %d" % port,
                  "got %d: %r" % (len(conns), doc.get("connections"))):
            check_presented(tap, "live SIGINT conn", conns[0], client_sha1, intermediate_sha1)
    finally:
        stop(live)


def main():
    binary, captures = command_line("test_live.py MTLSDIAG CAPTURES_DIR")
    if os.geteuid() != 0:
        skip_all("needs root to capture on lo")
    if shutil.which("openssl") is None:
        skip_all("the openssl command is not installed")
    able, why = can_capture()
    if not able:
        skip_all("cannot open a packet socket (%s)" % why)
    if not os.path.exists("/sys/class/net/lo"):
        skip_all("no loopback interface lo")
    tap = Tap()
    require_executable(tap, binary)
    pki = Pki(captures)
    client_sha1 = sha1_fingerprint(pki.client)
    intermediate_sha1 = sha1_fingerprint(pki.intermediate)
    with tempfile.TemporaryDirectory(prefix="mtlsdiag-live-") as tmp:
        test_duration(tap, binary, pki, tmp, client_sha1, intermediate_sha1)
        test_sigint(tap, binary, pki, tmp, client_sha1, intermediate_sha1)
    tap.finish()


if __name__ == "__main__":
    main()
