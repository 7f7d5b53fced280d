#!/usr/bin/env python3
"""Tiny loopback peers used by make-captures.sh (standard library only).

  http-server --port N --mode 200|redirect
      Plain-HTTP server on 127.0.0.1 built on http.server.  Prints READY once
      listening, answers exactly one request, then exits.
        200:      200 OK with a short text/plain body.
        redirect: 301 Moved Permanently, Location: https://localhost<path>.

  tls-client --host H --port N --tls 1.2|1.3 --cafile F --keylog F
             [--cert F --key F [--chain F]]
      Python ssl client: SNI "localhost", writes the NSS key log through
      SSLContext.keylog_filename, sends "GET / HTTP/1.0" and reads the answer
      until the server closes.  TLS alerts are printed, not raised.
"""
import argparse
import http.server
import os
import socket
import ssl
import sys
import tempfile


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "200"
    server_version = "mtlsdiag-test-http/1.0"
    sys_version = ""

    def do_GET(self):  # noqa: N802 (http.server naming)
        if self.mode == "redirect":
            self.send_response(301)
            self.send_header("Location", "https://localhost" + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"hello from the mtlsdiag test server\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stdout.write("request: " + (fmt % args) + "\n")
        sys.stdout.flush()


def http_server(args):
    _Handler.mode = args.mode
    srv = http.server.HTTPServer(("127.0.0.1", args.port), _Handler)
    print("READY", flush=True)
    srv.handle_request()
    srv.server_close()


def tls_client(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=args.cafile)
    version = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = version
    ctx.maximum_version = version
    ctx.keylog_filename = args.keylog
    if args.cert:
        if args.chain:
            # load_cert_chain wants leaf + chain in one file: build a temp one.
            with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as tmp:
                for path in (args.cert, args.chain):
                    with open(path) as f:
                        tmp.write(f.read())
            try:
                ctx.load_cert_chain(tmp.name, args.key)
            finally:
                os.unlink(tmp.name)
        else:
            ctx.load_cert_chain(args.cert, args.key)
    request = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as raw:
        raw.settimeout(10)
        raw.connect((args.host, args.port))
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                print("handshake done:", tls.version(), flush=True)
                tls.sendall(request)
                total = 0
                while True:
                    data = tls.recv(65536)
                    if not data:
                        break
                    total += len(data)
                print("received", total, "bytes", flush=True)
        except (ssl.SSLError, OSError) as exc:
            print("TLS error:", exc, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("http-server")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--mode", choices=("200", "redirect"), default="200")
    t = sub.add_parser("tls-client")
    t.add_argument("--host", default="127.0.0.1")
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--tls", choices=("1.2", "1.3"), required=True)
    t.add_argument("--cafile", required=True)
    t.add_argument("--keylog", required=True)
    t.add_argument("--cert")
    t.add_argument("--key")
    t.add_argument("--chain")
    args = ap.parse_args()
    if args.cmd == "http-server":
        http_server(args)
    else:
        tls_client(args)


if __name__ == "__main__":
    main()
