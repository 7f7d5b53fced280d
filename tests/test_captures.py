#!/usr/bin/env python3
"""test_captures.py: every sample capture's client-certificate facts, field by field (TAP).

Usage: test_captures.py MTLSDIAG CAPTURES_DIR

The truth comes from CAPTURES_DIR/expected.json, which was written from how each capture was
made and cross-checked with tshark (see captures/README.md), and from reasoning about the
protocols written down below; never from mtlsdiag's own output.  Each fact is one TAP line, so
a failure names the capture, the connection, the field, what was expected and what came out.

mtlsdiag is run without a key log, so everything TLS encrypts stays unreadable to it: the TLS 1.3
CertificateRequest, the client's Certificate and every certificate after the TLS 1.3 ServerHello,
alert descriptions in encrypted records, and HTTP inside TLS.  expected.json gives the truth of
the traffic for those (readable by tshark with the key log); this script turns each into what an
analyser without keys can know: a value inferred from record sizes, or unknown/null/empty.
"""
import hashlib
import json
import os
import re
import ssl
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import (Tap, check_no_crash, command_line, file_state, require_executable,  # noqa: E402
                    run)


# Exit status per capture, and why.  0 = no client-certificate problem seen, 1 = a problem was
# seen: a certificate requested and not presented (empty list or no Certificate), a fatal
# handshake alert, or plain HTTP that was not redirected to https.
EXPECTED_EXIT = {
    "http-200.pcap": (1, "GET over plain HTTP answered 200, not redirected: a request over plain "
                         "HTTP never carries a client certificate"),
    "http-redirect.pcap": (0, "plain HTTP answered with 301 to https://: the redirect is what a "
                              "server should do"),
    "tls12-empty.pcap": (1, "requested (optionally) and the client sent an empty list: requested "
                            "and not presented, even though the server let it through"),
    "tls12-midstream.pcap": (0, "requested and presented, handshake completed; the missing start "
                                "is a warning, not a client-certificate problem"),
    "tls12-no-request.pcap": (0, "the server never asked for a certificate"),
    "tls12-presented-ipv6.pcap": (0, "requested and presented, handshake completed"),
    "tls12-presented-qinq.pcap": (0, "requested and presented, handshake completed"),
    "tls12-presented-reordered.pcap": (0, "requested and presented, handshake completed"),
    "tls12-presented-vlan.pcap": (0, "requested and presented, handshake completed"),
    "tls12-presented.pcap": (0, "requested and presented, handshake completed"),
    "tls12-presented.pcapng": (0, "requested and presented, handshake completed"),
    "tls12-rejected.pcap": (1, "empty list and a fatal handshake_failure from the server"),
    "tls12-snaplen.pcap": (0, "the Certificate header with a non-zero list is visible: presented; "
                              "cut payloads are anomalies, not a client-certificate problem"),
    "tls12-unknown-ca.pcap": (1, "fatal unknown_ca alert from the server"),
    "tls13-empty.pcap": (1, "requested and an empty Certificate (25-byte record): not presented"),
    "tls13-no-request.pcap": (0, "no request (client flight is CCS + Finished only)"),
    "tls13-presented-any.pcap": (0, "requested and presented, handshake completed"),
    "tls13-presented.pcap": (0, "requested and presented, handshake completed"),
    "tls13-rejected.pcap": (1, "empty Certificate, then an encrypted alert from the server"),
    "tls13-truncated.pcap": (0, "the file ends inside the server's first flight: nothing in it "
                                "shows a problem; partial results plus a warning, not unusable "
                                "input (that would be 2)"),
    "tls13-unknown-ca.pcap": (1, "the server answered the client's flight with an alert-sized "
                                 "encrypted record and closed: in TLS 1.3 every alert but "
                                 "close_notify/user_canceled is fatal (RFC 8446 section 6), and "
                                 "this one came before the handshake completed"),
}

# Did the ClientHello offer post_handshake_auth (extension 49)?  Checked with
#   tshark -r F -Y 'tls.handshake.extension.type == 49'
# curl offers it, OpenSSL's s_client (without -enable_pha) and Python's ssl client do not.
# RFC 8446 section 4.6.2: a server may send a CertificateRequest after the handshake only to a
# client that offered post_handshake_auth; without keys such a request is invisible.  So when a
# client offered it and the first handshake had no request, "no" is not provable and an analyser
# must say "unknown" (with the reason).  When the first handshake did have a request, the offer
# changes nothing: the answer is "yes".  None is "the ClientHello is not in the file".
POST_HANDSHAKE_AUTH_OFFERED = {
    "tls12-empty.pcap": False,
    "tls12-midstream.pcap": None,  # the ClientHello was removed from this file
    "tls12-no-request.pcap": False,
    "tls12-presented-ipv6.pcap": False,
    "tls12-presented-qinq.pcap": False,
    "tls12-presented-reordered.pcap": False,
    "tls12-presented-vlan.pcap": False,
    "tls12-presented.pcap": False,
    "tls12-presented.pcapng": False,
    "tls12-rejected.pcap": False,
    "tls12-snaplen.pcap": None,  # the ClientHello's extensions are past the 96-byte snaplen
    "tls12-unknown-ca.pcap": False,
    "tls13-empty.pcap": False,
    "tls13-no-request.pcap": False,
    "tls13-presented-any.pcap": False,
    "tls13-presented.pcap": True,  # curl; requested in the first handshake anyway: "yes"
    "tls13-rejected.pcap": False,
    "tls13-truncated.pcap": True,  # curl; request not in the file at all: "unknown"
    "tls13-unknown-ca.pcap": False,
}

# Certificates the test PKI gives each side (captures/README.md, "The PKI"; counts checked with
# tshark -e tls.handshake.certificate_length): the servers always send leaf + intermediate;
# s_client with -cert_chain sends client + intermediate; the unknown-ca client sends its leaf only.
CLIENT_CHAIN_LEN = {
    "tls12-midstream.pcap": 2, "tls12-presented-ipv6.pcap": 2, "tls12-presented-qinq.pcap": 2,
    "tls12-presented-reordered.pcap": 2, "tls12-presented-vlan.pcap": 2,
    "tls12-presented.pcap": 2, "tls12-presented.pcapng": 2, "tls12-unknown-ca.pcap": 1,
}
SERVER_CHAIN_LEN = 2

# Files where a warning about the whole input is reasonable even though they are not truncated:
# the capture starts inside a connection, or its snaplen cuts every packet.  Elsewhere an input
# warning would be a false alarm.
INPUT_WARNING_ALLOWED = {"tls12-midstream.pcap", "tls12-snaplen.pcap"}


def pem_sha1(path):
    with open(path, "r", encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha1(der).hexdigest().upper()


def count_records(path):
    """Complete packet records in a pcap or pcapng file, read with struct (not libpcap)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    n = 0
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                 b"\xa1\xb2\x3c\x4d"):
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        offset = 24
        while offset + 16 <= len(data):
            incl_len = struct.unpack_from(endian + "I", data, offset + 8)[0]
            if offset + 16 + incl_len > len(data):
                break
            n += 1
            offset += 16 + incl_len
        return n
    if magic == b"\x0a\x0d\x0d\x0a":
        endian = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        offset = 0
        while offset + 12 <= len(data):
            block_type, block_len = struct.unpack_from(endian + "II", data, offset)
            if block_len < 12 or offset + block_len > len(data):
                break
            if block_type in (2, 3, 6):  # obsolete packet, simple packet, enhanced packet
                n += 1
            offset += block_len
        return n
    return None


def parse_json(tap, what, out):
    try:
        doc = json.loads(out)
    except ValueError as e:
        tap.ok(False, "%s: output is JSON" % what, "json.loads failed: %s\nstdout (first 1000 "
               "chars):\n%s" % (e, out[:1000]))
        return None
    tap.ok(isinstance(doc, dict), "%s: output is a JSON object" % what, "got %r" % type(doc))
    return doc if isinstance(doc, dict) else None


def find_connection(doc, exp, input_index=None):
    """The output connection with the expected client and server ports (roles as expected).
    Returns (connection, swapped) where swapped is a connection with the roles reversed."""
    match = swapped = None
    for c in doc.get("connections") or []:
        if input_index is not None and c.get("input") != input_index:
            continue
        cport = (c.get("client") or {}).get("port")
        sport = (c.get("server") or {}).get("port")
        if cport == exp["client_port"] and sport == exp["server_port"]:
            match = c
        elif cport == exp["server_port"] and sport == exp["client_port"]:
            swapped = c
    return match, swapped


def frame_mentioned(text, frame):
    """"frame N" (or "frames ..., N") with N a number of its own, not part of a longer number, an
    address or a version."""
    return re.search(r"\bframes?\b[^\n]{0,40}?(?<!\d)(?<!\d\.)%d(?!\d|\.\d)" % frame,
                     text, re.IGNORECASE) is not None


def check_verdict(tap, prefix, verdict, field, want_value, want_how, want_frame, allowed_how=None):
    """One verdict object {value, how, frames, reason}."""
    if not tap.ok(isinstance(verdict, dict), "%s: %s is an object" % (prefix, field),
                  "got %r" % (verdict,)):
        return
    if isinstance(want_value, (tuple, list)):
        tap.is_in(verdict.get("value"), want_value, "%s: %s is one of %s"
                  % (prefix, field, "/".join(want_value)))
    else:
        tap.eq(verdict.get("value"), want_value, "%s: %s = %s" % (prefix, field, want_value))
    value = verdict.get("value")
    if allowed_how is not None:
        tap.is_in(verdict.get("how"), allowed_how, "%s: %s.how is one of %s"
                  % (prefix, field, "/".join(str(h) for h in allowed_how)))
    elif want_how is not None:
        tap.eq(verdict.get("how"), want_how, "%s: %s.how = %s" % (prefix, field, want_how))
    if want_frame is not None:
        frames = verdict.get("frames") or []
        tap.ok(want_frame in frames, "%s: frame %d is in %s.frames" % (prefix, want_frame, field),
               "expected %d in frames\n     got frames: %r" % (want_frame, frames))
    if value == "unknown" or (want_value == "unknown"):
        reason = verdict.get("reason")
        tap.ok(isinstance(reason, str) and reason.strip() != "",
               "%s: %s.reason says why it is unknown" % (prefix, field), "got %r" % (reason,))


def leaf_sha1(chain):
    if not chain:
        return None
    return (chain[0] or {}).get("sha1")


def check_connection(tap, name, exp, conn, facts):
    """All facts of one expected connection against one output connection."""
    prefix = "%s conn %d" % (name, exp["client_port"])
    nic = set(exp.get("not_in_capture") or [])
    app = exp["app_protocol"]

    tap.eq(conn.get("app_protocol"), app, "%s: app_protocol = %s" % (prefix, app))
    tap.eq((conn.get("client") or {}).get("ip"), exp["client_ip"],
           "%s: client ip = %s" % (prefix, exp["client_ip"]))
    tap.eq((conn.get("server") or {}).get("ip"), exp["server_ip"],
           "%s: server ip = %s" % (prefix, exp["server_ip"]))
    n_frames = facts["n_records"]
    if n_frames is not None:
        # Each capture holds exactly this one connection (tshark: one tcp.stream), so it owns
        # every complete record of the file, up to the last ACK after both FINs.
        got = (conn.get("first_frame"), conn.get("last_frame"), conn.get("packets"))
        tap.ok(got == (1, n_frames, n_frames), "%s: frames 1..%d, %d packets"
               % (prefix, n_frames, n_frames),
               "expected (first_frame, last_frame, packets) = %r\n     got: %r"
               % ((1, n_frames, n_frames), got))

    if app == "http":
        tap.eq(conn.get("tls"), None, "%s: tls is null (plain HTTP)" % prefix)
        http = conn.get("http") or []
        tap.eq(len(http), len(exp["http"]), "%s: %d HTTP exchange(s)" % (prefix, len(exp["http"])))
        for i, want in enumerate(exp["http"]):
            got = http[i] if i < len(http) else {}
            for key in ("method", "path", "status", "location", "host"):
                tap.eq(got.get(key), want[key], "%s: http[%d].%s = %r" % (prefix, i, key, want[key]))
        return

    tls = conn.get("tls")
    if not tap.ok(isinstance(tls, dict), "%s: tls is an object" % prefix, "got %r" % (tls,)):
        return
    version = exp["tls_version"]
    is13 = version == "TLS 1.3"
    tap.eq(tls.get("version"), version, "%s: tls version = %s" % (prefix, version))
    want_sni = None if "sni" in nic else exp["sni"]
    tap.eq(tls.get("sni"), want_sni, "%s: sni = %r%s" % (prefix, want_sni,
           " (only in the ClientHello, which is not in the file)" if "sni" in nic else ""))

    pha = POST_HANDSHAKE_AUTH_OFFERED.get(name)
    if pha is not None:
        tap.eq(tls.get("post_handshake_auth_offered"), pha,
               "%s: post_handshake_auth_offered = %s (tshark: extension 49)" % (prefix, pha))

    # --- was a certificate requested? ---
    req_frame = None if "cert_request_frame" in nic else exp["cert_request_frame"]
    # Without --app the report guesses the roles only from a request it saw (or inferred).
    if "cert_requested" not in nic and exp["cert_requested"] in ("yes", "no") \
            and not (is13 and pha and exp["cert_requested"] == "no"):
        guess = conn.get("direction_guess")
        tap.ok((guess is not None and "mTLS endpoint" in guess) == (exp["cert_requested"] == "yes"),
               "%s: direction_guess (no --app) names the mTLS endpoint iff requested=%s"
               % (prefix, exp["cert_requested"]), "direction_guess %r" % (guess,))
    if "cert_requested" in nic:
        check_verdict(tap, prefix, tls.get("client_cert_requested"), "client_cert_requested",
                      "unknown", None, None)
    elif not is13:
        if exp["cert_requested"] == "yes" and req_frame is None:
            # The request is not readable (cut by the snaplen), but the client sent a
            # Certificate, which it only does when asked (RFC 5246 section 7.4.6).
            check_verdict(tap, prefix, tls.get("client_cert_requested"), "client_cert_requested",
                          "yes", "inferred", None)
        else:
            # TLS 1.2: CertificateRequest, or ServerHelloDone without one, seen in clear.
            check_verdict(tap, prefix, tls.get("client_cert_requested"), "client_cert_requested",
                          exp["cert_requested"], "observed", req_frame)
    else:
        # TLS 1.3 without keys: the request can only be inferred from the client's encrypted
        # flight (RFC 8446 section 4.4.2: a Certificate only after a CertificateRequest).
        want = exp["cert_requested"]
        if want == "no" and pha:
            want = "unknown"  # RFC 8446 section 4.6.2, see POST_HANDSHAKE_AUTH_OFFERED
        check_verdict(tap, prefix, tls.get("client_cert_requested"), "client_cert_requested",
                      want, "inferred" if want != "unknown" else None, None)

    # --- did the client present one? ---
    cert_frame = None if "client_cert_frame" in nic else exp["client_cert_frame"]
    if "cert_presented" in nic:
        check_verdict(tap, prefix, tls.get("client_cert_presented"), "client_cert_presented",
                      "unknown", None, None)
    elif not is13:
        allowed_how = None
        if "client_leaf_sha1" in nic and exp["cert_presented"] == "yes":
            # snaplen: the Certificate message header (type 11, non-zero list length) is seen
            # in clear but the certificates are cut off: observed or inferred are both honest.
            allowed_how = ("observed", "inferred")
        check_verdict(tap, prefix, tls.get("client_cert_presented"), "client_cert_presented",
                      exp["cert_presented"], "observed", cert_frame, allowed_how)
    else:
        # TLS 1.3 without keys: from the size of the client's encrypted records.
        check_verdict(tap, prefix, tls.get("client_cert_presented"), "client_cert_presented",
                      exp["cert_presented"], "inferred", None)

    # --- certificates ---
    client_chain = tls.get("client_chain")
    server_chain = tls.get("server_chain")
    tap.ok(isinstance(client_chain, list), "%s: client_chain is a list" % prefix,
           "got %r" % (client_chain,))
    tap.ok(isinstance(server_chain, list), "%s: server_chain is a list" % prefix,
           "got %r" % (server_chain,))
    client_chain = client_chain if isinstance(client_chain, list) else []
    server_chain = server_chain if isinstance(server_chain, list) else []
    if is13 or "client_leaf_sha1" in nic or exp["client_leaf_sha1"] is None:
        # TLS 1.3 certificates are encrypted; empty lists carry no certificate; snaplen cut them.
        tap.eq(client_chain, [], "%s: client_chain is empty (%s)" % (prefix,
               "encrypted in TLS 1.3" if is13 else
               "not in the capture" if "client_leaf_sha1" in nic else "no certificate sent"))
    else:
        tap.eq(leaf_sha1(client_chain), exp["client_leaf_sha1"],
               "%s: client leaf sha1 = %s" % (prefix, exp["client_leaf_sha1"]))
        if name in CLIENT_CHAIN_LEN:
            tap.eq(len(client_chain), CLIENT_CHAIN_LEN[name],
                   "%s: client chain has %d certificate(s)" % (prefix, CLIENT_CHAIN_LEN[name]))
            if CLIENT_CHAIN_LEN[name] == 2 and len(client_chain) >= 2:
                tap.eq((client_chain[1] or {}).get("sha1"), facts["intermediate_sha1"],
                       "%s: client_chain[1] is the intermediate" % prefix)
        leaf = client_chain[0] if client_chain else {}
        want_cn = ("other test client" if exp["client_leaf_sha1"] == facts["other_client_sha1"]
                   else "mtlsdiag test client")
        tap.ok(re.search(r"CN\s*=\s*" + re.escape(want_cn), str(leaf.get("subject"))) is not None,
               "%s: client leaf subject has CN=%s" % (prefix, want_cn),
               "got subject %r" % (leaf.get("subject"),))
        # Issued minutes before the capture for 20 years.  The schema draft says only
        # "valid_at_capture"; mtlsdiag writes a validity word ("valid"), a boolean would be true.
        tap.is_in(leaf.get("valid_at_capture"), (True, "valid"),
                  "%s: client leaf valid at capture time (20-year test PKI)" % prefix)
        sha256 = leaf.get("sha256")
        tap.ok(isinstance(sha256, str) and re.fullmatch(r"[0-9A-Fa-f]{64}", sha256) is not None,
               "%s: client leaf sha256 is 64 hex digits" % prefix, "got %r" % (sha256,))
    if is13 or "server_leaf_sha1" in nic:
        tap.eq(server_chain, [], "%s: server_chain is empty (%s)" % (prefix,
               "encrypted in TLS 1.3" if is13 else "not in the capture"))
    else:
        tap.eq(leaf_sha1(server_chain), exp["server_leaf_sha1"],
               "%s: server leaf sha1 = %s" % (prefix, exp["server_leaf_sha1"]))
        tap.eq(len(server_chain), SERVER_CHAIN_LEN,
               "%s: server chain has %d certificates" % (prefix, SERVER_CHAIN_LEN))
        if len(server_chain) >= 2:
            tap.eq((server_chain[1] or {}).get("sha1"), facts["intermediate_sha1"],
                   "%s: server_chain[1] is the intermediate" % prefix)

    # --- acceptable CAs (TLS 1.2 CertificateRequest; encrypted in TLS 1.3) ---
    cas = tls.get("acceptable_cas")
    if is13 or "acceptable_cas" in nic or exp["acceptable_cas"] is None:
        tap.ok(cas in (None, []), "%s: acceptable_cas is empty (%s)" % (prefix,
               "encrypted in TLS 1.3" if is13 else
               "not in the capture" if "acceptable_cas" in nic else "no CertificateRequest"),
               "expected null or []\n     got: %r" % (cas,))
    else:
        tap.eq(cas, exp["acceptable_cas"], "%s: acceptable_cas = %r" % (prefix, exp["acceptable_cas"]))

    # --- alerts ---
    alerts = tls.get("alerts") if isinstance(tls.get("alerts"), list) else []
    matched = set()
    for want in exp["alerts"]:
        what = "%s alert from %s @%d" % (want["description"], want["from"], want["frame"])
        hits = [i for i, a in enumerate(alerts)
                if a.get("frame") == want["frame"] and a.get("from") == want["from"]]
        if not tap.ok(len(hits) == 1, "%s: %s is reported (frame and from)" % (prefix, what),
                      "expected one alert with frame %d from %s\n     got alerts: %r"
                      % (want["frame"], want["from"], alerts)):
            continue
        matched.add(hits[0])
        got = alerts[hits[0]]
        tap.eq(got.get("encrypted"), want["encrypted"],
               "%s: %s: encrypted = %s" % (prefix, what, want["encrypted"]))
        if want["encrypted"]:
            # No key log: the description is unreadable; the analyser can only tell that an
            # alert-sized record was sent.
            tap.eq(got.get("description"), None,
                   "%s: %s: description is null (encrypted)" % (prefix, what))
        else:
            tap.eq(got.get("description"), want["description"],
                   "%s: %s: description = %s" % (prefix, what, want["description"]))
            # OpenSSL's s_server sends these as fatal alerts (captures/README.md).
            tap.eq(got.get("level"), "fatal", "%s: %s: level = fatal" % (prefix, what))
    extra = [a for i, a in enumerate(alerts) if i not in matched]
    tap.eq(extra, [], "%s: no alerts beyond the %d expected" % (prefix, len(exp["alerts"])))

    # --- HTTP inside TLS: unreadable without keys ---
    http = conn.get("http")
    tap.ok(http in (None, []), "%s: no HTTP reported inside TLS (encrypted, no key log)" % prefix,
           "expected null or []\n     got: %r" % (http,))

    # --- handshake ---
    if "handshake_complete" in nic:
        tap.eq(tls.get("handshake_complete"), None,
               "%s: handshake_complete is null (not in the capture)" % prefix)
    else:
        tap.eq(tls.get("handshake_complete"), exp["handshake_complete"],
               "%s: handshake_complete = %s" % (prefix, exp["handshake_complete"]))


def check_capture(tap, binary, captures, name, spec, facts):
    path = os.path.join(captures, name)
    want_exit, why = EXPECTED_EXIT[name]
    before = file_state(path)
    code, out, err = run(binary, ["analyze", "--format", "json", path])
    check_no_crash(tap, "%s (json)" % name, code, err)
    tap.eq(code, want_exit, "%s: exit status %d (%s)" % (name, want_exit, why))
    tap.eq(file_state(path), before, "%s: file unchanged by the run (size, mtime, sha256)" % name)
    doc = parse_json(tap, name, out)
    if doc is None:
        return
    tap.eq(doc.get("schema_version"), 1, "%s: schema_version = 1" % name)
    inputs = doc.get("inputs") or []
    tap.eq(len(inputs), 1, "%s: one entry in inputs" % name)
    inp = inputs[0] if inputs else {}
    tap.eq(inp.get("link_type"), spec["link_type"], "%s: link_type = %s" % (name, spec["link_type"]))
    if facts["n_records"] is not None:
        tap.eq(inp.get("packets"), facts["n_records"],
               "%s: inputs[0].packets = %d (complete records in the file)" % (name, facts["n_records"]))
    connections = doc.get("connections") or []
    tap.eq(len(connections), len(spec["connections"]),
           "%s: %d connection(s) (tshark: one tcp.stream)" % (name, len(spec["connections"])))
    summary = doc.get("summary") or {}
    n_problem = summary.get("connections_with_problem")
    tap.ok(isinstance(n_problem, int) and (n_problem > 0) == (want_exit == 1),
           "%s: summary.connections_with_problem %s" % (name, "> 0" if want_exit else "= 0"),
           "got %r" % (n_problem,))

    for exp in spec["connections"]:
        conn, swapped = find_connection(doc, exp)
        prefix = "%s conn %d" % (name, exp["client_port"])
        if not tap.ok(conn is not None, "%s: found (client port %d, server port %d)"
                      % (prefix, exp["client_port"], exp["server_port"]),
                      ("found with the roles reversed (client and server swapped)"
                       if swapped is not None else "no connection with these ports") +
                      "\nconnections: %r" % [(c.get("client"), c.get("server"))
                                             for c in connections]):
            continue
        check_connection(tap, name, exp, conn, facts)
        if want_exit == 1:
            findings = conn.get("findings") or []
            tap.ok(len(findings) >= 1, "%s: at least one finding explains the problem" % prefix,
                   "got findings %r" % (findings,))

        if spec.get("truncated"):
            tap.eq(conn.get("incomplete"), True,
                   "%s: incomplete = true (the file ends mid-handshake)" % prefix)
        if name == "tls12-snaplen.pcap":
            anomalies = conn.get("anomalies") or {}
            tap.ok((anomalies.get("snaplen_truncated") or 0) > 0,
                   "%s: anomalies has snaplen_truncated" % prefix, "got anomalies %r" % (anomalies,))
            tap.eq(conn.get("incomplete"), True, "%s: incomplete = true (payload cut)" % prefix)
        if name == "tls13-presented-any.pcap":
            # The capture lost the server's 24-byte close_notify segment (tshark: "Previous
            # segment(s) not captured" at frame 17); see captures/README.md.  Incomplete is the
            # truth about this file, and no other connection here may be marked so.
            anomalies = conn.get("anomalies") or {}
            tap.eq(conn.get("incomplete"), True,
                   "%s: incomplete = true (a server segment is missing)" % prefix)
            tap.ok((anomalies.get("stream_gap") or 0) > 0,
                   "%s: anomalies has stream_gap" % prefix, "got anomalies %r" % (anomalies,))
        elif not spec.get("truncated") and name not in ("tls12-snaplen.pcap",
                                                        "tls12-midstream.pcap"):
            tap.eq(conn.get("incomplete"), False,
                   "%s: incomplete = false (every segment is in the file)" % prefix)
        if name == "tls12-midstream.pcap":
            tap.eq(conn.get("incomplete"), True,
                   "%s: incomplete = true (starts mid-stream)" % prefix)
            warnings = (conn.get("warnings") or []) + (inp.get("warnings") or [])
            tap.ok(len(warnings) >= 1, "%s: a warning says the capture starts mid-stream" % prefix,
                   "connection warnings %r, input warnings %r"
                   % (conn.get("warnings"), inp.get("warnings")))

    if spec.get("truncated"):
        warnings = inp.get("warnings") or []
        tap.ok(len(warnings) >= 1, "%s: inputs[0].warnings says the file is truncated" % name,
               "got %r" % (warnings,))
        tap.ok(path in err or name in err, "%s: stderr names the file" % name,
               "stderr: %r" % err)
    elif name not in INPUT_WARNING_ALLOWED:
        tap.eq(inp.get("warnings") or [], [], "%s: no input warnings" % name)

    # The text report: same verdict, something to read, and the frames to look at in Wireshark.
    tcode, tout, terr = run(binary, ["analyze", "--format", "text", path])
    check_no_crash(tap, "%s (text)" % name, tcode, terr)
    tap.eq(tcode, code, "%s: text run exits like the JSON run (%r)" % (name, code))
    tap.ok(tout.strip() != "", "%s: text report is not empty" % name, "stdout was empty")
    for exp in spec["connections"]:
        if exp.get("tls_version") != "TLS 1.2":
            continue
        nic = set(exp.get("not_in_capture") or [])
        for key, label in (("cert_request_frame", "CertificateRequest"),
                           ("client_cert_frame", "client Certificate")):
            frame = exp.get(key)
            if frame is None or key in nic:
                continue
            tap.ok(frame_mentioned(tout, frame), "%s: text report mentions frame %d (%s)"
                   % (name, frame, label), "text report:\n" + tout[:3000])


def check_all_at_once(tap, binary, captures, expected, names, facts):
    paths = [os.path.join(captures, n) for n in names]
    before = {p: file_state(p) for p in paths}
    code, out, err = run(binary, ["analyze", "--format", "json"] + paths)
    what = "all %d captures in one run" % len(paths)
    check_no_crash(tap, what, code, err)
    # At least one capture has a problem (tls12-empty, tls12-rejected, ...): 1.
    tap.eq(code, 1, "%s: exit status 1 (some captures have a problem)" % what)
    changed = [p for p in paths if file_state(p) != before[p]]
    tap.eq(changed, [], "%s: no input file modified (size, mtime, sha256)" % what)
    doc = parse_json(tap, what, out)
    if doc is None:
        return
    tap.eq(doc.get("schema_version"), 1, "%s: schema_version = 1" % what)
    tool = doc.get("tool") or {}
    tap.eq(tool.get("name"), "mtlsdiag", "%s: tool.name = mtlsdiag" % what)
    inputs = doc.get("inputs") or []
    tap.eq(len(inputs), len(paths), "%s: one inputs[] entry per file" % what)
    for i, (name, path) in enumerate(zip(names, paths)):
        inp = inputs[i] if i < len(inputs) else {}
        tap.eq(inp.get("path"), path, "%s: inputs[%d].path is %s" % (what, i, name))
        tap.eq(inp.get("link_type"), expected[name]["link_type"],
               "%s: inputs[%d].link_type = %s" % (what, i, expected[name]["link_type"]))
        sha = inp.get("sha256")
        tap.ok(isinstance(sha, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha) is not None,
               "%s: inputs[%d].sha256 is 64 hex digits" % (what, i), "got %r" % (sha,))
        tap.eq(str(sha).lower(), before[path][2], "%s: inputs[%d].sha256 = sha256 of %s"
               % (what, i, name))
        if facts[name]["n_records"] is not None:
            tap.eq(inp.get("packets"), facts[name]["n_records"],
                   "%s: inputs[%d].packets = %d" % (what, i, facts[name]["n_records"]))
        truncated = expected[name].get("truncated")
        warnings = inp.get("warnings") or []
        if not truncated and name in INPUT_WARNING_ALLOWED:
            continue
        tap.ok(bool(warnings) == bool(truncated), "%s: inputs[%d] (%s) has %s" % (
            what, i, name, "a truncation warning" if truncated else "no warnings"),
            "got warnings %r" % (warnings,))
    connections = doc.get("connections") or []
    n_expected = sum(len(expected[n]["connections"]) for n in names)
    # Several files share a 4-tuple (the derived files): flows must not run across files.
    tap.eq(len(connections), n_expected, "%s: %d connections in total" % (what, n_expected))
    for i, name in enumerate(names):
        mine = [c for c in connections if c.get("input") == i]
        tap.eq(len(mine), len(expected[name]["connections"]),
               "%s: %d connection(s) with input = %d (%s)"
               % (what, len(expected[name]["connections"]), i, name))
        for exp in expected[name]["connections"]:
            conn, _ = find_connection(doc, exp, input_index=i)
            tap.ok(conn is not None, "%s: connection %d->%d of %s has input = %d"
                   % (what, exp["client_port"], exp["server_port"], name, i),
                   "connections with input %d: %r" % (i, [(c.get("client"), c.get("server"))
                                                           for c in mine]))
    ids = [c.get("id") for c in connections]
    tap.eq(len(set(ids)), len(ids), "%s: connection ids are unique" % what)
    summary = doc.get("summary") or {}
    tap.eq(summary.get("connections"), n_expected, "%s: summary.connections = %d"
           % (what, n_expected))
    tap.eq(summary.get("packets"), sum(facts[n]["n_records"] or 0 for n in names),
           "%s: summary.packets = sum of the files' records" % what)


def check_stdin(tap, binary, captures, expected, facts):
    name = "tls12-presented.pcap"
    path = os.path.join(captures, name)
    with open(path, "rb") as f:
        data = f.read()
    code, out, err = run(binary, ["analyze", "--format", "json", "-"], stdin_bytes=data)
    what = "%s through stdin" % name
    check_no_crash(tap, what, code, err)
    tap.eq(code, EXPECTED_EXIT[name][0], "%s: exit status %d" % (what, EXPECTED_EXIT[name][0]))
    doc = parse_json(tap, what, out)
    if doc is None:
        return
    inputs = doc.get("inputs") or []
    inp = inputs[0] if inputs else {}
    tap.eq(inp.get("path"), "-", "%s: inputs[0].path = \"-\"" % what)
    tap.eq(inp.get("link_type"), "EN10MB", "%s: inputs[0].link_type = EN10MB" % what)
    sha = inp.get("sha256")
    tap.ok(sha in (None, "", hashlib.sha256(data).hexdigest(),
                   hashlib.sha256(data).hexdigest().upper()),
           "%s: inputs[0].sha256 is empty or the sha256 of the bytes" % what, "got %r" % (sha,))
    exp = expected[name]["connections"][0]
    conn, _ = find_connection(doc, exp)
    if tap.ok(conn is not None, "%s: connection %d found" % (what, exp["client_port"]),
              "connections: %r" % (doc.get("connections"),)):
        tls = conn.get("tls") or {}
        tap.eq((tls.get("client_cert_presented") or {}).get("value"), "yes",
               "%s: client_cert_presented = yes" % what)
        tap.eq(leaf_sha1(tls.get("client_chain")), exp["client_leaf_sha1"],
               "%s: client leaf sha1 = %s" % (what, exp["client_leaf_sha1"]))


# captures/http-cert-headers.pcap (captures/make-header-captures.sh): three plain-HTTP requests,
# each on its own connection, carrying pki/client.pem in a forwarding header, as the script built
# them: (request path, header name, encoding, convention mismatch).  Each connection's PLAIN_HTTP
# rule does not fire (a request carrying a certificate header is judged as a forwarded leg), the
# PEM in X-ARR-ClientCert is a warning, and as a request chain each is what the script did: curl,
# a caller, set the header itself over plain HTTP with no X-Forwarded-* header that would mark a
# front end, so nothing proved the certificate: header_mismatch with CERT_HEADER_SPOOFABLE, an
# error (exit 1).
CERT_HEADER_CAPTURE = "http-cert-headers.pcap"
CERT_HEADER_CASES = [
    ("/arr-base64", "X-ARR-ClientCert", "base64_der", False),
    ("/nginx-escaped", "X-SSL-Client-Cert", "url_pem", False),
    ("/arr-pem", "X-ARR-ClientCert", "pem_spaces", True),
]


def check_cert_headers(tap, binary, captures, client_sha1):
    path = os.path.join(captures, CERT_HEADER_CAPTURE)
    code, out, err = run(binary, ["analyze", "--format", "json", path])
    check_no_crash(tap, CERT_HEADER_CAPTURE, code, err)
    tap.eq(code, 1, "%s: exit status 1 (the caller set the headers itself)"
           % CERT_HEADER_CAPTURE)
    doc = parse_json(tap, CERT_HEADER_CAPTURE, out)
    if doc is None:
        return
    chains = doc.get("chains") or []
    tap.eq(len(chains), len(CERT_HEADER_CASES), "%s: one chain per connection" % CERT_HEADER_CAPTURE)
    for chain in chains:
        what = "%s chain %s" % (CERT_HEADER_CAPTURE, chain.get("id"))
        tap.eq((chain.get("verdict"), chain.get("mismatch_hop")), ("header_mismatch", 1),
               "%s: header_mismatch on hop 1" % what)
        tap.eq([f.get("code") for f in chain.get("findings") or []], ["CERT_HEADER_SPOOFABLE"],
               "%s: CERT_HEADER_SPOOFABLE" % what)
    by_path = {}
    for conn in doc.get("connections", []):
        for exchange in conn.get("http") or []:
            by_path[exchange.get("path")] = (conn, exchange)
    for req_path, name, encoding, is_mismatch in CERT_HEADER_CASES:
        prefix = "%s %s" % (CERT_HEADER_CAPTURE, req_path)
        if req_path not in by_path:
            tap.ok(False, "%s: request found" % prefix, "paths seen: %r" % sorted(by_path))
            continue
        conn, exchange = by_path[req_path]
        headers = exchange.get("cert_headers") or []
        tap.eq(len(headers), 1, "%s: one forwarding header" % prefix)
        if not headers:
            continue
        header = headers[0]
        tap.eq(header.get("name"), name, "%s: header name" % prefix)
        tap.eq(header.get("encoding"), encoding, "%s: encoding" % prefix)
        tap.eq(header.get("valid"), True, "%s: valid" % prefix)
        tap.eq(header.get("convention_mismatch"), is_mismatch, "%s: convention mismatch" % prefix)
        tap.eq((header.get("cert") or {}).get("sha1"), client_sha1,
               "%s: certificate is pki/client.pem" % prefix)
        tap.eq(header.get("frame"), exchange.get("frame"), "%s: frame of the request" % prefix)
        codes = [f.get("code") for f in conn.get("findings") or []]
        tap.ok("PLAIN_HTTP" not in codes, "%s: no plain_http problem" % prefix, "codes %r" % codes)
        tap.eq("CERT_HEADER_WRONG_ENCODING" in codes, is_mismatch,
               "%s: wrong-encoding warning exactly when mismatched" % prefix)


# captures/h2c-prior-knowledge.pcap (captures/make-header-captures.sh): nghttp speaks cleartext
# HTTP/2 with prior knowledge to nghttpd --no-tls, GET /arr-base64 (a file in its docroot: 200)
# and GET /missing (404) on one connection, both with X-ARR-ClientCert: base64 of client.pem's
# DER.  Frames from tshark -d tcp.port==24442,http2 -Y http2.type==1: both HEADERS in frame 4,
# both responses in frame 10.
H2C_CAPTURE = "h2c-prior-knowledge.pcap"
H2C_EXCHANGES = [("GET", "/arr-base64", "HTTP/2", 200, 4, 10),
                 ("GET", "/missing", "HTTP/2", 404, 4, 10)]


def check_h2c(tap, binary, captures, client_sha1):
    path = os.path.join(captures, H2C_CAPTURE)
    code, out, err = run(binary, ["analyze", "--format", "json", path])
    check_no_crash(tap, H2C_CAPTURE, code, err)
    doc = parse_json(tap, H2C_CAPTURE, out)
    conns = (doc or {}).get("connections") or [{}]
    conn = conns[0]
    tap.eq(len(conns), 1, "%s: one connection" % H2C_CAPTURE)
    tap.eq((conn.get("app_protocol"), conn.get("h2_prior_knowledge")), ("http", True),
           "%s: plain HTTP/2 with prior knowledge" % H2C_CAPTURE)
    exchanges = conn.get("http") or []
    tap.eq([(e.get("method"), e.get("path"), e.get("version"), e.get("status"), e.get("frame"),
             e.get("status_frame")) for e in exchanges], H2C_EXCHANGES,
           "%s: both requests, their statuses and frames" % H2C_CAPTURE)
    for e in exchanges:
        headers = e.get("cert_headers") or [{}]
        tap.eq((headers[0].get("name"), headers[0].get("encoding"),
                (headers[0].get("cert") or {}).get("sha1")),
               ("x-arr-clientcert", "base64_der", client_sha1),
               "%s %s: the forwarding header read from HPACK" % (H2C_CAPTURE, e.get("path")))
    codes = [f.get("code") for f in conn.get("findings") or []]
    tap.ok("H2_PRIOR_KNOWLEDGE" in codes, "%s: H2_PRIOR_KNOWLEDGE" % H2C_CAPTURE, repr(codes))
    tap.eq(conn.get("anomalies"), {}, "%s: no anomaly" % H2C_CAPTURE)


def main():
    binary, captures = command_line("test_captures.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    with open(os.path.join(captures, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    names = sorted(k for k in expected if not k.startswith("_"))
    unknown = [n for n in names if n not in EXPECTED_EXIT]
    if unknown:
        tap.bail("captures in expected.json without an exit status in EXPECTED_EXIT: %s"
                 % ", ".join(unknown))
    pki = os.path.join(captures, "pki")
    pki_facts = {
        "intermediate_sha1": pem_sha1(os.path.join(pki, "intermediate.pem")),
        "other_client_sha1": pem_sha1(os.path.join(pki, "other-client.pem")),
    }
    facts = {}
    for name in names:
        facts[name] = dict(pki_facts)
        facts[name]["n_records"] = count_records(os.path.join(captures, name))
    for name in names:
        check_capture(tap, binary, captures, name, expected[name], facts[name])
    check_all_at_once(tap, binary, captures, expected, names, facts)
    check_stdin(tap, binary, captures, expected, facts)
    check_cert_headers(tap, binary, captures, pem_sha1(os.path.join(pki, "client.pem")))
    check_h2c(tap, binary, captures, pem_sha1(os.path.join(pki, "client.pem")))
    tap.finish()


if __name__ == "__main__":
    main()
