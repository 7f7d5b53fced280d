#!/usr/bin/env python3
"""test_live_soak.py: mtlsdiag live through tens of thousands of real connections (TAP).

Usage: test_live_soak.py MTLSDIAG CAPTURES_DIR

Needs root (it captures on lo); skipped otherwise.  A server process (this script with --serve)
listens on three ports of 127.0.0.2 with the TEST-ONLY PKI of CAPTURES_DIR/pki:
  * tls-plain: TLS, no client certificate asked for (TLS 1.3 unless the client says otherwise);
  * tls-ask: TLS 1.2, a certificate requested but optional, so the handshake completes either way;
  * tcp: plain TCP.
The client, from 127.0.0.1, makes SOAK_CONNECTIONS short connections round-robin over four kinds
(tls-plain, tls-ask with client-chain.pem, tls-ask without a certificate, which sends an empty
list: a CERT_REQUESTED_EMPTY error, and tcp), each writing a line, reading the answer and closing
first, CLIENT_THREADS at a time, through
  mtlsdiag live -i lo --stats 1 --max-flows 2000 \
      -f 'tcp and ((src host 127.0.0.2 and src port A) or (dst host 127.0.0.2 and dst port A) or ...)'
      --format json -o report.json --save-flagged flagged.pcapng
then stops it with SIGINT.  Checks: VmRSS (/proc/PID/status, every 0.2 s) stays flat (the
highest sample of the second half of the traffic is at most 1.25 times the highest of the first
quarter after warm-up, plus RSS_SLACK_KIB; not asserted under AddressSanitizer, whose quarantine
grows by design), every connection made is in the report (by client and server port) unless the
kernel's reported drops explain the gap, the counts of the problem connections and of those
saved agree, and --stats printed its lines.  The RSS series, mtlsdiag's CPU time and the
chainer's peak are printed as TAP comments.  MTLSDIAG_SOAK_CONNECTIONS overrides the count.
Every process is bounded by a timeout and ended in a finally block.
"""
import collections
import concurrent.futures
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, command_line, require_executable, sanitizer_markers, skip_all  # noqa: E402

SOAK_CONNECTIONS = int(os.environ.get("MTLSDIAG_SOAK_CONNECTIONS", "20000"))
CLIENT_THREADS = 12
SAMPLE_INTERVAL_S = 0.2
RSS_FACTOR = 1.25
RSS_SLACK_KIB = 4096
TRAFFIC_TIMEOUT_S = 240
KINDS = ("tls-plain", "tls-ask-presented", "tls-ask-empty", "tcp")
REQUEST = b"ping\n"
# Clients and servers on different loopback addresses, as a jump host sees callers and a
# service.  (With one address at both ends every connection could be the next hop of every
# other, and the chainer, mtd-chain.h, holds them all until the end: that is its own matter.)
CLIENT_ADDRESS = "127.0.0.1"
SERVER_ADDRESS = "127.0.0.2"
ANSWER = b"pong\n"


# ---- The server (this script run with --serve PKI_DIR) ---------------------------------------

def serve_connection(conn, context):
    """Handshake (when context), read one line, answer, close.  Errors end the connection."""
    try:
        conn.settimeout(10)
        if context is not None:
            conn = context.wrap_socket(conn, server_side=True)
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(64)
            if not chunk:
                break
            data += chunk
        conn.sendall(ANSWER)
        # The client closes first, so its port waits in TIME_WAIT and is not reused at once.
        conn.recv(64)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def accept_loop(listener, context):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve_connection, args=(conn, context), daemon=True).start()


def serve(pki_dir):
    """Prints the three ports ("tls-plain tls-ask tcp") and serves until standard input closes."""
    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    plain.load_cert_chain(os.path.join(pki_dir, "server-chain.pem"),
                          os.path.join(pki_dir, "server-key.TEST-ONLY.pem"))
    ask = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ask.load_cert_chain(os.path.join(pki_dir, "server-chain.pem"),
                        os.path.join(pki_dir, "server-key.TEST-ONLY.pem"))
    ask.maximum_version = ssl.TLSVersion.TLSv1_2
    ask.verify_mode = ssl.CERT_OPTIONAL
    ask.load_verify_locations(os.path.join(pki_dir, "root.pem"))
    ports = []
    for context in (plain, ask, None):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((SERVER_ADDRESS, 0))
        listener.listen(512)
        ports.append(listener.getsockname()[1])
        threading.Thread(target=accept_loop, args=(listener, context), daemon=True).start()
    print(" ".join(str(p) for p in ports), flush=True)
    sys.stdin.read()


# ---- The client -----------------------------------------------------------------------------

class Client:
    def __init__(self, pki_dir, ports):
        self.ports = ports
        root = os.path.join(pki_dir, "root.pem")
        self.no_cert = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.no_cert.load_verify_locations(root)
        self.with_cert = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.with_cert.load_verify_locations(root)
        self.with_cert.load_cert_chain(os.path.join(pki_dir, "client-chain.pem"),
                                       os.path.join(pki_dir, "client-key.TEST-ONLY.pem"))

    def connect(self, kind):
        """One connection of kind; returns (client port, server port) or raises."""
        port = self.ports["tcp" if kind == "tcp" else
                          "tls-plain" if kind == "tls-plain" else "tls-ask"]
        sock = socket.create_connection((SERVER_ADDRESS, port), timeout=10,
                                        source_address=(CLIENT_ADDRESS, 0))
        conn = sock
        try:
            local_port = sock.getsockname()[1]
            if kind != "tcp":
                context = self.with_cert if kind == "tls-ask-presented" else self.no_cert
                conn = context.wrap_socket(sock, server_hostname="localhost")
            conn.sendall(REQUEST)
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(64)
                if not chunk:
                    break
                data += chunk
            if data != ANSWER:
                raise OSError("answer %r" % data)
            return local_port, port
        finally:
            if conn is not sock:
                conn.close()
            sock.close()


def run_traffic(client, n_connections, progress):
    """All connections, CLIENT_THREADS at a time.  Returns ([((client port, server port), kind)],
    [(kind, error)])."""
    made = []
    failures = []

    def one(i):
        kind = KINDS[i % len(KINDS)]
        try:
            return kind, client.connect(kind), None
        except (OSError, ssl.SSLError) as e:
            return kind, None, str(e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
        for kind, ports, error in pool.map(one, range(n_connections)):
            if ports is not None:
                made.append((ports, kind))
            else:
                failures.append((kind, error))
            progress[0] += 1
    return made, failures


# ---- Watching mtlsdiag ----------------------------------------------------------------------

def vm_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def uses_asan(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


class StderrReader(threading.Thread):
    """Collects a process's standard error lines (the --stats lines among them)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = []

    def run(self):
        for raw in iter(self.stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def stats_lines(self):
        return [l for l in self.lines if l.startswith("mtlsdiag: stats ")]


def parse_stats(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def stop(proc, sig=signal.SIGKILL):
    if proc is not None and proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=10)


def start_server(script, pki_dir):
    server = subprocess.Popen([sys.executable, script, "--serve", pki_dir],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready, _, _ = select.select([server.stdout], [], [], 15)
    if not ready:
        stop(server)
        return None, None
    line = server.stdout.readline().decode().split()
    if len(line) != 3:
        stop(server)
        return None, None
    return server, dict(zip(("tls-plain", "tls-ask", "tcp"), (int(p) for p in line)))


def wait_for_stats(reader, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if reader.stats_lines():
            return True
        time.sleep(0.1)
    return False


def check_rss(tap, samples, is_asan):
    """samples: (seconds since traffic start, KiB) during the traffic."""
    rss = [kib for _, kib in samples if kib is not None]
    tap.note("VmRSS during the traffic, KiB (every %.1f s; %d samples): %s"
             % (SAMPLE_INTERVAL_S, len(rss), " ".join(str(k) for k in rss)))
    if not tap.ok(len(rss) >= 20, "RSS: at least 20 samples during the traffic",
                  "got %d" % len(rss)):
        return
    warm = max(1, len(rss) // 10)
    steady = rss[warm:]
    first_quarter = steady[:max(1, len(steady) // 4)]
    second_half = steady[len(steady) // 2:]
    limit = RSS_FACTOR * max(first_quarter) + RSS_SLACK_KIB
    tap.note("RSS: warm-up %d samples; max first quarter %d KiB, max second half %d KiB, limit "
             "%d KiB; min %d, max %d overall" % (warm, max(first_quarter), max(second_half),
                                                 limit, min(rss), max(rss)))
    if is_asan:
        tap.note("RSS flatness not asserted: AddressSanitizer's quarantine holds freed memory "
                 "by design")
        return
    tap.ok(max(second_half) <= limit,
           "RSS stays flat: max of the second half <= %.2f x max of the first quarter + %d KiB"
           % (RSS_FACTOR, RSS_SLACK_KIB),
           "first quarter max %d KiB, second half max %d KiB" % (max(first_quarter),
                                                                 max(second_half)))


def check_report(tap, doc, made, stats):
    """made: [((client port, server port), kind)] of the connections the client completed."""
    summary = doc.get("summary") or {}
    conns = doc.get("connections") or []

    def pair(c):
        # Unordered: a connection whose SYN was dropped has its roles guessed.
        return frozenset(((c.get("client") or {}).get("port"), (c.get("server") or {}).get("port")))

    reported = collections.Counter(pair(c) for c in conns)
    wanted = collections.Counter(frozenset(ports) for ports, _ in made)
    missing = wanted - reported
    n_missing = sum(missing.values())
    dropped = 0
    for warning in ((doc.get("inputs") or [{}])[0].get("warnings") or []):
        m = re.search(r"kernel dropped (\d+) of", warning)
        if m:
            dropped = int(m.group(1))
    evicted = summary.get("flows_evicted", 0)
    tap.note("peak live flows %r, chainer: peak connections held %r"
             % (summary.get("peak_live_flows"),
                (summary.get("chains") or {}).get("peak_connections_held")))
    n_extra = sum((reported - wanted).values())
    tap.note("connections made %d, in the report %d, made but not in it %d, in it but not made %d "
             "(split by a lost packet or eviction), flows evicted %d, kernel drops %d"
             % (len(made), len(conns), n_missing, n_extra, evicted, dropped))
    tap.ok(n_missing <= dropped,
           "every connection made is in the report, or a packet the kernel dropped explains it",
           "missing %d (e.g. %r), kernel drops %d" % (n_missing, list(missing)[:5], dropped))
    tap.ok(len(made) - n_missing + evicted >= len(made) - dropped,
           "connections in the report + flows evicted account for the connections made",
           "found %d + evicted %d vs made %d, drops %d" % (len(made) - n_missing, evicted,
                                                          len(made), dropped))
    empty = collections.Counter(frozenset(ports) for ports, kind in made
                                if kind == "tls-ask-empty")
    problems = collections.Counter(pair(c) for c in conns
                                   if any(f.get("code") == "CERT_REQUESTED_EMPTY"
                                          for f in c.get("findings") or []))
    n_wrong = sum((problems - empty).values())
    n_unseen = sum((empty - problems).values())
    tap.ok(n_wrong == 0 and n_unseen <= dropped,
           "CERT_REQUESTED_EMPTY on the %d connections that sent no certificate, and no other"
           % sum(empty.values()),
           "on others: %d, not on %d of them; kernel drops %d" % (n_wrong, n_unseen, dropped))
    flagged = sum(1 for c in conns
                  if any(f.get("severity") in ("warning", "error") for f in c.get("findings") or []))
    saved = summary.get("saved_flagged") or {}
    tap.eq(saved.get("connections"), flagged,
           "summary.saved_flagged.connections = connections with a warning or error (%d)" % flagged)
    tap.eq(saved.get("cut_short"), 0, "summary.saved_flagged.cut_short = 0 (64 KiB rings)")
    tap.ok(summary.get("peak_live_flows", 0) <= 2000,
           "peak_live_flows <= --max-flows 2000",
           "peak_live_flows %r" % summary.get("peak_live_flows"))
    if stats:
        last = parse_stats(stats[-1])
        tap.eq(int(last.get("connections", -1)), summary.get("connections"),
               "the last --stats line's connections = summary.connections")
        n_errors = sum(1 for c in conns for f in c.get("findings") or []
                       if f.get("severity") == "error")
        tap.eq(int(last.get("findings_error", -1)), n_errors,
               "the last --stats line's findings_error = the report's error findings")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return
    binary, captures = command_line("test_live_soak.py MTLSDIAG CAPTURES_DIR")
    if os.geteuid() != 0:
        skip_all("needs root to capture on lo")
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)).close()
    except (PermissionError, AttributeError, OSError) as e:
        skip_all("cannot open a packet socket (%s)" % e)
    tap = Tap()
    require_executable(tap, binary)
    pki_dir = os.path.join(captures, "pki")
    server = live = None
    # MTD_SOAK_KEEP=DIR keeps the report and the saved pcapng there, to look into a failure.
    keep = os.environ.get("MTD_SOAK_KEEP")
    with tempfile.TemporaryDirectory(prefix="mtlsdiag-soak-") as scratch:
        tmp = keep if keep else scratch
        if keep:
            os.makedirs(keep, exist_ok=True)
        try:
            server, ports = start_server(os.path.abspath(__file__), pki_dir)
            if not tap.ok(server is not None, "the loopback server started"):
                tap.finish()
            report_path = os.path.join(tmp, "report.json")
            saved_path = os.path.join(tmp, "flagged.pcapng")
            # Only this test's servers: other tests on the machine may capture on lo too, and
            # a client of theirs can get one of these port numbers as its ephemeral port.
            bpf = "tcp and (%s)" % " or ".join(
                "(src host %s and src port %d) or (dst host %s and dst port %d)"
                % (SERVER_ADDRESS, p, SERVER_ADDRESS, p) for p in ports.values())
            live = subprocess.Popen(
                [binary, "live", "-i", "lo", "-f", bpf, "--stats", "1", "--max-flows", "2000",
                 "--format", "json", "-o", report_path, "--save-flagged", saved_path],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            reader = StderrReader(live.stderr)
            reader.start()
            if not tap.ok(wait_for_stats(reader, live, 20),
                          "live --stats 1: a stats line within 20 s of starting",
                          "stderr: %r" % reader.lines[-20:]):
                tap.finish()
            is_asan = uses_asan(live.pid)
            samples = []
            progress = [0]
            done = threading.Event()

            def sample():
                start = time.monotonic()
                while not done.is_set():
                    samples.append((time.monotonic() - start, vm_rss_kib(live.pid), progress[0]))
                    time.sleep(SAMPLE_INTERVAL_S)

            sampler = threading.Thread(target=sample, daemon=True)
            client = Client(pki_dir, ports)
            started = time.monotonic()
            sampler.start()
            cpu_before = cpu_seconds(live.pid)
            made, failures = run_traffic(client, SOAK_CONNECTIONS, progress)
            done.set()
            sampler.join()
            elapsed = time.monotonic() - started
            cpu_after = cpu_seconds(live.pid)
            tap.note("%d connections in %.1f s (%.0f a second), %d failed; mtlsdiag used %.1f s of "
                     "CPU meanwhile; load average %s"
                     % (len(made), elapsed, len(made) / max(elapsed, 0.001), len(failures),
                        (cpu_after or 0) - (cpu_before or 0), os.getloadavg()))
            tap.ok(len(failures) <= SOAK_CONNECTIONS // 1000,
                   "the traffic ran: at most 0.1%% of %d connections failed" % SOAK_CONNECTIONS,
                   "failures %d, e.g. %r" % (len(failures), failures[:5]))
            tap.ok(live.poll() is None, "live still running after the traffic")
            time.sleep(2.0)
            live.send_signal(signal.SIGINT)
            try:
                code = live.wait(timeout=60)
            except subprocess.TimeoutExpired:
                code = None
            tap.ok(code is not None, "live: exits within 60 s of SIGINT")
            reader.join(timeout=10)
            err = "\n".join(reader.lines)
            tap.eq(sanitizer_markers(err), [], "live soak: no sanitizer report")
            tap.is_in(code, (0, 1), "live soak: exit status 0 or 1")
            stats = reader.stats_lines()
            tap.ok(len(stats) >= elapsed * 0.5, "--stats 1 printed a line about every second",
                   "%d lines in %.1f s of traffic" % (len(stats), elapsed))
            for line in stats[:: max(1, len(stats) // 8)] + stats[-1:]:
                tap.note(line)
            check_rss(tap, [(t, kib) for t, kib, _ in samples], is_asan)
            try:
                with open(report_path, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                tap.ok(False, "the report file holds JSON", str(e))
                tap.finish()
            tap.ok(True, "the report file holds JSON")
            check_report(tap, doc, made, stats)
        finally:
            stop(live)
            if server is not None:
                try:
                    server.stdin.close()
                except OSError:
                    pass
                stop(server)
    tap.finish()


if __name__ == "__main__":
    main()
