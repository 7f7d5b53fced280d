#!/usr/bin/env python3
"""Write chains-expected.json for the chain captures and cross-check it (standard library only).

Used by make-chain-captures.sh:
    write_chains_expected.py --work WORK --dir OUTDIR --pki PKI --out OUTDIR/chains-expected.json

The truth is written from what each side was TOLD to do (the scenario table below: who
connects to whom, TLS version, whether the server requests a certificate, whether the client
has one, which certificate header the proxy adds and in which encoding, what the app answers).
Then every told fact is asserted three ways, and the script exits 1 on any mismatch:
  * tshark, without the key log: TCP connection per hop (SYN from the told address to the told
    port), ServerHello version, CertificateRequest (type 13) and the client's Certificate
    (type 11, certificates_length, SHA-1 of the first certificate), the plain-HTTP request
    (frame, X-Forwarded-For, certificate header decoded and hashed) and response status;
  * tshark WITH the key log (-o tls.keylog_file:FILE.keys): the TLS 1.3 handshake messages and
    the HTTP request/response inside each TLS leg;
  * each peer's own "RESULT {...}" line in WORK/*.log (the certificate the proxy saw, the
    headers it sent, the headers the app received, the status the caller got).
Only what tshark reads back (client ports, frame numbers) is taken from the capture.
"""
import argparse
import base64
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.parse

FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("MISMATCH: " + what, file=sys.stderr)


def sha1_hex(der):
    return hashlib.sha1(der).hexdigest().upper()


def pem_to_der(text):
    m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    return base64.b64decode(re.sub(r"\s+", "", m.group(1)))


def decode_cert_header(value):
    """-> (encoding, SHA-1 of the DER).  Encodings as mtlsdiag names them."""
    if "%" in value and urllib.parse.unquote(value).startswith("-----BEGIN"):
        return "url_pem", sha1_hex(pem_to_der(urllib.parse.unquote(value)))
    if value.startswith("-----BEGIN"):
        enc = "pem_spaces" if "\n" not in value and " " in value.split("-----")[2] else "pem"
        return enc, sha1_hex(pem_to_der(value))
    return "base64_der", sha1_hex(base64.b64decode(value, validate=True))


# ------------------------------------------------------------------------------ tshark facts

FIELDS = ["frame.number", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.flags.syn",
          "tcp.flags.ack", "tls.handshake.type", "tls.handshake.certificates_length",
          "tls.handshake.certificate", "tls.handshake.extensions.supported_version",
          "tls.handshake.dnames_len", "http.request.method", "http.request.uri",
          "http.request.line", "http.response.code", "tcp.analysis.retransmission"]


def tshark(path, tls_ports, http_ports, keylog):
    cmd = ["tshark", "-r", path, "-n", "-T", "json"]
    for p in tls_ports:
        cmd += ["-d", "tcp.port==%d,tls" % p]
    for p in http_ports:
        cmd += ["-d", "tcp.port==%d,http" % p]
    if keylog:
        cmd += ["-o", "tls.keylog_file:" + keylog]
    for f in FIELDS:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    noise = [l for l in proc.stderr.splitlines() if l.strip() and "Running as user" not in l]
    check(proc.returncode == 0 and not noise,
          "%s: tshark%s exited %d: %s" % (os.path.basename(path), " (key log)" if keylog else "",
                                          proc.returncode, " | ".join(noise)))
    frames = []
    for pkt in json.loads(proc.stdout or "[]"):
        layers = pkt["_source"]["layers"]
        frames.append({k: layers.get(k, []) for k in FIELDS})
    return frames


def one(frame, field):
    vals = frame[field]
    return vals[0] if vals else None


def hop_facts(frames, from_ip, to_ip, to_port):
    """Facts of the single TCP connection from_ip -> to_ip:to_port in a tshark frame list."""
    syns = [f for f in frames if one(f, "ip.src") == from_ip and one(f, "ip.dst") == to_ip
            and one(f, "tcp.dstport") == str(to_port) and one(f, "tcp.flags.syn") in ("1", "True")
            and one(f, "tcp.flags.ack") in ("0", "False")]
    facts = {"connections": len(syns)}
    if len(syns) != 1:
        return facts
    cport = one(syns[0], "tcp.srcport")
    facts["client_port"] = int(cport)

    def c2s(f):
        return (one(f, "ip.src") == from_ip and one(f, "tcp.srcport") == cport
                and one(f, "ip.dst") == to_ip and one(f, "tcp.dstport") == str(to_port))

    def s2c(f):
        return (one(f, "ip.src") == to_ip and one(f, "tcp.srcport") == str(to_port)
                and one(f, "ip.dst") == from_ip and one(f, "tcp.dstport") == cport)

    up = [f for f in frames if c2s(f)]
    down = [f for f in frames if s2c(f)]
    facts["tls"] = any(f["tls.handshake.type"] for f in up + down)
    facts["tls_version"] = None
    for f in down:
        if "2" in f["tls.handshake.type"]:
            sv = f["tls.handshake.extensions.supported_version"]
            facts["tls_version"] = "1.3" if "0x0304" in sv else "1.2"
            break
    facts["cert_request_frame"] = next(
        (int(one(f, "frame.number")) for f in down if "13" in f["tls.handshake.type"]), None)
    facts["dnames_len"] = next(
        (int(one(f, "tls.handshake.dnames_len") or 0) for f in down
         if "13" in f["tls.handshake.type"]), None)
    cert = next((f for f in up if "11" in f["tls.handshake.type"]), None)
    facts["client_cert_frame"] = int(one(cert, "frame.number")) if cert else None
    facts["client_certs_length"] = int(one(cert, "tls.handshake.certificates_length")) if cert else None
    facts["client_leaf_sha1"] = (sha1_hex(bytes.fromhex(cert["tls.handshake.certificate"][0]))
                                 if cert and cert["tls.handshake.certificate"] else None)
    req = next((f for f in up if f["http.request.method"]), None)
    facts["request_frame"] = int(one(req, "frame.number")) if req else None
    facts["request"] = None
    if req:
        headers = {}
        for line in req["http.request.line"]:
            name, _, value = line.rstrip("\r\n").partition(":")
            headers[name.strip().lower()] = value.strip()
        facts["request"] = {"method": one(req, "http.request.method"),
                            "uri": one(req, "http.request.uri"), "headers": headers}
    resp = next((f for f in down if f["http.response.code"]
                 and not f["tcp.analysis.retransmission"]), None)
    facts["response_frame"] = int(one(resp, "frame.number")) if resp else None
    facts["status"] = int(one(resp, "http.response.code")) if resp else None
    return facts


def cert_header_of(request, frame):
    if not request:
        return None
    for name in ("X-ARR-ClientCert", "X-SSL-Client-Cert"):
        value = request["headers"].get(name.lower())
        if value is not None:
            enc, sha = decode_cert_header(value)
            return {"name": name, "encoding": enc, "sha1": sha, "frame": frame}
    return None


# ---------------------------------------------------------------------------- the scenarios

def scenarios(m, client_sha1):
    """What each side was told to do.  Ports come from the script's manifest."""
    A = m["addresses"]
    P = {int(k): v for k, v in m["ports"].items()}

    def tls_hop(n, frm, to, port, version, requested, presented, note=None):
        h = {"hop": n, "from_ip": frm, "to_ip": to, "to_port": port, "protocol": "tls",
             "tls_version": version, "cert_requested": requested, "cert_presented": presented,
             "client_leaf_sha1": client_sha1 if presented == "yes" else None,
             "cert_header": None, "x_forwarded_for": None, "status": None}
        if note:
            h["note"] = note
        return h

    def http_hop(n, frm, to, port, status, xff, header=None, encoding=None):
        return {"hop": n, "from_ip": frm, "to_ip": to, "to_port": port, "protocol": "http",
                "tls_version": None, "cert_requested": None, "cert_presented": None,
                "client_leaf_sha1": None,
                "cert_header": ({"name": header, "encoding": encoding, "sha1": client_sha1}
                                if header else None),
                "x_forwarded_for": xff, "status": status}

    py = "chain_peers.py (Python ssl/http.server/http.client)"
    out = {}

    def caller_fe_app(n, tls, hdr, enc, status, verdict, dropped, note):
        p = P[n]
        return [{"verdict": verdict, "dropped_at": dropped, "app_status": status, "note": note,
                 "hops": [tls_hop(1, A["caller"], A["first"], p["fe"], tls, "yes", "yes"),
                          http_hop(2, A["first"], A["app"], p["app"], status, A["caller"],
                                   hdr, enc)]}]

    out["chain-arr-base64.pcap"] = {
        "files": ["chain-arr-base64.pcap"], "key_log": "chain-arr-base64.pcap.keys",
        "made_with": py + ": caller TLS 1.2 with client.pem + intermediate -> front end TLS 1.2 "
                     "CERT_OPTIONAL -> app, X-ARR-ClientCert base64 DER",
        "logs": "chain-arr-base64",
        "chains": caller_fe_app(1, "1.2", "X-ARR-ClientCert", "base64_der", 200, "delivered",
                                None, "the certificate presented on hop 1 reaches the app as "
                                "X-ARR-ClientCert (base64 of the DER)")}
    out["chain-arr-base64-tls13.pcap"] = {
        "files": ["chain-arr-base64-tls13.pcap"], "key_log": "chain-arr-base64-tls13.pcap.keys",
        "made_with": py + ": as chain-arr-base64 with TLS 1.3 on the caller leg",
        "logs": "chain-arr-base64-tls13",
        "chains": caller_fe_app(2, "1.3", "X-ARR-ClientCert", "base64_der", 200, "delivered",
                                None, "TLS 1.3: the CertificateRequest and the caller's "
                                "Certificate are encrypted; the caller's thumbprint (and the "
                                "frames) are known only with the key log; the header on hop 2 "
                                "carries the same certificate in the clear")}
    out["chain-no-header.pcap"] = {
        "files": ["chain-no-header.pcap"], "key_log": "chain-no-header.pcap.keys",
        "made_with": py + ": caller TLS 1.2 with client.pem -> front end (adds no certificate "
                     "header) -> app",
        "logs": "chain-no-header",
        "chains": caller_fe_app(3, "1.2", None, None, 403, "dropped_at_hop",
                                {"hop": 2, "from": A["first"], "to": A["app"]},
                                "presented on hop 1, but the front end forwards no certificate "
                                "header: the app answers 403")}
    out["chain-pem.pcap"] = {
        "files": ["chain-pem.pcap"], "key_log": "chain-pem.pcap.keys",
        "made_with": py + ": as chain-arr-base64, but X-ARR-ClientCert carries the PEM with "
                     "markers and each newline replaced by a space",
        "logs": "chain-pem",
        "header_encoding_expected": "base64_der",
        "chains": caller_fe_app(4, "1.2", "X-ARR-ClientCert", "pem_spaces", 200, "delivered",
                                None, "delivered, but X-ARR-ClientCert holds PEM whose newlines "
                                "became spaces (pem_spaces): the wrong encoding for that "
                                "header's convention (bare base64 of the DER); this app only "
                                "checks presence, so it answers 200")}
    p = P[5]
    out["chain-nginx.pcap"] = {
        "files": ["chain-nginx.pcap"], "key_log": "chain-nginx.pcap.keys",
        "made_with": "curl 7.88 (TLS 1.2, --cert client-chain.pem, --interface 127.0.0.2, "
                     "SSLKEYLOGFILE) -> nginx 1.22 (ssl_verify_client optional, proxy_set_header "
                     "X-SSL-Client-Cert $ssl_client_escaped_cert, proxy_bind 127.0.0.3) -> app",
        "logs": "chain-nginx",
        "chains": [{"verdict": "delivered", "dropped_at": None, "app_status": 200,
                    "note": "nginx forwards the leaf as URL-encoded PEM in X-SSL-Client-Cert",
                    "hops": [tls_hop(1, A["caller"], A["first"], p["fe"], "1.2", "yes", "yes"),
                             http_hop(2, A["first"], A["app"], p["app"], 200, A["caller"],
                                      "X-SSL-Client-Cert", "url_pem")]}]}
    p = P[6]
    out["chain-gateway-drop.pcap"] = {
        "files": ["chain-gateway-drop.pcap"], "key_log": "chain-gateway-drop.pcap.keys",
        "made_with": py + ": caller TLS 1.2 with client.pem -> gateway TLS 1.2 CERT_REQUIRED -> "
                     "new TLS 1.2 connection without a client certificate -> front end "
                     "CERT_OPTIONAL -> app",
        "logs": "chain-gateway-drop",
        "chains": [{"verdict": "dropped_at_hop",
                    "dropped_at": {"hop": 2, "from": A["first"], "to": A["second"]},
                    "app_status": 403,
                    "note": "the gateway ends the caller's TLS and opens a new TLS connection to "
                            "the front end without a client certificate: requested on hop 2 and "
                            "answered with an empty certificate list; no header reaches the app",
                    "hops": [tls_hop(1, A["caller"], A["first"], p["gw"], "1.2", "yes", "yes"),
                             tls_hop(2, A["first"], A["second"], p["fe"], "1.2", "yes", "empty"),
                             http_hop(3, A["second"], A["app"], p["app"], 403,
                                      A["caller"] + ", " + A["first"])]}]}
    p = P[7]
    h1 = http_hop(1, A["caller"], A["first"], p["fe"], 200, None, "X-ARR-ClientCert",
                  "base64_der")
    h1["cert_header_set_by"] = "caller"
    out["chain-spoofed-header.pcap"] = {
        "files": ["chain-spoofed-header.pcap"], "key_log": None,
        "made_with": py + ": caller on plain HTTP sends its own X-ARR-ClientCert (base64 DER of "
                     "client.pem) -> plain-HTTP front end passes it on unchanged -> app",
        "logs": "chain-spoofed-header",
        "chains": [{"verdict": "header_mismatch", "dropped_at": None, "app_status": 200,
                    "note": "a certificate header reaches the app though no certificate was "
                            "ever presented in a handshake: the caller set it itself over plain "
                            "HTTP and the front end did not strip it",
                    "hops": [h1, http_hop(2, A["first"], A["app"], p["app"], 200, A["caller"],
                                          "X-ARR-ClientCert", "base64_der")]}]}
    p = P[8]
    cf, af = "chain-two-vantage-caller.pcap", "chain-two-vantage-app.pcap"
    hop1 = tls_hop(1, A["caller"], A["first"], p["fe"], "1.2", "yes", "yes")
    hop2 = http_hop(2, A["first"], A["app"], p["app"], 200, A["caller"], "X-ARR-ClientCert",
                    "base64_der")
    out[cf + "+" + af] = {
        "files": [cf, af], "key_log": cf + ".keys",
        "made_with": py + ": one run of chain-arr-base64's setup recorded by two tcpdumps at "
                     "once: 'host 127.0.0.2 and tcp port %d' and 'host 127.0.0.5 and tcp port "
                     "%d'" % (p["fe"], p["app"]),
        "logs": "chain-two-vantage",
        "chains": [{"verdict": "delivered", "dropped_at": None, "app_status": 200,
                    "note": "both files together: the certificate presented on hop 1 (caller "
                            "file) reaches the app as X-ARR-ClientCert (app file)",
                    "hops": [dict(hop1, file=cf), dict(hop2, file=af)]}]}
    out[cf] = {
        "files": [cf], "key_log": cf + ".keys", "made_with": out[cf + "+" + af]["made_with"],
        "logs": "chain-two-vantage", "vantage_of": cf + "+" + af,
        "chains": [{"verdict": "unknown", "dropped_at": None, "app_status": None,
                    "not_in_capture": "hops after hop 1 (front end 127.0.0.3 -> app 127.0.0.5)",
                    "note": "the caller's leg alone: certificate requested and presented on "
                            "hop 1; what the front end did with it is not in this file (the "
                            "200 the caller got is inside TLS)",
                    "hops": [dict(hop1)]}]}
    out[af] = {
        "files": [af], "key_log": None, "made_with": out[cf + "+" + af]["made_with"],
        "logs": "chain-two-vantage", "vantage_of": cf + "+" + af,
        "chains": [{"verdict": "unknown", "dropped_at": None, "app_status": 200,
                    "not_in_capture": "the caller's leg (127.0.0.2 -> 127.0.0.3, TLS)",
                    "note": "the app's leg alone: a valid X-ARR-ClientCert (client.pem) arrives "
                            "from 127.0.0.3 with X-Forwarded-For 127.0.0.2, but whether a "
                            "certificate was presented in a handshake is not in this file (it "
                            "looks the same as chain-spoofed-header's hop 2)",
                    "hops": [dict(hop2, hop=1, chain_hop=2)]}]}
    return out


# ----------------------------------------------------------------------------- the checking

def peer_results(work, prefix):
    res = {}
    for path in glob.glob(os.path.join(work, prefix + ".*.log")):
        role = os.path.basename(path)[len(prefix) + 1:-4]
        if role not in ("app", "fe", "gw", "caller", "nginx"):
            continue
        with open(path) as f:
            for line in f:
                if line.startswith("RESULT "):
                    res[role] = json.loads(line[7:])
    return res


def fill_hop(name, hop, facts, kfacts):
    """Assert the told hop against tshark facts (facts: no key log, kfacts: with it) and add the
    frame numbers.  Returns the hop as written to the JSON."""
    w = "%s hop %d" % (name, hop["hop"])
    check(facts["connections"] == 1, "%s: %d TCP connections %s -> %s:%d (want 1)" % (
        w, facts["connections"], hop["from_ip"], hop["to_ip"], hop["to_port"]))
    if facts["connections"] != 1:
        return hop
    out = dict(hop)
    out["client_port"] = facts["client_port"]
    check(facts["tls"] == (hop["protocol"] == "tls"), "%s: protocol %s" % (w, hop["protocol"]))
    for k in ("cert_request_frame", "client_cert_frame", "request_frame"):
        out[k] = None
    if hop["protocol"] == "tls":
        check(facts["tls_version"] == hop["tls_version"],
              "%s: TLS %s, tshark %s" % (w, hop["tls_version"], facts["tls_version"]))
        src = facts
        if hop["tls_version"] == "1.3":
            check(facts["cert_request_frame"] is None and facts["client_cert_frame"] is None,
                  "%s: TLS 1.3 handshake messages visible without the key log" % w)
            src = kfacts
            out["frames_from_keylog"] = True
            out["not_without_key_log"] = ["cert_requested", "cert_presented",
                                          "client_leaf_sha1", "cert_request_frame",
                                          "client_cert_frame"]
        requested = "yes" if src["cert_request_frame"] else "no"
        check(requested == hop["cert_requested"], "%s: cert_requested %s, tshark %s" % (
            w, hop["cert_requested"], requested))
        if src["cert_request_frame"] and hop["tls_version"] == "1.2":
            check(src["dnames_len"] and src["dnames_len"] > 0,
                  "%s: CertificateRequest names no CAs" % w)
        if src["client_cert_frame"] is None:
            presented = "no"
        else:
            presented = "empty" if src["client_certs_length"] == 0 else "yes"
        check(presented == hop["cert_presented"], "%s: cert_presented %s, tshark %s" % (
            w, hop["cert_presented"], presented))
        check(src["client_leaf_sha1"] == hop["client_leaf_sha1"],
              "%s: client leaf %s, tshark %s" % (w, hop["client_leaf_sha1"],
                                                 src["client_leaf_sha1"]))
        out["cert_request_frame"] = src["cert_request_frame"]
        out["client_cert_frame"] = src["client_cert_frame"]
        # Inside the TLS leg: only with the key log.
        check(facts["request_frame"] is None, "%s: HTTP visible inside TLS without keys" % w)
        req = kfacts.get("request")
        check(req is not None and req["uri"] == "/orders/42",
              "%s: with the key log, no GET /orders/42 inside TLS" % w)
        if req:
            xff = req["headers"].get("x-forwarded-for")
            out["with_key_log"] = {
                "request_frame": kfacts["request_frame"], "response_frame": kfacts["response_frame"],
                "status": kfacts["status"], "x_forwarded_for": xff,
                "cert_header": cert_header_of(req, kfacts["request_frame"])}
    else:
        req = facts["request"]
        check(req is not None and req["method"] == "GET" and req["uri"] == "/orders/42",
              "%s: no GET /orders/42 on the plain leg" % w)
        if req:
            check(req["headers"].get("host") == "localhost", "%s: Host is not localhost" % w)
            out["request_frame"] = facts["request_frame"]
            xff = req["headers"].get("x-forwarded-for")
            check(xff == hop["x_forwarded_for"], "%s: X-Forwarded-For %r, tshark %r" % (
                w, hop["x_forwarded_for"], xff))
            got = cert_header_of(req, facts["request_frame"])
            want = hop["cert_header"]
            check((got is None) == (want is None) and (
                want is None or all(got[k] == want[k] for k in ("name", "encoding", "sha1"))),
                  "%s: cert header %r, tshark %r" % (w, want, got))
            if got:
                out["cert_header"] = got
        check(facts["status"] == hop["status"], "%s: status %s, tshark %s" % (
            w, hop["status"], facts["status"]))
        out["response_frame"] = facts["response_frame"]
    return out


def check_peers(name, entry, res, client_sha1):
    """The peers' own account agrees with the told chain."""
    chain = entry["chains"][0]
    hops = chain["hops"]
    caller = res.get("caller")
    check(caller is not None, "%s: caller reported nothing" % name)
    if caller and chain["app_status"] is not None:
        check(caller["status"] == chain["app_status"],
              "%s: caller got %s, told app status %s" % (name, caller["status"],
                                                         chain["app_status"]))
    app = res.get("app")
    check(app is not None, "%s: app reported nothing" % name)
    last = hops[-1]
    if app and last["protocol"] == "http" and "chain_hop" not in last:
        hdrs = {k.lower(): v for k, v in app["headers"]}
        check(app["peer"] == last["from_ip"], "%s: app peer %s" % (name, app["peer"]))
        check(hdrs.get("x-forwarded-for") == last["x_forwarded_for"],
              "%s: app saw X-Forwarded-For %r" % (name, hdrs.get("x-forwarded-for")))
        want = last["cert_header"]
        got = next(((n, hdrs[n.lower()]) for n in ("X-ARR-ClientCert", "X-SSL-Client-Cert")
                    if n.lower() in hdrs), None)
        check((got is None) == (want is None), "%s: app saw cert header %r" % (name, got))
        if got and want:
            enc, sha = decode_cert_header(got[1])
            check((got[0], enc, sha) == (want["name"], want["encoding"], want["sha1"]),
                  "%s: app's header decodes to %s %s" % (name, enc, sha))
    for role in ("fe", "gw"):
        proxy = res.get(role)
        if not proxy:
            continue
        hop = next(h for h in hops if h["to_ip"] + ":" + str(h["to_port"]) == proxy["listen"])
        want = client_sha1 if hop["cert_presented"] == "yes" else None
        check(proxy["peer_cert_sha1"] == want, "%s: %s saw certificate %s" % (
            name, role, proxy["peer_cert_sha1"]))


HOP_ORDER = ["hop", "file", "from_ip", "to_ip", "to_port", "client_port", "protocol",
             "tls_version", "cert_requested", "cert_request_frame", "cert_presented",
             "client_cert_frame", "client_leaf_sha1", "frames_from_keylog", "not_without_key_log",
             "request_frame", "response_frame", "status", "cert_header", "cert_header_set_by",
             "x_forwarded_for", "with_key_log", "chain_hop", "note"]
CHAIN_ORDER = ["verdict", "dropped_at", "app_status", "not_in_capture", "note", "hops"]
ENTRY_ORDER = ["files", "key_log", "made_with", "vantage_of", "header_encoding_expected",
               "chains"]


def ordered(d, order):
    assert set(d) <= set(order), set(d) - set(order)
    return {k: d[k] for k in order if k in d}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", help="also write the README facts table (markdown) here")
    args = ap.parse_args()
    with open(os.path.join(args.work, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(args.pki, "client.pem")) as f:
        client_sha1 = sha1_hex(pem_to_der(f.read()))
    openssl = subprocess.run(["openssl", "x509", "-in", os.path.join(args.pki, "client.pem"),
                              "-noout", "-fingerprint", "-sha1"], capture_output=True, text=True)
    check(openssl.stdout.strip().split("=")[-1].replace(":", "") == client_sha1,
          "client.pem SHA-1 differs from openssl's")

    tls_ports, http_ports = set(), set()
    told = scenarios(manifest, client_sha1)
    for entry in told.values():
        for hop in entry["chains"][0]["hops"]:
            (tls_ports if hop["protocol"] == "tls" else http_ports).add(hop["to_port"])

    facts_cache = {}

    def frames_of(fname, keyed):
        key = (fname, keyed)
        if key not in facts_cache:
            path = os.path.join(args.dir, fname)
            keylog = path + ".keys" if keyed and os.path.exists(path + ".keys") else None
            facts_cache[key] = tshark(path, sorted(tls_ports), sorted(http_ports), keylog)
        return facts_cache[key]

    result = {}
    for name, entry in told.items():
        for f in entry["files"]:
            check(os.path.exists(os.path.join(args.dir, f)), "%s missing" % f)
        has_tls = any(h["protocol"] == "tls" for h in entry["chains"][0]["hops"])
        if entry["key_log"]:
            check(os.path.exists(os.path.join(args.dir, entry["key_log"])),
                  "%s: key log %s missing" % (name, entry["key_log"]))
        check(bool(entry["key_log"]) == has_tls, "%s: key log iff TLS" % name)
        for f in entry["files"]:
            frames = frames_of(f, False)
            check(len(frames) > 0, "%s: tshark read no frames" % f)
            if len(entry["files"]) == 1:
                # Exactly the told hops' connections are in the file, nothing else.
                syns = [x for x in frames if one(x, "tcp.flags.syn") in ("1", "True")
                        and one(x, "tcp.flags.ack") in ("0", "False")]
                check(len(syns) == len(entry["chains"][0]["hops"]),
                      "%s: %d connections, %d hops" % (f, len(syns),
                                                       len(entry["chains"][0]["hops"])))
        chains = []
        for chain in entry["chains"]:
            hops = []
            for hop in chain["hops"]:
                f = hop.get("file", entry["files"][0])
                facts = hop_facts(frames_of(f, False), hop["from_ip"], hop["to_ip"],
                                  hop["to_port"])
                kfacts = hop_facts(frames_of(f, True), hop["from_ip"], hop["to_ip"],
                                   hop["to_port"])
                h = fill_hop("%s (%s)" % (name, f), hop, facts, kfacts)
                wk = h.get("with_key_log")
                if wk and chain["app_status"] is not None:
                    check(wk["status"] == chain["app_status"], "%s hop %d: status inside TLS "
                          "%s, told %s" % (name, hop["hop"], wk["status"], chain["app_status"]))
                hops.append(ordered(h, HOP_ORDER))
            c = dict(chain)
            c["hops"] = hops
            chains.append(ordered(c, CHAIN_ORDER))
        if "vantage_of" not in entry:
            check_peers(name, entry, peer_results(args.work, entry["logs"]), client_sha1)
        e = {k: v for k, v in entry.items() if k != "logs"}
        e["chains"] = chains
        result[name] = ordered(e, ENTRY_ORDER)

    doc = result
    print("%d checks, %d failed" % (CHECKS[0], len(FAILURES)), file=sys.stderr)
    if FAILURES:
        sys.exit(1)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False)
        f.write("\n")
    if args.table:
        with open(args.table, "w") as f:
            f.write(markdown_table(doc))


def markdown_table(doc):
    """One row per hop: the facts a reader wants to look up in Wireshark."""
    def fr(v):
        return "" if v is None else " (%s)" % v

    rows = ["<!-- generated by write_chains_expected.py from chains-expected.json -->",
            "| entry | verdict | hop | from → to:port | proto | requested (frame) | "
            "client cert (frame) | HTTP request frame → status (frame) | cert header "
            "(encoding, frame) | X-Forwarded-For |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in doc.items():
        chain = entry["chains"][0]
        verdict = chain["verdict"]
        if chain["dropped_at"]:
            d = chain["dropped_at"]
            verdict += " %d (%s → %s)" % (d["hop"], d["from"], d["to"])
        for i, h in enumerate(chain["hops"]):
            where = "%s → %s:%d" % (h["from_ip"], h["to_ip"], h["to_port"])
            if "file" in h:
                where += " in `%s`" % h["file"]
            if h["protocol"] == "tls":
                proto = "TLS " + h["tls_version"]
                req = h["cert_requested"] + fr(h["cert_request_frame"])
                pres = h["cert_presented"] + fr(h["client_cert_frame"])
                if h.get("frames_from_keylog"):
                    req += " keys"
                    pres += " keys"
                wk = h.get("with_key_log") or {}
                http = "(in TLS: %s → %s (%s), keys)" % (wk.get("request_frame"),
                                                        wk.get("status"),
                                                        wk.get("response_frame"))
                xff = "(in TLS: %s)" % (wk.get("x_forwarded_for") or "-") if wk else ""
            else:
                proto, req, pres = "HTTP", "-", "-"
                http = "%s → %s (%s)" % (h["request_frame"], h["status"], h["response_frame"])
                xff = h["x_forwarded_for"] or "-"
            ch = h["cert_header"]
            hdr = "%s %s, %s" % (ch["name"], ch["encoding"], ch["frame"]) if ch else "-"
            if ch and h.get("cert_header_set_by"):
                hdr += " (set by the %s)" % h["cert_header_set_by"]
            rows.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                "`%s`" % name if i == 0 else "", verdict if i == 0 else "", h["hop"], where,
                proto, req, pres, http, hdr, xff))
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
