#!/usr/bin/env bash
# make-header-captures.sh - a plain-HTTP leg carrying client-certificate forwarding headers.
#
# Stands in for the leg from a front end that ended the caller's TLS to the application: curl
# sends three requests to a Python http.server on 127.0.0.1 over plain HTTP, each on its own
# connection, carrying captures/pki/client.pem in a forwarding header:
#   1. X-ARR-ClientCert: base64 of the DER (App Service's convention)
#   2. X-SSL-Client-Cert: URL-encoded PEM (nginx's $ssl_client_escaped_cert)
#   3. X-ARR-ClientCert: PEM whose newlines became spaces (the wrong encoding for App Service)
# recorded with tcpdump into http-cert-headers.pcap.
#
# Then, into h2c-prior-knowledge.pcap: the same leg in cleartext HTTP/2 with prior knowledge
# (RFC 9113 §3.3): nghttp sends GET /arr-base64 (answered 200) and
# GET /missing (answered 404) on one connection to nghttpd --no-tls, both carrying
# X-ARR-ClientCert: base64 of pki/client.pem's DER.
#
# Usage: sudo captures/make-header-captures.sh   (root for tcpdump; Debian: tcpdump curl openssl
# python3 nghttp2-server nghttp2-client).  The facts are in captures/README.md and asserted by
# tests/test_captures.py.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=24441
OUT=$HERE/http-cert-headers.pcap
WORK=$(mktemp -d /tmp/mtlsdiag-headers.XXXXXX)
SRV= CAP=
trap 'kill $SRV $CAP 2>/dev/null || true; rm -rf "$WORK"' EXIT

DER_B64=$(openssl x509 -in "$HERE/pki/client.pem" -outform DER | base64 -w0)
PEM_URL=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$HERE/pki/client.pem")
PEM_SPACES=$(tr '\n' ' ' <"$HERE/pki/client.pem" | sed 's/ $//')

python3 - "$PORT" >"$WORK/server.log" 2>&1 <<'PY' &
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("READY", flush=True)
for _ in range(3):
    server.handle_request()
PY
SRV=$!
for _ in $(seq 50); do grep -q READY "$WORK/server.log" && break; sleep 0.1; done
tcpdump -i lo -U --immediate-mode -w "$OUT" "tcp port $PORT" 2>"$WORK/tcpdump.err" &
CAP=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump.err" && break; sleep 0.1; done

URL=http://127.0.0.1:$PORT
curl -sS -o /dev/null -H "X-ARR-ClientCert: $DER_B64" "$URL/arr-base64"
curl -sS -o /dev/null -H "X-SSL-Client-Cert: $PEM_URL" "$URL/nginx-escaped"
curl -sS -o /dev/null -H "X-ARR-ClientCert: $PEM_SPACES" "$URL/arr-pem"
sleep 0.5
kill -INT $CAP
wait $CAP 2>/dev/null || true
wait $SRV 2>/dev/null || true
echo "wrote $OUT"

# Cleartext HTTP/2 with prior knowledge.
H2_PORT=24442
H2_OUT=$HERE/h2c-prior-knowledge.pcap
mkdir -p "$WORK/docroot"
echo ok >"$WORK/docroot/arr-base64"
nghttpd --no-tls -d "$WORK/docroot" "$H2_PORT" >"$WORK/nghttpd.log" 2>&1 &
SRV=$!
for _ in $(seq 50); do ss -ltn | grep -q ":$H2_PORT " && break; sleep 0.1; done
tcpdump -i lo -U --immediate-mode -w "$H2_OUT" "tcp port $H2_PORT" 2>"$WORK/tcpdump2.err" &
CAP=$!
for _ in $(seq 50); do grep -q 'listening on' "$WORK/tcpdump2.err" && break; sleep 0.1; done
# nghttp speaks HTTP/2 with prior knowledge to an http:// URI and sends both on one connection.
nghttp -H "X-ARR-ClientCert: $DER_B64" "http://127.0.0.1:$H2_PORT/arr-base64" \
    "http://127.0.0.1:$H2_PORT/missing" >/dev/null
sleep 0.5
kill -INT $CAP
wait $CAP 2>/dev/null || true
kill $SRV 2>/dev/null || true
echo "wrote $H2_OUT"
