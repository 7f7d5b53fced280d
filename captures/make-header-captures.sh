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
# Usage: sudo captures/make-header-captures.sh   (root for tcpdump; Debian: tcpdump curl openssl
# python3).  The facts are in captures/README.md and asserted by tests/test_captures.py.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PORT=24441
OUT=$HERE/http-cert-headers.pcap
WORK=$(mktemp -d /tmp/mtlsdiag-headers.XXXXXX)
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
