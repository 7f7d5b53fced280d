#!/usr/bin/env bash
# make-decrypt-captures.sh - captures for key-log decryption: late client authentication
# (TLS 1.3 post-handshake auth, TLS 1.2 renegotiation), HTTPS 403s, HTTP/2, cipher suite
# families, a TLS 1.3 KeyUpdate, and a wrong key log.
#
# Every capture is REAL traffic between real TLS stacks on 127.0.0.1 (OpenSSL 3.0 s_server /
# s_client, curl 7.88 with OpenSSL, nghttpd (nghttp2 1.52), Python 3's ssl module + http.client,
# see captures/decrypt_peers.py), ONE TCP connection per file, recorded with
# `tcpdump -i lo -U --immediate-mode -w FILE 'tcp port PORT'`.  FILE.keys is the NSS key log
# written by the client (s_client -keylogfile, curl SSLKEYLOGFILE, Python ctx.keylog_filename);
# where the server can write one too (s_server, Python) the two are compared.
# Scenarios (file names are fixed: tests/test_decrypt_scenarios.py depends on them):
#   tls13-pha-presented / tls13-pha-none      Python server: TLS 1.3, post_handshake_auth, no
#       request in the handshake; HTTP/1.1 keep-alive: GET /public -> 200, GET /secure ->
#       verify_client_post_handshake() -> 200 with a certificate / 403 without.  Python client
#       (post_handshake_auth=True) with pki/client-chain.pem / with no certificate.
#   tls12-reneg-presented / tls12-reneg-empty s_server -tls1_2 (no -www, no request in the
#       handshake) and s_client -tls1_2 driven through their stdin (decrypt_peers.py
#       openssl-reneg): GET /public -> 200; GET /secure -> `R` typed into s_server (renegotiate,
#       request a client certificate) -> 200 (client has -cert) / 403 (empty Certificate).
#   tls12-https-403 / tls13-https-403         Python server, CERT_OPTIONAL (request in the
#       handshake); curl without a certificate; GET /api/orders -> 403 Forbidden.
#   tls13-h2 / tls13-h2-mtls                  nghttpd (TLS 1.3, ALPN h2; -V: request a client
#       certificate) and curl --http2 (client-chain.pem for -mtls): GET / -> 200 and
#       GET /missing -> 404 on one connection.
#   tls13-aes128gcm, tls13-aes256gcm, tls13-chacha20, tls13-aes128ccm (-ciphersuites),
#   tls12-aes128gcm, tls12-aes256gcm, tls12-chacha20, tls12-cbc-sha1 (encrypt_then_mac),
#   tls12-cbc-sha1-noetm (s_server -no_etm: MAC-then-encrypt), tls12-cbc-sha256,
#   tls12-cbc-sha384 (-cipher, ECDSA server key): s_server -www -Verify 2 + s_client presenting
#       pki/client.pem + intermediate, "GET / HTTP/1.0" -> "HTTP/1.0 200 ok".
#   tls13-keyupdate                           s_server -tls1_3 -www -Verify 2 and an interactive
#       s_client: `K` (KeyUpdate, update_requested; the server answers with its own KeyUpdate)
#       before "GET / HTTP/1.0".
#   tls13-presented.wrongkeys                 key log for the existing tls13-presented.pcap:
#       same labels and client randoms, every secret replaced by its SHA-256/SHA-384.
# Then write_decrypt_expected.py writes decrypt-expected.json, decrypt-tshark-comparison.txt,
# the "Decryption captures" section at the end of README.md and the make-decrypt-captures block
# at the end of commands.txt, from what each side was told to do, cross-checked against the
# peers' logs and against tshark decrypting with the key logs (it fails on any mismatch, and
# then nothing in captures/ is touched).
#
# Usage: sudo captures/make-decrypt-captures.sh      (root for tcpdump; ~40 s)
# Needs (Debian 12): openssl tcpdump tshark curl nghttp2-server python3 iproute2 (ss), and the
# PKI and tls13-presented.pcap(.keys) of make-captures.sh.  Re-runnable: captures are made in
# a temp dir and replace the previous ones as a set.  make-captures.sh deletes every *.pcap and
# *.keys in captures/, so run this script again after it.  KEEP_WORK=1 keeps the work dir
# (peer logs, tcpdump stderr, manifest).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${PYTHON:-/usr/bin/python3}
PEERS=$HERE/decrypt_peers.py
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

die() { echo "make-decrypt-captures: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo)"
for t in openssl tcpdump tshark curl nghttpd ss "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install openssl tcpdump tshark curl nghttp2-server python3 iproute2)"
done
for f in root.pem intermediate.pem server.pem server-key.TEST-ONLY.pem server-chain.pem \
         client.pem client-key.TEST-ONLY.pem client-chain.pem client-ca-names.pem; do
    [ -f "$PKI/$f" ] || die "missing $PKI/$f (run make-captures.sh first)"
done
[ -f "$HERE/tls13-presented.pcap.keys" ] || die "missing tls13-presented.pcap.keys (run make-captures.sh first)"

WORK=$(mktemp -d /tmp/mtlsdiag-decrypt.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT" "$WORK/htdocs"
MANIFEST=$WORK/manifest.jsonl
: >"$MANIFEST"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    if [ -n "${KEEP_WORK:-}" ]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The files this script owns in captures/ (replaced as a set; nothing else is touched).
NAMES=(tls13-pha-presented tls13-pha-none tls12-reneg-presented tls12-reneg-empty
       tls12-https-403 tls13-https-403 tls13-h2 tls13-h2-mtls
       tls13-aes128gcm tls13-aes256gcm tls13-chacha20 tls13-aes128ccm
       tls12-aes128gcm tls12-aes256gcm tls12-chacha20 tls12-cbc-sha1 tls12-cbc-sha1-noetm
       tls12-cbc-sha256 tls12-cbc-sha384 tls13-keyupdate)
# Ports 24601..24699: outside Linux's ephemeral range and unused by the other scripts.
for p in $(seq 24601 24640); do
    [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (listening)"
done

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
wait_for() { # file regex timeout_seconds
    local i
    for ((i = 0; i < $3 * 20; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "--- $1:" >&2; cat "$1" >&2 || true
    die "timed out waiting for /$2/ in $1"
}

wait_listen() { # port
    local i
    for ((i = 0; i < 200; i++)); do
        [ -n "$(ss -Hltn "sport = :$1")" ] && return 0
        sleep 0.05
    done
    die "nothing listens on port $1"
}

# cmd NAME WHAT COMMAND...: records a command line (paths relative to captures/).
# Arguments with characters the shell would read are single-quoted, so the lines can be re-run.
cmd() {
    local name=$1 what=$2 a line=; shift 2
    for a in "$@"; do
        if [[ $a =~ ^[][A-Za-z0-9_./:=,+@%{}-]+$ ]]; then line+=" $a"; else line+=" '$a'"; fi
    done
    echo "$what:$line" | sed "s#$OUT/$name.pcap.keys#FILE.keys#g; s#$WORK/$name.server-keys#FILE.server-keys#g; s#$WORK/$name.cmds#FILE.cmds#g; s#$WORK/##g; s#$HERE/##g; s#$PY#python3#g" \
        >>"$WORK/$name.cmds"
}

SRV_PID=
start_server() { # NAME COMMAND... (run from captures/, output in NAME.server.log)
    local name=$1; shift
    cmd "$name" server "$@"
    (cd "$HERE" && exec "$@") >"$WORK/$name.server.log" 2>&1 </dev/null &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
}

stop_server() { # wait up to 2 s for the server to end by itself, then stop it
    local i
    for ((i = 0; i < 40; i++)); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}

run_client() { # NAME COMMAND... (run from captures/, output in NAME.client.log)
    local name=$1; shift
    cmd "$name" client "$@"
    (cd "$HERE" && timeout 30 "$@") >"$WORK/$name.client.log" 2>&1 || true
}

CAP_PID=
start_capture() { # NAME PORT
    local file=$OUT/$1.pcap
    cmd "$1" capture tcpdump -i lo -U --immediate-mode -w "$1.pcap" "tcp port $2"
    tcpdump -i lo -U --immediate-mode -w "$file" "tcp port $2" 2>"$WORK/$1.tcpdump.err" &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
    wait_for "$WORK/$1.tcpdump.err" 'listening on' 10
}

stop_capture() {
    sleep 0.4 # let the FIN/ACKs arrive
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

manifest() { printf '%s\n' "$1" | tr '\n' ' ' >>"$MANIFEST"; echo >>"$MANIFEST"; } # one JSON object a line

CLIENT_CERT=(-cert pki/client.pem -key pki/client-key.TEST-ONLY.pem -cert_chain pki/intermediate.pem)
SERVER_CERT=(-cert pki/server.pem -key pki/server-key.TEST-ONLY.pem -cert_chain pki/intermediate.pem)

# --------------------------------------------------------------------------
# 1-2. TLS 1.3 post-handshake authentication (Python ssl on both sides)
# --------------------------------------------------------------------------
pha_scenario() { # NAME PORT CERT(good|none)
    local name=$1 port=$2 cert=$3 status want
    log "$name.pcap: TLS 1.3 post-handshake auth, client cert=$cert, port $port"
    start_server "$name" "$PY" "$PEERS" pha-server --port "$port" --cert pki/server-chain.pem \
        --key pki/server-key.TEST-ONLY.pem --cafile pki/root.pem --keylog "$WORK/$name.server-keys"
    wait_for "$WORK/$name.server.log" '^READY' 10
    start_capture "$name" "$port"
    local args=("$PY" "$PEERS" pha-client --port "$port" --cafile pki/root.pem --keylog "$OUT/$name.pcap.keys")
    [ "$cert" = good ] && args+=(--cert pki/client-chain.pem --key pki/client-key.TEST-ONLY.pem)
    run_client "$name" "${args[@]}"
    stop_capture
    stop_server
    if [ "$cert" = good ]; then status=200 want='pha: certificate CN=mtlsdiag test client'
    else status=403 want='pha: no certificate'; fi
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS 1.3\", \"cipher\": null,
      \"etm\": null, \"alpn\": null, \"initial_request\": \"no\", \"client_cert\": \"$cert\",
      \"late\": \"post_handshake\", \"trigger\": [\"GET\", \"/secure\"], \"http_version\": \"HTTP/1.1\",
      \"requests\": [[\"GET\", \"/public\", 200, \"localhost:$port\"], [\"GET\", \"/secure\", $status, \"localhost:$port\"]],
      \"key_update\": null, \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
      \"expect_log\": {\"$name.server.log\": [\"pha: requested\", \"$want\", \"response: $status\"],
                      \"$name.client.log\": [\"status: /public 200\", \"status: /secure $status\"]},
      \"how\": \"decrypt_peers.py pha-server (Python ssl, post_handshake_auth, CERT_OPTIONAL) / pha-client (post_handshake_auth=True$([ "$cert" = good ] && echo ', client-chain.pem' || echo ', no certificate'))\",
      \"server\": \"Python ssl TLS 1.3 server: post_handshake_auth + CERT_OPTIONAL (no request in the handshake); GET /public -> 200; GET /secure -> verify_client_post_handshake() -> $status\",
      \"client\": \"Python ssl + http.client, post_handshake_auth=True, $([ "$cert" = good ] && echo 'pki/client-chain.pem loaded' || echo 'no certificate loaded (answers with an empty Certificate)'); GET /public then GET /secure on one connection\"}"
}
pha_scenario tls13-pha-presented 24601 good
pha_scenario tls13-pha-none      24602 none

# --------------------------------------------------------------------------
# 3-4. TLS 1.2 renegotiation requesting a certificate (s_server `R`)
# --------------------------------------------------------------------------
reneg_scenario() { # NAME PORT CLIENTCERT(yes|no)
    local name=$1 port=$2 cc=$3 status cert want
    log "$name.pcap: TLS 1.2 renegotiation with a certificate request, client cert=$cc, port $port"
    start_capture "$name" "$port"
    local drv=("$PY" "$PEERS" openssl-reneg --port "$port" --client-cert "$cc" --keylog "$OUT/$name.pcap.keys"
        --server-keylog "$WORK/$name.server-keys" --cmds "$WORK/$name.cmds")
    cmd "$name" driver "${drv[@]}"
    (cd "$HERE" && timeout 60 "${drv[@]}") >"$WORK/$name.driver.log" 2>&1 || { cat "$WORK/$name.driver.log" >&2; die "$name: driver failed"; }
    stop_capture
    if [ "$cc" = yes ]; then status=200 cert=good want='server verified depth=0 CN = mtlsdiag test client'
    else status=403 cert=none want='renegotiation done, no client certificate'; fi
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS 1.2\", \"cipher\": null,
      \"etm\": null, \"alpn\": null, \"initial_request\": \"no\", \"client_cert\": \"$cert\",
      \"late\": \"renegotiation\", \"trigger\": [\"GET\", \"/secure\"], \"http_version\": \"HTTP/1.1\",
      \"requests\": [[\"GET\", \"/public\", 200, \"localhost\"], [\"GET\", \"/secure\", $status, \"localhost\"]],
      \"key_update\": null, \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
      \"expect_log\": {\"$name.driver.log\": [\"driver: R (renegotiate\", \"$want\", \"driver: response $status to /secure\"]},
      \"how\": \"decrypt_peers.py openssl-reneg: s_server -tls1_2 (no -www) + s_client -tls1_2$([ "$cc" = yes ] && echo ' -cert client.pem -cert_chain intermediate.pem' || echo ' without -cert') driven through stdin; R typed into s_server after GET /secure arrived\",
      \"server\": \"openssl s_server -tls1_2 -CAfile client-ca-names.pem -no_resumption_on_reneg, no -verify (no request in the handshake); after GET /secure arrived: R (renegotiate requesting a client certificate), then HTTP/1.1 $status typed in\",
      \"client\": \"openssl s_client -tls1_2$([ "$cc" = yes ] && echo ' with -cert pki/client.pem -cert_chain pki/intermediate.pem' || echo ' without a certificate (empty Certificate in the renegotiation)'); GET /public then GET /secure (HTTP/1.1, Host: localhost)\"}"
}
reneg_scenario tls12-reneg-presented 24603 yes
reneg_scenario tls12-reneg-empty     24604 no

# --------------------------------------------------------------------------
# 5. HTTPS 403: certificate requested in the handshake, none sent
# --------------------------------------------------------------------------
https403_scenario() { # NAME PORT VER
    local name=$1 port=$2 ver=$3
    log "$name.pcap: TLS $ver, CERT_OPTIONAL server, curl without a certificate -> 403, port $port"
    start_server "$name" "$PY" "$PEERS" cert-optional-server --port "$port" --tls "$ver" \
        --cert pki/server-chain.pem --key pki/server-key.TEST-ONLY.pem --cafile pki/root.pem \
        --keylog "$WORK/$name.server-keys"
    wait_for "$WORK/$name.server.log" '^READY' 10
    start_capture "$name" "$port"
    SSLKEYLOGFILE=$OUT/$name.pcap.keys run_client "$name" curl -sS --http1.1 --tlsv"$ver" --tls-max "$ver" \
        --cacert pki/root.pem --resolve "localhost:$port:127.0.0.1" -o /dev/null -w '%{http_code}\n' \
        "https://localhost:$port/api/orders"
    sed -i "s#^client: #client: SSLKEYLOGFILE=FILE.keys #" "$WORK/$name.cmds"
    stop_capture
    stop_server
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS $ver\", \"cipher\": null,
      \"etm\": null, \"alpn\": \"http/1.1\", \"initial_request\": \"yes\", \"client_cert\": \"none\",
      \"late\": null, \"trigger\": null, \"http_version\": \"HTTP/1.1\",
      \"requests\": [[\"GET\", \"/api/orders\", 403, \"localhost:$port\"]],
      \"key_update\": null, \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
      \"expect_log\": {\"$name.server.log\": [\"certificate: none\", \"response: 403\"], \"$name.client.log\": [\"403\"]},
      \"how\": \"decrypt_peers.py cert-optional-server (Python ssl, CERT_OPTIONAL) + curl --http1.1 without --cert\",
      \"server\": \"Python ssl TLS $ver server, verify_mode CERT_OPTIONAL (CertificateRequest in the handshake), 403 Forbidden when no certificate came\",
      \"client\": \"curl --http1.1 --tlsv$ver --tls-max $ver, no certificate (empty Certificate); GET /api/orders\"}"
}
https403_scenario tls12-https-403 24605 1.2
https403_scenario tls13-https-403 24606 1.3

# --------------------------------------------------------------------------
# 6. HTTP/2 over TLS 1.3 (nghttpd + curl), with and without a client certificate
# --------------------------------------------------------------------------
printf '<html><body>mtlsdiag h2 test page</body></html>\n' >"$WORK/htdocs/index.html"
h2_scenario() { # NAME PORT MTLS(yes|no)
    local name=$1 port=$2 mtls=$3 req=no cert=none
    log "$name.pcap: HTTP/2 over TLS 1.3, nghttpd$([ "$mtls" = yes ] && echo ' -V'), curl --http2, port $port"
    local srv=(nghttpd -a 127.0.0.1 -d "$WORK/htdocs")
    [ "$mtls" = yes ] && srv+=(-V) && req=yes && cert=good
    srv+=("$port" pki/server-key.TEST-ONLY.pem pki/server-chain.pem)
    start_server "$name" "${srv[@]}"
    wait_listen "$port"
    start_capture "$name" "$port"
    local cli=(curl -sS --http2 --tlsv1.3 --tls-max 1.3 --cacert pki/root.pem
        --resolve "localhost:$port:127.0.0.1" -o /dev/null -o /dev/null -w '%{http_version} %{http_code} %{num_connects}\n')
    [ "$mtls" = yes ] && cli+=(--cert pki/client-chain.pem --key pki/client-key.TEST-ONLY.pem)
    cli+=("https://localhost:$port/" "https://localhost:$port/missing")
    SSLKEYLOGFILE=$OUT/$name.pcap.keys run_client "$name" "${cli[@]}"
    sed -i "s#^client: #client: SSLKEYLOGFILE=FILE.keys #" "$WORK/$name.cmds"
    stop_capture
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS 1.3\", \"cipher\": null,
      \"etm\": null, \"alpn\": \"h2\", \"initial_request\": \"$req\", \"client_cert\": \"$cert\",
      \"late\": null, \"trigger\": null, \"http_version\": \"HTTP/2\",
      \"requests\": [[\"GET\", \"/\", 200, \"localhost:$port\"], [\"GET\", \"/missing\", 404, \"localhost:$port\"]],
      \"key_update\": null, \"cmds\": \"$name.cmds\", \"server_keylog\": null,
      \"expect_log\": {\"$name.client.log\": [\"2 200 1\", \"2 404 0\"]},
      \"how\": \"nghttpd$([ "$mtls" = yes ] && echo ' -V') + curl --http2 (two URLs, one connection)$([ "$mtls" = yes ] && echo ', --cert client-chain.pem')\",
      \"server\": \"nghttpd 1.52 -d htdocs (a temp dir with one index.html; TLS, ALPN h2$([ "$mtls" = yes ] && echo ', -V: requests a client certificate in the handshake')), serving one index.html: / -> 200, /missing -> 404\",
      \"client\": \"curl --http2 --tlsv1.3$([ "$mtls" = yes ] && echo ' --cert pki/client-chain.pem'), GET / then GET /missing reusing the connection\",
      \"alerts_after_traffic\": [\"decode_error\"],
      \"note\": \"nghttpd writes no key log; curl's covers the connection. curl closes without close_notify (FIN); nghttpd answers with a fatal decode_error alert after the traffic, and curl's kernel with an RST. nghttpd's group preference makes the handshake start with a HelloRetryRequest (two ClientHellos, both before the client Finished).\"}"
}
h2_scenario tls13-h2      24607 no
h2_scenario tls13-h2-mtls 24608 yes

# --------------------------------------------------------------------------
# 7. Cipher suite families: s_server -www -Verify 2, s_client presenting its chain
# --------------------------------------------------------------------------
GET_REQ='GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'
cipher_scenario() { # NAME PORT VER OPENSSL-SUITE IANA-SUITE ETM(true|false|null) [SERVER-EXTRA...]
    local name=$1 port=$2 ver=$3 suite=$4 iana=$5 etm=$6; shift 6
    log "$name.pcap: TLS $ver $iana, port $port"
    local sel=(-cipher "$suite") verflag=-tls1_2
    [ "$ver" = 1.3 ] && sel=(-ciphersuites "$suite") verflag=-tls1_3
    start_server "$name" openssl s_server -accept "127.0.0.1:$port" -naccept 1 -www "$verflag" \
        "${SERVER_CERT[@]}" "${sel[@]}" -Verify 2 -CAfile pki/client-ca-names.pem \
        -verifyCAfile pki/root.pem -verify_return_error -keylogfile "$WORK/$name.server-keys" "$@"
    wait_for "$WORK/$name.server.log" '^ACCEPT' 10
    start_capture "$name" "$port"
    cmd "$name" client-stdin printf "$GET_REQ"
    # shellcheck disable=SC2059
    printf "$GET_REQ" | run_client "$name" openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile pki/root.pem -verify_return_error -verify_hostname localhost \
        -keylogfile "$OUT/$name.pcap.keys" -ign_eof "$verflag" "${sel[@]}" "${CLIENT_CERT[@]}"
    stop_capture
    stop_server
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS $ver\", \"cipher\": \"$iana\",
      \"etm\": $etm, \"alpn\": null, \"initial_request\": \"yes\", \"client_cert\": \"good\",
      \"late\": null, \"trigger\": null, \"http_version\": \"HTTP/1.0\",
      \"requests\": [[\"GET\", \"/\", 200, \"localhost\"]],
      \"key_update\": null, \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
      \"expect_log\": {\"$name.client.log\": [\"HTTP/1.0 200 ok\"]},
      \"how\": \"s_server -www ${sel[*]}$([ $# -gt 0 ] && echo " $*") -Verify 2 + s_client ${sel[*]} -cert client.pem -cert_chain intermediate.pem\",
      \"server\": \"openssl s_server -www $verflag ${sel[*]}$([ $# -gt 0 ] && echo " $*") -Verify 2 -CAfile pki/client-ca-names.pem (request in the handshake, certificate required)\",
      \"client\": \"openssl s_client $verflag ${sel[*]} -cert pki/client.pem -cert_chain pki/intermediate.pem; GET / HTTP/1.0\"}"
}
#               name                 port  ver suite (OpenSSL name)       IANA name                                      ETM
cipher_scenario tls13-aes128gcm      24611 1.3 TLS_AES_128_GCM_SHA256       TLS_AES_128_GCM_SHA256                         null
cipher_scenario tls13-aes256gcm      24612 1.3 TLS_AES_256_GCM_SHA384       TLS_AES_256_GCM_SHA384                         null
cipher_scenario tls13-chacha20       24613 1.3 TLS_CHACHA20_POLY1305_SHA256 TLS_CHACHA20_POLY1305_SHA256                   null
cipher_scenario tls13-aes128ccm      24614 1.3 TLS_AES_128_CCM_SHA256       TLS_AES_128_CCM_SHA256                         null
cipher_scenario tls12-aes128gcm      24621 1.2 ECDHE-ECDSA-AES128-GCM-SHA256  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256       false
cipher_scenario tls12-aes256gcm      24622 1.2 ECDHE-ECDSA-AES256-GCM-SHA384  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384       false
cipher_scenario tls12-chacha20       24623 1.2 ECDHE-ECDSA-CHACHA20-POLY1305  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 false
cipher_scenario tls12-cbc-sha1       24624 1.2 ECDHE-ECDSA-AES128-SHA         TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA          true
cipher_scenario tls12-cbc-sha1-noetm 24625 1.2 ECDHE-ECDSA-AES128-SHA         TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA          false -no_etm
cipher_scenario tls12-cbc-sha256     24626 1.2 ECDHE-ECDSA-AES128-SHA256      TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256       true
cipher_scenario tls12-cbc-sha384     24627 1.2 ECDHE-ECDSA-AES256-SHA384      TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384       true

# --------------------------------------------------------------------------
# 8. TLS 1.3 KeyUpdate before the HTTP request
# --------------------------------------------------------------------------
name=tls13-keyupdate port=24631
log "$name.pcap: TLS 1.3, s_client K (KeyUpdate, update requested) before GET /, port $port"
start_capture "$name" "$port"
drv=("$PY" "$PEERS" openssl-keyupdate --port "$port" --keylog "$OUT/$name.pcap.keys"
    --server-keylog "$WORK/$name.server-keys" --cmds "$WORK/$name.cmds")
cmd "$name" driver "${drv[@]}"
(cd "$HERE" && timeout 60 "${drv[@]}") >"$WORK/$name.driver.log" 2>&1 || { cat "$WORK/$name.driver.log" >&2; die "$name: driver failed"; }
stop_capture
manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS 1.3\", \"cipher\": null,
  \"etm\": null, \"alpn\": null, \"initial_request\": \"yes\", \"client_cert\": \"good\",
  \"late\": null, \"trigger\": null, \"http_version\": \"HTTP/1.0\",
  \"requests\": [[\"GET\", \"/\", 200, \"localhost\"]],
  \"key_update\": \"client_requested\", \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
  \"expect_log\": {\"$name.driver.log\": [\"driver: K (KeyUpdate\", \"s_client.err: KEYUPDATE\", \"HTTP/1.0 200 ok\"]},
  \"how\": \"decrypt_peers.py openssl-keyupdate: s_server -www -tls1_3 -Verify 2 + interactive s_client -tls1_3 -cert; K typed into s_client, then GET /\",
  \"server\": \"openssl s_server -www -tls1_3 -Verify 2 -CAfile pki/client-ca-names.pem; answers the client's KeyUpdate(update_requested) with its own KeyUpdate\",
  \"client\": \"openssl s_client -tls1_3 -cert pki/client.pem -cert_chain pki/intermediate.pem (interactive: no -ign_eof); K = KeyUpdate with update_requested, then GET / HTTP/1.0\"}"

# --------------------------------------------------------------------------
# 9. Expected facts (asserted against tshark), wrong key log, then install as a set
# --------------------------------------------------------------------------
log "writing decrypt-expected.json (cross-checked with tshark)"
"$PY" "$HERE/write_decrypt_expected.py" --captures "$OUT" --work "$WORK" --manifest "$MANIFEST" \
    --pki "$PKI" --out-dir "$WORK" --wrongkeys-source "$HERE/tls13-presented.pcap"

for n in "${NAMES[@]}"; do
    if [ ! -s "$OUT/$n.pcap" ] || [ ! -s "$OUT/$n.pcap.keys" ]; then die "$n: capture or key log missing"; fi
done
chmod 0644 "$OUT"/*
for n in "${NAMES[@]}"; do rm -f "$HERE/$n.pcap" "$HERE/$n.pcap.keys"; done
cp "$OUT"/*.pcap "$OUT"/*.pcap.keys "$HERE"/
install -m 0644 "$WORK/decrypt-expected.json" "$WORK/decrypt-tshark-comparison.txt" \
    "$WORK/tls13-presented.wrongkeys" "$HERE"/

# README.md: the section between the decrypt:begin/end markers is replaced (appended at the
# end the first time); commands.txt: the make-decrypt-captures block is replaced likewise.
"$PY" - "$HERE/README.md" "$WORK/readme-section.md" "$HERE/commands.txt" "$WORK/commands-block.txt" <<'PY'
import re, sys
readme, section, commands, block = sys.argv[1:5]
def replace(path, new, pattern):
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = ""
    new_text = open(new).read()
    if re.search(pattern, text, re.S):
        text = re.sub(pattern, lambda m: new_text, text, flags=re.S)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + new_text
    open(path, "w").write(text)
replace(readme, section, r"<!-- decrypt:begin -->.*?<!-- decrypt:end -->\n")
replace(commands, block, r"# --- make-decrypt-captures\.sh.*?# --- end make-decrypt-captures\.sh ---\n")
PY
log "done: ${#NAMES[@]} captures, decrypt-expected.json, decrypt-tshark-comparison.txt, tls13-presented.wrongkeys"
