#!/usr/bin/env python3
"""write_decrypt_expected.py - truth for the decryption captures (called by make-decrypt-captures.sh).

The facts come from HOW each capture was made: the manifest (one JSON object per line, written
by make-decrypt-captures.sh) says what each side was told to do, the peers' own logs say what
they did (statuses, "server verified ...") and the PKI gives the thumbprints.  Frame numbers
and ephemeral ports cannot be known in advance: they are read back with tshark DECRYPTING with
the capture's key log (PDML, plus tshark's TLS debug log to count the records it decrypted),
and every intended fact is asserted against what tshark shows; the script stops with an error
on the first difference, so a capture that did not go as planned is never installed.

Writes (into --out-dir): decrypt-expected.json, decrypt-tshark-comparison.txt,
readme-section.md (the README section) and tls13-presented.wrongkeys (made from
--wrongkeys-source: same labels and client randoms, each secret replaced by the SHA-256 or
SHA-384 of its bytes, i.e. a different value of the same length).

  write_decrypt_expected.py --captures DIR --manifest F --out-dir DIR --wrongkeys-source PCAP
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_facts  # noqa: E402  (ALERTS, TLS_VERSIONS, _first, _fields)

HS_NAMES = {0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
            8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
            13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
            16: "ClientKeyExchange", 20: "Finished", 24: "KeyUpdate"}
EXT_ENCRYPT_THEN_MAC = 22  # RFC 7366


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def sha1_of(pem):
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").upper()


def _show(elem, name):
    e = tshark_facts._first(elem, name)
    return e.get("show") if e is not None else None


# --------------------------------------------------------------------------- tshark
def tshark_view(path, keys, port, h2):
    """Runs tshark once (PDML, decrypting with keys when given) and returns
    (events, decrypted_records).  events: a list of dicts in frame order."""
    with tempfile.TemporaryDirectory(prefix="mtd-tshark-") as tmp:
        dbg = os.path.join(tmp, "tls-debug.txt")
        cmd = ["tshark", "-r", path, "-n", "-T", "pdml", "-o", "tcp.reassemble_out_of_order:TRUE",
               "-o", "http.desegment_body:FALSE", "-d", "tcp.port==%d,tls" % port,
               "-o", "tls.debug_file:" + dbg]
        if keys:
            cmd += ["-o", "tls.keylog_file:" + keys]
        if not h2:
            cmd += ["-o", "http.tls.port:%d" % port]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        need(proc.returncode == 0, "%s: tshark failed: %s" % (path, proc.stderr.strip()))
        root = ET.fromstring(proc.stdout)
        decrypted = count_decrypted(dbg)
    events = []
    for pkt in root.iter("packet"):
        frame = int(_show(pkt, "frame.number"))
        sport = _show(pkt, "tcp.srcport")
        if sport is None:
            continue
        side = "server" if int(sport) == port else "client"
        flags = int(_show(pkt, "tcp.flags"), 16)
        ip = _show(pkt, "ip.src")
        events.append({"kind": "tcp", "frame": frame, "from": side, "ip": ip,
                       "port": int(sport), "syn": (flags & 0x12) == 0x02})
        for rec in tshark_facts._fields(pkt, "tls.record"):
            opaque = tshark_facts._first(rec, "tls.record.opaque_type") is not None
            ctype = _show(rec, "tls.record.content_type")
            events.append({"kind": "record", "frame": frame, "from": side, "opaque": opaque,
                           "ctype": int(ctype) if ctype else None})
            for hs in tshark_facts._fields(rec, "tls.handshake"):
                t = _show(hs, "tls.handshake.type")
                if t is None:
                    continue
                ev = {"kind": "hs", "frame": frame, "from": side, "type": int(t)}
                if ev["type"] in (1, 2):
                    ev["exts"] = [int(e.get("show")) for e in
                                  tshark_facts._fields(hs, "tls.handshake.extension.type")]
                    alpn = [e.get("show") for e in
                            tshark_facts._fields(hs, "tls.handshake.extensions_alpn_str")]
                    ev["alpn"] = alpn
                if ev["type"] == 1:
                    ev["sni"] = _show(hs, "tls.handshake.extensions_server_name")
                if ev["type"] == 2:
                    cs = tshark_facts._first(hs, "tls.handshake.ciphersuite")
                    m = re.search(r"Cipher Suite: (\S+) \(0x", cs.get("showname", ""))
                    ev["cipher"] = m.group(1) if m else cs.get("show")
                    sv = _show(hs, "tls.handshake.extensions.supported_version")
                    ev["version"] = tshark_facts.TLS_VERSIONS.get(
                        sv or _show(hs, "tls.handshake.version"))
                if ev["type"] == 8:
                    ev["alpn"] = [e.get("show") for e in
                                  tshark_facts._fields(hs, "tls.handshake.extensions_alpn_str")]
                if ev["type"] == 11:
                    cl = _show(hs, "tls.handshake.certificates_length")
                    ev["certs_len"] = int(cl) if cl is not None else None
                    ev["certs"] = [tshark_facts._sha1(e.get("value")) for e in
                                   tshark_facts._fields(hs, "tls.handshake.certificate")
                                   if e.get("value")]
                if ev["type"] == 24:
                    # tshark 4.0 puts request_update next to the handshake message, not in it.
                    ru = (_show(hs, "tls.handshake.key_update.request_update")
                          or _show(rec, "tls.handshake.key_update.request_update"))
                    ev["request_update"] = int(ru) if ru is not None else None
                events.append(ev)
            for al in tshark_facts._fields(rec, "tls.alert_message"):
                d = _show(al, "tls.alert_message.desc")
                events.append({"kind": "alert", "frame": frame, "from": side,
                               "description": tshark_facts.ALERTS.get(int(d), d) if d else None,
                               "opaque": opaque})
            if ctype == "21" and not tshark_facts._fields(rec, "tls.alert_message"):
                events.append({"kind": "alert", "frame": frame, "from": side,
                               "description": None, "opaque": opaque})
        for proto in pkt.iter("proto"):
            if proto.get("name") == "http":
                method = _show(proto, "http.request.method")
                if method is not None:
                    events.append({"kind": "http_req", "frame": frame, "from": side,
                                   "method": method, "path": _show(proto, "http.request.uri"),
                                   "version": _show(proto, "http.request.version"),
                                   "host": _show(proto, "http.host")})
                code = _show(proto, "http.response.code")
                if code is not None:
                    events.append({"kind": "http_resp", "frame": frame, "from": side,
                                   "status": int(code)})
            elif proto.get("name") == "http2":
                for st in tshark_facts._fields(proto, "http2.stream"):
                    if _show(st, "http2.type") != "1":  # HEADERS (RFC 9113 section 6.2)
                        continue
                    headers = {}
                    for h in tshark_facts._fields(st, "http2.header"):
                        headers[_show(h, "http2.header.name")] = _show(h, "http2.header.value")
                    events.append({"kind": "h2_headers", "frame": frame, "from": side,
                                   "stream": int(_show(st, "http2.streamid")),
                                   "headers": headers})
    return events, decrypted


def count_decrypted(dbg):
    """Records tshark decrypted: 'Plaintext[' lines of its TLS debug log, counted only while
    dissecting a frame for the first time."""
    n = 0
    first = False
    try:
        with open(dbg, errors="replace") as f:
            for line in f:
                m = re.match(r"dissect_ssl enter frame #\d+ \((first time|already visited)\)", line)
                if m:
                    first = m.group(1) == "first time"
                elif line.startswith("Plaintext[") and first:
                    n += 1
    except OSError:
        return 0
    return n


def describe(events):
    """One line per frame with TLS/HTTP content: tshark's view, for the comparison file."""
    lines = []
    by_frame = {}
    for e in events:
        if e["kind"] in ("hs", "alert", "http_req", "http_resp", "h2_headers"):
            by_frame.setdefault((e["frame"], e["from"]), []).append(e)
        elif e["kind"] == "record" and e["ctype"] == 20:
            by_frame.setdefault((e["frame"], e["from"]), []).append({"kind": "ccs"})
        elif e["kind"] == "record" and e["ctype"] == 23:
            by_frame.setdefault((e["frame"], e["from"]), []).append({"kind": "appdata",
                                                                     "opaque": e["opaque"]})
    for (frame, side), evs in sorted(by_frame.items()):
        parts = []
        for e in evs:
            k = e["kind"]
            if k == "hs":
                name = HS_NAMES.get(e["type"], "hs%d" % e["type"])
                if e["type"] == 11:
                    name += "(%s)" % ("empty" if e.get("certs_len") == 0 else
                                      "%d certs" % len(e.get("certs") or []))
                if e["type"] == 24:
                    name += "(request_update=%s)" % e.get("request_update")
                parts.append(name)
            elif k == "ccs":
                parts.append("ChangeCipherSpec")
            elif k == "appdata":
                parts.append("ApplicationData")
            elif k == "alert":
                parts.append("Alert(%s)" % (e["description"] or "encrypted"))
            elif k == "http_req":
                parts.append("HTTP %s %s" % (e["method"], e["path"]))
            elif k == "http_resp":
                parts.append("HTTP status %d" % e["status"])
            elif k == "h2_headers":
                h = e["headers"]
                if ":status" in h:
                    parts.append("H2 HEADERS stream %d :status %s" % (e["stream"], h[":status"]))
                else:
                    parts.append("H2 HEADERS stream %d %s %s" % (e["stream"], h.get(":method"),
                                                                h.get(":path")))
        # Consecutive duplicates (ApplicationData next to the HTTP it carries) stay: they are
        # what tshark shows.
        lines.append("  %4d %-6s %s" % (frame, side, ", ".join(parts)))
    return lines


# --------------------------------------------------------------------------- facts
def facts(intent, events, decrypted, pki, name):
    port = intent["port"]
    hs = lambda t, side=None: [e for e in events if e["kind"] == "hs" and e["type"] == t  # noqa
                               and (side is None or e["from"] == side)]
    tcp = [e for e in events if e["kind"] == "tcp"]
    syn = [e for e in tcp if e["syn"]]
    need(len(syn) == 1, "%s: expected one TCP connection, tshark sees %d SYNs" % (name, len(syn)))
    client_port = syn[0]["port"]
    need(all(e["port"] in (client_port, port) for e in tcp), "%s: other traffic" % name)
    need({e["ip"] for e in tcp} == {"127.0.0.1"}, "%s: addresses %s" % (name, {e["ip"] for e in tcp}))

    ch, sh = hs(1, "client"), hs(2, "server")
    need(ch and sh, "%s: no ClientHello/ServerHello" % name)
    version = sh[0]["version"]
    need(version == intent["tls"], "%s: version %s != %s" % (name, version, intent["tls"]))
    cipher = sh[0]["cipher"]
    if intent.get("cipher"):
        need(cipher == intent["cipher"], "%s: cipher %s != %s" % (name, cipher, intent["cipher"]))
    tls12 = version == "TLS 1.2"
    etm = (EXT_ENCRYPT_THEN_MAC in sh[0]["exts"]) if tls12 else None
    etm_offered = (EXT_ENCRYPT_THEN_MAC in ch[0]["exts"]) if tls12 else None
    if intent.get("etm") is not None:
        need(etm == intent["etm"], "%s: encrypt_then_mac %s != %s" % (name, etm, intent["etm"]))
    alpn_ev = sh[0]["alpn"] if tls12 else (hs(8, "server")[0]["alpn"] if hs(8, "server") else [])
    alpn = alpn_ev[0] if alpn_ev else None
    need(alpn == intent.get("alpn"), "%s: ALPN %s != %s" % (name, alpn, intent.get("alpn")))
    sni = ch[0].get("sni")
    need(sni == "localhost", "%s: SNI %s" % (name, sni))

    # The initial handshake ends with the client's first Finished; what comes later is
    # post-handshake (TLS 1.3) or a renegotiation (TLS 1.2).
    cfin = hs(20, "client")
    need(cfin, "%s: tshark sees no client Finished (keys not used?)" % name)
    end = cfin[0]["frame"]
    initial = lambda lst: [e for e in lst if e["frame"] <= end]  # noqa: E731
    later = lambda lst: [e for e in lst if e["frame"] > end]  # noqa: E731

    cr0, cc0 = initial(hs(13, "server")), initial(hs(11, "client"))
    requested = "yes" if cr0 else "no"
    need(requested == intent["initial_request"], "%s: initial request %s != %s"
         % (name, requested, intent["initial_request"]))
    good_sha1 = sha1_of(os.path.join(pki, "client.pem"))

    def presented_of(cc):
        if not cc:
            return "no"
        return "empty" if cc.get("certs_len") == 0 else "yes"

    presented = presented_of(cc0[0] if cc0 else None)
    if requested == "yes":
        want = "yes" if intent["client_cert"] == "good" else "empty"
        need(presented == want, "%s: presented %s != %s" % (name, presented, want))
    else:
        need(presented == "no", "%s: a Certificate without a request" % name)
    leaf = cc0[0]["certs"][0] if presented == "yes" else None
    if leaf:
        need(leaf == good_sha1, "%s: client leaf %s is not pki/client.pem" % (name, leaf))

    http = http_exchanges(events, intent, name)

    def trigger_before(frame):
        reqs = [h for h in http if h["request_frame"] < frame]
        need(reqs, "%s: no request before frame %d" % (name, frame))
        t = reqs[-1]
        need([t["method"], t["path"]] == intent["trigger"], "%s: trigger %s %s != %s"
             % (name, t["method"], t["path"], intent["trigger"]))
        return {"method": t["method"], "path": t["path"], "request_frame": t["request_frame"]}

    want_late = "yes" if intent["client_cert"] == "good" else "empty"
    post = reneg = None
    if intent.get("late") == "post_handshake":
        need(version == "TLS 1.3", "%s: post-handshake auth needs TLS 1.3" % name)
        crs = later(hs(13, "server"))
        need(len(crs) == 1, "%s: %d post-handshake CertificateRequests" % (name, len(crs)))
        ccs = [e for e in later(hs(11, "client")) if e["frame"] > crs[0]["frame"]]
        need(len(ccs) == 1, "%s: no client Certificate after the CertificateRequest" % name)
        p = presented_of(ccs[0])
        need(p == want_late, "%s: post-handshake presented %s != %s" % (name, p, want_late))
        post = {"request_frame": crs[0]["frame"], "client_certificate_frame": ccs[0]["frame"],
                "presented": p,
                "client_leaf_sha1": ccs[0]["certs"][0] if p == "yes" else None,
                "trigger": trigger_before(crs[0]["frame"])}
        if p == "yes":
            need(post["client_leaf_sha1"] == good_sha1, "%s: PHA leaf" % name)
    elif intent.get("late") is None:
        need(not later(hs(13, "server")), "%s: unexpected late CertificateRequest" % name)
    if intent.get("late") == "renegotiation":
        need(tls12, "%s: renegotiation needs TLS 1.2" % name)
        hr = later(hs(0, "server"))
        ch2 = later(hs(1, "client"))
        need(len(hr) == 1 and len(ch2) == 1, "%s: HelloRequest %d, second ClientHello %d"
             % (name, len(hr), len(ch2)))
        need(hr[0]["frame"] < ch2[0]["frame"], "%s: ClientHello before HelloRequest" % name)
        cr2 = [e for e in hs(13, "server") if e["frame"] > ch2[0]["frame"]]
        cc2 = [e for e in hs(11, "client") if e["frame"] > ch2[0]["frame"]]
        need(len(cr2) == 1 and len(cc2) == 1, "%s: renegotiation CertificateRequest %d, client "
             "Certificate %d" % (name, len(cr2), len(cc2)))
        p = presented_of(cc2[0])
        need(p == want_late, "%s: renegotiation presented %s != %s" % (name, p, want_late))
        reneg = {"hello_request_frame": hr[0]["frame"], "client_hello_frame": ch2[0]["frame"],
                 "cert_request_frame": cr2[0]["frame"],
                 "client_certificate_frame": cc2[0]["frame"], "presented": p,
                 "client_leaf_sha1": cc2[0]["certs"][0] if p == "yes" else None,
                 "trigger": trigger_before(hr[0]["frame"])}
        if p == "yes":
            need(reneg["client_leaf_sha1"] == good_sha1, "%s: renegotiation leaf" % name)
    else:
        need(not later(hs(1, "client")), "%s: unexpected second ClientHello" % name)

    key_updates = [{"frame": e["frame"], "from": e["from"]} for e in hs(24)]
    if intent.get("key_update") == "client_requested":
        kus = hs(24)
        need(len(kus) == 2 and kus[0]["from"] == "client" and kus[0]["request_update"] == 1
             and kus[1]["from"] == "server" and kus[1]["request_update"] == 0,
             "%s: key updates %s" % (name, kus))
        # Each direction's HTTP must be sent under that direction's updated keys: OpenSSL's
        # server sends its KeyUpdate just before its next write, i.e. after the request.
        need(http and http[0]["request_frame"] > kus[0]["frame"]
             and http[0]["status_frame"] > kus[1]["frame"],
             "%s: request/response not after the KeyUpdate of their direction" % name)
    else:
        need(not key_updates, "%s: unexpected KeyUpdate %s" % (name, key_updates))

    ccs_seen = set()
    alerts = []
    for e in events:
        if e["kind"] == "record" and e["ctype"] == 20:
            ccs_seen.add(e["from"])
        if e["kind"] == "alert":
            alerts.append({"from": e["from"], "description": e["description"],
                           "encrypted": bool(e["opaque"] or e["from"] in ccs_seen),
                           "frame": e["frame"]})
    # Only close_notify, or an alert the manifest names that comes after the last response.
    last = max([h["status_frame"] or 0 for h in http] + [0])
    allowed = set(intent.get("alerts_after_traffic") or [])
    for a in alerts:
        need(a["description"] == "close_notify" or (a["description"] in allowed
                                                      and a["frame"] > last),
             "%s: unexpected alert %s" % (name, a))
    for d in allowed:
        need(any(a["description"] == d for a in alerts), "%s: no %s alert" % (name, d))

    return {
        "kind": "capture",
        "client_ip": "127.0.0.1", "server_ip": "127.0.0.1",
        "client_port": client_port, "server_port": port,
        "tls_version": version,
        "cipher_suite": cipher,
        "encrypt_then_mac": etm,
        "client_offered_encrypt_then_mac": etm_offered,
        "alpn": alpn,
        "sni": sni,
        "cert_requested": requested,
        "cert_requested_frame": cr0[0]["frame"] if cr0 else None,
        "cert_presented": presented,
        "cert_presented_frame": cc0[0]["frame"] if cc0 else None,
        "client_leaf_sha1": leaf,
        "post_handshake": post,
        "renegotiation": reneg,
        "key_updates": key_updates,
        "http": http,
        "alerts": alerts,
        "tshark_decrypts": decrypted > 0 and bool(http),
        "tshark_decrypted_records": decrypted,
    }


def http_exchanges(events, intent, name):
    want = intent["requests"]  # [[method, path, status, host], ...]
    out = []
    if intent["http_version"] == "HTTP/2":
        streams = {}
        for e in events:
            if e["kind"] != "h2_headers":
                continue
            s = streams.setdefault(e["stream"], {})
            if e["from"] == "client" and ":method" in e["headers"]:
                s.update(method=e["headers"][":method"], path=e["headers"][":path"],
                         authority=e["headers"].get(":authority"), request_frame=e["frame"])
            elif e["from"] == "server" and ":status" in e["headers"]:
                s.update(status=int(e["headers"][":status"]), status_frame=e["frame"])
        for sid in sorted(streams):
            s = streams[sid]
            out.append({"method": s.get("method"), "path": s.get("path"),
                        "authority_or_host": s.get("authority"), "status": s.get("status"),
                        "version": "HTTP/2", "stream_id": sid,
                        "request_frame": s.get("request_frame"),
                        "status_frame": s.get("status_frame")})
    else:
        for e in events:
            if e["kind"] == "http_req":
                out.append({"method": e["method"], "path": e["path"], "authority_or_host": e["host"],
                            "status": None, "version": e["version"],
                            "request_frame": e["frame"], "status_frame": None})
            elif e["kind"] == "http_resp":
                pending = [h for h in out if h["status"] is None]
                need(pending, "%s: a response without a request in frame %d" % (name, e["frame"]))
                pending[0]["status"], pending[0]["status_frame"] = e["status"], e["frame"]
    got = [[h["method"], h["path"], h["status"], h["authority_or_host"]] for h in out]
    need(got == want, "%s: HTTP %s != %s" % (name, got, want))
    need(all(h["version"] == intent["http_version"] for h in out),
         "%s: HTTP versions %s" % (name, [h["version"] for h in out]))
    return out


def read_keylog(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and not fields[0].startswith("#"):
                rows.append(tuple(fields))
    return rows


def check_logs(intent, work, name):
    for log, texts in (intent.get("expect_log") or {}).items():
        with open(os.path.join(work, log), errors="replace") as f:
            text = f.read()
        for t in texts:
            need(t in text, "%s: %s does not say %r" % (name, log, t))
    server_keys = intent.get("server_keylog")
    if server_keys:
        mine = set(read_keylog(os.path.join(work, server_keys)))
        theirs = set(read_keylog(intent["keys_path"]))
        need(mine and mine == theirs, "%s: the server's key log differs from the client's" % name)


def make_wrong_keys(src, dst):
    """Same labels and client randoms, every secret replaced by a hash of it of the same
    length (SHA-256 for 32-byte secrets, SHA-384 for 48-byte ones): deterministic, and
    different from the original."""
    rows = read_keylog(src)
    need(rows, "%s: empty key log" % src)
    with open(dst, "w") as f:
        f.write("# WRONG secrets on purpose: each is SHA-256/SHA-384 of the real one "
                "(make-decrypt-captures.sh)\n")
        for label, random, secret in rows:
            raw = bytes.fromhex(secret)
            algo = {32: hashlib.sha256, 48: hashlib.sha384}.get(len(raw))
            need(algo is not None, "%s: secret of %d bytes" % (src, len(raw)))
            wrong = algo(raw).hexdigest()
            need(len(wrong) == len(secret) and wrong != secret.lower(), "wrong key")
            f.write("%s %s %s\n" % (label, random, wrong))
    return rows


# --------------------------------------------------------------------------- output
def readme_section(doc, manifest):
    rows = ["<!-- decrypt:begin -->",
            "## Decryption captures (make-decrypt-captures.sh)",
            "",
            "Made by `sudo captures/make-decrypt-captures.sh` (re-runnable, ~30 s; needs openssl "
            "tcpdump tshark curl nghttp2-server python3 iproute2), which also writes this section. "
            "Real TLS stacks on 127.0.0.1, one TCP connection per file, `tcpdump -i lo -U "
            "--immediate-mode -w FILE 'tcp port PORT'`. Each `FILE.keys` is the NSS key log "
            "written by the client (s_client `-keylogfile`, curl `SSLKEYLOGFILE`, Python "
            "`ctx.keylog_filename`); where the server could write one too (s_server, Python), "
            "the script checked that both logs hold the same secrets. Truth: "
            "`decrypt-expected.json` (from how each capture was made, every frame read back with "
            "tshark decrypting with the key log, see `write_decrypt_expected.py`); tshark's view "
            "per frame: `decrypt-tshark-comparison.txt`; exact command lines: the "
            "make-decrypt-captures block of `commands.txt`. Test: `tests/test_decrypt_scenarios.py`.",
            "",
            "Note: make-captures.sh rewrites `commands.txt` and makes a new "
            "`tls13-presented.pcap`, so run make-decrypt-captures.sh again after it (the wrong "
            "key log below is made from `tls13-presented.pcap.keys`).",
            "",
            "| file | port | how it was made | TLS, cipher suite (ETM) | initial request → client cert "
            "(frames) | later | HTTP (request frame → status frame) |",
            "|---|---|---|---|---|---|---|"]
    for m in manifest:
        e = doc[m["file"]]
        suite = e["cipher_suite"] + ("" if e["encrypt_then_mac"] is None else
                                     " (ETM)" if e["encrypt_then_mac"] else " (no ETM)")
        if e["alpn"]:
            suite += ", ALPN " + e["alpn"]
        init = "%s (%s) → %s (%s)" % (e["cert_requested"], e["cert_requested_frame"] or "-",
                                      e["cert_presented"], e["cert_presented_frame"] or "-")
        later = []
        if e["post_handshake"]:
            p = e["post_handshake"]
            later.append("post-handshake CertificateRequest %d after %s %s (%d), client "
                         "Certificate %s (%d)" % (p["request_frame"], p["trigger"]["method"],
                                                  p["trigger"]["path"],
                                                  p["trigger"]["request_frame"], p["presented"],
                                                  p["client_certificate_frame"]))
        if e["renegotiation"]:
            r = e["renegotiation"]
            later.append("HelloRequest %d after %s %s (%d), ClientHello %d, CertificateRequest "
                         "%d, client Certificate %s (%d)"
                         % (r["hello_request_frame"], r["trigger"]["method"],
                            r["trigger"]["path"], r["trigger"]["request_frame"],
                            r["client_hello_frame"], r["cert_request_frame"], r["presented"],
                            r["client_certificate_frame"]))
        for k in e["key_updates"]:
            later.append("KeyUpdate from %s (%d)" % (k["from"], k["frame"]))
        http = "; ".join("%s %s (%s) → %s (%s)" % (h["method"], h["path"], h["request_frame"],
                                                    h["status"], h["status_frame"])
                         for h in e["http"])
        rows.append("| `%s` | %d | %s | %s, %s | %s | %s | %s |"
                    % (m["file"], m["port"], m["how"], e["tls_version"], suite, init,
                       "; ".join(later) or "-", http))
    w = doc.get("tls13-presented.wrongkeys")
    if w:
        rows += ["", "`tls13-presented.wrongkeys`: a key log for the existing "
                 "`tls13-presented.pcap` with its %d lines' labels and client randoms, every "
                 "secret replaced by the SHA-256 (32-byte secrets) or SHA-384 (48-byte secrets) "
                 "of its bytes: right connection, wrong keys (tshark decrypts %d records with it)."
                 % (w["key_log_lines"], w["tshark_decrypted_records"])]
    rows += ["", "Frame numbers are tshark's (1-based), a message split across segments counted "
             "in the frame where it completes; HTTP frames carry the end of the request/response "
             "head (HTTP/2: the HEADERS frame). The trigger of a late request is the HTTP "
             "request whose arrival made the server ask (it precedes the CertificateRequest / "
             "HelloRequest).", "<!-- decrypt:end -->"]
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", required=True, help="where the new captures are (work dir)")
    ap.add_argument("--work", required=True, help="peer logs")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--pki", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--wrongkeys-source", required=True, help="tls13-presented.pcap (existing)")
    a = ap.parse_args()
    with open(a.manifest) as f:
        manifest = [json.loads(line) for line in f if line.strip()]
    doc = {"_comment": (
        "Truth for the decryption captures (make-decrypt-captures.sh / write_decrypt_expected.py): "
        "what each side was told to do, frame numbers read back with tshark decrypting with "
        "FILE.keys. One TCP connection per file. cert_requested/cert_presented(+_frame) describe "
        "the INITIAL handshake; post_handshake (TLS 1.3 post-handshake auth) and renegotiation "
        "(TLS 1.2) describe a later request, with its trigger = the HTTP request that made the "
        "server ask. client_leaf_sha1 = SHA-1 of pki/client.pem when presented there. http[] "
        "frames: end of the request/response head (HTTP/2: the HEADERS frame). "
        "tshark_decrypted_records counts the records tshark decrypted (its TLS debug log). "
        "Entries of kind wrong_keys name a key log for an existing capture whose secrets are all "
        "wrong.")}
    comparison = ["tshark's view of the decryption captures (written by write_decrypt_expected.py)",
                  "tshark -r FILE -n -T pdml -o tls.keylog_file:FILE.keys -d tcp.port==PORT,tls "
                  "[-o http.tls.port:PORT] -o tls.debug_file:TMP (decrypted records = "
                  "'Plaintext[' lines of the debug log)", ""]
    cmds = []
    try:
        for m in manifest:
            name = m["file"]
            path = os.path.join(a.captures, name)
            keys = path + ".keys"
            m["keys_path"] = keys
            need(os.path.getsize(keys) > 0, "%s: empty key log" % name)
            check_logs(m, a.work, name)
            h2 = m["http_version"] == "HTTP/2"
            events, decrypted = tshark_view(path, keys, m["port"], h2)
            entry = facts(m, events, decrypted, a.pki, name)
            _, plain_decrypted = tshark_view(path, None, m["port"], h2)
            need(plain_decrypted == 0, "%s: tshark decrypts without keys?" % name)
            entry = dict({"key_log": name + ".keys", "made_with": m["how"],
                          "server": m["server"], "client": m["client"]}, **entry)
            if m.get("note"):
                entry["note"] = m["note"]
            doc[name] = entry
            comparison.append("%s: %s, %s; tshark decrypted %d records with %s.keys (0 without)"
                              % (name, entry["tls_version"], entry["cipher_suite"], decrypted,
                                 name))
            comparison += describe(events)
            comparison.append("")
            with open(os.path.join(a.work, m["cmds"])) as f:
                cmds += ["%s.%s" % (name, line.rstrip("\n")) for line in f if line.strip()]
        # The wrong key log for the existing tls13-presented.pcap.
        src = a.wrongkeys_source
        dst = os.path.join(a.out_dir, "tls13-presented.wrongkeys")
        rows = make_wrong_keys(src + ".keys", dst)
        with open(os.path.join(os.path.dirname(src), "expected.json")) as f:
            port = json.load(f)[os.path.basename(src)]["connections"][0]["server_port"]
        events, wrong_decrypted = tshark_view(src, dst, port, False)
        need(wrong_decrypted == 0, "wrong keys: tshark decrypted %d records" % wrong_decrypted)
        _, right_decrypted = tshark_view(src, src + ".keys", port, False)
        need(right_decrypted > 0, "tls13-presented.pcap: tshark decrypts nothing with its keys")
        doc["tls13-presented.wrongkeys"] = {
            "kind": "wrong_keys", "capture": os.path.basename(src),
            "key_log": "tls13-presented.wrongkeys", "key_log_lines": len(rows),
            "made_with": "labels and client randoms of tls13-presented.pcap.keys, each secret "
                         "replaced by SHA-256/SHA-384 of its bytes (same length)",
            "decryption": "failed", "tshark_decrypts": False,
            "tshark_decrypted_records": wrong_decrypted,
            "tshark_decrypted_records_with_right_keys": right_decrypted}
        comparison += ["tls13-presented.pcap with tls13-presented.wrongkeys: tshark decrypted %d "
                       "records (%d with tls13-presented.pcap.keys)"
                       % (wrong_decrypted, right_decrypted)]
        comparison += describe(events)
    except Fail as e:
        sys.exit("write_decrypt_expected: %s" % e)
    with open(os.path.join(a.out_dir, "decrypt-expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.out_dir, "decrypt-tshark-comparison.txt"), "w") as f:
        f.write("\n".join(comparison) + "\n")
    with open(os.path.join(a.out_dir, "readme-section.md"), "w") as f:
        f.write(readme_section(doc, manifest))
    with open(os.path.join(a.out_dir, "commands-block.txt"), "w") as f:
        f.write("# --- make-decrypt-captures.sh: exact command lines of its last run (paths "
                "relative to captures/; per file in the order they were started; the "
                "openssl-* drivers start s_server and s_client themselves) ---\n")
        f.write("\n".join(cmds) + "\n")
        f.write("# --- end make-decrypt-captures.sh ---\n")


if __name__ == "__main__":
    main()
