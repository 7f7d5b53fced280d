#!/usr/bin/env python3
"""Loopback peers for make-chain-captures.sh: a caller, proxies and an app (standard library only).

Every peer serves or sends exactly ONE request and then exits.  Servers print "READY" to
stdout (the script redirects it into a log file and polls it) once they are listening; every
peer appends one JSON line "RESULT {...}" describing what it did, which the truth writer
(write_chains_expected.py) reads back and asserts against tshark.

  app --listen IP:PORT
      Plain HTTP/1.1 server (http.server).  200 with a short body when the request carries an
      X-ARR-ClientCert or X-SSL-Client-Cert header, 403 Forbidden with a short body when it
      carries neither.  Content-Length on every response; the connection is closed after it.

  proxy --listen IP:PORT --source IP --upstream IP:PORT --log-id UUID
        [--tls 1.2|1.3 --verify optional|required --cert F --key F --client-ca F --keylog F]
        [--upstream-tls 1.2|1.3 --upstream-cafile F]
        [--cert-header none|arr-base64|arr-pem] [--keep-caller-cert-headers]
      A front end / gateway.  Listens on plain HTTP, or TLS when --tls is given (server chain
      --cert, key --key; the client certificate is requested when --verify is given, with the
      DNs of --client-ca in the CertificateRequest).  It forwards the request FROM --source
      (bound source address) to --upstream over plain HTTP/1.1, or over TLS when --upstream-tls
      is given (SNI "localhost", trusting --upstream-cafile, NO client certificate).  Forwarded
      headers: the caller's end-to-end headers (Host first), X-Forwarded-For (the caller's
      address appended to any incoming list), X-Forwarded-Host (incoming one, else Host),
      X-Original-URL (incoming one, else the path), X-ARR-LOG-ID (incoming one, else
      --log-id), Connection: close, and when the caller presented a certificate in the
      handshake and --cert-header says so:
          arr-base64  X-ARR-ClientCert: base64 of the leaf's DER (no markers, no newlines)
          arr-pem     X-ARR-ClientCert: the leaf's PEM with each newline replaced by a space
      Certificate headers sent by the caller (X-ARR-ClientCert, X-SSL-Client-Cert) are
      dropped unless --keep-caller-cert-headers.  The upstream response is relayed back.

  caller --connect IP:PORT --source IP [--tls 1.2|1.3 --cafile F --keylog F
         [--cert F --key F]] [--header "Name: value" ...]
      Sends "GET /orders/42 HTTP/1.1", Host: localhost, Connection: close from --source,
      over TLS (SNI "localhost", verifying the server against --cafile; --cert is a PEM file
      with the leaf first and its chain after it) or plain HTTP, and reads the response.

TLS endpoints write the NSS key log through SSLContext.keylog_filename (several processes may
append to the same file; each line is flushed on its own).
"""
import argparse
import base64
import ctypes
import hashlib
import http.client
import http.server
import json
import re
import socket
import ssl
import sys

CERT_HEADERS = ("x-arr-clientcert", "x-ssl-client-cert")
HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade")
PROXY_SET = ("x-forwarded-for", "x-forwarded-host", "x-original-url", "x-arr-log-id", "host")


def result(**fields):
    sys.stdout.write("RESULT " + json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def hostport(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def tls_version(name):
    return ssl.TLSVersion.TLSv1_2 if name == "1.2" else ssl.TLSVersion.TLSv1_3


def set_client_ca_names(ctx, cafile):
    """Put the subject DNs of cafile into the CertificateRequest's certificate_authorities.

    Python's ssl module has no API for SSL_CTX_set_client_CA_list: load_verify_locations only
    sets trust anchors and OpenSSL then sends an EMPTY CA list (checked with tshark:
    tls.handshake.dnames_len == 0).  So this reaches the SSL_CTX* through ctypes (CPython's
    PySSLContext is PyObject_HEAD followed by the SSL_CTX pointer) and calls libssl, after
    checking the pointer really is this context (its verify mode and options must match)."""
    lib = None
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if re.search(r"/libssl\.so[.0-9]*$", path):
                lib = ctypes.CDLL(path)
                break
    if lib is None:
        raise RuntimeError("libssl is not mapped into this process")
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_options.restype = ctypes.c_uint64
    lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
    lib.SSL_load_client_CA_file.restype = ctypes.c_void_p
    lib.SSL_load_client_CA_file.argtypes = [ctypes.c_char_p]
    lib.SSL_CTX_set_client_CA_list.restype = None
    lib.SSL_CTX_set_client_CA_list.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    ptr = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    want_mode = {ssl.CERT_NONE: 0, ssl.CERT_OPTIONAL: 1, ssl.CERT_REQUIRED: 3}[ctx.verify_mode]
    if (not ptr or lib.SSL_CTX_get_verify_mode(ptr) != want_mode
            or lib.SSL_CTX_get_options(ptr) != int(ctx.options)):
        raise RuntimeError("could not locate the SSL_CTX of the Python SSLContext")
    names = lib.SSL_load_client_CA_file(cafile.encode())
    if not names:
        raise RuntimeError("SSL_load_client_CA_file(%s) failed" % cafile)
    lib.SSL_CTX_set_client_CA_list(ptr, names)  # takes ownership of the list


class OneShotServer(http.server.HTTPServer):
    """Serves one request; an exception in the handler makes the process exit non-zero
    (socketserver would only print it)."""
    failed = False

    def handle_error(self, request, client_address):
        super().handle_error(request, client_address)
        self.failed = True


def serve_one(srv):
    print("READY", flush=True)
    srv.handle_request()
    srv.server_close()
    if srv.failed:
        sys.exit(1)


# ---------------------------------------------------------------------------------------- app

class AppHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mtlsdiag-chain-app/1.0"
    sys_version = ""
    wbufsize = -1  # buffered: status line, headers and body leave in one write (one segment)

    def do_GET(self):  # noqa: N802
        present = [h for h in CERT_HEADERS if self.headers.get(h) is not None]
        if present:
            status, body = 200, b"order 42: client certificate header received\n"
        else:
            status, body = 403, b"forbidden: no client certificate header\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        result(role="app", peer=self.client_address[0], path=self.path, status=status,
               headers=[[k, v] for k, v in self.headers.items()])

    def log_message(self, fmt, *args):
        pass


def run_app(args):
    serve_one(OneShotServer(hostport(args.listen), AppHandler))


# -------------------------------------------------------------------------------------- proxy

class ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mtlsdiag-chain-proxy/1.0"
    sys_version = ""
    wbufsize = -1  # buffered: the relayed response leaves in one write (one TLS record)
    opts = None

    def do_GET(self):  # noqa: N802
        opts = self.opts
        peer = self.client_address[0]
        der = None
        if isinstance(self.connection, ssl.SSLSocket):
            der = self.connection.getpeercert(binary_form=True)
        incoming = self.headers
        host = incoming.get("Host", "")
        xff = incoming.get("X-Forwarded-For")
        out = [("Host", host)]
        for name, value in incoming.items():
            low = name.lower()
            if low in HOP_BY_HOP or low in PROXY_SET:
                continue
            if low in CERT_HEADERS and not opts.keep_caller_cert_headers:
                continue
            out.append((name, value))
        out.append(("X-Forwarded-For", (xff + ", " + peer) if xff else peer))
        out.append(("X-Forwarded-Host", incoming.get("X-Forwarded-Host") or host))
        out.append(("X-Original-URL", incoming.get("X-Original-URL") or self.path))
        out.append(("X-ARR-LOG-ID", incoming.get("X-ARR-LOG-ID") or opts.log_id))
        if der and opts.cert_header == "arr-base64":
            out.append(("X-ARR-ClientCert", base64.b64encode(der).decode()))
        elif der and opts.cert_header == "arr-pem":
            pem = ssl.DER_cert_to_PEM_cert(der).strip("\n")
            out.append(("X-ARR-ClientCert", pem.replace("\n", " ")))
        out.append(("Connection", "close"))

        up_host, up_port = hostport(opts.upstream)
        conn = http.client.HTTPConnection(up_host, up_port, timeout=10,
                                          source_address=(opts.source, 0))
        if opts.upstream_tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ctx.maximum_version = tls_version(opts.upstream_tls)
            ctx.load_verify_locations(cafile=opts.upstream_cafile)
            if opts.keylog:
                ctx.keylog_filename = opts.keylog
            # No load_cert_chain: this hop has no client certificate to present.
            raw = socket.create_connection((up_host, up_port), timeout=10,
                                           source_address=(opts.source, 0))
            conn.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in out:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        conn.close()

        self.send_response_only(resp.status, resp.reason)
        for name, value in resp.getheaders():
            if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        result(role="proxy", listen=opts.listen, peer=peer,
               tls=self.connection.version() if isinstance(self.connection, ssl.SSLSocket)
               else None,
               peer_cert_sha1=hashlib.sha1(der).hexdigest().upper() if der else None,
               upstream=opts.upstream, source=opts.source, upstream_status=resp.status,
               sent_headers=[[k, v] for k, v in out])

    def log_message(self, fmt, *args):
        pass


def run_proxy(args):
    ProxyHandler.opts = args
    srv = OneShotServer(hostport(args.listen), ProxyHandler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ctx.maximum_version = tls_version(args.tls)
        ctx.load_cert_chain(args.cert, args.key)
        if args.keylog:
            ctx.keylog_filename = args.keylog
        if args.verify:
            ctx.verify_mode = ssl.CERT_OPTIONAL if args.verify == "optional" else ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=args.client_ca)
            set_client_ca_names(ctx, args.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    serve_one(srv)


# ------------------------------------------------------------------------------------- caller

def run_caller(args):
    host, port = hostport(args.connect)
    raw = socket.create_connection((host, port), timeout=10, source_address=(args.source, 0))
    sock = raw
    version = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ctx.maximum_version = tls_version(args.tls)
        ctx.load_verify_locations(cafile=args.cafile)
        ctx.keylog_filename = args.keylog
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
        version = sock.version()
    lines = ["GET /orders/42 HTTP/1.1", "Host: localhost"] + list(args.header) + [
        "Connection: close", "", ""]
    sock.sendall("\r\n".join(lines).encode())
    resp = http.client.HTTPResponse(sock, method="GET")
    resp.begin()
    body = resp.read()
    sock.close()
    result(role="caller", tls=version, status=resp.status, body=body.decode(errors="replace"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("app")
    a.add_argument("--listen", required=True)
    p = sub.add_parser("proxy")
    p.add_argument("--listen", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--log-id", required=True)
    p.add_argument("--tls", choices=("1.2", "1.3"))
    p.add_argument("--verify", choices=("optional", "required"))
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    p.add_argument("--keylog")
    p.add_argument("--upstream-tls", choices=("1.2", "1.3"))
    p.add_argument("--upstream-cafile")
    p.add_argument("--cert-header", choices=("none", "arr-base64", "arr-pem"), default="none")
    p.add_argument("--keep-caller-cert-headers", action="store_true")
    c = sub.add_parser("caller")
    c.add_argument("--connect", required=True)
    c.add_argument("--source", required=True)
    c.add_argument("--tls", choices=("1.2", "1.3"))
    c.add_argument("--cafile")
    c.add_argument("--keylog")
    c.add_argument("--cert")
    c.add_argument("--key")
    c.add_argument("--header", action="append", default=[])
    args = ap.parse_args()
    {"app": run_app, "proxy": run_proxy, "caller": run_caller}[args.cmd](args)


if __name__ == "__main__":
    main()
