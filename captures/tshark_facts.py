#!/usr/bin/env python3
"""tshark_facts.py - derive mtlsdiag-style facts from a capture with tshark.

Used by check-with-tshark.sh (the cross-check) and, for ephemeral client
ports and frame numbers only, by write_expected.py.  Standard library only;
runs tshark (Debian 12: Wireshark 4.0) and capinfos.

  tshark_facts.py FILE [--keys FILE.keys]      print the facts as JSON

tshark is run with the NSS key log (so TLS 1.3 and the encrypted part of
TLS 1.2 are visible), with out-of-order TCP reassembly enabled, and with the
connection's ports decoded as TLS (or HTTP when the stream does not start
with a TLS record).  Frame numbers are tshark's (1-based); a handshake message
split across segments is reported in the frame where reassembly completes.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    21: "decryption_failed", 22: "record_overflow", 30: "decompression_failure",
    40: "handshake_failure", 41: "no_certificate", 42: "bad_certificate",
    43: "unsupported_certificate", 44: "certificate_revoked", 45: "certificate_expired",
    46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
    109: "missing_extension", 110: "unsupported_extension", 112: "unrecognized_name",
    113: "bad_certificate_status_response", 115: "unknown_psk_identity",
    116: "certificate_required", 120: "no_application_protocol",
}
ENCAP = {  # capinfos -M short names and long names
    "ether": "EN10MB", "linux-sll2": "LINUX_SLL2", "linux-sll": "LINUX_SLL",
    "rawip": "RAW", "null": "NULL",
    "Ethernet": "EN10MB",
    "Linux cooked-mode capture v2": "LINUX_SLL2",
    "Linux cooked-mode capture v1": "LINUX_SLL",
    "Raw IP": "RAW",
    "NULL/Loopback": "NULL",
}
DN_ATTRS = {"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
            "2.5.4.10": "O", "2.5.4.11": "OU"}
TLS_VERSIONS = {"0x0304": "TLS 1.3", "0x0303": "TLS 1.2", "0x0302": "TLS 1.1", "0x0301": "TLS 1.0"}

BASE_PREFS = ["-o", "tcp.reassemble_out_of_order:TRUE", "-o", "http.desegment_body:FALSE",
              "-o", "tcp.analyze_sequence_numbers:TRUE"]


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def link_type(path):
    rc, out, err = run(["capinfos", "-E", "-M", path])
    m = re.search(r"File encapsulation:\s*(.+)", out)
    enc = m.group(1).strip() if m else None
    return ENCAP.get(enc, enc)


def tcp_overview(path):
    """First pass: per packet ports/flags/first payload byte (no decoding)."""
    rc, out, err = run(["tshark", "-r", path, "-n", "-T", "fields", "-E", "separator=\t",
                        "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.srcport",
                        "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack",
                        "-e", "tcp.len", "-e", "tcp.payload", "-e", "frame.len",
                        "-e", "frame.cap_len"])
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 10 or not f[1]:
            continue
        rows.append({"frame": int(f[0]), "stream": int(f[1]), "sport": int(f[2]),
                     "dport": int(f[3]), "syn": f[4] in ("1", "True"), "ack": f[5] in ("1", "True"),
                     "len": int(f[6] or 0), "first": f[7][:2], "frame_len": int(f[8]),
                     "cap_len": int(f[9])})
    truncated = "cut short in the middle of a packet" in err
    return rows, truncated, err


def _fields(elem, name):
    return [e for e in elem.iter("field") if e.get("name") == name]


def _first(elem, name):
    for e in elem.iter("field"):
        if e.get("name") == name:
            return e
    return None


def _dn_from(elem):
    """'CN=...,O=...' (RFC 4514 order: last RDN first) from an x509 name subtree."""
    rdns = []
    for item in _fields(elem, "x509if.RDNSequence_item"):
        parts = []
        for ava in _fields(item, "x509if.RelativeDistinguishedName_item_element"):
            oid = _first(ava, "x509if.oid")
            val = None
            for e in ava.iter("field"):
                n = e.get("name", "")
                if n.startswith("x509sat.") and n not in ("x509sat.DirectoryString",) and e.get("show"):
                    val = e.get("show")
            if oid is not None:
                parts.append(f"{DN_ATTRS.get(oid.get('show'), oid.get('show'))}={val}")
        rdns.append("+".join(parts))
    return ",".join(reversed(rdns))


def pdml(path, ports, proto, keys):
    cmd = ["tshark", "-r", path, "-n", "-T", "pdml"] + BASE_PREFS
    if keys and os.path.exists(keys):
        cmd += ["-o", f"tls.keylog_file:{keys}"]
    for p in sorted(ports):
        cmd += ["-d", f"tcp.port=={p},{proto}"]
        if proto == "tls":
            cmd += ["-o", f"http.tls.port:{p}"]
    rc, out, err = run(cmd)
    # A truncated file still yields the packets before the cut.
    if "</pdml>" not in out:
        out += "</pdml>\n"
    return ET.fromstring(out)


def _sha1(hexstr):
    return hashlib.sha1(bytes.fromhex(hexstr.replace(":", ""))).hexdigest().upper()


def analyse(path, keys=None):
    rows, truncated, err = tcp_overview(path)
    streams = {}
    for r in rows:
        streams.setdefault(r["stream"], []).append(r)
    result = {"link_type": link_type(path), "truncated": truncated,
              "frames": len(rows), "frames_cut_by_snaplen": sum(1 for r in rows if r["cap_len"] < r["frame_len"]),
              "connections": []}
    if not streams:
        return result
    ports = set()
    proto = "http"
    for rs in streams.values():
        for r in rs:
            ports.update((r["sport"], r["dport"]))
        if any(r["first"] == "16" for r in rs):
            proto = "tls"
    root = pdml(path, ports, proto, keys)

    conns = {}
    for pkt in root.iter("packet"):
        def val(name):
            e = _first(pkt, name)
            return e.get("show") if e is not None else None
        if val("tcp.stream") is None:
            continue
        frame = int(val("frame.number"))
        st = int(val("tcp.stream"))
        c = conns.setdefault(st, {"events": [], "syn_from": None, "addrs": {}})
        src = val("ip.src") or val("ipv6.src")
        sport = int(val("tcp.srcport"))
        c["addrs"][sport] = src
        flags = val("tcp.flags")
        if flags is not None and (int(flags, 16) & 0x12) == 0x02:
            c["syn_from"] = sport
        for rec in _fields(pkt, "tls.record"):
            ev = {"frame": frame, "port": sport, "kind": "record"}
            ct = _first(rec, "tls.record.content_type")
            ev["ctype"] = int(ct.get("show")) if ct is not None else None
            ev["opaque"] = _first(rec, "tls.record.opaque_type") is not None
            ln = _first(rec, "tls.record.length")
            ev["length"] = int(ln.get("show")) if ln is not None else None
            c["events"].append(ev)
            for hs in _fields(rec, "tls.handshake"):
                t = _first(hs, "tls.handshake.type")
                if t is None:
                    continue
                h = {"frame": frame, "port": sport, "kind": "hs", "type": int(t.get("show")),
                     "in_opaque": ev["opaque"]}
                if h["type"] == 1:
                    sni = _first(hs, "tls.handshake.extensions_server_name")
                    h["sni"] = sni.get("show") if sni is not None else None
                if h["type"] == 2:
                    sv = _first(hs, "tls.handshake.extensions.supported_version")
                    v = _first(hs, "tls.handshake.version")
                    h["version"] = TLS_VERSIONS.get((sv if sv is not None else v).get("show")) if (sv is not None or v is not None) else None
                if h["type"] == 11:
                    cl = _first(hs, "tls.handshake.certificates_length")
                    h["certs_len"] = int(cl.get("show")) if cl is not None else None
                    h["certs"] = [_sha1(e.get("value")) for e in _fields(hs, "tls.handshake.certificate")
                                  if e.get("value")]
                if h["type"] == 13:
                    h["dnames"] = [_dn_from(d) for d in _fields(hs, "tls.handshake.dname")]
                c["events"].append(h)
            for al in _fields(rec, "tls.alert_message"):
                d = _first(al, "tls.alert_message.desc")
                lv = _first(al, "tls.alert_message.level")
                c["events"].append({"frame": frame, "port": sport, "kind": "alert",
                                    "desc": ALERTS.get(int(d.get("show")), d.get("show")) if d is not None else None,
                                    "level": int(lv.get("show")) if lv is not None else None,
                                    "opaque": ev["opaque"]})
            if ev["ctype"] == 21 and not _fields(rec, "tls.alert_message"):
                c["events"].append({"frame": frame, "port": sport, "kind": "alert", "desc": None,
                                    "level": None, "opaque": ev["opaque"]})
        for http in [p for p in pkt.iter("proto") if p.get("name") == "http"]:
            m = _first(http, "http.request.method")
            code = _first(http, "http.response.code")
            loc = _first(http, "http.location")
            host = _first(http, "http.host")
            if m is not None:
                c["events"].append({"frame": frame, "port": sport, "kind": "http_req",
                                    "method": m.get("show"),
                                    "path": _first(http, "http.request.uri").get("show"),
                                    "host": host.get("show") if host is not None else None})
            if code is not None:
                c["events"].append({"frame": frame, "port": sport, "kind": "http_resp",
                                    "status": int(code.get("show")),
                                    "location": loc.get("show") if loc is not None else None})

    for st in sorted(conns):
        result["connections"].append(_connection(conns[st], proto))
    return result


def _connection(c, proto):
    ev = c["events"]
    ports = list(c["addrs"])
    client = c["syn_from"]
    if client is None:
        ch = [e for e in ev if e["kind"] == "hs" and e["type"] == 1]
        sh = [e for e in ev if e["kind"] == "hs" and e["type"] == 2]
        rq = [e for e in ev if e["kind"] == "http_req"]
        if ch:
            client = ch[0]["port"]
        elif sh:
            client = [p for p in ports if p != sh[0]["port"]][0]
        elif rq:
            client = rq[0]["port"]
    server = [p for p in ports if p != client][0] if len(ports) > 1 else None
    frm = lambda e: "client" if e["port"] == client else "server"  # noqa: E731
    hs = lambda t, side=None: [e for e in ev if e["kind"] == "hs" and e["type"] == t  # noqa: E731
                               and (side is None or frm(e) == side)]
    out = {"client_port": client, "server_port": server,
           "client_ip": c["addrs"].get(client), "server_ip": c["addrs"].get(server),
           "app_protocol": "tls" if proto == "tls" else "http"}
    if proto == "tls":
        ch, sh = hs(1, "client"), hs(2, "server")
        out["tls_version"] = sh[0]["version"] if sh else None
        out["sni"] = ch[0]["sni"] if ch else None
        cr = hs(13, "server")
        srv_fin = hs(20, "server")
        shd = hs(14, "server")
        if cr:
            out["cert_requested"], out["cert_request_frame"] = "yes", cr[0]["frame"]
        elif shd or srv_fin:
            out["cert_requested"], out["cert_request_frame"] = "no", None
        else:
            out["cert_requested"], out["cert_request_frame"] = "unknown", None
        cc = hs(11, "client")
        if cc:
            out["cert_presented"] = "empty" if cc[0].get("certs_len") == 0 else "yes"
            out["client_cert_frame"] = cc[0]["frame"]
            out["client_leaf_sha1"] = cc[0]["certs"][0] if cc[0].get("certs") else None
        else:
            client_done = hs(20, "client") or hs(16, "client")
            out["cert_presented"] = "no" if client_done else "unknown"
            out["client_cert_frame"] = None
            out["client_leaf_sha1"] = None
        sc = hs(11, "server")
        out["server_leaf_sha1"] = sc[0]["certs"][0] if sc and sc[0].get("certs") else None
        out["acceptable_cas"] = cr[0]["dnames"] if cr else None
        # Alerts: encrypted = sent under record protection (TLS 1.3 opaque
        # record, or TLS 1.2 after that side's ChangeCipherSpec).
        ccs_seen = set()
        alerts = []
        for e in ev:
            if e["kind"] == "record" and e["ctype"] == 20:
                ccs_seen.add(frm(e))
            if e["kind"] == "alert":
                alerts.append({"from": frm(e), "description": e["desc"],
                               "encrypted": bool(e["opaque"] or frm(e) in ccs_seen),
                               "frame": e["frame"]})
        out["alerts"] = alerts
        fatal = any(e["kind"] == "alert" and e["level"] == 2 for e in ev)
        cli_fin = hs(20, "client")
        appdata = {frm(e) for e in ev if e["kind"] == "record" and e["ctype"] == 23}
        ccs_both = ccs_seen >= {"client", "server"}
        if fatal:
            out["handshake_complete"] = False
        elif (srv_fin and cli_fin) or (ccs_both and appdata >= {"client", "server"}):
            out["handshake_complete"] = True
        else:
            out["handshake_complete"] = None
    else:
        for k in ("tls_version", "sni", "client_leaf_sha1", "server_leaf_sha1",
                  "cert_request_frame", "client_cert_frame", "acceptable_cas"):
            out[k] = None
        out["cert_requested"] = out["cert_presented"] = "no"
        out["alerts"] = []
        out["handshake_complete"] = None
    http = []
    for e in ev:
        if e["kind"] == "http_req":
            http.append({"method": e["method"], "path": e["path"], "status": None, "location": None,
                         "host": e["host"], "frame": e["frame"]})
        elif e["kind"] == "http_resp":
            for h in http:
                if h["status"] is None:
                    h["status"], h["location"] = e["status"], e["location"]
                    break
            else:
                http.append({"method": None, "path": None, "status": e["status"],
                             "location": e["location"], "host": None, "frame": e["frame"]})
    out["http"] = http
    # Record lengths of the client's records after the ServerHello (what an
    # analyser without keys sees of the client's encrypted flight).
    sh_frames = [e["frame"] for e in hs(2, "server")]
    if sh_frames:
        out["client_records_after_server_hello"] = [
            {"frame": e["frame"], "type": 23 if e["opaque"] else e["ctype"], "length": e["length"]}
            for e in ev if e["kind"] == "record" and frm(e) == "client" and e["frame"] > sh_frames[0]]
    return out


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--keys")
    a = ap.parse_args()
    keys = a.keys if a.keys else (a.file + ".keys" if os.path.exists(a.file + ".keys") else None)
    print(json.dumps(analyse(a.file, keys), indent=1))


if __name__ == "__main__":
    sys.exit(main())
