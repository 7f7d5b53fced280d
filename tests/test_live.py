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
  3. live --findings-only --stats 1 --save-flagged FILE with the two handshakes of 1: finding
     lines only for the empty-list connection, one per warning or error of the report; stats lines
     on standard error; the saved pcapng opens in tshark, holds exactly that connection from its
     SYN with every packet commented with its frame number, and analyses to the same facts.
  4. live -Z nobody --save-flagged FILE --save-ring-bytes 1024: /proc/PID/status shows nobody's
     ids while it runs; the report and the (cut short) saved connection are still written.
  5. Usage errors exit 2 with one line: -Z with an unknown user, -Z without root (run as nobody),
     --save-ring-bytes without --save-flagged, an unwritable --save-flagged file.
Every process is bounded by a timeout and killed in a finally block.
"""
import json
import os
import pwd
import re
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


def start_server(pki, port, verify_flag, host="127.0.0.1"):
    """openssl s_server as for tls12-presented.pcap (-Verify 2) or tls12-empty.pcap (-verify 2).
    Returns the process once it printed ACCEPT."""
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", "%s:%d" % (host, port), "-naccept", "1", "-www",
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


def run_client(pki, port, with_cert, host="127.0.0.1"):
    """openssl s_client as for tls12-presented.pcap (with client.pem + intermediate) or
    tls12-empty.pcap (no certificate: it answers the request with an empty list)."""
    args = ["openssl", "s_client", "-connect", "%s:%d" % (host, port), "-servername", "localhost",
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


def exchange(tap, pki, port, verify_flag, with_cert, label, host="127.0.0.1"):
    """One server + one client; TAP lines say whether the exchange itself worked."""
    server, server_out = start_server(pki, port, verify_flag, host)
    if not tap.ok(server is not None, "%s: s_server started on port %d" % (label, port),
                  "s_server output:\n%s" % server_out):
        return False
    try:
        code, client_out = run_client(pki, port, with_cert, host)
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


def server_filter(port, host="127.0.0.1"):
    """The BPF filter for one test server: only its own connections, not those of another
    test's client whose ephemeral port happens to be the same number."""
    return "tcp and ((src host %s and src port %d) or (dst host %s and dst port %d))" % (
        host, port, host, port)


def start_live(binary, port, out_path, duration):
    args = [binary, "live", "-i", "lo", "-f", server_filter(port), "--format", "json",
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


# ---- --findings-only, --stats, --save-flagged, -Z ---------------------------------------------

FINDING_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) #(\d+) "
                          r"127\.0\.0\.\d+:(\d+) -> 127\.0\.0\.\d+:(\d+) (warning|error) "
                          r"([A-Z0-9_]+): (.+)$")
STATS_KEYS = ("packets", "live_flows", "flows_evicted", "flows_idle_closed", "pcap_received",
              "pcap_dropped", "connections", "findings_error", "findings_warning",
              "findings_info", "saved", "saved_cut_short")
SAVED_COMMENT = re.compile(r"^mtlsdiag connection (\d+), frame (\d+)( \(.*\))?$")


def start_live_args(binary, port, out_path, extra, host="127.0.0.1"):
    args = [binary, "live", "-i", "lo", "-f", server_filter(port, host), "--format", "json",
            "-o", out_path] + extra
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def interrupt(tap, what, live):
    """SIGINT, then the exit status and output; None when it did not stop."""
    live.send_signal(signal.SIGINT)
    try:
        code = live.wait(timeout=10)
    except subprocess.TimeoutExpired:
        tap.ok(False, "%s: exits within 10 s of SIGINT" % what)
        return None, "", ""
    out, err = read_output(live)
    check_sanitizers(tap, what, err)
    return code, out, err


def flagged_codes(conn):
    return sorted(f.get("code") for f in conn.get("findings") or []
                  if f.get("severity") in ("warning", "error"))


def read_saved(tap, what, path):
    """The saved file's packets through tshark: [(srcport, dstport, syn, ack, comment)], or None
    when tshark is missing or fails (a failing check then)."""
    if shutil.which("tshark") is None:
        tap.note("%s: tshark is not installed; the saved file is not checked with it" % what)
        return None
    proc = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "tcp.srcport",
                           "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack",
                           "-e", "frame.comment", "-E", "separator=/t"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)
    if not tap.eq(proc.returncode, 0, "%s: tshark -r opens the saved pcapng" % what):
        tap.note(proc.stderr.decode("utf-8", "replace")[-1500:])
        return None
    rows = []
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split("\t")
        fields += [""] * (5 - len(fields))
        rows.append((int(fields[0] or 0), int(fields[1] or 0), fields[2] in ("1", "True"),
                     fields[3] in ("1", "True"), fields[4]))
    return rows


def check_saved_connection(tap, what, rows, conn):
    """rows (read_saved) hold exactly conn's packets, from its SYN, commented with its frames."""
    client = (conn.get("client") or {}).get("port")
    server = (conn.get("server") or {}).get("port")
    pairs = {frozenset((r[0], r[1])) for r in rows}
    tap.eq(pairs, {frozenset((client, server))},
           "%s: the saved file holds only the flagged connection (ports %s, %s)"
           % (what, client, server))
    tap.eq(len(rows), conn.get("packets"),
           "%s: all %r of its packets are saved" % (what, conn.get("packets")))
    if not rows:
        return
    tap.ok(rows[0][2] and not rows[0][3] and rows[0][0] == client,
           "%s: the first saved packet is the client's SYN" % what, "first row %r" % (rows[0],))
    comments = [SAVED_COMMENT.match(r[4]) for r in rows]
    tap.ok(all(comments), "%s: every packet is commented \"mtlsdiag connection N, frame M\"" % what,
           "comments %r" % [r[4] for r in rows][:5])
    if all(comments):
        ids = {int(m.group(1)) for m in comments}
        frames = [int(m.group(2)) for m in comments]
        tap.eq(ids, {conn.get("id")}, "%s: the comments name connection %r" % (what, conn.get("id")))
        tap.ok(frames == sorted(frames) and len(set(frames)) == len(frames)
               and frames[0] == conn.get("first_frame") and frames[-1] == conn.get("last_frame"),
               "%s: the comments' frame numbers run from first_frame to last_frame" % what,
               "frames %r, first_frame %r, last_frame %r"
               % (frames, conn.get("first_frame"), conn.get("last_frame")))


def test_findings_stats_save(tap, binary, pki, tmp):
    """--findings-only, --stats 1 and --save-flagged in one run: a fine connection and one that
    answers the server's request with an empty certificate list."""
    what = "live --findings-only --stats --save-flagged"
    port = free_port()
    out_path = os.path.join(tmp, "live-flagged.json")
    saved_path = os.path.join(tmp, "flagged.pcapng")
    live = start_live_args(binary, port, out_path,
                           ["--findings-only", "--stats", "1", "--save-flagged", saved_path])
    try:
        time.sleep(STARTUP_WAIT_S)
        if not tap.ok(live.poll() is None, "%s: running after %.1f s" % (what, STARTUP_WAIT_S),
                      "it exited early with %r" % (live.poll(),)):
            return
        exchange(tap, pki, port, "-Verify", True, "flagged run: exchange 1 (presented)")
        exchange(tap, pki, port, "-verify", False, "flagged run: exchange 2 (empty list)")
        time.sleep(1.5)
        code, out, err = interrupt(tap, what, live)
        if code is None:
            return
        tap.eq(code, 1, "%s: exit status 1" % what)
        doc = load_report(tap, what, out_path)
        if doc is None:
            return
        conns = tls_connections(doc, port)
        problem = [c for c in conns if "CERT_REQUESTED_EMPTY" in flagged_codes(c)]
        fine = [c for c in conns if not flagged_codes(c)]
        if not tap.ok(len(conns) == 2 and len(problem) == 1 and len(fine) == 1,
                      "%s: the report has one fine and one CERT_REQUESTED_EMPTY connection" % what,
                      "connections %r" % conns):
            return
        problem, fine = problem[0], fine[0]

        # --findings-only: lines for the problem connection only, one per warning or error.
        lines = [l for l in out.splitlines() if l.strip()]
        parsed = [FINDING_LINE.match(l) for l in lines]
        tap.ok(lines and all(parsed), "%s: every standard output line is a finding line" % what,
               "stdout:\n%s" % out)
        if lines and all(parsed):
            tap.eq({(int(m.group(2)), int(m.group(3))) for m in parsed},
                   {(problem.get("id"), problem["client"]["port"])},
                   "%s: finding lines name only the problem connection (id, client port)" % what)
            tap.eq(sorted(m.group(6) for m in parsed), flagged_codes(problem),
                   "%s: one line per warning or error finding of the report, no repeats" % what)
            tap.ok(any(m.group(5) == "error" and m.group(6) == "CERT_REQUESTED_EMPTY"
                       for m in parsed),
                   "%s: a line says error CERT_REQUESTED_EMPTY" % what, "stdout:\n%s" % out)
        tap.ok(str(fine["client"]["port"]) not in out,
               "%s: nothing is printed for the fine connection" % what, "stdout:\n%s" % out)

        # --stats: key=value lines on standard error.
        stats = [l for l in err.splitlines() if l.startswith("mtlsdiag: stats ")]
        tap.ok(len(stats) >= 3, "%s: --stats 1 printed a line a second to standard error" % what,
               "stderr:\n%s" % err)
        if stats:
            last = dict(re.findall(r"(\w+)=(\S+)", stats[-1]))
            tap.eq(sorted(k for k in STATS_KEYS if k not in last), [],
                   "%s: a stats line has every counter" % what)
            n_errors = sum(1 for c in doc.get("connections") or [] for f in c.get("findings") or []
                           if f.get("severity") == "error")
            tap.eq((last.get("connections"), last.get("findings_error"), last.get("saved"),
                    last.get("live_flows")),
                   (str(len(doc.get("connections") or [])), str(n_errors), "1", "0"),
                   "%s: the last stats line counts the connections, errors and the saved one"
                   % what)

        # --save-flagged: the problem connection, all of it, and nothing else.
        summary = doc.get("summary") or {}
        tap.eq(summary.get("saved_flagged"),
               {"connections": 1, "cut_short": 0, "packets": problem.get("packets")},
               "%s: summary.saved_flagged counts the one saved connection" % what)
        rows = read_saved(tap, what, saved_path)
        if rows is not None:
            check_saved_connection(tap, what, rows, problem)
        code, again_out, again_err = run_analyze(binary, saved_path)
        tap.eq(code, 1, "analyze of the saved file: exit status 1")
        try:
            again = json.loads(again_out)
        except ValueError:
            tap.ok(False, "analyze of the saved file: JSON", again_err[-1500:])
            return
        again_conns = again.get("connections") or []
        tap.eq([(c["client"]["port"], c.get("packets"), flagged_codes(c)) for c in again_conns],
               [(problem["client"]["port"], problem.get("packets"), flagged_codes(problem))],
               "analyze of the saved file: the same connection, packets and findings")
    finally:
        stop(live)


def test_findings_outbound(tap, binary, pki, tmp):
    """--findings-only with --app: the app (127.0.0.1) calls a server on 127.0.0.2 that asks for a
    certificate, and answers with an empty list.  The line printed as the handshake ends must
    already say what the report says, OUTBOUND_CERT_NOT_LOADED, not the inbound
    CERT_REQUESTED_EMPTY (the --app checks once ran only on the final connection)."""
    what = "live --findings-only --app"
    port = free_port()
    out_path = os.path.join(tmp, "live-outbound.json")
    live = start_live_args(binary, port, out_path,
                           ["--findings-only", "--app", "127.0.0.1/32"], host="127.0.0.2")
    try:
        time.sleep(STARTUP_WAIT_S)
        if not tap.ok(live.poll() is None, "%s: running after %.1f s" % (what, STARTUP_WAIT_S),
                      "it exited early with %r" % (live.poll(),)):
            return
        exchange(tap, pki, port, "-verify", False, "outbound run: exchange (empty list)",
                 host="127.0.0.2")
        time.sleep(1.5)
        code, out, err = interrupt(tap, what, live)
        if code is None:
            return
        doc = load_report(tap, what, out_path)
        if doc is None:
            return
        conns = tls_connections(doc, port)
        if not tap.ok(len(conns) == 1, "%s: the report has the one connection" % what,
                      "connections %r" % conns):
            return
        conn = conns[0]
        tap.eq(conn.get("direction"), "outbound", "%s: the report says outbound" % what)
        tap.ok("OUTBOUND_CERT_NOT_LOADED" in flagged_codes(conn),
               "%s: the report has OUTBOUND_CERT_NOT_LOADED" % what,
               "codes %r" % flagged_codes(conn))
        parsed = [FINDING_LINE.match(l) for l in out.splitlines() if l.strip()]
        tap.ok(parsed and all(parsed), "%s: standard output is finding lines" % what,
               "stdout:\n%s" % out)
        if parsed and all(parsed):
            tap.eq(sorted(m.group(6) for m in parsed), flagged_codes(conn),
                   "%s: the lines hold exactly the report's warning and error codes" % what)
    finally:
        stop(live)


def run_analyze(binary, path):
    proc = subprocess.run([binary, "analyze", "--format", "json", path], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def status_ids(pid):
    """(Uid line, Gid line, Groups line) of /proc/PID/status, as lists of ints."""
    found = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                found[key] = [int(v) for v in value.split()]
    return found.get("Uid"), found.get("Gid"), found.get("Groups")


def test_drop_privileges(tap, binary, pki, tmp):
    """-Z nobody: it runs as nobody once the interface and files are open, and still writes the
    report and the saved packets; a 1024-byte ring cuts the saved connection short."""
    what = "live -Z nobody"
    nobody = pwd.getpwnam("nobody")
    port = free_port()
    out_path = os.path.join(tmp, "live-nobody.json")
    saved_path = os.path.join(tmp, "nobody.pcapng")
    live = start_live_args(binary, port, out_path,
                           ["-Z", "nobody", "--save-flagged", saved_path,
                            "--save-ring-bytes", "1024"])
    try:
        time.sleep(STARTUP_WAIT_S)
        if not tap.ok(live.poll() is None, "%s: running after %.1f s" % (what, STARTUP_WAIT_S),
                      "it exited with %r: %s" % (live.poll(), read_output(live)[1]
                                                 if live.poll() is not None else "")):
            return
        uid, gid, groups = status_ids(live.pid)
        tap.eq(uid, [nobody.pw_uid] * 4, "%s: real, effective, saved and fs uid are nobody's" % what)
        tap.eq(gid, [nobody.pw_gid] * 4, "%s: every gid is nobody's group" % what)
        wanted_groups = sorted(set(os.getgrouplist("nobody", nobody.pw_gid)))
        tap.eq(sorted(groups or []), wanted_groups,
               "%s: supplementary groups are nobody's (initgroups)" % what)
        exchange(tap, pki, port, "-verify", False, "nobody run: exchange (empty list)")
        time.sleep(1.5)
        code, _, err = interrupt(tap, what, live)
        if code is None:
            return
        tap.eq(code, 1, "%s: exit status 1" % what)
        doc = load_report(tap, what, out_path)
        if doc is None:
            return
        conns = tls_connections(doc, port)
        tap.eq(len(conns), 1, "%s: the report has the connection" % what)
        saved = (doc.get("summary") or {}).get("saved_flagged") or {}
        tap.eq((saved.get("connections"), saved.get("cut_short")), (1, 1),
               "%s --save-ring-bytes 1024: saved 1 connection, cut short" % what)
        rows = read_saved(tap, what + " (cut short)", saved_path)
        if rows and conns:
            tap.ok(0 < len(rows) < conns[0].get("packets", 0) and not rows[0][2],
                   "%s: the cut-short file holds the last packets only, not the SYN" % what,
                   "rows %r, packets %r" % (rows[:3], conns[0].get("packets")))
            tap.ok("did not fit in --save-ring-bytes" in rows[0][4],
                   "%s: the first saved packet's comment says earlier packets are missing" % what,
                   "comment %r" % rows[0][4])
    finally:
        stop(live)


def test_option_errors(tap, binary):
    """-Z with an unknown user, -Z without root, --save-ring-bytes alone: exit 2, one line."""
    cases = [
        (["-Z", "mtlsdiag-no-such-user"], 'unknown user "mtlsdiag-no-such-user"', None),
        (["--save-ring-bytes", "4096"], "--save-ring-bytes needs --save-flagged", None),
        (["--save-flagged", "/nonexistent-dir/x.pcapng"], "--save-flagged: /nonexistent-dir",
         None),
        (["-Z", "nobody"], "-Z needs root", pwd.getpwnam("nobody")),
    ]
    for extra, message, as_user in cases:
        what = "live %s%s" % (" ".join(extra), " as nobody" if as_user else "")
        kwargs = {}
        if as_user is not None:
            kwargs = {"user": as_user.pw_uid, "group": as_user.pw_gid, "extra_groups": []}
        try:
            proc = subprocess.run([binary, "live", "-i", "lo"] + extra, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                                  **kwargs)
        except PermissionError as e:
            tap.note("%s: not tested, nobody cannot run the binary (%s)" % (what, e))
            continue
        err = proc.stderr.decode("utf-8", "replace")
        check_sanitizers(tap, what, err)
        tap.eq(proc.returncode, 2, "%s: exit status 2" % what)
        lines = [l for l in err.splitlines() if l.strip()]
        tap.ok(len(lines) == 1 and message in lines[0],
               "%s: one line on standard error naming the problem" % what, "stderr:\n%s" % err)


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
        test_findings_stats_save(tap, binary, pki, tmp)
        test_findings_outbound(tap, binary, pki, tmp)
        test_drop_privileges(tap, binary, pki, tmp)
        test_option_errors(tap, binary)
    tap.finish()


if __name__ == "__main__":
    main()
