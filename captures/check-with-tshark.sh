#!/usr/bin/env bash
# check-with-tshark.sh - re-derive the facts of every capture in captures/
# with tshark (using the FILE.keys NSS key logs) and compare them with
# captures/expected.json.  Prints OK / MISMATCH / SKIP per fact and exits
# non-zero on any mismatch.
#
# Usage: captures/check-with-tshark.sh [FILE...]     (default: all files in expected.json)
# Needs: tshark, capinfos (Debian package tshark), python3.
#
# tshark is run as in captures/tshark_facts.py, i.e. essentially:
#   tshark -r F -n -T pdml -o tls.keylog_file:F.keys -o tcp.reassemble_out_of_order:TRUE \
#          -o http.desegment_body:FALSE -d tcp.port==PORT,tls -o http.tls.port:PORT
# plus `capinfos -E -M F` for the link type and `tshark -q -z follow,tcp,raw,0`
# to compare the reassembled byte streams of derived files with their source.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
command -v tshark >/dev/null || { echo "check-with-tshark: tshark is not installed" >&2; exit 2; }
exec "$PY" - "$HERE" "$@" <<'PYEOF'
import json
import os
import subprocess
import sys

here = sys.argv[1]
sys.path.insert(0, here)
import tshark_facts as tf  # noqa: E402

expected = json.load(open(os.path.join(here, "expected.json")))
files = sys.argv[2:] or [k for k in expected if not k.startswith("_")]
passed = failed = skipped = 0


def report(status, fname, fact, exp, got=None):
    global passed, failed, skipped
    if status == "OK":
        passed += 1
        print(f"OK        {fname}: {fact} = {json.dumps(exp)}")
    elif status == "SKIP":
        skipped += 1
        print(f"SKIP      {fname}: {fact} (expected {json.dumps(exp)}; not in capture, tshark shows "
              f"{json.dumps(got)})")
    else:
        failed += 1
        print(f"MISMATCH  {fname}: {fact}: expected {json.dumps(exp)}, tshark shows {json.dumps(got)}")


def cmp(fname, fact, exp, got):
    report("OK" if exp == got else "MISMATCH", fname, fact, exp, got)


def follow_raw(path, keys=None):
    """The two directions' reassembled TCP payload, as tshark's follow sees it."""
    out = subprocess.run(["tshark", "-r", path, "-q", "-o", "tcp.reassemble_out_of_order:TRUE",
                          "-z", "follow,tcp,raw,0"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout
    a, b = [], []
    started = False
    for line in out.splitlines():
        if line.startswith("Node 1:"):
            started = True
            continue
        if not started or line.startswith("===="):
            continue
        (b if line.startswith("\t") else a).append(line.strip())
    return "".join(a), "".join(b)


def fields(path, *names):
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "occurrence=a",
                          "-E", "aggregator=,"] + sum([["-e", n] for n in names], []),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


CONN_FACTS = ["client_port", "server_port", "client_ip", "server_ip", "app_protocol",
              "tls_version", "sni", "cert_requested", "cert_request_frame", "cert_presented",
              "client_cert_frame", "client_leaf_sha1", "server_leaf_sha1", "acceptable_cas",
              "handshake_complete"]

for fname in files:
    exp = expected[fname]
    path = os.path.join(here, fname)
    keys = path + ".keys"
    got = tf.analyse(path, keys if os.path.exists(keys) else None)
    cmp(fname, "link_type", exp["link_type"], got["link_type"])
    cmp(fname, "truncated", exp["truncated"], got["truncated"])
    cmp(fname, "connection count", len(exp["connections"]), len(got["connections"]))
    snapcut = got["frames_cut_by_snaplen"] > 0
    for i, ec in enumerate(exp["connections"]):
        gc = got["connections"][i] if i < len(got["connections"]) else {}
        hidden = set(ec.get("not_in_capture", []))
        for k in CONN_FACTS:
            e = ec.get(k)
            g = gc.get(k)
            if k == "acceptable_cas" and ec.get("tls_version") == "TLS 1.3":
                # tshark reports the (decrypted) certificate_authorities extension.
                if "tls13_certificate_authorities" in hidden:
                    report("SKIP", fname, "tls13_certificate_authorities",
                           ec.get("tls13_certificate_authorities"), g)
                else:
                    cmp(fname, "tls13_certificate_authorities", ec.get("tls13_certificate_authorities"), g)
                cmp(fname, "acceptable_cas (null for TLS 1.3)", e, None)
                continue
            if snapcut and k not in ("client_port", "server_port", "client_ip", "server_ip",
                                     "app_protocol"):
                report("SKIP", fname, k + " [records cut by snaplen: tshark does not dissect them]", e, g)
                continue
            if k in hidden:
                report("SKIP", fname, k, e, g)
                continue
            cmp(fname, k, e, g)
        # alerts
        galerts = gc.get("alerts", [])
        if snapcut:
            cmp(fname, "alert frames/senders", [(a["frame"], a["from"]) for a in ec["alerts"]],
                [(a["frame"], a["from"]) for a in galerts])
        elif "alerts[*].description" in hidden:
            cmp(fname, "alerts (frame, from, encrypted)",
                [(a["frame"], a["from"], a["encrypted"]) for a in ec["alerts"]],
                [(a["frame"], a["from"], a["encrypted"]) for a in galerts])
            report("SKIP", fname, "alerts[*].description", [a["description"] for a in ec["alerts"]],
                   [a["description"] for a in galerts])
        else:
            cmp(fname, "alerts", ec["alerts"], galerts)
        ghttp = [{k: h[k] for k in ("method", "path", "status", "location", "host")}
                 for h in gc.get("http", [])]
        if "http" in hidden or snapcut:
            report("SKIP", fname, "http", ec["http"], ghttp)
        else:
            cmp(fname, "http", ec["http"], ghttp)
        if "client_records_after_server_hello" in ec and not snapcut:
            cmp(fname, "client_records_after_server_hello", ec["client_records_after_server_hello"],
                gc.get("client_records_after_server_hello"))

    # Checks specific to the derived files.
    src = exp.get("derived_from")
    if src:
        srcpath = os.path.join(here, src)
        if fname.endswith("-vlan.pcap") or fname.endswith("-qinq.pcap"):
            rows = fields(path, "eth.type", "ieee8021ad.id", "vlan.id", "vlan.etype")
            want = (["0x8100", "", "42", "0x0800"] if fname.endswith("-vlan.pcap")
                    else ["0x88a8", "100", "42", "0x0800"])
            cmp(fname, "every frame tagged (eth.type, ieee8021ad.id, vlan.id, vlan.etype)", [want],
                [list(t) for t in sorted({tuple(r) for r in rows})])
        if fname.endswith(("-vlan.pcap", "-qinq.pcap", "-reordered.pcap")):
            cmp(fname, "reassembled TCP byte streams identical to " + src, True,
                follow_raw(path) == follow_raw(srcpath) and follow_raw(path)[0] != "")
        if fname.endswith("-reordered.pcap"):
            rows = fields(path, "frame.number", "tcp.analysis.out_of_order", "tcp.analysis.retransmission",
                          "tcp.analysis.lost_segment")
            flagged = [r[0] for r in rows if any(x for x in r[1:])]
            cmp(fname, "tshark flags lost/out-of-order/retransmitted segments", True, len(flagged) >= 4)
        if fname.endswith("midstream.pcap"):
            rows = fields(path, "frame.number", "tcp.flags.syn", "tls.handshake.type")
            cmp(fname, "no SYN and no ClientHello in file", True,
                not any(r[1] in ("1", "True") for r in rows)
                and not any("1" in r[2].split(",") for r in rows))
        if snapcut:
            rows = fields(path, "frame.cap_len", "frame.len")
            srows = fields(srcpath, "frame.len")
            snap = exp.get("snaplen", 96)
            cmp(fname, f"caplen <= {snap} and orig len = source's", True,
                all(int(r[0]) <= snap for r in rows) and [r[1] for r in rows] == [r[0] for r in srows]
                and any(int(r[0]) < int(r[1]) for r in rows))
        if exp.get("truncated"):
            cmp(fname, "readable frames", exp.get("readable_frames"), got["frames"])

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PYEOF
