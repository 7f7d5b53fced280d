#!/usr/bin/env python3
"""write_outbound_expected.py - truth for the outbound captures (make-outbound-captures.sh).

The facts come from HOW each capture was made: the manifest (one JSON object per line, written
by make-outbound-captures.sh) says which side had which address, which certificate files the
application (curl, the TLS client) was given and which CAs the server (s_server) named and
trusted; the peers' own logs say what they did.  Frame numbers and ephemeral ports cannot be
known in advance: they are read back with tshark (PDML; TLS 1.2 without the key log, since its
handshake is in clear, TLS 1.3 with it), and every intended fact is asserted against what
tshark shows, down to the SHA-1 of each certificate in the client's Certificate message.
The chain verdicts are OpenSSL's, not mtlsdiag's: the certificates as tshark extracted them
from the capture are validated with
    openssl verify -attime EPOCH -purpose sslclient -CAfile ANCHOR [-untrusted INTERMEDIATES] LEAF
at the time of the capture's SYN, against pki/root.pem, pki/outbound/root.pem and both, and the
first error (OpenSSL's text and depth) is recorded; the server's own verification (s_server's
log) must agree with the verdict against the anchor it was given.  The script stops with an
error on the first difference, so a capture that did not go as planned is never installed.

Writes (into --out-dir): outbound-expected.json and readme-section.md (the README section).

  write_outbound_expected.py --captures DIR --work DIR --manifest F --captures-dir DIR --out-dir DIR
"""
import argparse
import calendar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_facts  # noqa: E402  (TLS_VERSIONS, _first, _fields, _sha1, _dn_from)

# The trust anchors each presented chain is validated against (paths relative to captures/);
# the last one is the bundle tests/test_outbound.py passes for the expired-intermediate case.
ANCHORS = (("pki/root.pem",), ("pki/outbound/root.pem",),
           ("pki/root.pem", "pki/outbound/root.pem"))
# The certificates whose thumbprints the tests use (paths relative to captures/).
THUMBPRINTS = ("pki/client.pem", "pki/other-client.pem", "pki/outbound/client.pem")
HS_CERTIFICATE, HS_CERTIFICATE_REQUEST = 11, 13  # RFC 5246 §7.4, RFC 8446 §4


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def openssl(args, what):
    proc = subprocess.run(["openssl"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    need(proc.returncode == 0, "%s: openssl %s failed: %s" % (what, args[0], proc.stderr.strip()))
    return proc.stdout


def cert_facts(pem_path, what):
    """SHA-1 (upper-case hex, no colons), subject, issuer and validity of a PEM certificate."""
    out = openssl(["x509", "-in", pem_path, "-noout", "-fingerprint", "-sha1", "-subject",
                   "-issuer", "-startdate", "-enddate", "-nameopt", "RFC2253"], what)
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    sha1_key = next(k for k in fields if k.lower().endswith("fingerprint"))

    def epoch(text):  # "Jan  1 00:00:00 2021 GMT"
        return calendar.timegm(time.strptime(text, "%b %d %H:%M:%S %Y GMT"))

    return {"sha1": fields[sha1_key].replace(":", "").upper(), "subject": fields["subject"],
            "issuer": fields["issuer"], "not_before": epoch(fields["notBefore"]),
            "not_after": epoch(fields["notAfter"])}


def der_to_pem(der_hex):
    """The PEM text of one DER certificate (hex as tshark shows it)."""
    der = bytes.fromhex(der_hex.replace(":", ""))
    proc = subprocess.run(["openssl", "x509", "-inform", "DER", "-outform", "PEM"], input=der,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    need(proc.returncode == 0, "a certificate tshark extracted does not parse: %s"
         % proc.stderr.decode(errors="replace").strip())
    return proc.stdout.decode()


# --------------------------------------------------------------------------- tshark
def _show(elem, name):
    e = tshark_facts._first(elem, name)
    return e.get("show") if e is not None else None


def tshark_view(path, keys, port):
    """The capture as tshark reads it (with the key log when given): a list of event dicts."""
    cmd = ["tshark", "-r", path, "-n", "-T", "pdml", "-o", "tcp.reassemble_out_of_order:TRUE",
           "-o", "http.desegment_body:FALSE", "-d", "tcp.port==%d,tls" % port,
           "-o", "http.tls.port:%d" % port]
    if keys:
        cmd += ["-o", "tls.keylog_file:" + keys]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    need(proc.returncode == 0, "%s: tshark failed: %s" % (path, proc.stderr.strip()))
    events = []
    for pkt in ET.fromstring(proc.stdout).iter("packet"):
        frame = int(_show(pkt, "frame.number"))
        sport = _show(pkt, "tcp.srcport")
        if sport is None:
            continue
        side = "server" if int(sport) == port else "client"
        flags = int(_show(pkt, "tcp.flags"), 16)
        events.append({"kind": "tcp", "frame": frame, "from": side, "src": _show(pkt, "ip.src"),
                       "dst": _show(pkt, "ip.dst"), "sport": int(sport),
                       "dport": int(_show(pkt, "tcp.dstport")),
                       "syn": (flags & 0x12) == 0x02,
                       "epoch": float(_show(pkt, "frame.time_epoch"))})
        for rec in tshark_facts._fields(pkt, "tls.record"):
            for hs in tshark_facts._fields(rec, "tls.handshake"):
                t = _show(hs, "tls.handshake.type")
                if t is None:
                    continue
                ev = {"kind": "hs", "frame": frame, "from": side, "type": int(t)}
                if ev["type"] == 2:
                    cs = tshark_facts._first(hs, "tls.handshake.ciphersuite")
                    m = re.search(r"Cipher Suite: (\S+) \(0x", cs.get("showname", ""))
                    ev["cipher"] = m.group(1) if m else cs.get("show")
                    sv = _show(hs, "tls.handshake.extensions.supported_version")
                    ev["version"] = tshark_facts.TLS_VERSIONS.get(
                        sv or _show(hs, "tls.handshake.version"))
                if ev["type"] == HS_CERTIFICATE:
                    cl = _show(hs, "tls.handshake.certificates_length")
                    ev["certs_len"] = int(cl) if cl is not None else None
                    ev["der"] = [e.get("value") for e in
                                 tshark_facts._fields(hs, "tls.handshake.certificate")
                                 if e.get("value")]
                if ev["type"] == HS_CERTIFICATE_REQUEST:
                    ev["dnames"] = [tshark_facts._dn_from(d) for d in
                                    tshark_facts._fields(hs, "tls.handshake.dname")]
                events.append(ev)
        for proto in pkt.iter("proto"):
            if proto.get("name") != "http":
                continue
            method = _show(proto, "http.request.method")
            if method is not None:
                events.append({"kind": "http_req", "frame": frame, "from": side,
                               "method": method, "path": _show(proto, "http.request.uri")})
            code = _show(proto, "http.response.code")
            if code is not None:
                events.append({"kind": "http_resp", "frame": frame, "from": side,
                               "status": int(code)})
    return events


# --------------------------------------------------------------------------- openssl verify
VERIFY_ERROR = re.compile(r"^error (\d+) at (\d+) depth lookup: (.*)$")


def verify_chain(chain_pems, anchors, epoch, captures_dir, tmp, what):
    """openssl verify of the presented chain (leaf first) against the anchor files at epoch.
    Returns {status, error, error_code, depth, errors, command}."""
    leaf = os.path.join(tmp, "leaf.pem")
    with open(leaf, "w") as f:
        f.write(chain_pems[0])
    cafile = os.path.join(captures_dir, anchors[0])
    if len(anchors) > 1:
        cafile = os.path.join(tmp, "anchors.pem")
        with open(cafile, "w") as f:
            for a in anchors:
                with open(os.path.join(captures_dir, a)) as g:
                    f.write(g.read())
    cmd = ["openssl", "verify", "-attime", str(epoch), "-purpose", "sslclient", "-CAfile", cafile]
    shown = ["openssl", "verify", "-attime", str(epoch), "-purpose", "sslclient", "-CAfile",
             anchors[0] if len(anchors) == 1 else "BUNDLE"]
    if len(chain_pems) > 1:
        untrusted = os.path.join(tmp, "intermediates.pem")
        with open(untrusted, "w") as f:
            f.write("".join(chain_pems[1:]))
        cmd += ["-untrusted", untrusted]
        shown += ["-untrusted", "INTERMEDIATES"]
    cmd.append(leaf)
    shown.append("LEAF")
    note = "LEAF, INTERMEDIATES: the certificates of the client's Certificate message, as tshark "
    note += "extracted them"
    if len(anchors) > 1:
        note += "; BUNDLE: %s concatenated" % " and ".join(anchors)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = []
    for line in (proc.stdout + proc.stderr).splitlines():
        m = VERIFY_ERROR.match(line.strip())
        if m:
            errors.append({"code": int(m.group(1)), "depth": int(m.group(2)), "text": m.group(3)})
    trusted = proc.returncode == 0 and (leaf + ": OK") in proc.stdout
    need(trusted == (not errors), "%s: openssl verify said %r / %r" % (what, proc.stdout,
                                                                       proc.stderr))
    first = errors[0] if errors else None
    return {"status": "trusted" if trusted else "untrusted",
            "error": first["text"] if first else None,
            "error_code": first["code"] if first else None,
            "depth": first["depth"] if first else None,
            "errors": errors,
            "command": " ".join(shown) + " (" + note + ")"}


def server_verify_lines(path):
    """s_server's report of its own check: the (num, text) of each 'verify error:num=N:TEXT'."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"verify error:num=(\d+):(.*)$", line.strip())
            if m:
                out.append((int(m.group(1)), m.group(2)))
    return out


# --------------------------------------------------------------------------- facts
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
    mine = set(read_keylog(os.path.join(work, intent["server_keylog"])))
    theirs = set(read_keylog(intent["keys_path"]))
    need(mine and mine == theirs, "%s: the server's key log differs from the client's" % name)


def facts(intent, captures_dir, work, name, thumbprints):
    port = intent["port"]
    path, keys = intent["capture_path"], intent["keys_path"]
    plain = tshark_view(path, None, port)
    keyed = tshark_view(path, keys, port)
    tls13 = intent["tls"] == "TLS 1.3"
    # TLS 1.2's handshake is read without the key log (it is in clear); TLS 1.3's needs it.
    view = keyed if tls13 else plain
    hs = lambda ev, t, side: [e for e in ev if e["kind"] == "hs" and e["type"] == t  # noqa: E731
                              and e["from"] == side]

    tcp = [e for e in view if e["kind"] == "tcp"]
    syn = [e for e in tcp if e["syn"]]
    need(len(syn) == 1, "%s: expected one TCP connection, tshark sees %d SYNs" % (name, len(syn)))
    syn = syn[0]
    need(syn["src"] == intent["app_ip"] and syn["dst"] == intent["server_ip"]
         and syn["dport"] == port, "%s: SYN %s -> %s:%d" % (name, syn["src"], syn["dst"],
                                                            syn["dport"]))
    app_port = syn["sport"]
    for e in tcp:
        ends = {(e["src"], e["sport"]), (e["dst"], e["dport"])}
        need(ends == {(intent["app_ip"], app_port), (intent["server_ip"], port)},
             "%s: frame %d is not of the one connection" % (name, e["frame"]))

    sh = hs(view, 2, "server")
    need(len(sh) == 1, "%s: %d ServerHellos" % (name, len(sh)))
    need(sh[0]["version"] == intent["tls"], "%s: version %s != %s"
         % (name, sh[0]["version"], intent["tls"]))

    cr = hs(view, HS_CERTIFICATE_REQUEST, "server")
    need(len(cr) == 1, "%s: %d CertificateRequests" % (name, len(cr)))
    cc = hs(view, HS_CERTIFICATE, "client")
    need(len(cc) == 1, "%s: %d client Certificate messages" % (name, len(cc)))
    need(cc[0]["frame"] > cr[0]["frame"],
         "%s: the client's Certificate precedes the request" % name)
    if tls13:
        # Without the key log, TLS 1.3 shows neither message.
        need(not hs(plain, HS_CERTIFICATE_REQUEST, "server") and
             not hs(plain, HS_CERTIFICATE, "client"),
             "%s: TLS 1.3 handshake readable without keys?" % name)
    else:
        need([e["frame"] for e in hs(keyed, HS_CERTIFICATE, "client")] == [cc[0]["frame"]],
             "%s: tshark sees the client Certificate elsewhere with the key log" % name)

    with open(os.path.join(captures_dir, intent["ca_names_file"])) as f:
        n_names = f.read().count("-----BEGIN CERTIFICATE-----")
    need(len(cr[0]["dnames"]) == n_names, "%s: CertificateRequest names %s, %s holds %d"
         % (name, cr[0]["dnames"], intent["ca_names_file"], n_names))

    presented_der = cc[0]["der"]
    need((cc[0]["certs_len"] == 0) == (not presented_der), "%s: certificates_length %s, %d "
         "certificates" % (name, cc[0]["certs_len"], len(presented_der)))
    # The chain in the capture must be exactly the files the application was given.
    chain_pems = [der_to_pem(d) for d in presented_der]
    chain = []
    with tempfile.TemporaryDirectory(prefix="mtd-outbound-") as tmp:
        for i, pem in enumerate(chain_pems):
            p = os.path.join(tmp, "cert%d.pem" % i)
            with open(p, "w") as f:
                f.write(pem)
            chain.append(cert_facts(p, name))
        want = [cert_facts(os.path.join(captures_dir, p), name)["sha1"]
                for p in intent["presented_files"]]
        need([c["sha1"] for c in chain] == want, "%s: presented %s, the application was given "
             "%s (%s)" % (name, [c["sha1"] for c in chain], want, intent["presented_files"]))
        for c, file in zip(chain, intent["presented_files"]):
            c["file"] = file

        epoch = int(syn["epoch"])
        checks = {}
        if chain_pems:
            for anchors in ANCHORS:
                checks[" + ".join(anchors)] = verify_chain(chain_pems, anchors, epoch,
                                                           captures_dir, tmp, name)
    # The server's own verification (with -verifyCAfile ANCHOR, at the time of the handshake)
    # must say what openssl verify says against that anchor.
    server_errors = server_verify_lines(os.path.join(work, intent["server_log"]))
    if chain_pems:
        own = checks[intent["server_anchor"]]
        if own["status"] == "trusted":
            need(not server_errors, "%s: s_server reports %s, openssl verify trusts the chain"
                 % (name, server_errors))
        else:
            need(server_errors and server_errors[0] == (own["error_code"], own["error"]),
                 "%s: s_server's first verify error %s != openssl verify's %s"
                 % (name, server_errors[:1], (own["error_code"], own["error"])))
    else:
        need(not server_errors, "%s: s_server verified a certificate that was not sent" % name)

    reqs = [e for e in keyed if e["kind"] == "http_req"]
    resps = [e for e in keyed if e["kind"] == "http_resp"]
    need([(r["method"], r["path"]) for r in reqs] == [("GET", "/")] and
         [r["status"] for r in resps] == [200],
         "%s: HTTP with the key log %s %s" % (name, reqs, resps))

    leaf = chain[0] if chain else None
    return {
        "kind": "capture",
        "tls_version": intent["tls"],
        "cipher_suite": sh[0]["cipher"],
        "app": {"ip": intent["app_ip"], "port": app_port, "role": "client"},
        "server": {"ip": intent["server_ip"], "port": port, "role": "server"},
        "syn_frame": syn["frame"],
        "capture_time_epoch": epoch,
        "cert_request_frame": cr[0]["frame"],
        "acceptable_cas": cr[0]["dnames"],
        "client_certificate_frame": cc[0]["frame"],
        "cert_presented": "yes" if chain else "empty",
        "client_chain": chain,
        "client_leaf_sha1": leaf["sha1"] if leaf else None,
        "leaf_expired_at_capture": (leaf["not_after"] < epoch) if leaf else None,
        "leaf_is_client_pem": (leaf["sha1"] == thumbprints["pki/client.pem"]) if leaf else None,
        "chain_checks": checks or None,
        "server_verify_errors": [{"code": c, "text": t} for c, t in server_errors],
        "http": {"method": "GET", "path": "/", "request_frame": reqs[0]["frame"],
                 "status": 200, "status_frame": resps[0]["frame"]},
    }


# --------------------------------------------------------------------------- output
def check_text(check):
    if check is None:
        return "-"
    if check["status"] == "trusted":
        return "OK"
    return "%s (depth %d)" % (check["error"], check["depth"])


def readme_section(doc, manifest):
    t = doc["thumbprints"]
    rows = ["<!-- outbound:begin -->",
            "## Outbound captures (make-outbound-captures.sh)",
            "",
            "The application is the TLS CLIENT here: it (127.0.0.10) calls an API server "
            "(127.0.0.20) that asks for a client certificate, the outbound half of mutual TLS "
            "(`mtlsdiag analyze --app 127.0.0.10`). Made by "
            "`sudo captures/make-outbound-captures.sh` "
            "(re-runnable, ~10 s; needs openssl tcpdump tshark curl python3 iproute2), which also "
            "writes this section: `openssl s_server -accept 127.0.0.20:PORT -naccept 1 -www "
            "-verify 2 -CAfile NAMES -verifyCAfile ANCHOR` (-verify, not -Verify: the handshake "
            "completes whatever the client sends, as App Service forwards whatever comes) and "
            "curl `--interface 127.0.0.10` as the application, one TCP connection per file, "
            "`tcpdump -i lo -U --immediate-mode -w FILE 'tcp port PORT'`. Each `FILE.keys` is "
            "curl's NSS key log (`SSLKEYLOGFILE`); the script checked that s_server's "
            "(`-keylogfile`) holds the same secrets.",
            "",
            "Truth: `outbound-expected.json` (from how each capture was made; frames, addresses "
            "and the certificates of the client's Certificate message read back with tshark, see "
            "`write_outbound_expected.py`; exact command lines in each entry's `commands`). The "
            "chain verdicts are OpenSSL's: the certificates as tshark extracted them from the "
            "capture, `openssl verify -attime <SYN time> -purpose sslclient -CAfile ANCHOR "
            "-untrusted INTERMEDIATES LEAF`, first error with its depth; s_server's own check "
            "agreed with the verdict against its anchor. Test: `tests/test_outbound.py`.",
            "",
            "A second TEST-ONLY PKI is in `pki/outbound/` (made by the script with `openssl ca`, "
            "since OpenSSL 3.0's `x509 -req` cannot set past dates): `root.pem` (CN=mtlsdiag "
            "Outbound Test Root CA), `intermediate.pem` (CN=mtlsdiag Outbound Expired "
            "Intermediate CA, valid 2020-01-01 to 2021-01-01: expired), `client.pem` "
            "(CN=mtlsdiag outbound test client, 2024-01-01 to 2044-01-01, clientAuth, issued by "
            "the expired intermediate) and `client-chain.pem`.",
            "",
            "SHA-1 thumbprints (`openssl x509 -noout -fingerprint -sha1`): `pki/client.pem` %s, "
            "`pki/other-client.pem` %s, `pki/outbound/client.pem` %s."
            % (t["pki/client.pem"], t["pki/other-client.pem"], t["pki/outbound/client.pem"]),
            "",
            "| file | port | the application presents | TLS | CertificateRequest → client "
            "Certificate (frames) | app port | verify vs `pki/root.pem` | vs "
            "`pki/outbound/root.pem` | vs both |",
            "|---|---|---|---|---|---|---|---|---|"]
    for m in manifest:
        e = doc[m["file"]]
        checks = e["chain_checks"] or {}
        cells = [check_text(checks.get(" + ".join(a))) for a in ANCHORS]
        rows.append("| `%s` | %d | %s | %s, %s | %d → %d (%s) | %d | %s | %s | %s |"
                    % (m["file"], m["port"], m["presents"],
                       e["tls_version"], e["cipher_suite"], e["cert_request_frame"],
                       e["client_certificate_frame"],
                       "empty" if e["cert_presented"] == "empty"
                       else "%d certificate%s" % (len(e["client_chain"]),
                                                  "" if len(e["client_chain"]) == 1 else "s"),
                       e["app"]["port"], cells[0], cells[1], cells[2]))
    rows += ["", "Frame numbers are tshark's (1-based); in TLS 1.3 the CertificateRequest and "
             "the client's Certificate are encrypted, so their frames and the chain come from "
             "tshark decrypting with the key log. The capture time used for the verdicts is "
             "the SYN's, in whole seconds (`capture_time_epoch`). When make-captures.sh makes a "
             "new PKI it deletes `pki/` (`pki/outbound/` with it) and `pki/client.pem` gets a new "
             "thumbprint, so run make-outbound-captures.sh again after that.",
             "<!-- outbound:end -->"]
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--captures", required=True, help="where the new captures are (work dir)")
    ap.add_argument("--work", required=True, help="peer logs")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--captures-dir", required=True, help="captures/ (pki/ is under it)")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    with open(a.manifest) as f:
        manifest = [json.loads(line) for line in f if line.strip()]
    doc = {"_comment": (
        "Truth for the outbound captures (make-outbound-captures.sh / write_outbound_expected.py): "
        "the application (app) is the TLS CLIENT, the server asks for a client certificate. "
        "One TCP connection per file; frames read back with tshark (TLS 1.3: decrypting with "
        "FILE.keys). client_chain = the certificates of the client's Certificate message in "
        "order, as tshark extracted them, each matched to the file the application was given. "
        "chain_checks: keyed by the trust anchor file(s) (' + ' = one bundle of both), the "
        "verdict of openssl verify -attime capture_time_epoch -purpose sslclient over that "
        "chain; error/error_code/depth = OpenSSL's FIRST error (errors: all it printed). "
        "thumbprints: openssl x509 -fingerprint -sha1, upper-case hex without colons.")}
    try:
        doc["thumbprints"] = {p: cert_facts(os.path.join(a.captures_dir, p), p)["sha1"]
                              for p in THUMBPRINTS}
        for m in manifest:
            name = m["file"]
            m["capture_path"] = os.path.join(a.captures, name)
            m["keys_path"] = m["capture_path"] + ".keys"
            need(os.path.getsize(m["keys_path"]) > 0, "%s: empty key log" % name)
            check_logs(m, a.work, name)
            entry = facts(m, a.captures_dir, a.work, name, doc["thumbprints"])
            with open(os.path.join(a.work, m["cmds"])) as f:
                commands = [line.rstrip("\n") for line in f if line.strip()]
            doc[name] = dict({"key_log": name + ".keys", "case": m["case"],
                              "made_with": m["how"], "server_side": m["server"],
                              "client_side": m["client"], "commands": commands}, **entry)
    except Fail as e:
        sys.exit("write_outbound_expected: %s" % e)
    with open(os.path.join(a.out_dir, "outbound-expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.out_dir, "readme-section.md"), "w") as f:
        f.write(readme_section(doc, manifest))


if __name__ == "__main__":
    main()
