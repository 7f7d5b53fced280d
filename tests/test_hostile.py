#!/usr/bin/env python3
"""test_hostile.py: captures made to hurt mtlsdiag finish, in bounded memory, with their warning.

Usage: test_hostile.py MTLSDIAG CAPTURES_DIR   (CAPTURES_DIR unused: the captures are made here)

The captures are written at test time by hostile_captures.py (what each holds is known by
construction; see its docstring).  For each: no crash and no sanitizer report, an exit status of
0 or 1 (the input is usable, if hostile), the anomaly or warning that names what was wrong, the
facts that survive it, and a peak resident set that stays small: a lying length must not make it
allocate what the length says, and a million flows must not cost more than the flow cap allows.
Memory bounds are checked only in a build without AddressSanitizer, whose shadow memory and
quarantine would make them meaningless.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_captures  # noqa: E402
from taplib import Tap, check_no_crash, command_line, require_executable  # noqa: E402

MIB = 1024 * 1024


def run_measured(binary, args, tail_only=False):
    """(exit status, stdout, stderr, peak RSS in bytes) of one run; with tail_only, only the
    last 8 KB of standard output (a million connections make a report of hundreds of MB).

    ru_maxrss counts the child from its fork, when it still shares this process's pages: the
    child's number is only its own while this process stays small, which is why big outputs are
    never read in whole here."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([binary] + args, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - 8192) if tail_only else 0)
        err.seek(0)
        return (process.returncode, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"), usage.ru_maxrss * 1024)


def is_sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def analyse(tap, binary, path, extra=()):
    code, out, err, rss = run_measured(binary, ["analyze", "--format", "json"] + list(extra)
                                       + [path])
    name = os.path.basename(path)
    check_no_crash(tap, name, code, err)
    tap.ok(code in (0, 1), "%s: exit status 0 or 1 (usable input)" % name, "got %d: %s"
           % (code, err.strip()[:300]))
    try:
        return json.loads(out), err, rss
    except ValueError as exc:
        tap.ok(False, "%s: JSON parses" % name, str(exc))
        return None, err, rss


def anomalies_of(report):
    connections = (report or {}).get("connections") or [{}]
    return connections[0].get("anomalies") or {}


def main():
    binary, _ = command_line("test_hostile.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    check_memory = not is_sanitized(binary)
    if not check_memory:
        tap.note("AddressSanitizer build: memory bounds not checked")
    with tempfile.TemporaryDirectory(prefix="mtlsdiag-hostile-") as folder:
        paths = hostile_captures.write_all(folder)

        # A million SYN-only flows: every one reported, memory held by the flow cap.  Measured
        # first, while this process is small (see run_measured); the text summary is read from
        # the end of the report.
        for max_flows in (10000, 100000):
            code, out, err, rss = run_measured(binary, ["analyze", "--max-flows", str(max_flows),
                                                        paths["syn-flood"]], tail_only=True)
            what = "syn-flood, --max-flows %d" % max_flows
            check_no_crash(tap, what, code, err)
            tap.ok("connections: 1000000 " in out, "%s: a million connections reported" % what,
                   out[-600:])
            evicted = re.search(r"flows evicted: (\d+)", out)
            tap.ok(evicted is not None and int(evicted.group(1)) >= 1_000_000 - max_flows,
                   "%s: evictions counted" % what, out[-600:])
            if check_memory:
                tap.note("%s: peak RSS %.1f MiB" % (what, rss / MIB))
                bound = 40 * MIB + max_flows * 2048
                tap.ok(rss < bound, "%s: peak RSS %.1f MiB < %.0f MiB"
                       % (what, rss / MIB, bound / MIB))

        # A 16 MB handshake length with 40 bytes behind it: skipped, not buffered.
        report, _, rss = analyse(tap, binary, paths["huge-length"])
        tap.eq(anomalies_of(report).get("tls_message_too_large"), 1,
               "huge-length: tls_message_too_large")
        if check_memory:
            tap.ok(rss < 40 * MIB, "huge-length: peak RSS %.1f MiB < 40 MiB" % (rss / MIB))

        # Different bytes for the same sequence range: the first copy counts, and it is said.
        report, _, _ = analyse(tap, binary, paths["overlap"])
        tap.eq(anomalies_of(report).get("overlap_conflict"), 1, "overlap: overlap_conflict")
        tls = ((report or {}).get("connections") or [{}])[0].get("tls") or {}
        tap.eq((tls.get("client_cert_requested") or {}).get("value"), "yes",
               "overlap: the server's request is still read")

        # Sequence numbers wrap through 2^32 inside the ClientHello: nothing is lost.
        report, _, _ = analyse(tap, binary, paths["seq-wrap"])
        connection = ((report or {}).get("connections") or [{}])[0]
        tap.eq(connection.get("anomalies"), {}, "seq-wrap: no anomaly")
        tls = connection.get("tls") or {}
        tap.eq(((tls.get("client_cert_requested") or {}).get("value"),
                (tls.get("client_cert_presented") or {}).get("value")), ("yes", "empty"),
               "seq-wrap: requested, and answered with an empty list, across the wrap")

        # A thousand renegotiations: counted, the first read, the cap recorded.
        report, _, rss = analyse(tap, binary, paths["reneg-storm"])
        tls = ((report or {}).get("connections") or [{}])[0].get("tls") or {}
        tap.eq(tls.get("renegotiations"), 1000, "reneg-storm: 1000 renegotiations counted")
        tap.eq(anomalies_of(report).get("tls_too_many_items"), 1,
               "reneg-storm: the cap on renegotiations read is recorded")
        tap.eq(len(tls.get("late_auth") or []), 1, "reneg-storm: one renegotiation inferred")

        # Five thousand extensions in a ClientHello over two records: the cap is recorded and
        # the handshake still read.
        report, _, _ = analyse(tap, binary, paths["many-extensions"])
        tls = ((report or {}).get("connections") or [{}])[0].get("tls") or {}
        tap.eq(anomalies_of(report).get("tls_too_many_items"), 1,
               "many-extensions: tls_too_many_items")
        tap.eq(tls.get("version"), "TLS 1.2", "many-extensions: the ServerHello is still read")

        # A 1 MB header field: the HTTP cap, the request still counted.
        report, _, rss = analyse(tap, binary, paths["huge-header"])
        tap.eq(anomalies_of(report).get("http_too_large"), 1, "huge-header: http_too_large")
        if check_memory:
            tap.ok(rss < 40 * MIB, "huge-header: peak RSS %.1f MiB < 40 MiB" % (rss / MIB))

        # Record headers that claim more than the file holds: partial results and a warning.
        report, err, _ = analyse(tap, binary, paths["lying-records"])
        tap.ok("lying-records.pcap" in err and "analysed" in err,
               "lying-records: a warning naming the file", err.strip())
        inputs = (report or {}).get("inputs") or [{}]
        tap.ok(inputs[0].get("warnings"), "lying-records: the warning is in the report too")
        tap.eq(len((report or {}).get("connections") or []), 1,
               "lying-records: the connection before the lie is reported")

        # More connections closed within the linger than tombstones kept: the late ACKs of those
        # forgotten open no connection of their own (each one used to count a bogus one).
        report, _, _ = analyse(tap, binary, paths["late-acks"])
        connections = (report or {}).get("connections") or []
        tap.eq(len(connections), 20_000, "late-acks: 20,000 connections, as many as were made")
        tap.eq(((report or {}).get("summary") or {}).get("connections"), 20_000,
               "late-acks: summary.connections = 20,000")
        made = {(1024 + (i % 60000), 443) for i in range(20_000)}
        seen = {((c.get("client") or {}).get("port"), (c.get("server") or {}).get("port"))
                for c in connections}
        tap.eq(len(seen & made), 20_000, "late-acks: each connection made, client and server "
               "from its SYN")
        tap.eq(sorted({c.get("end_reason") for c in connections}), ["fin"],
               "late-acks: every connection ended with its FINs")

    tap.finish()


if __name__ == "__main__":
    main()
