#!/usr/bin/env bash
# make-outbound-captures.sh - captures of OUTBOUND mutual TLS: the application is the TLS client
# (127.0.0.10) calling an API server (127.0.0.20) that asks for a client certificate, and the
# application presents none, the wrong one, the right one, or one whose intermediate has expired.
#
# Every capture is REAL traffic between real TLS stacks on loopback (OpenSSL 3.0 s_server as the
# API server, curl 7.88 with OpenSSL as the application, its source address bound with
# `--interface 127.0.0.10`), ONE TCP connection per file, recorded with
# `tcpdump -i lo -U --immediate-mode -w FILE 'tcp port PORT'`.  FILE.keys is the NSS key log
# written by curl (SSLKEYLOGFILE); s_server writes one too (-keylogfile) and the two are compared.
# The server: `openssl s_server -accept 127.0.0.20:PORT -naccept 1 -www -verify 2 -CAfile NAMES
# -verifyCAfile ANCHOR`: -verify (not -Verify) asks for a certificate but finishes the handshake
# whatever comes, as App Service does (it forwards the certificate and lets the application
# judge it), so each capture carries the whole handshake and an HTTP 200.
# Scenarios (file names are fixed: tests/test_outbound.py depends on them):
#   outbound-none                  TLS 1.2, curl without --cert: an empty Certificate message.
#   outbound-wrong-cert            TLS 1.2, curl --cert pki/other-client.pem (issued by "Other
#                                  Root CA": not the certificate the server expects).
#   outbound-right-cert            TLS 1.2, curl --cert pki/client-chain.pem (client.pem +
#                                  intermediate.pem).
#   outbound-expired-intermediate  TLS 1.2, curl --cert pki/outbound/client-chain.pem: a leaf
#                                  valid now, issued by an intermediate whose validity ended on
#                                  2021-01-01 (the server names and trusts pki/outbound/root.pem).
#   outbound-tls13-right-cert      TLS 1.3, like outbound-right-cert (the client's Certificate is
#                                  encrypted: readable with the key log only).
# The second PKI in pki/outbound/ (TEST ONLY keys committed) is made here when it is missing,
# with `openssl ca` (OpenSSL 3.0's `openssl x509 -req` cannot set past dates); when present it
# is reused so the thumbprints stay stable.
# Then write_outbound_expected.py writes outbound-expected.json and the "Outbound captures"
# section at the end of README.md, from what each side was told to do, cross-checked against
# the peers' logs and tshark (frames, addresses, ports, the certificates in the capture), with
# every chain verdict computed by `openssl verify -attime <SYN time> -purpose sslclient` against
# pki/root.pem, pki/outbound/root.pem and both; it fails on any mismatch, and then nothing in
# captures/ is touched.
#
# Usage: sudo captures/make-outbound-captures.sh      (root for tcpdump; ~10 s)
# Needs (Debian 12): openssl tcpdump tshark curl python3 iproute2 (ss), and the PKI of
# make-captures.sh.  Re-runnable: captures are made in a temp dir and replace the previous ones
# as a set.  When make-captures.sh makes a new PKI it deletes pki/ (pki/outbound/ with it) and
# client.pem gets a new thumbprint, so run this script again after that.  KEEP_WORK=1 keeps the
# work dir (peer logs, tcpdump stderr, manifest).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
OPKI=$PKI/outbound
PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${PYTHON:-/usr/bin/python3}
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

APP_IP=127.0.0.10    # the application: the TLS client
SERVER_IP=127.0.0.20 # the API server it calls

die() { echo "make-outbound-captures: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo)"
for t in openssl tcpdump tshark curl ss "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install openssl tcpdump tshark curl python3 iproute2)"
done
for f in root.pem intermediate.pem server.pem server-key.TEST-ONLY.pem client.pem \
         client-key.TEST-ONLY.pem client-chain.pem client-ca-names.pem other-client.pem \
         other-client-key.TEST-ONLY.pem; do
    [ -f "$PKI/$f" ] || die "missing $PKI/$f (run make-captures.sh first)"
done

WORK=$(mktemp -d /tmp/mtlsdiag-outbound.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
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
NAMES=(outbound-none outbound-wrong-cert outbound-right-cert outbound-expired-intermediate
       outbound-tls13-right-cert)
# Ports 24701..24709: outside Linux's ephemeral range and unused by the other scripts.
for p in $(seq 24701 24709); do
    [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (listening)"
done

# --------------------------------------------------------------------------
# 1. The outbound PKI (TEST ONLY): a root, an EXPIRED intermediate, a client leaf valid now
# --------------------------------------------------------------------------
make_outbound_pki() {
    local d=$1 ca
    ca=$(mktemp -d "$WORK/ca.XXXXXX")
    mkdir -p "$d"
    newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

    newkey "$d/root-key.TEST-ONLY.pem"
    openssl req -x509 -new -key "$d/root-key.TEST-ONLY.pem" -sha256 -days 7300 \
        -subj "/CN=mtlsdiag Outbound Test Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$d/root.pem"

    # `openssl ca` is the OpenSSL 3.0 command that takes -startdate/-enddate: a throwaway CA
    # directory (database, serial) that is deleted with the work dir.
    mkdir -p "$ca/certs"
    : >"$ca/index.txt"
    echo 5001 >"$ca/serial"
    cat >"$ca/ca.cnf" <<EOF
[ ca ]
default_ca = outbound_test_ca
[ outbound_test_ca ]
database = $ca/index.txt
new_certs_dir = $ca/certs
serial = $ca/serial
default_md = sha256
policy = policy_cn
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_cn ]
commonName = supplied
[ v3_intermediate ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    newkey "$d/intermediate-key.TEST-ONLY.pem"
    openssl req -new -key "$d/intermediate-key.TEST-ONLY.pem" \
        -subj "/CN=mtlsdiag Outbound Expired Intermediate CA" -out "$ca/intermediate.csr"
    openssl ca -batch -config "$ca/ca.cnf" -cert "$d/root.pem" -keyfile "$d/root-key.TEST-ONLY.pem" \
        -in "$ca/intermediate.csr" -out "$d/intermediate.pem" -notext -extensions v3_intermediate \
        -startdate 20200101000000Z -enddate 20210101000000Z 2>"$ca/intermediate.log" \
        || { cat "$ca/intermediate.log" >&2; die "openssl ca: intermediate"; }

    newkey "$d/client-key.TEST-ONLY.pem"
    openssl req -new -key "$d/client-key.TEST-ONLY.pem" \
        -subj "/CN=mtlsdiag outbound test client" -out "$ca/client.csr"
    openssl ca -batch -config "$ca/ca.cnf" -cert "$d/intermediate.pem" \
        -keyfile "$d/intermediate-key.TEST-ONLY.pem" -in "$ca/client.csr" -out "$d/client.pem" \
        -notext -extensions v3_client -startdate 20240101000000Z -enddate 20440101000000Z \
        2>"$ca/client.log" || { cat "$ca/client.log" >&2; die "openssl ca: client"; }

    cat "$d/client.pem" "$d/intermediate.pem" >"$d/client-chain.pem" # curl --cert: leaf + intermediate
    cat >"$d/README.TEST-ONLY.txt" <<'EOF'
THROWAWAY TEST PKI for mtlsdiag's outbound packet captures.  TEST ONLY.
The *-key.TEST-ONLY.pem private keys are committed on purpose so the captures
can be regenerated with the same certificates; never trust these anywhere.
Made by captures/make-outbound-captures.sh with `openssl ca` (the only OpenSSL
3.0 command that sets past dates); delete this directory to make a new one.

root.pem          CN=mtlsdiag Outbound Test Root CA             (self-signed, 20 years)
intermediate.pem  CN=mtlsdiag Outbound Expired Intermediate CA  (issued by root,
                  serial 0x5001, valid 2020-01-01 to 2021-01-01: EXPIRED on purpose)
client.pem        CN=mtlsdiag outbound test client  (issued by the expired intermediate,
                  serial 0x5002, valid 2024-01-01 to 2044-01-01, extendedKeyUsage clientAuth)
client-chain.pem  client.pem + intermediate.pem (for curl --cert)
EOF
    chmod 0644 "$d"/*
    rm -rf "$ca"
}

if [ ! -s "$OPKI/client-chain.pem" ] || [ ! -s "$OPKI/root.pem" ]; then
    log "creating the outbound test PKI in $OPKI"
    rm -rf "$OPKI"
    make_outbound_pki "$OPKI"
else
    log "reusing the outbound test PKI in $OPKI"
fi
# The PKI must say what the captures need: the leaf valid now, the intermediate expired.
openssl x509 -in "$OPKI/client.pem" -noout -checkend 0 >/dev/null || die "$OPKI/client.pem has expired"
if openssl x509 -in "$OPKI/intermediate.pem" -noout -checkend 0 >/dev/null; then
    die "$OPKI/intermediate.pem has not expired"
fi

# --------------------------------------------------------------------------
# 2. Helpers
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

# cmd NAME WHAT COMMAND...: records a command line (paths relative to captures/).
# Arguments with characters the shell would read are single-quoted, so the lines can be re-run.
cmd() {
    local name=$1 what=$2 a line=; shift 2
    for a in "$@"; do
        if [[ $a =~ ^[][A-Za-z0-9_./:=,+@%{}-]+$ ]]; then line+=" $a"; else line+=" '$a'"; fi
    done
    echo "$what:$line" | sed "s#$OUT/$name.pcap.keys#FILE.keys#g; s#$WORK/$name.server-keys#FILE.server-keys#g; s#$WORK/##g; s#$HERE/##g" \
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

stop_server() { # s_server -naccept 1 ends by itself; wait up to 2 s, then stop it
    local i
    for ((i = 0; i < 40; i++)); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
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

SERVER_CERT=(-cert pki/server.pem -key pki/server-key.TEST-ONLY.pem -cert_chain pki/intermediate.pem)

# --------------------------------------------------------------------------
# 3. The scenarios: s_server on 127.0.0.20 asking (-verify), curl from 127.0.0.10
# --------------------------------------------------------------------------
# outbound_scenario NAME PORT VER CASE
#   CASE none | wrong | right | expired-intermediate: what the application presents.
outbound_scenario() {
    local name=$1 port=$2 ver=$3 case=$4
    local names=pki/client-ca-names.pem anchor=pki/root.pem cert=() files=() what
    case $case in
        none)  what="no certificate loaded (empty Certificate message)" ;;
        wrong) cert=(--cert pki/other-client.pem --key pki/other-client-key.TEST-ONLY.pem)
               files=(pki/other-client.pem)
               what="pki/other-client.pem (issued by Other Root CA: the wrong certificate)" ;;
        right) cert=(--cert pki/client-chain.pem --key pki/client-key.TEST-ONLY.pem)
               files=(pki/client.pem pki/intermediate.pem)
               what="pki/client-chain.pem (client.pem + intermediate.pem: the right certificate)" ;;
        expired-intermediate)
               names=pki/outbound/root.pem anchor=pki/outbound/root.pem
               cert=(--cert pki/outbound/client-chain.pem --key pki/outbound/client-key.TEST-ONLY.pem)
               files=(pki/outbound/client.pem pki/outbound/intermediate.pem)
               what="pki/outbound/client-chain.pem (a leaf valid now + its intermediate, expired since 2021-01-01)" ;;
        *) die "unknown case $case" ;;
    esac
    local verflag=-tls1_2
    [ "$ver" = 1.3 ] && verflag=-tls1_3
    log "$name.pcap: TLS $ver, app $APP_IP -> server $SERVER_IP:$port, app presents: $case"
    start_server "$name" openssl s_server -accept "$SERVER_IP:$port" -naccept 1 -www "$verflag" \
        "${SERVER_CERT[@]}" -verify 2 -CAfile "$names" -verifyCAfile "$anchor" \
        -keylogfile "$WORK/$name.server-keys"
    wait_for "$WORK/$name.server.log" '^ACCEPT' 10
    start_capture "$name" "$port"
    local cli=(curl -sS --http1.1 --tlsv"$ver" --tls-max "$ver" --interface "$APP_IP"
        --cacert pki/root.pem --resolve "localhost:$port:$SERVER_IP" "${cert[@]}"
        -o /dev/null -w '%{http_code} %{local_ip} %{remote_ip} %{num_connects}\n'
        "https://localhost:$port/")
    cmd "$name" client "${cli[@]}"
    sed -i "s#^client: #client: SSLKEYLOGFILE=FILE.keys #" "$WORK/$name.cmds"
    (cd "$HERE" && SSLKEYLOGFILE=$OUT/$name.pcap.keys timeout 30 "${cli[@]}") \
        >"$WORK/$name.client.log" 2>&1 || true
    stop_capture
    stop_server
    local files_json=
    [ ${#files[@]} -gt 0 ] && files_json=$(printf '"%s", ' "${files[@]}") && files_json=${files_json%, }
    manifest "{\"file\": \"$name.pcap\", \"port\": $port, \"tls\": \"TLS $ver\",
      \"app_ip\": \"$APP_IP\", \"server_ip\": \"$SERVER_IP\", \"case\": \"$case\", \"presents\": \"$what\",
      \"presented_files\": [$files_json], \"ca_names_file\": \"$names\", \"server_anchor\": \"$anchor\",
      \"cmds\": \"$name.cmds\", \"server_keylog\": \"$name.server-keys\",
      \"expect_log\": {\"$name.client.log\": [\"200 $APP_IP $SERVER_IP 1\"]},
      \"server_log\": \"$name.server.log\",
      \"how\": \"s_server $verflag -www -verify 2 -CAfile ${names#pki/} on $SERVER_IP + curl --interface $APP_IP --tlsv$ver$([ ${#cert[@]} -gt 0 ] && echo " --cert ${cert[1]#pki/}" || echo ' without --cert')\",
      \"server\": \"openssl s_server $verflag -www -verify 2 -CAfile $names -verifyCAfile $anchor on $SERVER_IP:$port (asks for a client certificate naming the CAs of $names; -verify, not -Verify: the handshake completes whatever the client sends)\",
      \"client\": \"curl --http1.1 --tlsv$ver --tls-max $ver --interface $APP_IP (the application), $what; GET /\"}"
}
#                 name                          port  ver case
outbound_scenario outbound-none                 24701 1.2 none
outbound_scenario outbound-wrong-cert           24702 1.2 wrong
outbound_scenario outbound-right-cert           24703 1.2 right
outbound_scenario outbound-expired-intermediate 24704 1.2 expired-intermediate
outbound_scenario outbound-tls13-right-cert     24705 1.3 right

# --------------------------------------------------------------------------
# 4. Expected facts (asserted against tshark and openssl verify), then install as a set
# --------------------------------------------------------------------------
log "writing outbound-expected.json (cross-checked with tshark, chains by openssl verify)"
"$PY" "$HERE/write_outbound_expected.py" --captures "$OUT" --work "$WORK" --manifest "$MANIFEST" \
    --captures-dir "$HERE" --out-dir "$WORK"

for n in "${NAMES[@]}"; do
    if [ ! -s "$OUT/$n.pcap" ] || [ ! -s "$OUT/$n.pcap.keys" ]; then die "$n: capture or key log missing"; fi
done
chmod 0644 "$OUT"/*
for n in "${NAMES[@]}"; do rm -f "$HERE/$n.pcap" "$HERE/$n.pcap.keys"; done
cp "$OUT"/*.pcap "$OUT"/*.pcap.keys "$HERE"/
install -m 0644 "$WORK/outbound-expected.json" "$HERE"/

# README.md: the section between the outbound:begin/end markers is replaced (appended at the
# end the first time).
"$PY" - "$HERE/README.md" "$WORK/readme-section.md" <<'PY'
import re, sys
readme, section = sys.argv[1:3]
try:
    text = open(readme).read()
except FileNotFoundError:
    text = ""
new_text = open(section).read()
pattern = r"<!-- outbound:begin -->.*?<!-- outbound:end -->\n"
if re.search(pattern, text, re.S):
    text = re.sub(pattern, lambda m: new_text, text, flags=re.S)
else:
    text = text.rstrip("\n") + ("\n\n" if text else "") + new_text
open(readme, "w").write(text)
PY
log "done: ${#NAMES[@]} captures, outbound-expected.json"
