#!/usr/bin/env bash
# make-chain-captures.sh - multi-hop ("chain") loopback captures: caller -> proxies -> app.
#
# Every capture is REAL traffic between real peers on the loopback interface: Python's ssl /
# http.server / http.client (captures/chain_peers.py), nginx 1.22 and curl, recorded with
# tcpdump -i lo.  Each scenario makes exactly ONE caller request (GET /orders/42, Host:
# localhost), so each capture holds exactly one chain.  Addresses (all of 127/8 is on lo):
#   caller 127.0.0.2   first proxy (front end / gateway) 127.0.0.3   second proxy 127.0.0.4
#   app    127.0.0.5   (a plain HTTP/1.1 server: 200 when the request carries X-ARR-ClientCert
#                       or X-SSL-Client-Cert, 403 when it carries neither)
# Every proxy connects upstream FROM its own address, so the client address of leg N+1 is the
# server address of leg N.  Python proxies forward Host, the caller's headers, and add
# X-Forwarded-For (appended per hop), X-Forwarded-Host, X-Original-URL and X-ARR-LOG-ID
# (3f2b6c1e-0000-4000-8000-00000000000N for scenario N), Connection: close on every upstream leg.
#
# Scenarios (file names are fixed: tests depend on them):
#  1. chain-arr-base64.pcap       caller (TLS 1.2, presents pki/client.pem + intermediate) ->
#                                 front end 127.0.0.3:24501 (TLS 1.2, CERT_OPTIONAL, CA names of
#                                 client-ca-names.pem) -> plain HTTP from 127.0.0.3 to app
#                                 127.0.0.5:24502 with X-ARR-ClientCert: base64(DER).  200.
#  2. chain-arr-base64-tls13.pcap as 1 with TLS 1.3 on the caller leg (ports 24511/24512).  200.
#  3. chain-no-header.pcap        as 1, but the front end adds no certificate header
#                                 (24521/24522).  403: dropped at hop 2 (127.0.0.3 -> 127.0.0.5).
#  4. chain-pem.pcap              as 1, X-ARR-ClientCert carries the PEM with BEGIN/END markers and
#                                 each newline replaced by a space (24531/24532).  200 (the app
#                                 only checks presence); wrong encoding for X-ARR-ClientCert.
#  5. chain-nginx.pcap            curl (TLS 1.2, --cert client-chain.pem, --interface 127.0.0.2)
#                                 -> nginx 127.0.0.3:24541 (ssl_verify_client optional) ->
#                                 127.0.0.5:24542 with X-SSL-Client-Cert: $ssl_client_escaped_cert
#                                 (URL-encoded PEM), proxy_bind 127.0.0.3.  200.
#  6. chain-gateway-drop.pcap     caller (TLS 1.2, client.pem) -> gateway 127.0.0.3:24551 (TLS
#                                 1.2, CERT_REQUIRED) -> NEW TLS 1.2 connection from 127.0.0.3 to
#                                 front end 127.0.0.4:24552 WITHOUT a client certificate (the
#                                 front end requests one, CERT_OPTIONAL, and gets an empty
#                                 Certificate) -> plain HTTP from 127.0.0.4 to app
#                                 127.0.0.5:24553, X-Forwarded-For "127.0.0.2, 127.0.0.3", no
#                                 certificate header.  403: dropped at hop 2 (127.0.0.3 -> .4).
#  7. chain-spoofed-header.pcap   caller speaks PLAIN HTTP to front end 127.0.0.3:24561 and sends
#                                 its own X-ARR-ClientCert (base64 DER of client.pem); the front
#                                 end passes it on unchanged to app 127.0.0.5:24562.  200:
#                                 header_mismatch (no certificate was ever in a handshake).
#  8. chain-two-vantage-caller.pcap + chain-two-vantage-app.pcap: ONE run of scenario 1's setup
#                                 (24571/24572) recorded by TWO tcpdumps at once: 'host 127.0.0.2
#                                 and tcp port 24571' (caller leg only) and 'host 127.0.0.5 and
#                                 tcp port 24572' (app leg only).
#
# Key logs (NSS format) are FILE.keys for every file with TLS in it: the Python TLS endpoints
# write them via SSLContext.keylog_filename (client and server side append the same secrets to
# the same file, so lines appear twice), curl via SSLKEYLOGFILE.  nginx writes none; curl's
# covers its leg.  chain-spoofed-header.pcap and chain-two-vantage-app.pcap are plain HTTP only.
#
# Then write_chains_expected.py writes chains-expected.json (and the frames table in README.md)
# from what each side was told to do, cross-checked against tshark (frame numbers, certificates,
# headers, statuses) and against what each peer reported; the script fails on any mismatch and
# then leaves the previous files in place.
#
# Usage: sudo captures/make-chain-captures.sh       (root for tcpdump and nginx; ~12 s)
# Needs (Debian 12): tcpdump tshark openssl curl python3 nginx iproute2 (ss).  Re-runnable:
# captures are built in a temp dir and moved into captures/ as a set after the check passes.
# KEEP_WORK=1 keeps the work dir (peer logs, nginx config and logs, tcpdump stderr).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
PY=${PYTHON:-python3}
PEERS=$HERE/chain_peers.py
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

die() { echo "make-chain-captures: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo, nginx)"
for t in tcpdump tshark openssl curl nginx ss "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install tcpdump tshark openssl curl python3 nginx iproute2)"
done
for f in root.pem client-chain.pem client-key.TEST-ONLY.pem client.pem client-ca-names.pem \
         server-chain.pem server-key.TEST-ONLY.pem; do
    [ -f "$PKI/$f" ] || die "missing $PKI/$f (run make-captures.sh first)"
done

WORK=$(mktemp -d /tmp/mtlsdiag-chains.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Ports: one block of ten per scenario, nothing else in captures/ uses 245xx.
P1_FE=24501; P1_APP=24502
P2_FE=24511; P2_APP=24512
P3_FE=24521; P3_APP=24522
P4_FE=24531; P4_APP=24532
P5_FE=24541; P5_APP=24542
P6_GW=24551; P6_FE=24552; P6_APP=24553
P7_FE=24561; P7_APP=24562
P8_FE=24571; P8_APP=24572
CALLER=127.0.0.2; FIRST=127.0.0.3; SECOND=127.0.0.4; APP=127.0.0.5
logid() { printf '3f2b6c1e-0000-4000-8000-%012d' "$1"; }

for p in $P1_FE $P1_APP $P2_FE $P2_APP $P3_FE $P3_APP $P4_FE $P4_APP $P5_FE $P5_APP \
         $P6_GW $P6_FE $P6_APP $P7_FE $P7_APP $P8_FE $P8_APP; do
    [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (listening)"
done

# Starts "$@" in the background with stdout+stderr in $WORK/NAME.log; the pid goes to LAST_PID.
start() {
    local name=$1; shift
    "$@" >"$WORK/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    printf '%s\t%s\n' "$name" "$*" >>"$WORK/commands.txt"
}
# Waits until $WORK/NAME.log says READY (the peer is listening).
wait_ready() {
    local i
    for i in $(seq 100); do
        grep -q '^READY' "$WORK/$1.log" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$WORK/$1.log" >&2 || true
    die "$1 did not become ready"
}
# Waits until something listens on IP:PORT (for nginx, which prints nothing).
wait_listen() {
    local i
    for i in $(seq 100); do
        [ -n "$(ss -Hltn "src $1 and sport = :$2")" ] && return 0
        sleep 0.05
    done
    die "nothing listens on $1:$2"
}
# Waits (at most 10 s) for a background process to exit; fails if it exited non-zero.
wait_exit() {
    local pid=$1 name=$2 i
    for i in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && die "$name (pid $pid) did not exit"
    wait "$pid" || { cat "$WORK/$name.log" >&2 || true; die "$name failed"; }
}
# start_capture NAME FILE FILTER: tcpdump on lo, returns once it is listening (pid in LAST_PID).
start_capture() {
    local name=$1 file=$2 filter=$3 i
    tcpdump -i lo -U --immediate-mode -w "$file" "$filter" 2>"$WORK/$name.tcpdump.err" &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    printf '%s.tcpdump\ttcpdump -i lo -U --immediate-mode -w %s %q\n' "$name" "$(basename "$file")" "$filter" >>"$WORK/commands.txt"
    for i in $(seq 100); do
        grep -q 'listening on' "$WORK/$name.tcpdump.err" && return 0
        sleep 0.05
    done
    die "tcpdump for $name did not start"
}
stop_capture() {
    sleep 0.4              # let the FIN/ACKs of the last connection in
    kill -INT "$1"
    wait "$1" 2>/dev/null || true
}

SERVER_TLS=(--cert "$PKI/server-chain.pem" --key "$PKI/server-key.TEST-ONLY.pem"
            --client-ca "$PKI/client-ca-names.pem")
CLIENT_CERT=(--cert "$PKI/client-chain.pem" --key "$PKI/client-key.TEST-ONLY.pem")

# app NAME PORT: start the app on 127.0.0.5:PORT and wait for it.
app() {
    start "$1.app" "$PY" "$PEERS" app --listen "$APP:$2"
    APP_PID=$LAST_PID
    wait_ready "$1.app"
}

# Scenarios 1-4 and 8 share this shape: caller (TLS, presents client.pem) -> Python front end
# (TLS, CERT_OPTIONAL) -> app.  two_hop NAME N TLSVER FE_PORT APP_PORT CERT_HEADER [FILTERS...]
# where each FILTER is "FILE|tcpdump filter" (one tcpdump per filter, all running at once).
two_hop() {
    local name=$1 n=$2 tls=$3 fe=$4 appport=$5 hdr=$6; shift 6
    local keys=$WORK/$name.keys caps=() spec
    log "$name: caller $CALLER -> front end $FIRST:$fe (TLS $tls) -> app $APP:$appport ($hdr)"
    rm -f "$keys"
    app "$name" "$appport"
    start "$name.fe" "$PY" "$PEERS" proxy --listen "$FIRST:$fe" --source "$FIRST" \
        --upstream "$APP:$appport" --log-id "$(logid "$n")" --tls "$tls" --verify optional \
        "${SERVER_TLS[@]}" --keylog "$keys" --cert-header "$hdr"
    local fe_pid=$LAST_PID
    wait_ready "$name.fe"
    for spec in "$@"; do
        start_capture "$name.$(basename "${spec%%|*}")" "${spec%%|*}" "${spec#*|}"
        caps+=("$LAST_PID")
    done
    start "$name.caller" "$PY" "$PEERS" caller --connect "$FIRST:$fe" --source "$CALLER" \
        --tls "$tls" --cafile "$PKI/root.pem" --keylog "$keys" "${CLIENT_CERT[@]}"
    wait_exit "$LAST_PID" "$name.caller"
    wait_exit "$fe_pid" "$name.fe"
    wait_exit "$APP_PID" "$name.app"
    for spec in "${caps[@]}"; do stop_capture "$spec"; done
    for spec in "$@"; do cp "$keys" "${spec%%|*}.keys"; done
}

# 1-4
two_hop chain-arr-base64 1 1.2 $P1_FE $P1_APP arr-base64 \
    "$OUT/chain-arr-base64.pcap|tcp port $P1_FE or tcp port $P1_APP"
two_hop chain-arr-base64-tls13 2 1.3 $P2_FE $P2_APP arr-base64 \
    "$OUT/chain-arr-base64-tls13.pcap|tcp port $P2_FE or tcp port $P2_APP"
two_hop chain-no-header 3 1.2 $P3_FE $P3_APP none \
    "$OUT/chain-no-header.pcap|tcp port $P3_FE or tcp port $P3_APP"
two_hop chain-pem 4 1.2 $P4_FE $P4_APP arr-pem \
    "$OUT/chain-pem.pcap|tcp port $P4_FE or tcp port $P4_APP"

# 5. nginx front end, curl caller
name=chain-nginx
log "$name: curl $CALLER -> nginx $FIRST:$P5_FE (TLS 1.2) -> app $APP:$P5_APP (X-SSL-Client-Cert)"
NG=$WORK/nginx
mkdir -p "$NG"
cat >"$NG/nginx.conf" <<EOF
# written by make-chain-captures.sh (scenario 5)
daemon off;
master_process off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log info;
events { worker_connections 16; }
http {
    access_log $NG/access.log;
    client_body_temp_path $NG/client_body;
    proxy_temp_path $NG/proxy;
    fastcgi_temp_path $NG/fastcgi;
    uwsgi_temp_path $NG/uwsgi;
    scgi_temp_path $NG/scgi;
    server {
        listen $FIRST:$P5_FE ssl;
        server_name localhost;
        ssl_protocols TLSv1.2;
        ssl_certificate $PKI/server-chain.pem;
        ssl_certificate_key $PKI/server-key.TEST-ONLY.pem;
        ssl_verify_client optional;
        ssl_client_certificate $PKI/client-ca-names.pem;
        ssl_verify_depth 2;
        location / {
            proxy_bind $FIRST;
            proxy_pass http://$APP:$P5_APP;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header X-SSL-Client-Cert \$ssl_client_escaped_cert;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header Connection close;
        }
    }
}
EOF
nginx -t -q -e "$NG/error.log" -p "$NG/" -c "$NG/nginx.conf" || die "nginx -t failed: $(cat "$NG/error.log")"
app "$name" "$P5_APP"
start "$name.nginx" nginx -e "$NG/error.log" -p "$NG/" -c "$NG/nginx.conf"
NGINX_PID=$LAST_PID
wait_listen "$FIRST" "$P5_FE"
start_capture "$name" "$OUT/$name.pcap" "tcp port $P5_FE or tcp port $P5_APP"
CAP=$LAST_PID
rm -f "$OUT/$name.pcap.keys"
start "$name.caller" env SSLKEYLOGFILE="$OUT/$name.pcap.keys" curl -sS --http1.1 --tlsv1.2 \
    --tls-max 1.2 --interface "$CALLER" --resolve "localhost:$P5_FE:$FIRST" \
    --cert "$PKI/client-chain.pem" --key "$PKI/client-key.TEST-ONLY.pem" \
    --cacert "$PKI/root.pem" -H "Host: localhost" -H "Connection: close" \
    -o "$WORK/$name.body" -w 'RESULT {"role": "caller", "status": %{http_code}}\n' \
    "https://localhost:$P5_FE/orders/42"
wait_exit "$LAST_PID" "$name.caller"
wait_exit "$APP_PID" "$name.app"
stop_capture "$CAP"
kill -QUIT "$NGINX_PID"
wait_exit "$NGINX_PID" "$name.nginx"
cp "$NG/nginx.conf" "$WORK/$name.nginx.conf"

# 6. gateway (CERT_REQUIRED) -> new TLS without a client cert -> front end -> app
name=chain-gateway-drop
log "$name: caller -> gateway $FIRST:$P6_GW -> front end $SECOND:$P6_FE (no client cert) -> app $APP:$P6_APP"
keys=$OUT/$name.pcap.keys
rm -f "$keys"
app "$name" "$P6_APP"
start "$name.fe" "$PY" "$PEERS" proxy --listen "$SECOND:$P6_FE" --source "$SECOND" \
    --upstream "$APP:$P6_APP" --log-id "$(logid 6)" --tls 1.2 --verify optional \
    "${SERVER_TLS[@]}" --keylog "$keys" --cert-header arr-base64
FE_PID=$LAST_PID
wait_ready "$name.fe"
start "$name.gw" "$PY" "$PEERS" proxy --listen "$FIRST:$P6_GW" --source "$FIRST" \
    --upstream "$SECOND:$P6_FE" --log-id "$(logid 6)" --tls 1.2 --verify required \
    "${SERVER_TLS[@]}" --keylog "$keys" --upstream-tls 1.2 --upstream-cafile "$PKI/root.pem" \
    --cert-header none
GW_PID=$LAST_PID
wait_ready "$name.gw"
start_capture "$name" "$OUT/$name.pcap" "tcp port $P6_GW or tcp port $P6_FE or tcp port $P6_APP"
CAP=$LAST_PID
start "$name.caller" "$PY" "$PEERS" caller --connect "$FIRST:$P6_GW" --source "$CALLER" \
    --tls 1.2 --cafile "$PKI/root.pem" --keylog "$keys" "${CLIENT_CERT[@]}"
wait_exit "$LAST_PID" "$name.caller"
wait_exit "$GW_PID" "$name.gw"
wait_exit "$FE_PID" "$name.fe"
wait_exit "$APP_PID" "$name.app"
stop_capture "$CAP"

# 7. plain HTTP caller that sets X-ARR-ClientCert itself; the front end passes it through
name=chain-spoofed-header
log "$name: caller (plain HTTP, own X-ARR-ClientCert) -> front end $FIRST:$P7_FE -> app $APP:$P7_APP"
DER_B64=$(openssl x509 -in "$PKI/client.pem" -outform DER | base64 -w0)
app "$name" "$P7_APP"
start "$name.fe" "$PY" "$PEERS" proxy --listen "$FIRST:$P7_FE" --source "$FIRST" \
    --upstream "$APP:$P7_APP" --log-id "$(logid 7)" --keep-caller-cert-headers
FE_PID=$LAST_PID
wait_ready "$name.fe"
start_capture "$name" "$OUT/$name.pcap" "tcp port $P7_FE or tcp port $P7_APP"
CAP=$LAST_PID
start "$name.caller" "$PY" "$PEERS" caller --connect "$FIRST:$P7_FE" --source "$CALLER" \
    --header "X-ARR-ClientCert: $DER_B64"
wait_exit "$LAST_PID" "$name.caller"
wait_exit "$FE_PID" "$name.fe"
wait_exit "$APP_PID" "$name.app"
stop_capture "$CAP"
rm -f "$OUT/$name.pcap.keys"

# 8. scenario 1's setup, two vantage points recorded at once
two_hop chain-two-vantage 8 1.2 $P8_FE $P8_APP arr-base64 \
    "$OUT/chain-two-vantage-caller.pcap|host $CALLER and tcp port $P8_FE" \
    "$OUT/chain-two-vantage-app.pcap|host $APP and tcp port $P8_APP"
rm -f "$OUT/chain-two-vantage-app.pcap.keys"   # plain HTTP only: no key log

# The four scenarios made by two_hop wrote their keys in $WORK; move the single-file ones.
for n in chain-arr-base64 chain-arr-base64-tls13 chain-no-header chain-pem; do
    [ -f "$OUT/$n.pcap.keys" ] || die "no key log for $n"
done

cat >"$WORK/manifest.json" <<EOF
{"ports": {"1": {"fe": $P1_FE, "app": $P1_APP}, "2": {"fe": $P2_FE, "app": $P2_APP},
           "3": {"fe": $P3_FE, "app": $P3_APP}, "4": {"fe": $P4_FE, "app": $P4_APP},
           "5": {"fe": $P5_FE, "app": $P5_APP},
           "6": {"gw": $P6_GW, "fe": $P6_FE, "app": $P6_APP},
           "7": {"fe": $P7_FE, "app": $P7_APP}, "8": {"fe": $P8_FE, "app": $P8_APP}},
 "addresses": {"caller": "$CALLER", "first": "$FIRST", "second": "$SECOND", "app": "$APP"}}
EOF

log "writing chains-expected.json and cross-checking with tshark"
"$PY" "$HERE/write_chains_expected.py" --work "$WORK" --dir "$OUT" --pki "$PKI" \
    --out "$OUT/chains-expected.json" --table "$WORK/chains-table.md"

for f in "$OUT"/*; do
    mv -f "$f" "$HERE/"
done
# Refresh the generated facts table in README.md (between the chains:begin/end markers).
"$PY" - "$HERE/README.md" "$WORK/chains-table.md" <<'PY'
import re, sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
pat = re.compile(r"(<!-- chains:begin -->\n).*?(<!-- chains:end -->)", re.S)
if pat.search(text):
    text = pat.sub(lambda m: m.group(1) + table + m.group(2), text)
    open(readme, "w").write(text)
else:
    print("README.md has no chains:begin/end markers; table not written", file=sys.stderr)
PY
log "done: $(cd "$HERE" && ls chain-*.pcap chain-*.keys chains-expected.json | tr '\n' ' ')"
