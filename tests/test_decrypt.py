#!/usr/bin/env python3
"""test_decrypt.py: the sample captures read with their key logs (TAP).

Usage: test_decrypt.py MTLSDIAG CAPTURES_DIR

Truth: CAPTURES_DIR/expected.json (written from how each capture was made, cross-checked with
tshark decrypting with the same key logs) and the key logs themselves.  Checked here:
- every TLS 1.3 capture with a key log gets "decrypted" verdicts equal to the truth, and never
  contradicts what the same capture gives without keys (an inferred verdict must equal the
  decrypted one; only "unknown" may differ);
- TLS 1.2 captures decrypt too ("ok"), with their verdicts unchanged;
- a key log with the right client randoms but wrong secrets is reported as not decrypting,
  never as garbage facts; a key log for other connections is "no_keys";
- a malformed key log line is a warning with its line number, a missing key log file an error
  (exit 2) naming it;
- no secret of any key log appears in any output (JSON, text, standard error).
"""
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taplib import Tap, check_no_crash, command_line, require_executable, run  # noqa: E402


def read_secrets(path):
    """The secrets (hex, lower case) of an NSS key log, by reading it plainly."""
    secrets = set()
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3 and not fields[0].startswith("#"):
                secrets.add(fields[2].lower())
    return secrets


def analyse(tap, binary, args, what):
    code, out, err = run(binary, args)
    check_no_crash(tap, what, code, err)
    try:
        return code, json.loads(out), err
    except ValueError as exc:
        tap.ok(False, "%s: JSON parses" % what, str(exc))
        return code, None, err


def tls_of(report):
    connections = [c for c in (report or {}).get("connections", []) if c.get("tls")]
    return connections[0]["tls"] if connections else {}


def value(verdict):
    return (verdict or {}).get("value")


def check_capture(tap, binary, folder, name, truth, leaked):
    path = os.path.join(folder, name)
    keys = path + ".keys"
    conn = truth["connections"][0]
    is_tls13 = conn.get("tls_version") == "TLS 1.3"
    _, plain, _ = analyse(tap, binary, ["analyze", "--format", "json", path], name)
    code, keyed, err = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", keys, path],
                               name + " --keylog")
    if plain is None or keyed is None:
        return
    leaked.append((name, json.dumps(keyed) + err))
    tls = tls_of(keyed)
    decryption = tls.get("decryption") or {}
    tap.eq(decryption.get("status"), "ok", "%s: decryption ok with its key log" % name)
    tap.ok(isinstance(decryption.get("records"), int) and decryption["records"] > 0,
           "%s: records decrypted" % name, repr(decryption))
    requested, presented = tls.get("client_cert_requested"), tls.get("client_cert_presented")
    not_in_capture = conn.get("not_in_capture") or []
    if "cert_requested" not in not_in_capture:
        tap.eq(value(requested), conn["cert_requested"], "%s: requested = truth" % name)
    if "cert_presented" not in not_in_capture:
        tap.eq(value(presented), conn["cert_presented"], "%s: presented = truth" % name)
    if is_tls13:
        tap.eq((requested or {}).get("how"), "decrypted", "%s: requested how = decrypted" % name)
        tap.eq((presented or {}).get("how"), "decrypted", "%s: presented how = decrypted" % name)
        # The decrypted CertificateRequest is TLS 1.3's (RFC 8446 §4.3.2): its CA names come
        # from the certificate_authorities extension, and it parses without an anomaly.
        if conn.get("cert_requested") == "yes" and "tls13_certificate_authorities" in conn:
            tap.eq(tls.get("acceptable_cas"), conn["tls13_certificate_authorities"],
                   "%s: acceptable CAs read from the encrypted CertificateRequest" % name)
        anomalies = next((c.get("anomalies") for c in keyed.get("connections", [])
                          if c.get("tls")), {})
        tap.eq(anomalies.get("tls_bad_handshake"), None,
               "%s: every decrypted message parses" % name)
        if conn.get("cert_presented") == "yes" and conn.get("client_leaf_sha1"):
            chain = tls.get("client_chain") or [{}]
            tap.eq(chain[0].get("sha1"), conn["client_leaf_sha1"],
                   "%s: the client's leaf is read inside TLS 1.3" % name)
        # Inference must never contradict decryption.
        plain_tls = tls_of(plain)
        for key in ("client_cert_requested", "client_cert_presented"):
            inferred = plain_tls.get(key) or {}
            if inferred.get("value") not in (None, "unknown"):
                tap.eq(inferred.get("value"), value(tls.get(key)),
                       "%s: %s without keys (%s) agrees with decryption"
                       % (name, key, inferred.get("how")))
    else:
        tap.eq(((requested or {}).get("how"), (presented or {}).get("how")),
               ((tls_of(plain).get("client_cert_requested") or {}).get("how"),
                (tls_of(plain).get("client_cert_presented") or {}).get("how")),
               "%s: TLS 1.2 verdicts stay as observed in clear" % name)
    text_code, text_out, text_err = run(binary, ["analyze", "--keylog", keys, path])
    check_no_crash(tap, name + " text", text_code, text_err)
    leaked.append((name + " text", text_out + text_err))


def check_wrong_keys(tap, binary, folder, leaked):
    path = os.path.join(folder, "tls13-presented.pcap")
    with open(path + ".keys") as f:
        lines = f.read().splitlines()
    with tempfile.TemporaryDirectory(prefix="mtd-keys-") as work:
        wrong = os.path.join(work, "wrong.keys")
        with open(wrong, "w") as f:
            for line in lines:
                fields = line.split()
                if len(fields) == 3 and not line.startswith("#"):
                    # Same label and client random, secret bits flipped.
                    flipped = "".join("%x" % (int(c, 16) ^ 0xF) for c in fields[2])
                    f.write("%s %s %s\n" % (fields[0], fields[1], flipped))
        code, report, err = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", wrong,
                                                  path], "wrong keys")
        leaked.append(("wrong keys", json.dumps(report) + err))
        tls = tls_of(report)
        tap.eq((tls.get("decryption") or {}).get("status"), "failed",
               "wrong keys: decryption failed, not garbage")
        codes = [f.get("code") for c in (report or {}).get("connections", [])
                 for f in c.get("findings") or []]
        tap.ok("KEYS_DO_NOT_DECRYPT" in codes, "wrong keys: KEYS_DO_NOT_DECRYPT", repr(codes))
        tap.ok((tls.get("client_cert_presented") or {}).get("how") != "decrypted",
               "wrong keys: no verdict claims to be decrypted")

        other = os.path.join(folder, "tls12-presented.pcap.keys")
        _, report, _ = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", other,
                                             path], "other connection's keys")
        tap.eq((tls_of(report).get("decryption") or {}).get("status"), "no_keys",
               "a key log for other connections: no_keys")

        malformed = os.path.join(work, "malformed.keys")
        with open(malformed, "w") as f:
            f.write("# comment\n")
            f.write(lines[-1] + "\n" if lines else "\n")
            f.write("CLIENT_HANDSHAKE_TRAFFIC_SECRET zz 00\n")      # line 3: bad hex
            f.write("CLIENT_RANDOM onlytwofields\n")                 # line 4: too few fields
        code, out, err = run(binary, ["analyze", "--keylog", malformed, path])
        check_no_crash(tap, "malformed key log", code, err)
        tap.ok(code in (0, 1), "malformed key log: analysis goes on", "exit %r" % code)
        tap.ok(re.search(r"line 3\b", err) and re.search(r"line 4\b", err),
               "malformed key log: warnings name lines 3 and 4", err)

        missing = os.path.join(work, "missing.keys")
        code, out, err = run(binary, ["analyze", "--keylog", missing, path])
        check_no_crash(tap, "missing key log", code, err)
        tap.eq(code, 2, "missing key log: exit status 2")
        tap.ok("missing.keys" in err and len(err.strip().splitlines()) == 1,
               "missing key log: one line naming the file", err)


def check_embedded_and_chain(tap, binary, folder, leaked):
    """tls12-presented-dsb.pcapng carries tls12-presented.pcapng.keys in a Decryption Secrets
    Block (editcap --inject-secrets): it decrypts with no --keylog.  chain-arr-base64-tls13.pcap
    with its key log: the TLS 1.3 caller's certificate becomes readable, so the chain's delivered
    verdict now rests on equal thumbprints (the truth: the front end forwarded client.pem)."""
    path = os.path.join(folder, "tls12-presented-dsb.pcapng")
    _, report, err = analyse(tap, binary, ["analyze", "--format", "json", path], "embedded keys")
    leaked.append(("embedded keys", json.dumps(report) + err))
    tap.eq((tls_of(report).get("decryption") or {}).get("status"), "ok",
           "embedded keys: decrypted without --keylog")
    with open(os.path.join(folder, "chains-expected.json")) as f:
        chain_truth = json.load(f)["chain-arr-base64-tls13.pcap"]["chains"][0]
    sha1 = next(h["cert_header"]["sha1"] for h in chain_truth["hops"] if h.get("cert_header"))
    path = os.path.join(folder, "chain-arr-base64-tls13.pcap")
    _, report, err = analyse(tap, binary, ["analyze", "--format", "json", "--keylog",
                                           path + ".keys", path], "TLS 1.3 chain with keys")
    leaked.append(("TLS 1.3 chain", json.dumps(report) + err))
    chains = (report or {}).get("chains") or [{}]
    hops = chains[0].get("hops") or [{}]
    tap.eq(hops[0].get("client_leaf_sha1"), sha1, "TLS 1.3 chain: hop 1's certificate is read")
    links = chains[0].get("links") or [{}]
    tap.ok("cert_thumbprint" in (links[0].get("matched_by") or []),
           "TLS 1.3 chain: linked by the thumbprint", repr(links))
    tap.eq(chains[0].get("verdict"), "delivered", "TLS 1.3 chain: delivered")


# Public captures from ssldump's test suite, decryptable with its log.txt; none uses client
# certificates (public-captures/README.md).  KeyUpdate frames as tshark lists them
# (tshark -r F -o tls.keylog_file:log.txt -Y tls.handshake.type==24): the client's in frame 18
# (from port 60654 / 60014, the ClientHello's), the server's in frame 22 (from port 4433).
SSLDUMP_KEY_UPDATES = {
    "tls1.3_keyupdates_aes256.pcap": [{"frame": 18, "from": "client"},
                                      {"frame": 22, "from": "server"}],
    "tls1.3_aes256gcm.pcap": [{"frame": 18, "from": "client"}, {"frame": 22, "from": "server"}],
}


def check_public_ssldump(tap, binary, folder, leaked):
    """Every cipher suite of ssldump's captures decrypts, records after a KeyUpdate included
    (before KeyUpdate was acted on, the first record under the new keys failed its tag)."""
    public = os.path.join(folder, "..", "..", "shared", "public-captures", "ssldump")
    if not os.path.isdir(public):
        tap.note("ssldump public captures: ../shared/public-captures/ssldump is absent, skipped")
        return
    keys = os.path.join(public, "log.txt")
    for name in sorted(n for n in os.listdir(public) if n.endswith(".pcap")):
        _, report, err = analyse(tap, binary, ["analyze", "--format", "json", "--keylog", keys,
                                               os.path.join(public, name)], name)
        leaked.append((name, json.dumps(report) + err))
        tls = tls_of(report)
        tap.eq((tls.get("decryption") or {}).get("status"), "ok", "%s: decrypted" % name)
        tap.eq(value(tls.get("client_cert_requested")), "no", "%s: no certificate asked" % name)
        tap.eq(tls.get("key_updates"), SSLDUMP_KEY_UPDATES.get(name, []),
               "%s: key updates as tshark lists them" % name)
    secrets = read_secrets(keys)
    for what, output in leaked[-9:]:
        found = [s[:8] + "..." for s in secrets if s in output.lower()]
        tap.eq(found, [], "%s: no ssldump key log secret in the output" % what)


def main():
    binary, folder = command_line("test_decrypt.py MTLSDIAG CAPTURES_DIR")
    tap = Tap()
    require_executable(tap, binary)
    with open(os.path.join(folder, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    leaked = []
    names = sorted(n for n in expected if not n.startswith("_")
                   and os.path.exists(os.path.join(folder, n + ".keys"))
                   and expected[n]["connections"]
                   and expected[n]["connections"][0].get("app_protocol") == "tls")
    for name in names:
        truth = expected[name]
        conn = truth["connections"][0]
        # Captures cut before the encrypted records (truncated, snaplen, mid-stream) have
        # nothing complete to decrypt; the others must decrypt.
        if truth.get("truncated") or "snaplen" in name or "midstream" in name:
            continue
        if conn.get("tls_version") not in ("TLS 1.2", "TLS 1.3"):
            continue
        check_capture(tap, binary, folder, name, truth, leaked)
    check_wrong_keys(tap, binary, folder, leaked)
    check_embedded_and_chain(tap, binary, folder, leaked)
    check_public_ssldump(tap, binary, folder, leaked)

    # No secret of any key log, in either case, in anything written.
    secrets = set()
    for name in os.listdir(folder):
        if name.endswith(".keys"):
            secrets |= read_secrets(os.path.join(folder, name))
    for what, output in leaked:
        lowered = output.lower()
        found = [s[:8] + "..." for s in secrets if s in lowered]
        tap.eq(found, [], "%s: no key log secret in the output" % what)
    tap.finish()


if __name__ == "__main__":
    main()
