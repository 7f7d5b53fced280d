#!/usr/bin/env python3
"""write_expected.py - write captures/expected.json (called by make-captures.sh).

The facts come from HOW each capture was made (the manifest written by
make-captures.sh says what each side was told to do) and from the PKI files
(SHA-1 thumbprints, CA names).  Only what cannot be known in advance is read
back from the captures with tshark: the ephemeral client port, frame numbers,
the alerts (whose descriptions are confirmed against the error the client's
own TLS stack reported) and the HTTP exchanges.  Every intended fact is
asserted against what tshark sees, so a capture that did not go as planned
stops the script here.  check-with-tshark.sh then re-derives everything.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_facts  # noqa: E402

ALERT_BY_NAME = {v: k for k, v in tshark_facts.ALERTS.items()}


def sha1_of(pem):
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-fingerprint", "-sha1"],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").upper()


def subjects_in(pem_bundle):
    """Subjects (RFC 2253 form) of the certificates in a PEM bundle, in file order."""
    with open(pem_bundle) as f:
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", f.read(), re.S)
    names = []
    for b in blocks:
        out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
                             input=b, check=True, stdout=subprocess.PIPE, text=True).stdout
        names.append(out.strip().split("=", 1)[1].strip())
    return names


def client_reported_alert(log_path):
    """The alert the client's TLS stack says it received, from its own log."""
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        return None
    m = re.search(r"SSL alert number (\d+)", text)
    if m:
        return tshark_facts.ALERTS.get(int(m.group(1)))
    m = re.search(r"(?:sslv3|tlsv1|tlsv13) alert ([a-z ]+)", text)
    if m:
        return m.group(1).strip().replace(" ", "_")
    return None


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def source_entry(fields, captures, pki, work):
    name, port, kind = fields[0], int(fields[1]), fields[2]
    path = os.path.join(captures, name)
    keys = path + ".keys"
    seen = tshark_facts.analyse(path, keys if os.path.exists(keys) else None)
    need(len(seen["connections"]) == 1, f"{name}: expected exactly one TCP connection, tshark sees "
         f"{len(seen['connections'])}")
    t = seen["connections"][0]
    if kind == "tls":
        ver, mode, client, cert, host, iface, tool, wprefix = fields[3:11]
    else:
        mode, client, cert, host, iface, tool, wprefix, http_path = fields[4:12]
        ver = None
    link = "LINUX_SLL2" if iface == "any" else "EN10MB"
    need(seen["link_type"] == link, f"{name}: link type {seen['link_type']} != {link}")
    need(t["server_port"] == port, f"{name}: server port {t['server_port']} != {port}")
    need(t["client_ip"] == host and t["server_ip"] == host, f"{name}: addresses {t['client_ip']}")
    entry = {
        "link_type": link,
        "truncated": False,
        "format": "pcapng" if name.endswith(".pcapng") else "pcap",
        "key_log": os.path.basename(keys) if os.path.exists(keys) else None,
        "made_with": f"{tool} -i {iface}",
    }
    c = {"client_port": t["client_port"], "server_port": port, "client_ip": host, "server_ip": host}
    if kind == "http":
        status = 200 if mode == "200" else 301
        location = None if mode == "200" else "https://localhost" + http_path
        c.update({"app_protocol": "http", "tls_version": None, "sni": None,
                  "cert_requested": "no", "cert_request_frame": None,
                  "cert_presented": "no", "client_cert_frame": None,
                  "client_leaf_sha1": None, "server_leaf_sha1": None,
                  "acceptable_cas": None, "alerts": [],
                  "http": [{"method": "GET", "path": http_path, "status": status,
                            "location": location, "host": f"localhost:{port}"}],
                  "handshake_complete": None,
                  "note": "plain HTTP, no TLS: the TLS facts do not apply "
                          "(handshake_complete is null)"})
        got = [{k: h[k] for k in ("method", "path", "status", "location", "host")} for h in t["http"]]
        need(got == c["http"], f"{name}: http {got} != {c['http']}")
        entry["connections"] = [c]
        return entry, seen

    requested = mode != "none"
    presented = "no" if not requested else ("empty" if cert == "none" else "yes")
    complete = not (mode == "Verify" and cert != "good")
    tls_version = "TLS 1.2" if ver == "1.2" else "TLS 1.3"
    cas = subjects_in(os.path.join(pki, "client-ca-names.pem"))
    c.update({
        "app_protocol": "tls",
        "tls_version": tls_version,
        "sni": "localhost",
        "cert_requested": "yes" if requested else "no",
        "cert_request_frame": t["cert_request_frame"] if requested else None,
        "cert_presented": presented,
        "client_cert_frame": t["client_cert_frame"] if presented != "no" else None,
        "client_leaf_sha1": ({"good": sha1_of(os.path.join(pki, "client.pem")),
                              "other": sha1_of(os.path.join(pki, "other-client.pem"))}.get(cert)
                             if presented == "yes" else None),
        "server_leaf_sha1": sha1_of(os.path.join(pki, "server.pem")),
        "acceptable_cas": (cas if requested else None) if ver == "1.2" else None,
    })
    if ver == "1.3":
        # The CertificateRequest is encrypted in TLS 1.3; what its
        # certificate_authorities extension says (visible with the key log):
        c["tls13_certificate_authorities"] = cas if requested else None
    # Alerts: read back (frame numbers), the fatal one confirmed by the client.
    alerts = [{k: a[k] for k in ("from", "description", "encrypted", "frame")} for a in t["alerts"]]
    fatal = [a for a in alerts if a["description"] not in ("close_notify",)]
    if complete:
        need(not fatal, f"{name}: unexpected alerts {fatal}")
    else:
        need(len(fatal) == 1 and fatal[0]["from"] == "server", f"{name}: expected one fatal server "
             f"alert, got {alerts}")
        reported = client_reported_alert(os.path.join(work, name + ".client.log"))
        need(reported == fatal[0]["description"], f"{name}: client reported alert {reported}, "
             f"tshark shows {fatal[0]['description']}")
        need(fatal[0]["encrypted"] == (ver == "1.3"), f"{name}: alert encryption {fatal[0]}")
    c["alerts"] = alerts
    http = [{k: h[k] for k in ("method", "path", "status", "location", "host")} for h in t["http"]]
    if complete:
        need(http == [{"method": "GET", "path": "/", "status": 200, "location": None,
                       "host": http[0]["host"] if http else None}], f"{name}: http {http}")
    c["http"] = http
    c["handshake_complete"] = complete
    if ver == "1.3":
        c["client_records_after_server_hello"] = t.get("client_records_after_server_hello")
    # Cross-check the intended facts against tshark right away.
    for k in ("tls_version", "sni", "cert_requested", "cert_presented", "client_leaf_sha1",
              "server_leaf_sha1", "handshake_complete"):
        need(t[k] == c[k], f"{name}: {k}: intended {c[k]!r}, tshark sees {t[k]!r}")
    need(t["acceptable_cas"] == (cas if requested else None), f"{name}: CA names {t['acceptable_cas']}")
    notes = []
    if not requested:
        notes.append("server did not request a client certificate")
    elif mode == "Verify" and cert == "none":
        notes.append(f"server required a certificate, client sent an empty Certificate; "
                     f"OpenSSL's server answered with fatal alert {fatal[0]['description']}")
    elif cert == "other":
        notes.append(f"client presented a certificate from the untrusted 'Other Root CA'; "
                     f"OpenSSL's server answered with fatal alert {fatal[0]['description']}")
    elif cert == "none":
        notes.append("server requested optionally (-verify), client sent an empty Certificate, "
                     "handshake completed")
    else:
        notes.append("client presented its certificate plus the intermediate; server accepted it")
    if ver == "1.3":
        notes.append("TLS 1.3: CertificateRequest, the client Certificate and every alert are "
                     "encrypted; the frame numbers are where tshark shows them with the key log")
    notes.append(f"client: {client}")
    c["note"] = "; ".join(notes)
    entry["connections"] = [c]
    return entry, seen


def map_frame(f, mapping):
    return None if f is None else mapping(f)


def derived_entry(fields, captures, work, expected):
    name, port, _, kind, source = fields[:5]
    src = json.loads(json.dumps(expected[source]))
    sc = src["connections"][0]
    entry = {"link_type": "EN10MB", "truncated": False, "format": "pcap",
             "key_log": name + ".keys", "derived_from": source}
    c = dict(sc)
    not_in = []
    if kind in ("tls12-presented-vlan", "tls12-presented-qinq"):
        mapping = lambda f: f  # noqa: E731
        entry["made_with"] = ("pcaptool.py vlan --vid 42" if kind.endswith("vlan")
                              else "pcaptool.py vlan --outer-vid 100 --vid 42")
        c["note"] = ("every frame of " + source + " with " +
                     ("an 802.1Q tag (TPID 0x8100, VLAN 42)" if kind.endswith("vlan") else
                      "an 802.1ad outer tag (TPID 0x88a8, VLAN 100) and an 802.1Q inner tag "
                      "(TPID 0x8100, VLAN 42)") + " inserted after the MAC addresses")
    elif kind == "tls12-presented-reordered":
        info = json.load(open(os.path.join(work, "reorder.json")))
        flight = info["server_flight_original_frame"]
        added = info["frames_added"]
        mapping = lambda f: f if f < flight else (info["cert_request_complete_frame"]  # noqa: E731
                                                  if f == flight else f + added)
        entry["made_with"] = "pcaptool.py reorder"
        entry["reordering"] = info["delivered"]
        c["note"] = ("server's first flight (frame %d of the source) re-segmented into 5 TCP "
                     "segments delivered as frames %d-%d: out of order, one exact duplicate and one "
                     "partially overlapping retransmission with identical bytes; the "
                     "CertificateRequest record is split across two segments and completes in "
                     "frame %d. Reassembled TLS bytes are identical to the source."
                     % (flight, flight, flight + added, info["cert_request_complete_frame"]))
    elif kind == "tls12-midstream":
        dropped = json.load(open(os.path.join(work, "midstream.json")))["dropped_original_frames"]
        mapping = lambda f: f - sum(1 for d in dropped if d < f)  # noqa: E731
        entry["made_with"] = "pcaptool.py midstream"
        not_in = ["sni", "http", "alerts[*].description"]
        c["note"] = ("starts mid-stream: the SYN, the SYN-ACK and the ClientHello (source frames "
                     "%s) are removed. tls_version is known from the ServerHello; the SNI is "
                     "only in the missing ClientHello; without the client random the key log "
                     "cannot be used, so the encrypted close_notify alerts and the HTTP exchange "
                     "cannot be read (the values given are the truth of the traffic). The client "
                     "is the side that receives the ServerHello." % ", ".join(map(str, dropped)))
    elif kind == "tls12-snaplen":
        mapping = lambda f: f  # noqa: E731
        entry["made_with"] = "pcaptool.py snaplen --snaplen 96"
        entry["snaplen"] = 96
        not_in = ["sni", "cert_request_frame", "acceptable_cas", "client_leaf_sha1",
                  "server_leaf_sha1", "alerts[*].description", "http"]
        c["note"] = ("every frame cut to 96 bytes (caplen < len): 14 Ethernet + 20 IP + 32 TCP "
                     "header bytes leave 30 bytes of TCP payload per frame. Visible: record "
                     "headers at the start of each segment, the ServerHello's legacy version, "
                     "and the first bytes of the client's Certificate message in frame %s "
                     "(type 11 and a non-zero certificate_list length, which in TLS 1.2 also "
                     "implies the server requested it). Not visible: the CertificateRequest "
                     "(deep inside frame %s), the certificates, the SNI, the alert "
                     "descriptions and HTTP. Values given are the truth of the traffic."
                     % (sc["client_cert_frame"], sc["cert_request_frame"]))
    elif kind == "tls13-truncated":
        info = json.load(open(os.path.join(work, "truncate.json")))
        last = info["frames_readable"]
        # Source frames before the server flight keep their numbers; the flight
        # itself became frame `last` (ServerHello+CCS) + the unreadable frame.
        mapping = lambda f: f if f < last else None  # noqa: E731
        entry["made_with"] = "pcaptool.py truncate"
        entry["truncated"] = True
        entry["readable_frames"] = last
        entry["truncated_frame"] = info["truncated_frame"]
        not_in = ["cert_requested", "cert_request_frame", "cert_presented", "client_cert_frame",
                  "client_leaf_sha1", "server_leaf_sha1", "tls13_certificate_authorities",
                  "handshake_complete"]
        c["note"] = ("cut off in the server's first flight: frames 1-%d are complete (frame %d "
                     "carries ServerHello + ChangeCipherSpec, so TLS 1.3 and the SNI are known); "
                     "the last pcap record (frame %d, the encrypted EncryptedExtensions.. records) "
                     "promises %d bytes but the file ends after %d of them, in the middle of the "
                     "encrypted server Certificate record; libpcap and tshark stop with a "
                     "'truncated' error and never deliver it. The connection really did request "
                     "and receive a client certificate and complete (values given are that "
                     "truth); alerts and http list only what is in the file (nothing)."
                     % (last, last, info["truncated_frame"], info["truncated_frame_promised_bytes"],
                        info["truncated_frame_bytes_in_file"]))
        c["alerts"] = []
        c["http"] = []
        c.pop("client_records_after_server_hello", None)
    else:
        raise Fail(f"unknown derived kind {kind}")
    c["cert_request_frame"] = map_frame(sc["cert_request_frame"], mapping)
    c["client_cert_frame"] = map_frame(sc["client_cert_frame"], mapping)
    if kind != "tls13-truncated":
        c["alerts"] = [dict(a, frame=mapping(a["frame"])) for a in sc["alerts"]]
    if "client_records_after_server_hello" in c:
        c["client_records_after_server_hello"] = [dict(r, frame=mapping(r["frame"]))
                                                  for r in c["client_records_after_server_hello"]]
    if not_in:
        c["not_in_capture"] = not_in
    entry["connections"] = [c]
    return entry


def facts_table(doc, pki):
    """Markdown table of expected.json, for the generated block in README.md."""
    names = {}
    for f in ("client.pem", "other-client.pem", "server.pem"):
        names[sha1_of(os.path.join(pki, f))] = f
    rows = ["SHA-1 thumbprints: " + ", ".join(f"`{n}` = `{h}`" for h, n in sorted(names.items(), key=lambda x: x[1])),
            "",
            "| file | link | client → server | TLS | SNI | cert requested (frame) | "
            "client cert (frame) | alerts (from: description @frame, enc = encrypted) | "
            "HTTP | complete | not in capture |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for fname, e in doc.items():
        if fname.startswith("_"):
            continue
        for c in e["connections"]:
            ip = lambda a: f"[{a}]" if ":" in a else a  # noqa: E731
            req = c["cert_requested"] + (f" ({c['cert_request_frame']})" if c["cert_request_frame"] else "")
            pres = c["cert_presented"]
            if c["client_leaf_sha1"]:
                pres += " " + names.get(c["client_leaf_sha1"], c["client_leaf_sha1"])
            if c["client_cert_frame"]:
                pres += f" ({c['client_cert_frame']})"
            alerts = "; ".join(f"{a['from']}: {a['description']} @{a['frame']}"
                               + (" enc" if a["encrypted"] else "") for a in c["alerts"]) or "-"
            http = "; ".join(f"{h['method']} {h['path']} → {h['status'] or 'no response'}"
                             + (f" {h['location']}" if h.get("location") else "")
                             for h in c["http"]) or "-"
            tr = " (file truncated)" if e["truncated"] else ""
            rows.append(" | ".join([
                f"| `{fname}`", e["link_type"] + tr,
                f"{ip(c['client_ip'])}:{c['client_port']} → {ip(c['server_ip'])}:{c['server_port']}",
                c["tls_version"] or "-", c["sni"] or "-", req, pres, alerts, http,
                {True: "yes", False: "no", None: "-"}[c["handshake_complete"]],
                ", ".join(c.get("not_in_capture", [])) or "-"]) + " |")
    rows += ["", "TLS 1.3: the client's records after the ServerHello, as on the wire "
             "(`CCS` = ChangeCipherSpec, `AD` = opaque application_data record; record length "
             "in bytes; frame), from `client_records_after_server_hello` in expected.json:", "",
             "| file | client records after ServerHello | decrypted meaning |", "|---|---|---|"]
    for fname, e in doc.items():
        for c in (e.get("connections", []) if not fname.startswith("_") else []):
            recs = c.get("client_records_after_server_hello")
            if not recs:
                continue
            wire = ", ".join(f"{ {20: 'CCS', 23: 'AD', 21: 'alert', 22: 'HS'}[r['type']]}"
                             f" {r['length']} @{r['frame']}" for r in recs)
            later = "; later records: HTTP request (52 s_client/python, 96 curl), close_notify (19)"
            meaning = {"no": "CCS, Finished" + later,
                       "empty": "CCS, empty Certificate (25), Finished (69)" + later,
                       "yes": "CCS, Certificate, CertificateVerify, Finished (69)" + later}
            rows.append(f"| `{fname}` | {wire} | {meaning[c['cert_presented']]} |")
    return "\n".join(rows) + "\n"


def update_readme(readme, table):
    if not os.path.exists(readme):
        return
    text = open(readme).read()
    begin, end = "<!-- facts:begin -->", "<!-- facts:end -->"
    if begin not in text or end not in text:
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    text = head + begin + "\n<!-- generated by write_expected.py from expected.json -->\n" + table + end + tail
    with open(readme, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pki = os.path.join(a.captures, "pki")
    rows = [line.rstrip("\n").split("\t") for line in open(a.manifest) if line.strip()]
    expected = {}
    try:
        for r in rows:
            if r[2] in ("tls", "http"):
                expected[r[0]], _ = source_entry(r, a.captures, pki, a.work)
        for r in rows:
            if r[2] == "derived":
                expected[r[0]] = derived_entry(r, a.captures, a.work, expected)
    except Fail as e:
        sys.exit(f"write_expected: {e}")
    # chain-*.pcap have their truth in chains-expected.json (make-chain-captures.sh); *-dsb.pcapng
    # is a copy of a capture here with its key log injected (editcap, below in make-captures.sh);
    # the other scripts' captures are named in their own truth files, and make-header-captures.sh
    # writes two whose facts test_captures.py states.
    others = {"http-cert-headers.pcap", "h2c-prior-knowledge.pcap"}
    for truth in ("decrypt-expected.json", "outbound-expected.json"):
        try:
            with open(os.path.join(a.captures, truth), encoding="utf-8") as f:
                others |= {n for n in json.load(f) if not n.startswith("_")}
        except FileNotFoundError:
            pass
    present = {os.path.basename(p) for p in glob.glob(os.path.join(a.captures, "*.pcap*"))
               if not p.endswith(".keys") and not os.path.basename(p).startswith("chain-")
               and not p.endswith("-dsb.pcapng") and os.path.basename(p) not in others}
    missing = present - set(expected)
    if missing:
        sys.exit(f"write_expected: captures without expectations: {sorted(missing)}")
    doc = {"_comment": (
        "Truth for the captures in this directory, written by make-captures.sh/write_expected.py "
        "and cross-checked by check-with-tshark.sh. Frame numbers are 1-based as Wireshark numbers "
        "them; a message split across segments is counted in the frame where reassembly completes. "
        "Fields named in a connection's not_in_capture are true of the traffic but cannot be "
        "derived from the file; a correct analyser reports them as unknown/null. Keys beyond the "
        "agreed format (format, key_log, made_with, derived_from, note, not_in_capture, "
        "tls13_certificate_authorities, client_records_after_server_hello, http[].host, ...) are "
        "informative.")}
    doc.update(dict(sorted(expected.items())))
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    update_readme(os.path.join(a.captures, "README.md"), facts_table(doc, pki))


if __name__ == "__main__":
    main()
