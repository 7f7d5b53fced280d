#!/usr/bin/env bash
# make-captures.sh - regenerate mtlsdiag's test captures.
#
# Every capture is a REAL handshake between real TLS stacks (openssl s_server /
# s_client, curl, Python's ssl module and http.server) on the loopback
# interface only (127.0.0.1 / ::1), recorded with tcpdump (or dumpcap for the
# pcapng file).  A few files are then derived from those captures by
# captures/pcaptool.py (plain python3, struct only).  Finally expected.json is
# written from what each side was told to do plus the ephemeral ports and frame
# numbers read back from the captures with tshark, and the result is
# cross-checked with captures/check-with-tshark.sh.
#
# Usage: sudo captures/make-captures.sh        (needs root for tcpdump)
# Needs (Debian 12): openssl tcpdump tshark curl python3
#
# The throwaway PKI lives in captures/pki/ (TEST ONLY, private keys included on
# purpose).  It is created once and reused on later runs so that the
# thumbprints stay stable; delete captures/pki/ to make a fresh one.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=$HERE/pki
PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && PY=${PYTHON:-/usr/bin/python3}
export LC_ALL=C PYTHONDONTWRITEBYTECODE=1

die() { echo "make-captures: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump/dumpcap capture on lo)"
for t in openssl tcpdump tshark dumpcap capinfos curl ss "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (apt-get install openssl tcpdump tshark curl python3)"
done

WORK=$(mktemp -d /tmp/mtlsdiag-captures.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
MANIFEST=$WORK/manifest.tsv
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

# --------------------------------------------------------------------------
# 1. Throwaway PKI (TEST ONLY)
# --------------------------------------------------------------------------
make_pki() {
    local d=$1
    mkdir -p "$d"
    cd "$d"
    local days=7300
    newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

    newkey root-key.TEST-ONLY.pem
    openssl req -x509 -new -key root-key.TEST-ONLY.pem -sha256 -days $days \
        -subj "/CN=mtlsdiag Test Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out root.pem

    newkey intermediate-key.TEST-ONLY.pem
    openssl req -new -key intermediate-key.TEST-ONLY.pem -subj "/CN=mtlsdiag Test Intermediate CA" -out inter.csr
    printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
        "keyUsage=critical,keyCertSign,cRLSign" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >inter.ext
    openssl x509 -req -in inter.csr -CA root.pem -CAkey root-key.TEST-ONLY.pem -set_serial 0x1001 \
        -sha256 -days $days -extfile inter.ext -out intermediate.pem 2>/dev/null

    newkey server-key.TEST-ONLY.pem
    openssl req -new -key server-key.TEST-ONLY.pem -subj "/CN=localhost" -out server.csr
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >server.ext
    openssl x509 -req -in server.csr -CA intermediate.pem -CAkey intermediate-key.TEST-ONLY.pem \
        -set_serial 0x2001 -sha256 -days $days -extfile server.ext -out server.pem 2>/dev/null

    newkey client-key.TEST-ONLY.pem
    openssl req -new -key client-key.TEST-ONLY.pem -subj "/CN=mtlsdiag test client" -out client.csr
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >client.ext
    openssl x509 -req -in client.csr -CA intermediate.pem -CAkey intermediate-key.TEST-ONLY.pem \
        -set_serial 0x3001 -sha256 -days $days -extfile client.ext -out client.pem 2>/dev/null

    # An independent root the server does NOT trust, and a client cert from it.
    newkey other-root-key.TEST-ONLY.pem
    openssl req -x509 -new -key other-root-key.TEST-ONLY.pem -sha256 -days $days \
        -subj "/CN=Other Root CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out other-root.pem
    newkey other-client-key.TEST-ONLY.pem
    openssl req -new -key other-client-key.TEST-ONLY.pem -subj "/CN=other test client" -out other-client.csr
    openssl x509 -req -in other-client.csr -CA other-root.pem -CAkey other-root-key.TEST-ONLY.pem \
        -set_serial 0x4001 -sha256 -days $days -extfile client.ext -out other-client.pem 2>/dev/null

    # Bundles used by the servers and clients.
    cat root.pem intermediate.pem >client-ca-names.pem   # s_server -CAfile: CertificateRequest names root, then intermediate
    cat client.pem intermediate.pem >client-chain.pem     # curl --cert: leaf + intermediate
    cat server.pem intermediate.pem >server-chain.pem
    rm -f ./*.csr ./*.ext ./*.srl
    cat >README.TEST-ONLY.txt <<'EOF'
THROWAWAY TEST PKI for mtlsdiag's packet captures.  TEST ONLY.
The *-key.TEST-ONLY.pem private keys are committed on purpose so the captures
can be regenerated with the same certificates; never trust these anywhere.
Made by captures/make-captures.sh (delete this directory to make a new PKI).

root.pem            CN=mtlsdiag Test Root CA          (self-signed)
intermediate.pem    CN=mtlsdiag Test Intermediate CA  (issued by root)
server.pem          CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1 (issued by intermediate)
client.pem          CN=mtlsdiag test client           (issued by intermediate)
other-root.pem      CN=Other Root CA                  (self-signed, NOT trusted by the servers)
other-client.pem    CN=other test client              (issued by Other Root CA)
client-ca-names.pem root.pem + intermediate.pem (s_server -CAfile => 2 DNs in CertificateRequest)
client-chain.pem    client.pem + intermediate.pem (for curl --cert)
server-chain.pem    server.pem + intermediate.pem
EOF
    cd - >/dev/null
}

if [ ! -s "$PKI/other-client.pem" ] || [ ! -s "$PKI/server-chain.pem" ]; then
    log "creating throwaway test PKI in $PKI"
    rm -rf "$PKI"
    make_pki "$PKI"
else
    log "reusing test PKI in $PKI"
fi
openssl verify -CAfile "$PKI/root.pem" -untrusted "$PKI/intermediate.pem" \
    "$PKI/server.pem" "$PKI/client.pem" >/dev/null || die "PKI does not verify"

# --------------------------------------------------------------------------
# 2. Helpers: servers, capture start/stop
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

# Only listeners matter: TIME-WAIT leftovers of a previous run do not stop
# s_server / http.server (both set SO_REUSEADDR).
port_free() { ! ss -Hltn "( sport = :$1 )" | grep -q .; }

SRV_PID=
start_openssl_server() { # name port family ver mode(none|verify|Verify)
    local name=$1 port=$2 fam=$3 ver=$4 mode=$5 accept
    port_free "$port" || die "port $port busy"
    if [ "$fam" = 6 ]; then accept="[::1]:$port"; else accept="127.0.0.1:$port"; fi
    # Paths are relative to captures/ (the -www status page echoes the command line).
    local args=(s_server -accept "$accept" -naccept 1 -www
        -cert pki/server.pem -key pki/server-key.TEST-ONLY.pem -cert_chain pki/intermediate.pem)
    [ "$ver" = 1.2 ] && args+=(-tls1_2) || args+=(-tls1_3)
    case $mode in
        none) ;;
        verify | Verify)
            # -CAfile gives the CA names (root, intermediate) sent in the
            # CertificateRequest; -verifyCAfile makes only the root a trust anchor;
            # -verify_return_error makes a failed verification abort the handshake.
            args+=("-$mode" 2 -CAfile pki/client-ca-names.pem -verifyCAfile pki/root.pem -verify_return_error) ;;
        *) die "bad mode $mode" ;;
    esac
    echo "openssl ${args[*]}" >"$WORK/$name.server.cmd"
    (cd "$HERE" && exec openssl "${args[@]}") >"$WORK/$name.server.log" 2>&1 </dev/null &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_for "$WORK/$name.server.log" '^ACCEPT' 10
}

start_http_server() { # name port mode(200|redirect)
    port_free "$2" || die "port $2 busy"
    echo "$PY loopback_peers.py http-server --port $2 --mode $3" >"$WORK/$1.server.cmd"
    "$PY" "$HERE/loopback_peers.py" http-server --port "$2" --mode "$3" >"$WORK/$1.server.log" 2>&1 </dev/null &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_for "$WORK/$1.server.log" '^READY' 10
}

stop_server() {
    local i
    for ((i = 0; i < 40; i++)); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
}

CAP_PID=
start_capture() { # tool(tcpdump|dumpcap) iface file port
    local tool=$1 iface=$2 file=$3 port=$4
    if [ "$tool" = tcpdump ]; then
        # --immediate-mode: without it packets still in the kernel ring when
        # SIGINT arrives are lost.
        echo "tcpdump -i $iface -U --immediate-mode -w $(basename "$file") 'tcp port $port'" >"$WORK/$(basename "$file").capture.cmd"
        tcpdump -i "$iface" -U --immediate-mode -w "$file" "tcp port $port" 2>"$file.err" &
        CAP_PID=$!
        PIDS+=("$CAP_PID")
        wait_for "$file.err" 'listening on' 10
    else
        echo "dumpcap -q -i $iface -f 'tcp port $port' -w $(basename "$file")   # dumpcap writes pcapng" >"$WORK/$(basename "$file").capture.cmd"
        dumpcap -q -i "$iface" -f "tcp port $port" -w "$file" 2>"$file.err" &
        CAP_PID=$!
        PIDS+=("$CAP_PID")
        wait_for "$file.err" "Capturing on" 10
        sleep 0.2
    fi
}

stop_capture() {
    sleep 0.4 # let the FIN/ACKs arrive
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

GET_REQ='GET / HTTP/1.0\r\nHost: localhost\r\n\r\n'

run_client() { # name client(s_client|curl|python) host port ver cert(none|good|other) keyfile
    local name=$1 client=$2 host=$3 port=$4 ver=$5 cert=$6 keys=$7
    local certf= keyf= chain=
    case $cert in
        good) certf=$PKI/client.pem keyf=$PKI/client-key.TEST-ONLY.pem chain=$PKI/intermediate.pem ;;
        other) certf=$PKI/other-client.pem keyf=$PKI/other-client-key.TEST-ONLY.pem ;;
        none) ;;
    esac
    rm -f "$keys"
    local -a cmd
    case $client in
        s_client)
            local connect=$host:$port
            [[ $host == *:* ]] && connect="[$host]:$port"
            cmd=(openssl s_client -connect "$connect" -servername localhost -CAfile "$PKI/root.pem"
                -verify_return_error -verify_hostname localhost -keylogfile "$keys" -ign_eof)
            [ "$ver" = 1.2 ] && cmd+=(-tls1_2) || cmd+=(-tls1_3)
            [ -n "$certf" ] && cmd+=(-cert "$certf" -key "$keyf")
            [ -n "$chain" ] && cmd+=(-cert_chain "$chain")
            echo "printf '$GET_REQ' | ${cmd[*]}" | sed "s#$PKI#pki#g; s#$keys#FILE.keys#" >"$WORK/$name.client.cmd"
            # shellcheck disable=SC2059
            printf "$GET_REQ" | timeout 15 "${cmd[@]}" >"$WORK/$name.client.log" 2>&1 || true
            ;;
        curl)
            cmd=(curl -sS --http1.1 --cacert "$PKI/root.pem" --resolve "localhost:$port:$host"
                -o "$WORK/$name.body")
            [ "$ver" = 1.2 ] && cmd+=(--tlsv1.2 --tls-max 1.2) || cmd+=(--tlsv1.3 --tls-max 1.3)
            if [ "$cert" = good ]; then cmd+=(--cert "$PKI/client-chain.pem" --key "$keyf");
            elif [ -n "$certf" ]; then cmd+=(--cert "$certf" --key "$keyf"); fi
            cmd+=("https://localhost:$port/")
            echo "SSLKEYLOGFILE=FILE.keys ${cmd[*]}" | sed "s#$PKI#pki#g; s#$WORK/##g" >"$WORK/$name.client.cmd"
            SSLKEYLOGFILE=$keys timeout 15 "${cmd[@]}" >"$WORK/$name.client.log" 2>&1 || true
            ;;
        python)
            cmd=("$PY" "$HERE/loopback_peers.py" tls-client --host "$host" --port "$port" --tls "$ver"
                --cafile "$PKI/root.pem" --keylog "$keys")
            [ -n "$certf" ] && cmd+=(--cert "$certf" --key "$keyf")
            [ -n "$chain" ] && cmd+=(--chain "$chain")
            echo "${cmd[*]}" | sed "s#$PKI#pki#g; s#$keys#FILE.keys#; s#$HERE/##; s#$PY#python3#" >"$WORK/$name.client.cmd"
            timeout 15 "${cmd[@]}" >"$WORK/$name.client.log" 2>&1 || true
            ;;
    esac
}

# scenario NAME FILE-EXT CAPTOOL IFACE FAMILY TLSVER SERVERMODE CLIENT CLIENTCERT PORT
tls_scenario() {
    local name=$1 ext=$2 tool=$3 iface=$4 fam=$5 ver=$6 mode=$7 client=$8 cert=$9 port=${10}
    local file=$OUT/$name.$ext host=127.0.0.1
    [ "$fam" = 6 ] && host=::1
    log "$name.$ext: TLS $ver, server $mode, client $client with cert=$cert, port $port, $tool -i $iface"
    start_openssl_server "$name.$ext" "$port" "$fam" "$ver" "$mode"
    start_capture "$tool" "$iface" "$file" "$port"
    run_client "$name.$ext" "$client" "$host" "$port" "$ver" "$cert" "$file.keys"
    stop_capture
    stop_server
    [ -s "$file.keys" ] || die "$name: no key log written"
    printf '%s\t%s\ttls\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name.$ext" "$port" "$ver" "$mode" "$client" \
        "$cert" "$host" "$iface" "$tool" "$WORK/$name.$ext" >>"$MANIFEST"
}

http_scenario() { # NAME MODE PATH PORT
    local name=$1.pcap mode=$2 path=$3 port=$4 file=$OUT/$1.pcap
    log "$name: plain HTTP ($mode), port $port"
    start_http_server "$name" "$port" "$mode"
    start_capture tcpdump lo "$file" "$port"
    local cmd=(curl -sS --resolve "localhost:$port:127.0.0.1" -o "$WORK/$name.body" "http://localhost:$port$path")
    echo "${cmd[*]}" | sed "s#$WORK/##g" >"$WORK/$name.client.cmd"
    timeout 15 "${cmd[@]}" >"$WORK/$name.client.log" 2>&1 || true
    stop_capture
    stop_server
    printf '%s\t%s\thttp\t-\t%s\tcurl\tnone\t127.0.0.1\tlo\ttcpdump\t%s\t%s\n' "$name" "$port" "$mode" \
        "$WORK/$name" "$path" >>"$MANIFEST"
}

# --------------------------------------------------------------------------
# 3. The captures.  Ports 24401..24499 are outside Linux's ephemeral range.
# --------------------------------------------------------------------------
#            name                    ext     tool    if  fam ver mode   client   cert  port
tls_scenario tls12-no-request        pcap    tcpdump lo  4 1.2 none    s_client none  24401
tls_scenario tls12-presented         pcap    tcpdump lo  4 1.2 verify  s_client good  24402
tls_scenario tls12-empty             pcap    tcpdump lo  4 1.2 verify  s_client none  24403
tls_scenario tls12-rejected          pcap    tcpdump lo  4 1.2 Verify  s_client none  24404
tls_scenario tls12-unknown-ca        pcap    tcpdump lo  4 1.2 Verify  s_client other 24405
tls_scenario tls13-no-request        pcap    tcpdump lo  4 1.3 none    s_client none  24411
tls_scenario tls13-presented         pcap    tcpdump lo  4 1.3 verify  curl     good  24412
tls_scenario tls13-empty             pcap    tcpdump lo  4 1.3 verify  python   none  24413
tls_scenario tls13-rejected          pcap    tcpdump lo  4 1.3 Verify  s_client none  24414
tls_scenario tls13-unknown-ca        pcap    tcpdump lo  4 1.3 Verify  python   other 24415
tls_scenario tls12-presented-ipv6    pcap    tcpdump lo  6 1.2 verify  s_client good  24421
tls_scenario tls13-presented-any     pcap    tcpdump any 4 1.3 verify  s_client good  24422
tls_scenario tls12-presented         pcapng  dumpcap lo  4 1.2 verify  s_client good  24423
http_scenario http-200      200      /index.html 24431
http_scenario http-redirect redirect /login      24432

# --------------------------------------------------------------------------
# 4. Derived files (captures/pcaptool.py, plain python3)
# --------------------------------------------------------------------------
log "deriving rewritten captures with pcaptool.py"
TOOL=("$PY" "$HERE/pcaptool.py")
P=$OUT/tls12-presented.pcap
cat >"$WORK/derived.cmd" <<'EOF2'
python3 pcaptool.py vlan --vid 42 tls12-presented.pcap tls12-presented-vlan.pcap
python3 pcaptool.py vlan --outer-vid 100 --vid 42 tls12-presented.pcap tls12-presented-qinq.pcap
python3 pcaptool.py reorder --server-port 24402 tls12-presented.pcap tls12-presented-reordered.pcap
python3 pcaptool.py midstream --server-port 24402 tls12-presented.pcap tls12-midstream.pcap
python3 pcaptool.py snaplen --snaplen 96 tls12-presented.pcap tls12-snaplen.pcap
python3 pcaptool.py truncate --server-port 24412 tls13-presented.pcap tls13-truncated.pcap
EOF2
"${TOOL[@]}" vlan --vid 42 "$P" "$OUT/tls12-presented-vlan.pcap"
"${TOOL[@]}" vlan --outer-vid 100 --vid 42 "$P" "$OUT/tls12-presented-qinq.pcap"
"${TOOL[@]}" reorder --server-port 24402 "$P" "$OUT/tls12-presented-reordered.pcap" >"$WORK/reorder.json"
"${TOOL[@]}" midstream --server-port 24402 "$P" "$OUT/tls12-midstream.pcap" >"$WORK/midstream.json"
"${TOOL[@]}" snaplen --snaplen 96 "$P" "$OUT/tls12-snaplen.pcap"
"${TOOL[@]}" truncate --server-port 24412 "$OUT/tls13-presented.pcap" "$OUT/tls13-truncated.pcap" >"$WORK/truncate.json"
for d in tls12-presented-vlan tls12-presented-qinq tls12-presented-reordered tls12-midstream tls12-snaplen; do
    cp "$P.keys" "$OUT/$d.pcap.keys"
    printf '%s\t24402\tderived\t%s\ttls12-presented.pcap\n' "$d.pcap" "$d" >>"$MANIFEST"
done
cp "$OUT/tls13-presented.pcap.keys" "$OUT/tls13-truncated.pcap.keys"
printf '%s\t24412\tderived\t%s\ttls13-presented.pcap\n' "tls13-truncated.pcap" "tls13-truncated" >>"$MANIFEST"

# --------------------------------------------------------------------------
# 5. Install the files, write expected.json, cross-check with tshark
# --------------------------------------------------------------------------
rm -f "$OUT"/*.err
chmod 0644 "$OUT"/*
# Old captures are replaced as a set: the files the last run listed in expected.json (the chain
# and decryption captures of the other scripts stay).
if [ -f "$HERE/expected.json" ]; then
    "$PY" -c 'import json, sys; print("\n".join(n for n in json.load(open(sys.argv[1])) if not n.startswith("_")))' \
        "$HERE/expected.json" | while read -r name; do rm -f "$HERE/$name" "$HERE/$name.keys"; done
fi
cp "$OUT"/* "$HERE"/
log "writing expected.json"
"$PY" "$HERE/write_expected.py" --captures "$HERE" --manifest "$MANIFEST" \
    --work "$WORK" --out "$HERE/expected.json"
# Record the exact command lines used (for README.md).
{
    echo "# Exact command lines of the last make-captures.sh run (paths relative to captures/)."
    echo "# FILE.server / FILE.capture / FILE.client were run in that order for each capture."
    for f in "$WORK"/*.cmd; do
        [ "$(basename "$f")" = derived.cmd ] && continue
        printf '%s: %s\n' "$(basename "$f" .cmd)" "$(cat "$f")"
    done | sort
    echo "# derived files:"
    cat "$WORK/derived.cmd"
} >"$HERE/commands.txt"
# One pcapng that carries its own key log in a Decryption Secrets Block (what a support engineer
# attaches to a ticket), for the key log tests: same packets as tls12-presented.pcapng.
editcap --inject-secrets "tls,$HERE/tls12-presented.pcapng.keys" "$HERE/tls12-presented.pcapng" \
    "$HERE/tls12-presented-dsb.pcapng"
log "cross-checking with tshark"
bash "$HERE/check-with-tshark.sh"
