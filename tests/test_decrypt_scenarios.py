#!/usr/bin/env python3
"""test_decrypt_scenarios.py: the decryption captures read with and without their key logs (TAP).

Usage: test_decrypt_scenarios.py MTLSDIAG CAPTURES_DIR

Truth: CAPTURES_DIR/decrypt-expected.json, written by captures/make-decrypt-captures.sh from how
each capture was made (TLS 1.3 post-handshake authentication, TLS 1.2 renegotiation, HTTPS 403s,
HTTP/2, cipher suite families, a KeyUpdate) with every frame read back by tshark decrypting with
the same key log.  Checked field by field, for each capture:
- with its key log: decryption "ok" with records > 0, version, cipher suite, ALPN, ports; the
  client-certificate verdicts equal the truth, "decrypted" in TLS 1.3 (TLS 1.2's clear
  handshake stays as observed without keys); the HTTP exchanges (method, path, host, version,
  status, frames; HTTP/2 from the HEADERS frames); tls.late_auth (post-handshake
  authentication and renegotiation, with the request that triggered them) and tls.key_updates;
- without keys: a TLS 1.3 verdict is "unknown" or the decrypted one, never a contradiction; a
  renegotiation is still reported (late_auth "renegotiation", "inferred");
- tls13-presented.wrongkeys (right client randoms, wrong secrets): decryption "failed" and
  no verdict claims to be decrypted;
- no secret of any key log used appears in any output (JSON, text, standard error).
For a connection whose certificate was asked for only later (post-handshake or renegotiation),
the connection-level verdict is the later request's (the connection did ask for a certificate,
and that is what the runbook's "was a certificate requested?" means), frames included, and
"decrypted".
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, check_no_crash, command_line, require_executable, run, skip_all  # noqa: E402

WRONG_KEYS = "tls13-presented.wrongkeys"
LATE_FIELDS = ("kind", "frame", "how", "cert_requested", "cert_requested_frame",
               "cert_presented", "cert_presented_frame", "trigger")


class ScenarioTap(Tap):
    def skip(self, desc, reason):
        """One skipped check (TAP "# SKIP" directive)."""
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, desc.replace("#", "\\#"), reason))
        sys.stdout.flush()


def read_secrets(path):
    """The secrets (hex, lower case) of an NSS key log, by reading it plainly (third field)."""
    secrets = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and not fields[0].startswith("#"):
                secrets.add(fields[2].lower())
    return secrets


def analyse(tap, binary, args, what, outputs):
    code, out, err = run(binary, args)
    outputs.append((what, out + err))
    check_no_crash(tap, what, code, err)
    try:
        return json.loads(out)
    except ValueError as exc:
        tap.ok(False, "%s: JSON parses" % what, str(exc))
        return None


def connection_of(report, truth):
    """The report's connection with the truth's client and server ports (or None)."""
    for c in (report or {}).get("connections", []):
        if ((c.get("client") or {}).get("port") == truth["client_port"]
                and (c.get("server") or {}).get("port") == truth["server_port"]):
            return c
    return None


def value(verdict):
    return (verdict or {}).get("value")


def frames(verdict):
    return (verdict or {}).get("frames") or []


def expected_late_auth(truth):
    """tls.late_auth as the truth says it must read with the key log."""
    late = []
    p = truth.get("post_handshake")
    if p:
        late.append({"kind": "post_handshake", "frame": p["request_frame"], "how": "decrypted",
                     "cert_requested": "yes", "cert_requested_frame": p["request_frame"],
                     "cert_presented": p["presented"],
                     "cert_presented_frame": p["client_certificate_frame"],
                     "trigger": {"method": p["trigger"]["method"], "path": p["trigger"]["path"],
                                 "frame": p["trigger"]["request_frame"]}})
    r = truth.get("renegotiation")
    if r:
        late.append({"kind": "renegotiation",
                     "frame": r["hello_request_frame"] or r["client_hello_frame"],
                     "how": "decrypted", "cert_requested": "yes",
                     "cert_requested_frame": r["cert_request_frame"],
                     "cert_presented": r["presented"],
                     "cert_presented_frame": r["client_certificate_frame"],
                     "trigger": {"method": r["trigger"]["method"], "path": r["trigger"]["path"],
                                 "frame": r["trigger"]["request_frame"]}})
    return late


def check_verdict(tap, name, key, verdict, initial, late, plain_how, is_tls13):
    """A connection-level verdict: equal to the initial handshake's truth (value, frame) or, when
    the certificate was asked for later, to the later request's; then its "how"."""
    what = "%s: %s" % (name, key)
    got_value, got_frames = value(verdict), frames(verdict)
    matches_initial = got_value == initial[0] and (initial[1] is None or initial[1] in got_frames)
    matches_late = (late is not None and got_value == late[0] and late[1] in got_frames)
    if late is None:
        tap.eq(got_value, initial[0], what + " = truth")
        if initial[1] is not None:
            tap.ok(initial[1] in got_frames, what + " names frame %d" % initial[1],
                   "frames: %r" % got_frames)
    else:
        tap.ok(matches_late, what + " = the later request's (%s @%s), not the initial "
               "handshake's (%s @%s)" % (late[0], late[1], initial[0], initial[1]),
               "got: %r" % verdict)
    how = (verdict or {}).get("how")
    if is_tls13 or late is not None:
        tap.eq(how, "decrypted", what + " how = decrypted")
    else:
        tap.eq(how, plain_how, what + " how stays as observed without keys")


def check_http(tap, name, conn, truth):
    got = sorted((conn or {}).get("http") or [], key=lambda h: h.get("frame") or 0)
    want = truth["http"]
    tap.eq(len(got), len(want), "%s: %d HTTP exchanges decrypted" % (name, len(want)))
    for i, (w, g) in enumerate(zip(want, got)):
        what = "%s: http[%d] %s %s" % (name, i, w["method"], w["path"])
        tap.eq((g.get("method"), g.get("path")), (w["method"], w["path"]), what + ": method, path")
        tap.eq(g.get("host"), w["authority_or_host"], what + ": host"
               + (" (:authority)" if w["version"] == "HTTP/2" else ""))
        tap.eq(g.get("version"), w["version"], what + ": version")
        tap.eq(g.get("frame"), w["request_frame"], what + ": request frame")
        tap.eq(g.get("status"), w["status"], what + ": status")
        tap.eq(g.get("status_frame"), w["status_frame"], what + ": status frame")


def check_late_auth(tap, name, tls, truth):
    want = expected_late_auth(truth)
    got = tls.get("late_auth")
    tap.eq(len(got) if isinstance(got, list) else got, len(want),
           "%s: tls.late_auth has %d entries" % (name, len(want)))
    for i, w in enumerate(want):
        g = got[i] if isinstance(got, list) and i < len(got) else {}
        for field in LATE_FIELDS:
            tap.eq(g.get(field), w[field], "%s: late_auth[%d] (%s) %s" % (name, i, w["kind"], field))


def evidence_frames(finding):
    return [e.get("frame") for e in finding.get("evidence") or []]


def check_findings(tap, name, conn, truth):
    """The findings name the triggering request: a 403 on a connection without a certificate,
    and a certificate asked for late (post-handshake or renegotiation), each citing the frame
    of the request that led to it."""
    findings = conn.get("findings") or []
    by_code = {}
    for f in findings:
        by_code.setdefault(f.get("code"), f)
    forbidden = [h for h in truth["http"] if h["status"] == 403]
    if forbidden and truth["cert_presented"] != "yes" and not (
            (truth.get("post_handshake") or {}).get("presented") == "yes"
            or (truth.get("renegotiation") or {}).get("presented") == "yes"):
        f = by_code.get("FORBIDDEN_WITHOUT_CERT") or {}
        tap.ok(f, "%s: FORBIDDEN_WITHOUT_CERT for the 403" % name, repr(sorted(by_code)))
        frames = evidence_frames(f)
        tap.ok(forbidden[0]["request_frame"] in frames and forbidden[0]["status_frame"] in frames,
               "%s: FORBIDDEN_WITHOUT_CERT cites the request (frame %d) and the 403 (frame %d)"
               % (name, forbidden[0]["request_frame"], forbidden[0]["status_frame"]), repr(frames))
    else:
        tap.ok("FORBIDDEN_WITHOUT_CERT" not in by_code,
               "%s: no FORBIDDEN_WITHOUT_CERT (no 403 without a certificate)" % name)
    for key, code in (("post_handshake", "CERT_REQUESTED_POST_HANDSHAKE"),
                      ("renegotiation", "CERT_REQUESTED_IN_RENEGOTIATION")):
        late = truth.get(key)
        if not late:
            tap.ok(code not in by_code, "%s: no %s" % (name, code))
            continue
        f = by_code.get(code) or {}
        trigger = late["trigger"]
        tap.ok(trigger["request_frame"] in evidence_frames(f)
               and "%s %s" % (trigger["method"], "") in (f.get("message") or "")
               and trigger["path"] in (f.get("message") or ""),
               "%s: %s names the triggering request %s %s (frame %d)"
               % (name, code, trigger["method"], trigger["path"], trigger["request_frame"]),
               repr(f))


def check_capture(tap, binary, folder, name, truth, outputs):
    path = os.path.join(folder, name)
    keys = os.path.join(folder, truth["key_log"])
    if not os.path.exists(path) or not os.path.exists(keys):
        tap.skip("%s: decrypted facts" % name, "capture or key log missing "
                 "(run captures/make-decrypt-captures.sh)")
        return
    is_tls13 = truth["tls_version"] == "TLS 1.3"
    plain = analyse(tap, binary, ["analyze", "--format", "json", path], name, outputs)
    keyed = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", keys, path],
                    name + " --keylog", outputs)
    code, out, err = run(binary, ["analyze", "--format", "text", "--keylog", keys, path])
    outputs.append((name + " text", out + err))
    check_no_crash(tap, name + " text", code, err)
    if keyed is None:
        return
    conn = connection_of(keyed, truth)
    if not tap.ok(conn is not None and conn.get("tls") is not None,
                  "%s: the TLS connection %d -> %d is found" % (name, truth["client_port"],
                                                                truth["server_port"])):
        return
    tls = conn["tls"]
    plain_tls = (connection_of(plain, truth) or {}).get("tls") or {}

    decryption = tls.get("decryption") or {}
    tap.eq(decryption.get("status"), "ok", "%s: decryption ok with its key log" % name)
    tap.ok(isinstance(decryption.get("records"), int) and decryption["records"] > 0,
           "%s: records decrypted (tshark: %d)" % (name, truth["tshark_decrypted_records"]),
           repr(decryption))
    tap.eq(tls.get("version"), truth["tls_version"], "%s: version" % name)
    tap.eq(tls.get("cipher_suite"), truth["cipher_suite"], "%s: cipher suite" % name)
    tap.eq(tls.get("alpn"), truth["alpn"], "%s: ALPN" % name)

    post, reneg = truth.get("post_handshake"), truth.get("renegotiation")
    late_req = late_pres = None
    if post:
        late_req = ("yes", post["request_frame"])
        late_pres = (post["presented"], post["client_certificate_frame"])
    elif reneg:
        late_req = ("yes", reneg["cert_request_frame"])
        late_pres = (reneg["presented"], reneg["client_certificate_frame"])
    check_verdict(tap, name, "client_cert_requested", tls.get("client_cert_requested"),
                  (truth["cert_requested"], truth["cert_requested_frame"]), late_req,
                  (plain_tls.get("client_cert_requested") or {}).get("how"), is_tls13)
    check_verdict(tap, name, "client_cert_presented", tls.get("client_cert_presented"),
                  (truth["cert_presented"], truth["cert_presented_frame"]), late_pres,
                  (plain_tls.get("client_cert_presented") or {}).get("how"), is_tls13)
    if truth["cert_presented"] == "yes" and truth["client_leaf_sha1"]:
        chain = tls.get("client_chain") or [{}]
        tap.eq(chain[0].get("sha1"), truth["client_leaf_sha1"], "%s: the client's leaf" % name)
    if post:
        tap.eq(tls.get("post_handshake_request_frame"), post["request_frame"],
               "%s: post_handshake_request_frame" % name)

    check_http(tap, name, conn, truth)
    got_alerts = [(a.get("frame"), a.get("from"), a.get("description"))
                  for a in tls.get("alerts") or []]
    want_alerts = sorted((a["frame"], a["from"], a["description"]) for a in truth["alerts"])
    tap.eq(sorted(got_alerts), want_alerts, "%s: alerts read with the key log, each once" % name)
    check_late_auth(tap, name, tls, truth)
    check_findings(tap, name, conn, truth)
    tap.eq(tls.get("key_updates"), truth["key_updates"], "%s: tls.key_updates" % name)

    # Without keys: never a contradiction of what decryption shows.
    if is_tls13:
        for key in ("client_cert_requested", "client_cert_presented"):
            inferred = plain_tls.get(key) or {}
            if inferred.get("value") not in (None, "unknown"):
                tap.eq(inferred.get("value"), value(tls.get(key)),
                       "%s: %s without keys (%s) agrees with decryption"
                       % (name, key, inferred.get("how")))
    plain_late = plain_tls.get("late_auth") or []
    for i, entry in enumerate(plain_late):
        truth_late = {e["kind"]: e for e in expected_late_auth(truth)}.get(entry.get("kind"))
        tap.ok(truth_late is not None and entry.get("how") != "decrypted"
               and entry.get("cert_presented") in (truth_late["cert_presented"], "unknown"),
               "%s: late_auth[%d] without keys (%s, %s) does not contradict the truth"
               % (name, i, entry.get("kind"), entry.get("cert_presented")), repr(entry))
    if reneg:
        entry = next((e for e in plain_late if e.get("kind") == "renegotiation"), {})
        tap.eq(entry.get("how"), "inferred", "%s: without keys, the renegotiation is still "
               "reported (late_auth kind renegotiation, how inferred)" % name)
        tap.is_in(entry.get("cert_presented"), (reneg["presented"], "unknown"),
                  "%s: without keys, the renegotiation's cert_presented is the truth or unknown"
                  % name)


def check_wrong_keys(tap, binary, folder, truth, outputs):
    path = os.path.join(folder, truth["capture"])
    keys = os.path.join(folder, truth["key_log"])
    if not os.path.exists(path) or not os.path.exists(keys):
        tap.skip("wrong keys: decryption failed", "capture or key log missing")
        return
    report = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", keys, path],
                     "wrong keys", outputs)
    code, out, err = run(binary, ["analyze", "--format", "text", "--keylog", keys, path])
    outputs.append(("wrong keys text", out + err))
    check_no_crash(tap, "wrong keys text", code, err)
    conns = [c for c in (report or {}).get("connections", []) if c.get("tls")]
    tls = conns[0]["tls"] if conns else {}
    tap.eq((tls.get("decryption") or {}).get("status"), truth["decryption"],
           "wrong keys: decryption %s (tshark decrypts %d records)"
           % (truth["decryption"], truth["tshark_decrypted_records"]))
    hows = {key: (tls.get(key) or {}).get("how")
            for key in ("client_cert_requested", "client_cert_presented")}
    hows.update({"late_auth[%d]" % i: e.get("how") for i, e in enumerate(tls.get("late_auth") or [])})
    tap.ok("decrypted" not in hows.values(), "wrong keys: no verdict claims to be decrypted",
           repr(hows))


def main():
    binary, folder = command_line("test_decrypt_scenarios.py MTLSDIAG CAPTURES_DIR")
    expected_path = os.path.join(folder, "decrypt-expected.json")
    if not os.path.exists(expected_path):
        skip_all("no decrypt-expected.json in %s (run captures/make-decrypt-captures.sh)" % folder)
    tap = ScenarioTap()
    require_executable(tap, binary)
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    outputs = []
    key_logs = set()
    for name in sorted(n for n in expected if not n.startswith("_")):
        truth = expected[name]
        if truth.get("kind") == "capture":
            check_capture(tap, binary, folder, name, truth, outputs)
        elif truth.get("kind") == "wrong_keys":
            check_wrong_keys(tap, binary, folder, truth, outputs)
            key_logs.add(os.path.join(folder, truth["capture"] + ".keys"))
        key_logs.add(os.path.join(folder, truth["key_log"]))

    # No secret of any key log used here, in anything written.
    secrets = set()
    for path in sorted(key_logs):
        if os.path.exists(path):
            secrets |= read_secrets(path)
    if secrets:
        tap.ok(True, "%d key log secrets to look for" % len(secrets))
    else:
        tap.skip("key log secrets to look for", "no key log present")
    for what, output in outputs:
        lowered = output.lower()
        found = [s[:8] + "..." for s in secrets if s in lowered]
        tap.eq(found, [], "%s: no key log secret in the output" % what)
    tap.finish()


if __name__ == "__main__":
    main()
