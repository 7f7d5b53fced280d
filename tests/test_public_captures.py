#!/usr/bin/env python3
"""test_public_captures.py: other projects' captures, survived and (where known) understood (TAP).

Usage: test_public_captures.py MTLSDIAG PUBLIC_CAPTURES_DIR

PUBLIC_CAPTURES_DIR is ../shared/public-captures (see its README.md): captures from zeek, nDPI,
ssldump and suricata-verify that nobody on this project made.  Two parts:
  1. every pcap/pcapng in every subfolder must be read without a crash: exit status 0 or 1 (not 2,
     not a signal, not a timeout), no sanitizer report on stderr, and JSON that parses;
  2. the client-certificate cases listed in the README's table "What is true in the
     client-certificate cases" (checked by its authors with tshark) must come out right.
When the folder is absent (a user's clone) the whole suite is skipped, and says so.
"""
import concurrent.futures
import ipaddress
import json
import os
import sys

CAPTURE_EXTENSIONS = (".pcap", ".pcapng", ".cap")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import (RUN_TIMEOUT_S, Tap, command_line, require_executable, run,  # noqa: E402
                    sanitizer_markers, skip_all)


ALERT_NAMES = {40: "handshake_failure", 48: "unknown_ca", 70: "protocol_version",
               112: "unrecognized_name"}

# Transcribed from ../shared/public-captures/README.md, "What is true in the client-certificate
# cases" (tshark 4.0, TCP and TLS reassembly on, tshark's frame numbers):
#   (capture, tcp.stream, client ip, client port, TLS, CertificateRequest frame or None,
#    client Certificate as (frame, certificates_length) or None, [(frame, alert code, side)])
# None stands for the README's "-" (not sent).  certificates_length 0 is an empty list.
CLIENT_CERT_CASES = [
    ("ndpi/ftp-start-tls.pcap", 0, "10.238.26.36", 62092, "<=1.2", 17, (22, 0), []),
    ("ndpi/tls_alert.pcap", 0, "192.168.1.192", 63158, "<=1.2", None, None,
     [(6, 70, "server")]),
    ("ndpi/tls_client_certificate_with_missing_server_one.pcapng", 0, "192.168.1.128", 48260,
     "<=1.2", None, (8, 687), []),
    ("ndpi/tls_client_certificate_with_missing_server_one.pcapng", 1, "192.168.1.128", 59754,
     "<=1.2", None, (17, 687), []),
    ("suricata-verify/tls-client-auth.pcap", 0, "::1", 58606, "<=1.2", 7, (9, 915), []),
    ("zeek/certificate-request-failed.pcap", 0, "fd42:496a:d659:bb85::1", 52464, "<=1.2", 6,
     (8, 0), [(9, 40, "server")]),
    ("zeek/client-certificate.pcap", 0, "192.168.0.64", 49480, "<=1.2", 11, (15, 3423), []),
    ("zeek/pop3-starttls.pcap", 0, "192.168.4.149", 54775, "<=1.2", 13, (15, 0), []),
    ("zeek/tls-1.2-handshake-failure.pcap", 0, "192.168.4.149", 53525, "<=1.2", None, None,
     [(6, 40, "server")]),
    ("zeek/tls-early-alert.pcap", 0, "192.168.6.217", 50020, "<=1.2", None, None,
     [(6, 112, "server")]),
    ("zeek/tls13draft16-chrome55.0.2879.0-canary-aborted.pcap", 0, "192.168.6.203", 53226,
     "<=1.2", None, None, [(6, 70, "server")]),
    ("zeek/tls13draft16-chrome55.0.2879.0-canary-aborted.pcap", 1, "192.168.6.203", 53227,
     "<=1.2", None, None, [(18, 70, "server")]),
    ("zeek/tls13draft16-ff52.a01-aborted.pcap", 0, "192.150.187.20", 54980, "<=1.2", None, None,
     [(6, 70, "server")]),
    ("zeek/tls13draft16-ff52.a01-aborted.pcap", 1, "192.150.187.20", 54982, "<=1.2", None, None,
     [(16, 70, "server")]),
    ("zeek/tls13draft16-ff52.a01.pcap", 0, "192.150.187.20", 36778, "<=1.2", None, None,
     [(8, 48, "client")]),
    ("zeek/xmpp-dialback-starttls.pcap", 0, "184.73.173.246", 1193, "<=1.2", 16, (20, 4741), []),
]


# STARTTLS: TLS that starts inside a plaintext session, and the protocol that asked for it.
# Each file's protocol is in its name; the README notes which ones start TLS mid-stream.  IRC
# (IRCv3) asks with the same "STARTTLS" word as SMTP: a regression for mislabelling it smtp.
STARTTLS_CASES = [
    ("ndpi/ftp-start-tls.pcap", "ftp"),
    ("ndpi/smtp-starttls.pcap", "smtp"),
    ("ndpi/imap-starttls.pcap", "imap"),
    ("ndpi/pop3_stls.pcap", "pop3"),
    ("zeek/pop3-starttls.pcap", "pop3"),
    ("zeek/smtp-starttls.pcap", "smtp"),
    ("zeek/imap-starttls.pcap", "imap"),
    ("zeek/xmpp-starttls.pcap", "xmpp"),
    ("zeek/xmpp-dialback-starttls.pcap", "xmpp"),
    ("zeek/irc-starttls.pcap", "irc"),
]


def check_starttls(tap, docs, rel, protocol):
    doc = docs.get(rel)
    if doc is None:
        tap.ok(False, "%s: STARTTLS as %s" % (rel, protocol), "no JSON for this capture")
        return
    found = [c.get("starttls") for c in doc.get("connections", []) if c.get("tls")]
    tap.ok(protocol in found, "%s: TLS found inside the plaintext session, starttls = %s"
           % (rel, protocol), "starttls values of its TLS connections: %r" % (found,))


def list_captures(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.lower().endswith(CAPTURE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(dirpath, f), root))
    return found


def same_ip(a, b):
    try:
        return ipaddress.ip_address(str(a)) == ipaddress.ip_address(str(b))
    except ValueError:
        return False


def find_client(doc, ip, port):
    """(connection whose client is ip:port, connection whose server is ip:port)."""
    match = swapped = None
    for c in doc.get("connections") or []:
        client = c.get("client") or {}
        server = c.get("server") or {}
        if client.get("port") == port and same_ip(client.get("ip"), ip):
            match = c
        elif server.get("port") == port and same_ip(server.get("ip"), ip):
            swapped = c
    return match, swapped


def check_survival(tap, rel, result):
    code, out, err = result
    markers = sanitizer_markers(err)
    tap.ok(code in (0, 1) and not markers,
           "%s: exit status 0 or 1, no crash, no sanitizer report" % rel,
           "returncode: %r (None = timeout after %d s, negative = signal, 2 = rejected as "
           "unusable)\nsanitizer markers: %r\nstderr (first 2000 chars):\n%s"
           % (code, RUN_TIMEOUT_S, markers, err[:2000]))
    doc = None
    try:
        doc = json.loads(out)
    except ValueError as e:
        tap.ok(False, "%s: JSON report parses" % rel,
               "json.loads: %s\nstdout (first 500 chars): %r" % (e, out[:500]))
        return None
    tap.ok(isinstance(doc, dict) and doc.get("schema_version") == 1,
           "%s: JSON report parses, schema_version 1" % rel,
           "got %r" % (doc.get("schema_version") if isinstance(doc, dict) else type(doc),))
    return doc if isinstance(doc, dict) else None


def check_case(tap, docs, case):
    rel, stream, ip, port, version, req_frame, cert, alerts = case
    prefix = "%s stream %d (client %s:%d)" % (rel, stream, ip, port)
    doc = docs.get(rel)
    if not tap.ok(doc is not None, "%s: report available" % prefix,
                  "the run of %s gave no parsable report" % rel):
        return
    conn, swapped = find_client(doc, ip, port)
    if not tap.ok(conn is not None, "%s: connection found" % prefix,
                  ("found with client and server swapped: client %r server %r"
                   % (swapped.get("client"), swapped.get("server")))
                  if swapped is not None else "no connection with that client endpoint"):
        return
    tls = conn.get("tls")
    if not tap.ok(isinstance(tls, dict), "%s: tls is an object" % prefix, "got %r" % (tls,)):
        return
    if version == "<=1.2":
        tap.ok(tls.get("version") != "TLS 1.3", "%s: version is not TLS 1.3" % prefix,
               "got %r" % (tls.get("version"),))

    requested = tls.get("client_cert_requested") or {}
    presented = tls.get("client_cert_presented") or {}
    if req_frame is not None:
        # CertificateRequest seen in clear.
        tap.eq(requested.get("value"), "yes", "%s: client_cert_requested = yes" % prefix)
        tap.ok(req_frame in (requested.get("frames") or []),
               "%s: frame %d is in client_cert_requested.frames" % (prefix, req_frame),
               "got frames %r" % (requested.get("frames"),))
    elif cert is not None:
        # No request in the capture, but the client sent a Certificate, which it does only when
        # asked (RFC 5246 section 7.4.6): the request is proven, by inference.
        tap.eq(requested.get("value"), "yes", "%s: client_cert_requested = yes" % prefix)
        tap.eq(requested.get("how"), "inferred", "%s: client_cert_requested.how = inferred"
               % prefix)
    else:
        # No request and no client Certificate: these are handshakes the server aborted with an
        # alert, most before its own flight.  Nothing shows a request: "no" (flight seen without
        # one) or "unknown" (flight not seen), never "yes".
        tap.is_in(requested.get("value"), ("no", "unknown"),
                  "%s: client_cert_requested is no or unknown (not yes)" % prefix)

    if cert is None:
        tap.is_in(presented.get("value"), ("no", "unknown"),
                  "%s: client_cert_presented is no or unknown (no Certificate sent)" % prefix)
    else:
        frame, n_bytes = cert
        want = "empty" if n_bytes == 0 else "yes"
        tap.eq(presented.get("value"), want, "%s: client_cert_presented = %s" % (prefix, want))
        tap.ok(frame in (presented.get("frames") or []),
               "%s: frame %d is in client_cert_presented.frames" % (prefix, frame),
               "got frames %r" % (presented.get("frames"),))
        chain = tls.get("client_chain") or []
        if n_bytes == 0:
            tap.eq(chain, [], "%s: client_chain is empty" % prefix)
        else:
            tap.ok(len(chain) >= 1, "%s: client_chain holds the certificate(s)" % prefix,
                   "got %r" % (chain,))

    got_alerts = tls.get("alerts") or []
    for frame, code, side in alerts:
        name = ALERT_NAMES[code]
        hits = [a for a in got_alerts if a.get("frame") == frame and a.get("from") == side]
        if tap.ok(len(hits) >= 1, "%s: alert from %s @%d reported" % (prefix, side, frame),
                  "got alerts %r" % (got_alerts,)):
            tap.eq(hits[0].get("description"), name,
                   "%s: alert @%d description = %s (%d)" % (prefix, frame, name, code))


def main():
    binary, root = command_line("test_public_captures.py MTLSDIAG PUBLIC_CAPTURES_DIR")
    root = os.path.normpath(root)
    if not os.path.isdir(root):
        skip_all("public captures folder not found: %s" % root)
    tap = Tap()
    require_executable(tap, binary)
    captures = list_captures(root)
    if not captures:
        tap.bail("no pcap or pcapng files under %s" % root)
    missing = sorted({c[0] for c in CLIENT_CERT_CASES} - set(captures))
    if missing:
        tap.bail("captures named in the README table are missing: %s" % ", ".join(missing))

    workers = max(1, min(8, os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {rel: pool.submit(run, binary, ["analyze", "--format", "json",
                                                  os.path.join(root, rel)])
                   for rel in captures}
        results = {rel: futures[rel].result() for rel in captures}

    docs = {}
    for rel in captures:
        docs[rel] = check_survival(tap, rel, results[rel])
    for case in CLIENT_CERT_CASES:
        check_case(tap, docs, case)
    for rel, protocol in STARTTLS_CASES:
        check_starttls(tap, docs, rel, protocol)
    tap.finish()


if __name__ == "__main__":
    main()
