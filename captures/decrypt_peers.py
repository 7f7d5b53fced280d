#!/usr/bin/env python3
"""decrypt_peers.py - loopback peers and drivers used by make-decrypt-captures.sh (stdlib only).

Every subcommand talks real TLS on 127.0.0.1 and prints what it did, one line per event, to
standard output (the make script keeps these logs and write_decrypt_expected.py checks them
against what tshark sees).  Paths are used as given; the make script runs this from captures/
so the PKI paths are relative (pki/...).  Key logs are NSS format (SSLKEYLOGFILE).

  pha-server --port N --cert F --key F --cafile F [--keylog F]
      Python ssl, TLS 1.3 only, ONE connection, HTTP/1.1 keep-alive.  post_handshake_auth is
      enabled with verify_mode CERT_OPTIONAL, so OpenSSL does NOT ask for a certificate in the
      handshake (SSL_VERIFY_POST_HANDSHAKE).  GET /public: 200 without asking.  GET /secure:
      verify_client_post_handshake() + do_handshake() (OpenSSL writes the CertificateRequest
      then), then reads with a short socket timeout until the client's answer has been
      processed (a certificate: getpeercert() is filled; an empty Certificate: nothing to wait
      for, so the reads stop after PHA_WAIT_S), then 200 when a certificate came, 403 if not.
      Prints READY, then "request: METHOD PATH", "pha: requested", "pha: certificate CN=..." or
      "pha: no certificate", "response: STATUS".

  pha-client --port N --cafile F --keylog F [--cert F --key F]
      Python ssl client (TLS 1.3, SNI localhost, ctx.post_handshake_auth = True, the client
      chain loaded only when --cert is given) + http.client on ONE connection: GET /public,
      then GET /secure.  Prints "status: PATH STATUS" per answer.

  cert-optional-server --port N --tls 1.2|1.3 --cert F --key F --cafile F [--keylog F]
      Python ssl server, verify_mode CERT_OPTIONAL (the CertificateRequest is in the
      handshake), ONE connection, ONE HTTP/1.1 request: 403 Forbidden when the client sent no
      certificate, 200 when it did.  Connection: close, then close_notify.

  openssl-reneg --port N --client-cert yes|no --keylog F --server-keylog F --cmds F
      Drives `openssl s_server -tls1_2` (no -www) and `openssl s_client -tls1_2` through their
      standard input (pipes; s_server's and s_client's connected commands are letters at the
      start of a line).  The initial handshake requests nothing.  The client sends
      GET /public (the driver answers 200 through s_server's stdin), then GET /secure; once
      that has arrived the driver types `R` into s_server (renegotiate and request a client
      certificate), waits for the renegotiation's server Finished (-state:
      "SSL_accept:SSLv3/TLS write finished" a second time), and answers 200 if s_server
      verified a client certificate (its verify callback printed "depth=0 CN = ..."), 403 if
      not.  Then the client's stdin is closed (s_client sends close_notify and exits).

  openssl-keyupdate --port N --keylog F --server-keylog F --cmds F
      Drives `openssl s_server -tls1_3 -www` and an interactive `openssl s_client -tls1_3`:
      after the handshake (and the session tickets) the driver types `K` into s_client
      (KeyUpdate with update_requested: the server answers with its own KeyUpdate), then sends
      "GET / HTTP/1.0"; s_server -www answers with its status page and closes.
"""
import argparse
import http.client
import queue
import socket
import ssl
import subprocess
import sys
import threading
import time

PHA_WAIT_S = 1.5
STEP_TIMEOUT_S = 10


def say(*parts):
    print(*parts, flush=True)


# ------------------------------------------------------------------ HTTP/1.1 over a socket
def read_head(conn, buf):
    """Reads until the end of a request head; returns (head bytes or None at EOF, rest)."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def response(status, reason, body):
    body = body.encode()
    return (("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
             % (status, reason, len(body))).encode() + body)


def server_context(args, tls13_only):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if tls13_only or args.tls == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(cafile=args.cafile)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])  # selected only when the client offers it (curl)
    if args.keylog:
        ctx.keylog_filename = args.keylog
    return ctx


def listen(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    say("READY")
    return srv


def subject_cn(cert):
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return "CN=" + value
    return "?"


def pha_server(args):
    ctx = server_context(args, tls13_only=True)
    # CERT_OPTIONAL + post_handshake_auth: no CertificateRequest in the handshake.
    ctx.post_handshake_auth = True
    srv = listen(args.port)
    raw, _ = srv.accept()
    srv.close()
    raw.settimeout(STEP_TIMEOUT_S)
    with ctx.wrap_socket(raw, server_side=True) as conn:
        say("handshake:", conn.version(), conn.cipher()[0])
        buf = b""
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                break
            method, path = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
            say("request:", method, path)
            if path == "/secure":
                conn.verify_client_post_handshake()
                conn.do_handshake()  # writes the CertificateRequest now
                say("pha: requested")
                deadline = time.monotonic() + PHA_WAIT_S
                conn.settimeout(0.1)
                while conn.getpeercert() is None and time.monotonic() < deadline:
                    try:
                        data = conn.recv(65536)
                    except (socket.timeout, TimeoutError):
                        continue
                    if not data:
                        break
                    buf += data
                conn.settimeout(STEP_TIMEOUT_S)
                cert = conn.getpeercert()
                if cert:
                    say("pha: certificate", subject_cn(cert))
                    status, reason, body = 200, "OK", "secure: hello %s\n" % subject_cn(cert)
                else:
                    say("pha: no certificate")
                    status, reason, body = 403, "Forbidden", "a client certificate is required\n"
            else:
                status, reason, body = 200, "OK", "public\n"
            conn.sendall(response(status, reason, body))
            say("response:", status)
        try:
            conn.unwrap()
        except (ssl.SSLError, OSError):
            pass


def client_context(args, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = version
    ctx.load_verify_locations(cafile=args.cafile)
    ctx.keylog_filename = args.keylog
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def pha_client(args):
    ctx = client_context(args, ssl.TLSVersion.TLSv1_3)
    ctx.post_handshake_auth = True
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=STEP_TIMEOUT_S)
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    say("handshake:", tls.version(), tls.cipher()[0])
    conn = http.client.HTTPConnection("localhost", args.port, timeout=STEP_TIMEOUT_S)
    conn.sock = tls  # keep-alive on this one TLS connection
    for path in ("/public", "/secure"):
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        say("status:", path, resp.status)
    conn.close()


def cert_optional_server(args):
    ctx = server_context(args, tls13_only=False)
    srv = listen(args.port)
    raw, _ = srv.accept()
    srv.close()
    raw.settimeout(STEP_TIMEOUT_S)
    with ctx.wrap_socket(raw, server_side=True) as conn:
        say("handshake:", conn.version(), conn.cipher()[0])
        head, _ = read_head(conn, b"")
        method, path = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
        say("request:", method, path)
        cert = conn.getpeercert()
        if cert:
            say("certificate:", subject_cn(cert))
            data = response(200, "OK", "orders\n")
            status = 200
        else:
            say("certificate: none")
            data = response(403, "Forbidden", "a client certificate is required\n")
            status = 403
        conn.sendall(data.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))
        say("response:", status)
        try:
            conn.unwrap()
        except (ssl.SSLError, OSError):
            pass


# ------------------------------------------------------------------ driving openssl s_*
class Peer:
    """An openssl s_server / s_client with its stdin as a pipe and its output read line by
    line (stdout and stderr) into one queue, so the driver can wait for a line."""

    def __init__(self, name, argv, log):
        self.name = name
        self.lines = []
        self.queue = queue.Queue()
        self.log = log
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        for stream, tag in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            threading.Thread(target=self._read, args=(stream, tag), daemon=True).start()

    def _read(self, stream, tag):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.queue.put(line)
            self.log.write("%s.%s: %s\n" % (self.name, tag, line))
            self.log.flush()

    def wait_for(self, predicate, what, timeout=STEP_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None and self.queue.empty():
                    break
                continue
            self.lines.append(line)
            if predicate(line):
                return line
        raise SystemExit("%s: timed out waiting for %s" % (self.name, what))

    def wait_line(self, text, timeout=STEP_TIMEOUT_S):
        return self.wait_for(lambda line: text in line, repr(text), timeout)

    def drain(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.lines.append(self.queue.get(timeout=0.05))
            except queue.Empty:
                pass

    def type(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def finish(self, timeout=STEP_TIMEOUT_S):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("%s did not exit" % self.name)


def write_cmds(path, entries, keylog, server_keylog):
    """Appends the peers' command lines (key log paths as FILE.keys / FILE.server-keys)."""
    with open(path, "a") as f:
        for what, argv in entries:
            text = " ".join(argv).replace(keylog, "FILE.keys").replace(server_keylog,
                                                                          "FILE.server-keys")
            f.write("%s: %s\n" % (what, text))


SERVER_BASE = ["-cert", "pki/server.pem", "-key", "pki/server-key.TEST-ONLY.pem",
               "-cert_chain", "pki/intermediate.pem"]
CLIENT_BASE = ["-servername", "localhost", "-CAfile", "pki/root.pem", "-verify_return_error",
               "-verify_hostname", "localhost"]
CLIENT_CERT = ["-cert", "pki/client.pem", "-key", "pki/client-key.TEST-ONLY.pem",
               "-cert_chain", "pki/intermediate.pem"]


def openssl_reneg(args):
    server = (["openssl", "s_server", "-accept", "127.0.0.1:%d" % args.port, "-naccept", "1",
               "-tls1_2"] + SERVER_BASE +
              # No -verify: the initial handshake asks for nothing.  -CAfile fills the CA
              # names of the CertificateRequest that `R` makes; -verifyCAfile is the trust
              # anchor for the check; a new session on renegotiation (else s_client resumes
              # and no certificate is asked for); -state prints the handshake progress.
              ["-CAfile", "pki/client-ca-names.pem", "-verifyCAfile", "pki/root.pem",
               "-no_resumption_on_reneg", "-state", "-keylogfile", args.server_keylog])
    client = (["openssl", "s_client", "-connect", "127.0.0.1:%d" % args.port, "-tls1_2"] +
              CLIENT_BASE + ["-keylogfile", args.keylog] +
              (CLIENT_CERT if args.client_cert == "yes" else []))
    write_cmds(args.cmds, [("server", server), ("client", client)], args.keylog,
               args.server_keylog)
    log = sys.stdout
    srv = Peer("s_server", server, log)
    srv.wait_line("ACCEPT")
    cli = Peer("s_client", client, log)
    cli.wait_line("Verify return code")
    srv.wait_for(lambda line: line.startswith("CIPHER is"), "the handshake")

    say("driver: GET /public")
    cli.type(b"GET /public HTTP/1.1\r\nHost: localhost\r\n\r\n")
    srv.wait_line("GET /public HTTP/1.1")
    srv.wait_line("Host: localhost")
    srv.type(response(200, "OK", "public\n"))
    say("driver: response 200 to /public")
    cli.wait_for(lambda line: line == "public", "the /public body")

    say("driver: GET /secure")
    cli.type(b"GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n")
    srv.wait_line("GET /secure HTTP/1.1")
    srv.wait_line("Host: localhost")
    time.sleep(0.2)
    say("driver: R (renegotiate, request a client certificate)")
    mark = len(srv.lines)
    srv.type(b"R\n")
    srv.wait_line("SSL_accept:SSLv3/TLS write finished")
    srv.drain(0.3)
    presented = any(line.startswith("depth=0 ") for line in srv.lines[mark:])
    if presented:
        leaf = next(line for line in srv.lines[mark:] if line.startswith("depth=0 "))
        say("driver: renegotiation done, server verified", leaf)
        srv.type(response(200, "OK", "secure\n"))
        say("driver: response 200 to /secure")
    else:
        say("driver: renegotiation done, no client certificate")
        srv.type(response(403, "Forbidden", "a client certificate is required\n"))
        say("driver: response 403 to /secure")
    cli.wait_for(lambda line: line in ("secure", "a client certificate is required"),
                 "the /secure body")
    time.sleep(0.3)
    say("driver: closing the client's stdin")
    cli.close_stdin()
    cli.finish()
    srv.finish()


def openssl_keyupdate(args):
    server = (["openssl", "s_server", "-accept", "127.0.0.1:%d" % args.port, "-naccept", "1",
               "-www", "-tls1_3"] + SERVER_BASE +
              ["-Verify", "2", "-CAfile", "pki/client-ca-names.pem", "-verifyCAfile",
               "pki/root.pem", "-verify_return_error", "-keylogfile", args.server_keylog])
    client = (["openssl", "s_client", "-connect", "127.0.0.1:%d" % args.port, "-tls1_3"] +
              CLIENT_BASE + ["-keylogfile", args.keylog] + CLIENT_CERT)
    write_cmds(args.cmds, [("server", server), ("client", client)], args.keylog,
               args.server_keylog)
    log = sys.stdout
    srv = Peer("s_server", server, log)
    srv.wait_line("ACCEPT")
    cli = Peer("s_client", client, log)
    cli.wait_line("Verify return code")
    cli.drain(0.3)  # the NewSessionTickets
    say("driver: K (KeyUpdate, update_requested)")
    cli.type(b"K\n")
    cli.wait_line("KEYUPDATE")
    time.sleep(0.3)
    say("driver: GET /")
    cli.type(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    cli.wait_line("HTTP/1.0 200 ok")
    cli.finish()
    srv.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("pha-server", "cert-optional-server"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--cert", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--cafile", required=True)
        p.add_argument("--keylog")
        p.add_argument("--tls", choices=("1.2", "1.3"), default="1.3")
    p = sub.add_parser("pha-client")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cafile", required=True)
    p.add_argument("--keylog", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    for name in ("openssl-reneg", "openssl-keyupdate"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--keylog", required=True)
        p.add_argument("--server-keylog", required=True)
        p.add_argument("--cmds", required=True)
        if name == "openssl-reneg":
            p.add_argument("--client-cert", choices=("yes", "no"), required=True)
    args = ap.parse_args()
    {"pha-server": pha_server, "pha-client": pha_client,
     "cert-optional-server": cert_optional_server, "openssl-reneg": openssl_reneg,
     "openssl-keyupdate": openssl_keyupdate}[args.cmd](args)


if __name__ == "__main__":
    main()
