#!/usr/bin/env python3
"""test_chains.py: request chains across hops and capture files, verdict by verdict (TAP).

Usage: test_chains.py MTLSDIAG CAPTURES_DIR

The truth is CAPTURES_DIR/chains-expected.json, written by make-chain-captures.sh from what each
hop was told to do (which proxy forwards which header, who presents what) and cross-checked with
tshark.  mtlsdiag runs without key logs, so what TLS hides is turned into what an analyser
without keys can know: the TLS 1.3 caller's certificate is inferred, its thumbprint unknown.

The findings expected for each verdict come from the rules in docs/json-schema.md ("chains"):
a drop is an error (CERT_DROPPED_AT_HOP), a 403 on a hop the certificate did not reach is a
warning (FORBIDDEN_WITHOUT_CERT), a header nobody proved is an error (CERT_HEADER_SPOOFABLE),
a delivered certificate is information (CERT_DELIVERED), and a chain whose other legs are not in
the files is information (CHAIN_INCOMPLETE).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, check_no_crash, command_line, require_executable, run  # noqa: E402

FINDINGS_OF_VERDICT = {
    "delivered": ["CERT_DELIVERED"],
    "dropped_at_hop": ["CERT_DROPPED_AT_HOP"],
    "header_mismatch": ["CERT_HEADER_SPOOFABLE"],  # every mismatch here is a header nobody proved
    "unknown": ["CHAIN_INCOMPLETE"],
}

# Exit status: 1 when the chain holds an error, 0 otherwise.
EXIT_OF_VERDICT = {"delivered": 0, "dropped_at_hop": 1, "header_mismatch": 1, "unknown": 0}


class Result:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


def run_checked(tap, mtlsdiag, args, what):
    code, out, err = run(mtlsdiag, args)
    check_no_crash(tap, what, code, err)
    return Result(code, out, err)


def analyse(tap, mtlsdiag, paths, what, extra=()):
    result = run_checked(tap, mtlsdiag, ["analyze", "--format", "json", *extra, *paths], what)
    try:
        return result, json.loads(result.stdout)
    except ValueError as exc:
        tap.ok(False, "%s: the JSON report parses" % what, str(exc))
        return result, None


def value_of(verdict):
    return (verdict or {}).get("value")


def check_hop(tap, prefix, hop, want, files_by_input, want_file):
    tap.eq(hop.get("protocol"), want["protocol"], "%s: protocol" % prefix)
    tap.eq((hop.get("from") or {}).get("ip"), want["from_ip"], "%s: from ip" % prefix)
    tap.eq((hop.get("to") or {}).get("ip"), want["to_ip"], "%s: to ip" % prefix)
    tap.eq((hop.get("to") or {}).get("port"), want["to_port"], "%s: to port" % prefix)
    if "client_port" in want:
        tap.eq((hop.get("from") or {}).get("port"), want["client_port"], "%s: from port" % prefix)
    if want_file is not None:
        tap.eq(files_by_input.get(hop.get("input")), want_file, "%s: input file" % prefix)
    if want["protocol"] == "tls":
        is_tls13 = want.get("tls_version") == "1.3"
        requested = hop.get("client_cert_requested") or {}
        presented = hop.get("client_cert_presented") or {}
        tap.eq(value_of(requested), want["cert_requested"], "%s: client_cert_requested" % prefix)
        tap.eq(value_of(presented), want["cert_presented"], "%s: client_cert_presented" % prefix)
        # TLS 1.3 hides both messages: the verdict can only be inferred from record sizes.
        tap.eq(presented.get("how"), "inferred" if is_tls13 else "observed",
               "%s: client_cert_presented.how" % prefix)
        if not is_tls13 and want.get("client_cert_frame") is not None:
            tap.eq(presented.get("frames", [None])[0], want["client_cert_frame"],
                   "%s: the client's Certificate frame" % prefix)
        if not is_tls13 and want.get("cert_request_frame") is not None:
            tap.eq(requested.get("frames", [None])[0], want["cert_request_frame"],
                   "%s: the CertificateRequest frame" % prefix)
        tap.eq(hop.get("client_leaf_sha1"), None if is_tls13 else want.get("client_leaf_sha1"),
               "%s: client_leaf_sha1%s" % (prefix, " (encrypted in TLS 1.3)" if is_tls13 else ""))
        tap.eq(hop.get("cert_header"), None, "%s: no header visible on a TLS hop" % prefix)
        return
    request = hop.get("request") or {}
    tap.eq(request.get("frame"), want.get("request_frame"), "%s: request frame" % prefix)
    tap.eq(request.get("status"), want.get("status"), "%s: response status" % prefix)
    tap.eq(request.get("x_forwarded_for"), want.get("x_forwarded_for"),
           "%s: X-Forwarded-For" % prefix)
    want_header = want.get("cert_header")
    header = hop.get("cert_header")
    if want_header is None:
        tap.eq(header, None, "%s: no certificate header" % prefix)
        return
    header = header or {}
    tap.eq((header.get("name") or "").lower(), want_header["name"].lower(),
           "%s: certificate header name" % prefix)
    tap.eq(header.get("encoding"), want_header["encoding"], "%s: header encoding" % prefix)
    tap.eq(header.get("valid"), True, "%s: header holds a usable certificate" % prefix)
    tap.eq(header.get("sha1"), want_header["sha1"], "%s: forwarded certificate SHA-1" % prefix)
    tap.eq(header.get("frame"), want_header["frame"], "%s: header frame" % prefix)


def check_links(tap, prefix, chain, want_hops):
    links = chain.get("links") or []
    tap.eq(len(links), len(want_hops) - 1, "%s: one link between each pair of hops" % prefix)
    for link in links:
        to_hop = link.get("to_hop")
        if not isinstance(to_hop, int) or not 2 <= to_hop <= len(want_hops):
            tap.ok(False, "%s: link to a hop that exists" % prefix, repr(link))
            continue
        matched = set(link.get("matched_by") or [])
        what = "%s: link %d->%d" % (prefix, link.get("from_hop"), to_hop)
        tap.ok({"address", "time_window"} <= matched,
               "%s matched by address and time" % what, repr(sorted(matched)))
        up, down = want_hops[to_hop - 2], want_hops[to_hop - 1]
        # The facts each capture was made with: every proxy adds X-Forwarded-For naming the
        # caller (and the previous proxies); the forwarded certificate is the caller's.
        xff = down.get("x_forwarded_for")
        if down["protocol"] == "http" and xff and up["from_ip"] in [a.strip() for a in xff.split(",")]:
            tap.ok("x_forwarded_for" in matched, "%s matched by X-Forwarded-For" % what,
                   repr(sorted(matched)))
        header = down.get("cert_header")
        if header and up.get("client_leaf_sha1") and up.get("tls_version") != "1.3" \
                and header.get("sha1") == up["client_leaf_sha1"]:
            tap.ok("cert_thumbprint" in matched, "%s matched by the certificate thumbprint" % what,
                   repr(sorted(matched)))


def check_entry(tap, mtlsdiag, folder, key, entry):
    files = entry["files"]
    paths = [os.path.join(folder, name) for name in files]
    result, report = analyse(tap, mtlsdiag, paths, key)
    if report is None:
        return
    files_by_input = {i: name for i, name in enumerate(files)}
    chains = report.get("chains") or []
    want_chains = entry["chains"]
    tap.eq(len(chains), len(want_chains), "%s: number of chains" % key)
    worst_exit = 0
    for index, (chain, want) in enumerate(zip(chains, want_chains)):
        prefix = "%s chain %d" % (key, index + 1)
        verdict = want["verdict"]
        tap.eq(chain.get("verdict"), verdict, "%s: verdict" % prefix)
        tap.ok(isinstance(chain.get("reason"), str) and len(chain["reason"]) > 20,
               "%s: the verdict comes with a reason" % prefix, repr(chain.get("reason")))
        want_dropped = want.get("dropped_at")
        dropped = chain.get("dropped_at")
        if want_dropped is None:
            tap.eq(dropped, None, "%s: dropped_at null" % prefix)
        else:
            dropped = dropped or {}
            tap.eq((dropped.get("hop"), (dropped.get("from") or {}).get("ip"),
                    (dropped.get("to") or {}).get("ip")),
                   (want_dropped["hop"], want_dropped["from"], want_dropped["to"]),
                   "%s: dropped_at hop and its two ends" % prefix)
        hops = chain.get("hops") or []
        tap.eq(len(hops), len(want["hops"]), "%s: number of hops" % prefix)
        for hop, want_hop in zip(hops, want["hops"]):
            tap.eq(hop.get("hop"), want_hop["hop"], "%s: hops in order" % prefix)
            check_hop(tap, "%s hop %d" % (prefix, want_hop["hop"]), hop, want_hop,
                      files_by_input, want_hop.get("file"))
        check_links(tap, prefix, chain, want["hops"])
        codes = [f.get("code") for f in chain.get("findings") or []]
        want_codes = list(FINDINGS_OF_VERDICT.get(verdict, []))
        if verdict == "dropped_at_hop" and want.get("app_status") == 403:
            want_codes.append("FORBIDDEN_WITHOUT_CERT")
        tap.eq(sorted(codes), sorted(want_codes), "%s: chain findings" % prefix)
        for finding in chain.get("findings") or []:
            evidence = finding.get("evidence") or []
            tap.ok(len(evidence) >= 1 and all(e.get("input") in files_by_input
                                              and isinstance(e.get("frame"), int)
                                              and e["frame"] >= 1 for e in evidence),
                   "%s: %s cites frames in the inputs" % (prefix, finding.get("code")),
                   repr(evidence))
            if verdict in ("dropped_at_hop", "header_mismatch", "delivered") and len(files) > 1:
                tap.ok(len({e["input"] for e in evidence}) == len(files),
                       "%s: %s cites frames of both inputs" % (prefix, finding.get("code")),
                       repr(evidence))
        worst_exit = max(worst_exit, EXIT_OF_VERDICT.get(verdict, 0))
    tap.eq(result.returncode, worst_exit, "%s: exit status" % key)
    summary_chains = (report.get("summary") or {}).get("chains") or {}
    tap.eq(summary_chains.get("total"), len(want_chains), "%s: summary.chains.total" % key)

    # The text report names each chain's verdict, and the hop where it was dropped.
    text = run_checked(tap, mtlsdiag, ["analyze", *paths], key + " (text)")
    for index, want in enumerate(want_chains):
        verdict = want["verdict"]
        line = "chain %d: %s" % (index + 1, verdict)
        if want.get("dropped_at"):
            line += " %d" % want["dropped_at"]["hop"]
        if verdict == "unknown" and len(want["hops"]) == 1:
            continue  # a one-hop chain without an error is counted, not shown, in text
        tap.ok(line + ":" in text.stdout, "%s: text report says %r" % (key, line),
               text.stdout[-2000:])


def check_pem_convention(tap, mtlsdiag, folder):
    """chain-pem: delivered, yet the app connection warns that PEM is not X-ARR-ClientCert's."""
    _, report = analyse(tap, mtlsdiag, [os.path.join(folder, "chain-pem.pcap")], "chain-pem")
    if report is None:
        return
    app = [c for c in report.get("connections", []) if c.get("http")]
    codes = [f.get("code") for c in app for f in c.get("findings") or []]
    tap.ok("CERT_HEADER_WRONG_ENCODING" in codes,
           "chain-pem: the app leg warns CERT_HEADER_WRONG_ENCODING", repr(codes))


def check_order_independent(tap, mtlsdiag, folder):
    """Two vantage points merge into one timeline whatever order the files are given in."""
    paths = [os.path.join(folder, "chain-two-vantage-app.pcap"),
             os.path.join(folder, "chain-two-vantage-caller.pcap")]
    _, report = analyse(tap, mtlsdiag, paths, "two vantage points, app file first")
    if report is None:
        return
    chains = report.get("chains") or []
    tap.eq([c.get("verdict") for c in chains], ["delivered"],
           "two vantage points, app file first: delivered")
    if chains:
        tap.eq([h.get("input") for h in chains[0].get("hops", [])], [1, 0],
               "two vantage points, app file first: hop 1 from input 1, hop 2 from input 0")


def check_hop_names(tap, mtlsdiag, folder):
    """--hop ADDRESS=NAME names the hosts in the report; a bad value is a usage error."""
    path = os.path.join(folder, "chain-arr-base64.pcap")
    _, report = analyse(tap, mtlsdiag, [path], "--hop", ("--hop", "127.0.0.3=frontend",
                                                          "--hop", "127.0.0.5=app"))
    if report is not None and report.get("chains"):
        hops = report["chains"][0].get("hops") or []
        tap.eq([((h.get("from") or {}).get("name"), (h.get("to") or {}).get("name"))
                for h in hops], [(None, "frontend"), ("frontend", "app")],
               "--hop: hosts named in from/to")
    for bad in ("127.0.0.3", "=x", "not-an-address=x", "127.0.0.3="):
        result = run_checked(tap, mtlsdiag, ["analyze", "--hop", bad, path], "--hop %s" % bad)
        tap.eq(result.returncode, 2, "--hop %r: exit status 2" % bad)
        tap.ok("--hop" in result.stderr and len(result.stderr.strip().splitlines()) == 1,
               "--hop %r: one line naming the option" % bad, result.stderr)


def check_held_elsewhere(tap, mtlsdiag, folder):
    """Two separate captures of one host (127.0.0.1): tls12-empty.pcap (the server named the test
    root and intermediate CAs, the client had no certificate loaded and sent an empty list) and
    tls12-presented.pcap (the same address presented pki/client.pem, issued by the intermediate).
    Neither connection forwarded the other, and their times do not nest, so they stay two one-hop
    chains; the empty one learns that the caller holds an acceptable certificate elsewhere."""
    with open(os.path.join(folder, "expected.json")) as f:
        truth = json.load(f)
    presented = truth["tls12-presented.pcap"]["connections"][0]
    empty = truth["tls12-empty.pcap"]["connections"][0]
    paths = [os.path.join(folder, "tls12-empty.pcap"), os.path.join(folder, "tls12-presented.pcap")]
    _, report = analyse(tap, mtlsdiag, paths, "held elsewhere")
    if report is None:
        return
    chains = report.get("chains") or []
    tap.eq(sorted(len(c.get("hops") or []) for c in chains), [1, 1],
           "held elsewhere: two one-hop chains, not linked across inputs")
    refused = [c for c in chains if c.get("verdict") == "never_presented"]
    tap.eq(len(refused), 1, "held elsewhere: tls12-empty's chain is never_presented")
    if not refused:
        return
    findings = [f for f in refused[0].get("findings") or [] if f.get("code") == "CERT_HELD_ELSEWHERE"]
    tap.eq(len(findings), 1, "held elsewhere: CERT_HELD_ELSEWHERE")
    if not findings:
        return
    message = findings[0].get("message") or ""
    issuer = "CN=mtlsdiag Test Intermediate CA"
    tap.ok(issuer in empty["acceptable_cas"], "held elsewhere: the truth names the issuer as acceptable")
    tap.ok(presented["client_leaf_sha1"] in message and "is among the CAs" in message,
           "held elsewhere: names the thumbprint and that its issuer is acceptable", message)
    tap.ok({"input": 1, "frame": presented["client_cert_frame"]} in findings[0].get("evidence", []),
           "held elsewhere: cites the Certificate frame of the other input",
           repr(findings[0].get("evidence")))


def check_settling(tap, mtlsdiag, folder):
    """With one input, chains are handed over while the file is read, as soon as no open
    connection can join them; with two inputs they wait for the end.  Both must give the same
    chains.  The capture is made by the benchmark's generator from the sample captures: about
    2400 connections, some open for most of the file, enough for several rounds of settling.
    The second input is a capture with no packets, so that only the mode differs."""
    generator = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench",
                             "make-bench-capture.py")
    with tempfile.TemporaryDirectory(prefix="mtd-chains-") as work:
        capture = os.path.join(work, "mixed.pcap")
        made = subprocess.run([sys.executable, generator, "--mb", "60", "--link-mbps", "1000",
                               "--captures", folder, capture], capture_output=True, text=True)
        if not tap.ok(made.returncode == 0, "settling: the generator made a capture", made.stderr):
            return
        empty = os.path.join(work, "empty.pcap")
        with open(capture, "rb") as source, open(empty, "wb") as target:
            target.write(source.read(24))  # the pcap file header alone
        _, streamed = analyse(tap, mtlsdiag, [capture], "settling, one input")
        _, held = analyse(tap, mtlsdiag, [capture, empty], "settling, two inputs")
    if streamed is None or held is None:
        return

    def shape(chain):
        return (tuple(hop.get("connection") for hop in chain.get("hops") or []),
                chain.get("verdict"), tuple(f.get("code") for f in chain.get("findings") or []))

    n_connections = len(streamed.get("connections") or [])
    tap.ok(n_connections > 2000, "settling: more connections than one round of settling holds",
           repr(n_connections))
    peak_streamed = ((streamed.get("summary") or {}).get("chains") or {}).get("peak_connections_held")
    peak_held = ((held.get("summary") or {}).get("chains") or {}).get("peak_connections_held")
    tap.eq(peak_held, n_connections, "settling: two inputs hold every connection to the end")
    tap.ok(isinstance(peak_streamed, int) and peak_streamed < n_connections // 2,
           "settling: one input holds far fewer at once", "peak %r of %d" % (peak_streamed,
                                                                         n_connections))
    tap.eq(sorted(map(shape, streamed.get("chains") or [])),
           sorted(map(shape, held.get("chains") or [])),
           "settling: the same chains whether handed over early or at the end")
    chained = {hop.get("connection") for chain in streamed.get("chains") or []
               for hop in chain.get("hops") or []}
    wanted = {c.get("id") for c in streamed.get("connections") or []
              if c.get("tls") is not None or c.get("http")}
    tap.eq(sorted(wanted - chained), [], "settling: every TLS or HTTP connection is in a chain")
    ids = [chain.get("id") for chain in streamed.get("chains") or []]
    tap.eq(sorted(ids), list(range(1, len(ids) + 1)), "settling: chain ids 1..N, each once")


# ---- A long capture on one address ----------------------------------------------------------

LOOPBACK = bytes((127, 0, 0, 1))


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(sport, dport, seq, ack, flags, payload=b""):
    """Ethernet (zero MACs, as tcpdump -i lo writes) + IPv4 127.0.0.1 -> 127.0.0.1 + TCP."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     LOOPBACK, LOOPBACK)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    pseudo = LOOPBACK + LOOPBACK + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    return b"\0" * 12 + b"\x08\x00" + ip + tcp


SYN, ACK, PSH_ACK, FIN_ACK, SYN_ACK = 0x02, 0x10, 0x18, 0x11, 0x12


def write_loopback_capture(path, n_connections, gap_usec, keep_open_has_syn):
    """A long capture as `tcpdump -i lo` takes it on a host whose clients and servers all use
    127.0.0.1: one HTTP connection (port 45000 -> 6379) opens first (with its SYN, or without,
    as when the capture starts after it or loses the SYN) and stays open to the end, with a
    keep-alive ACK every 10 s; meanwhile n_connections short HTTP connections to port 8080, one
    GET each, one after the other, gap_usec apart.  Any connection open on 127.0.0.1 could in
    principle be a hop of any other."""
    t = 1_700_000_000_000_000
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))

        def put(data):
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(data), len(data)))
            f.write(data)

        def exchange(cport, sport, number, has_syn, has_fin):
            nonlocal t
            cseq, sseq = 1000, 5000
            if has_syn:
                for frame in (_frame(cport, sport, cseq, 0, SYN),
                              _frame(sport, cport, sseq, cseq + 1, SYN_ACK),
                              _frame(cport, sport, cseq + 1, sseq + 1, ACK)):
                    put(frame)
                    t += 10
            cseq, sseq = cseq + 1, sseq + 1
            request = b"GET /r%d HTTP/1.1\r\nHost: app.example\r\n\r\n" % number
            response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
            put(_frame(cport, sport, cseq, sseq, PSH_ACK, request))
            t += 100
            cseq += len(request)
            put(_frame(sport, cport, sseq, cseq, PSH_ACK, response))
            t += 100
            sseq += len(response)
            if has_fin:
                for frame in (_frame(cport, sport, cseq, sseq, FIN_ACK),
                              _frame(sport, cport, sseq, cseq + 1, FIN_ACK),
                              _frame(cport, sport, cseq + 1, sseq + 1, ACK)):
                    put(frame)
                    t += 10
            return cseq, sseq

        keep_seq, keep_ack = exchange(45000, 6379, 0, keep_open_has_syn, False)
        last_keepalive = t
        for i in range(n_connections):
            exchange(20000 + i % 40000, 8080, i + 1, True, True)
            t += gap_usec
            if t - last_keepalive >= 10_000_000:
                put(_frame(45000, 6379, keep_seq, keep_ack, ACK))
                last_keepalive = t


def check_shared_address(tap, mtlsdiag):
    """The chainer's memory follows the live connections and the hold window, not the capture:
    4000 sequential connections over 400 s on 127.0.0.1 while one connection stays open there
    throughout.  That one could join any of them, so each waits for it, but only --chain-hold
    (60 s) after its own end; before, every connection was held to the end of the capture (the
    peak was the number of connections, in live mode without end)."""
    n = 4000
    for has_syn in (True, False):
        what = "shared address, open connection %s its SYN" % ("with" if has_syn else "without")
        with tempfile.TemporaryDirectory(prefix="mtd-chains-") as work:
            capture = os.path.join(work, "loopback.pcap")
            write_loopback_capture(capture, n, 100_000, has_syn)
            _, report = analyse(tap, mtlsdiag, [capture], what)
            _, small = analyse(tap, mtlsdiag, [capture], what + ", --chain-max-held 500",
                               ("--chain-max-held", "500"))
        if report is None:
            continue
        chains = (report.get("summary") or {}).get("chains") or {}
        peak = chains.get("peak_connections_held")
        # 600 connections end in 60 s; settling runs once 1024 more were added (or half as many
        # as are held): at most about 1024 + 600 at once.
        tap.ok(isinstance(peak, int) and peak <= 1024 + 600 + 1,
               "%s: connections held at once bounded by the hold window" % what,
               "peak %r of %d connections" % (peak, n + 1))
        released = chains.get("connections_released_early")
        tap.ok(isinstance(released, int) and n - peak <= released <= n,
               "%s: the connections handed over without waiting longer are counted" % what,
               "released %r, peak %r" % (released, peak))
        tap.eq(chains.get("connections_not_chained"), 0, "%s: none over the cap" % what)
        chained = {hop.get("connection") for chain in report.get("chains") or []
                   for hop in chain.get("hops") or []}
        tap.eq(sorted(chained), list(range(1, n + 2)), "%s: every connection is in a chain" % what)
        if small is None:
            continue
        small_chains = (small.get("summary") or {}).get("chains") or {}
        small_peak = small_chains.get("peak_connections_held")
        not_chained = small_chains.get("connections_not_chained")
        tap.ok(isinstance(small_peak, int) and small_peak <= 500,
               "%s, --chain-max-held 500: at most 500 held" % what, repr(small_peak))
        small_chained = {hop.get("connection") for chain in small.get("chains") or []
                         for hop in chain.get("hops") or []}
        tap.ok(isinstance(not_chained, int) and not_chained > 0
               and len(small_chained) == n + 1 - not_chained,
               "%s, --chain-max-held 500: the others are counted, not chained, and the analysis "
               "goes on" % what, repr(small_chains))
        tap.eq(len(small.get("connections") or []), n + 1,
               "%s, --chain-max-held 500: every connection is still reported" % what)


def check_chain_options(tap, mtlsdiag, folder):
    """--chain-hold and --chain-max-held: a bad value is a usage error naming the option."""
    path = os.path.join(folder, "chain-arr-base64.pcap")
    for args in (("--chain-hold", "-1"), ("--chain-hold", "90000"), ("--chain-max-held", "-5")):
        result = run_checked(tap, mtlsdiag, ["analyze", *args, path], " ".join(args))
        tap.eq(result.returncode, 2, "%s: exit status 2" % " ".join(args))
        tap.ok(args[0] in result.stderr, "%s: the message names the option" % " ".join(args),
               result.stderr)
    _, report = analyse(tap, mtlsdiag, [path], "--chain-hold 5 --chain-max-held 10",
                        ("--chain-hold", "5", "--chain-max-held", "10"))
    if report is not None:
        tap.eq([c.get("verdict") for c in report.get("chains") or []], ["delivered"],
               "--chain-hold 5 --chain-max-held 10: the same chain")


def main():
    mtlsdiag, folder = command_line("test_chains.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, mtlsdiag)
    with open(os.path.join(folder, "chains-expected.json")) as f:
        truth = json.load(f)
    for key, entry in truth.items():
        if key.startswith("_"):
            continue
        check_entry(tap, mtlsdiag, folder, key, entry)
    check_pem_convention(tap, mtlsdiag, folder)
    check_order_independent(tap, mtlsdiag, folder)
    check_hop_names(tap, mtlsdiag, folder)
    check_held_elsewhere(tap, mtlsdiag, folder)
    check_settling(tap, mtlsdiag, folder)
    check_shared_address(tap, mtlsdiag)
    check_chain_options(tap, mtlsdiag, folder)
    tap.finish()


if __name__ == "__main__":
    main()
