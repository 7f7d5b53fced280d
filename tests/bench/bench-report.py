#!/usr/bin/env python3
"""bench-report.py - the table, the targets and the checks of tests/bench/run-bench.sh.

Plain python3, standard library only.  Reads what run-bench.sh left in its work directory:
results.txt (one line per run: round input tool file_bytes packets wall_ns user_us sys_us
rss_kb, written from wait4 by bench-run.c), the generator's summaries (INPUTS/*.json), the tails
of mtlsdiag's JSON reports (RUN/report-*.tail, which end with the summary object) and the
profiles (RUN/profile-*.txt, from perf report or callgrind_annotate).  Prints Markdown tables.

Wall time, CPU time and peak RSS are medians over the rounds.  "x bare" is computed pair by
pair: in each round, the tool's wall time divided by the bare loop's on the same file in that
round; the median of those ratios is shown.

Exit status: 0 when mtlsdiag counted every generated connection, 1 otherwise.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import sys

TOOLS = [
    ("bare", "bare libpcap loop (`pcap-count`)"),
    ("tcpdump", "`tcpdump -r FILE -w /dev/null`"),
    ("mtlsdiag-text", "`mtlsdiag analyze --format text`"),
    ("mtlsdiag-json", "`mtlsdiag analyze --format json`"),
    ("mtlsdiag-text-nohash", "`mtlsdiag analyze --no-hash --format text`"),
    ("ndpiReader", "`ndpiReader -i FILE`"),
    ("tshark", "`tshark -Y tls.handshake.type==13`"),
]
SINGLE_THREADED = ("bare", "tcpdump", "ndpiReader", "tshark")
TARGET_RATIO = {"handshake": 2.0, "bulk": 1.2}
RSS_GROWTH_OK = 1.10       # full file's peak RSS at most 10% above the half file's
PER_FLOW_OK = 1024         # bytes per live flow


def load_runs(path):
    runs = {}
    for line in open(path):
        rnd, inp, tool, fbytes, packets, wall_ns, user_us, sys_us, rss = line.split()
        runs.setdefault((inp, tool), []).append({
            "round": rnd, "bytes": int(fbytes), "packets": int(packets),
            "wall": int(wall_ns) / 1e9, "cpu": (int(user_us) + int(sys_us)) / 1e6,
            "rss_kb": int(rss)})
    return runs


def summary_of(path):
    """The summary object at the end of a JSON report's tail, or None."""
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    at = text.rfind('"summary"')
    if at < 0:
        return None
    brace = text.find("{", at)
    try:
        return json.JSONDecoder().raw_decode(text[brace:])[0]
    except ValueError:
        return None


def nonzero(matrix):
    return {r: {p: n for p, n in row.items() if n} for r, row in (matrix or {}).items()
            if any(row.values())}


def mib(kb):
    return kb / 1024


def fmt_int(n):
    return f"{n:,.0f}"


def top_symbols(path, n=10):
    """[(share %, symbol, object)] from perf report --sort dso,symbol or callgrind_annotate."""
    rows = []
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return rows
    # perf: overhead, object, [k] or [.], symbol, then maybe IPC columns after 2+ spaces
    perf = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.+?)(?:\s{2,}.*)?$")
    cg = re.compile(r"^\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(.+?)\s*$")
    for line in lines:
        m = perf.match(line)
        if m:
            rows.append((float(m.group(1)), m.group(4), m.group(2)))
            continue
        m = cg.match(line)
        if m and "PROGRAM TOTALS" not in line:
            what = m.group(3)
            obj = ""
            om = re.match(r"^(.*) \[(.*)\]$", what)
            if om:
                what, obj = om.group(1), os.path.basename(om.group(2))
            rows.append((float(m.group(2)), what, obj))
    # addresses without a symbol (stripped libraries such as libcrypto): one row per object
    merged = {}
    for share, sym, obj in rows:
        if re.fullmatch(r"0x[0-9a-f]+", sym):
            sym = "(addresses without symbols)"
        merged[(sym, obj)] = merged.get((sym, obj), 0.0) + share
    rows = sorted(((v, sym, obj) for (sym, obj), v in merged.items()), key=lambda r: -r[0])
    return rows[:n]


def top_shares(path, n=6):
    """[(share %, name)] from a perf report sorted by one key (comm or dso)."""
    rows = []
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return rows
    for line in lines:
        m = re.match(r"^\s*([\d.]+)%\s+(\S.*?)\s*$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2)))
    return rows[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--scale", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--profiler", default="none")
    ap.add_argument("--hold", type=int, nargs=2, required=True, metavar=("LO", "HI"))
    args = ap.parse_args()

    runs = load_runs(args.results)
    gens = {}
    for name in ("handshake", "bulk", "hold-lo", "hold-hi"):
        with open(os.path.join(args.inputs, name + ".json")) as f:
            gens[name] = json.load(f)
    loads = {}
    try:
        for line in open(os.path.join(args.run, "load.txt")):
            k, *v = line.split()
            loads[k] = " ".join(v)
    except OSError:
        pass
    cpu_model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def med(inp, tool, key):
        return statistics.median(r[key] for r in runs[(inp, tool)])

    def ratio(inp, tool, base_inp=None):
        """Median over rounds of wall(tool) / wall(bare) on the same file in the same round."""
        base = {r["round"]: r["wall"] for r in runs[(base_inp or inp, "bare")]}
        pairs = [r["wall"] / base[r["round"]] for r in runs[(inp, tool)]
                 if r["round"] in base and base[r["round"]] > 0]
        return statistics.median(pairs) if pairs else float("nan")

    today = datetime.date.today().isoformat()
    print()
    print(f"## mtlsdiag benchmark, {today}: BENCH_SCALE={args.scale}, median of {args.rounds} "
          f"interleaved rounds")
    print(f"{os.cpu_count()} CPUs ({cpu_model}); load average before the rounds "
          f"{loads.get('load_start', '?')}, after the profiles {loads.get('load_end', '?')}; "
          "files in the page cache")
    print()
    for name, what in (("handshake", "handshake-heavy"), ("bulk", "bulk")):
        g = gens[name]
        t = g["totals"]
        print(f"- {what}: {g['file_bytes'] / 1e6:,.0f} MB, {fmt_int(g['packets'])} packets, "
              f"{fmt_int(t['connections'])} connections ({fmt_int(t['tls'])} TLS, "
              f"{fmt_int(t['http'])} HTTP), up to {fmt_int(g['peak_open_connections'])} open at "
              f"once, {g['duration_s']} s of traffic at 1 Gbit/s")
    print()
    head = ("| input | tool | MB | wall s | MB/s | packets/s | CPU s | peak RSS MiB | x bare |")
    print(head)
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for inp in ("handshake", "bulk"):
        for tool, label in TOOLS:
            key_inp = inp + "-slice" if tool == "tshark" else inp
            if (key_inp, tool) not in runs:
                continue
            r0 = runs[(key_inp, tool)][0]
            wall = med(key_inp, tool, "wall")
            w = max(wall, 1e-6)
            mb = r0["bytes"] / 1e6
            if tool == "tshark":
                label += f" (first {mb:.0f} MB)"
            x = 1.0 if tool == "bare" else ratio(key_inp, tool)
            print(f"| {inp} | {label} | {mb:,.0f} | {wall:.3f} | {mb / w:,.0f} | "
                  f"{fmt_int(r0['packets'] / w)} | {med(key_inp, tool, 'cpu'):.2f} | "
                  f"{mib(med(key_inp, tool, 'rss_kb')):.1f} | {x:.2f} |")
    # other work on the machine shows as single-threaded tools waiting: wall well above CPU
    single = [r for (inp, tool), rs in runs.items() if tool in SINGLE_THREADED for r in rs]
    waited = [r for r in single if r["wall"] > 1.15 * r["cpu"] + 0.02]
    rounds_load = [loads[k].split()[0] for k in sorted(loads) if k.startswith("load_round")]
    print()
    print(f"Load average (1 min) at the start of each round: {', '.join(rounds_load) or '?'}. "
          f"Single-threaded runs whose wall time exceeds their CPU time by more than 15%: "
          f"{len(waited)} of {len(single)}"
          + (" (the machine was busy: the figures are slower than on an idle machine)."
             if len(waited) > len(single) // 10 else "."))
    print()
    print("x bare: in each round, the tool's wall time over the bare loop's on the same file in "
          "the same round (tshark: the bare loop on the same slice); the median of those ratios. "
          "CPU s is user + system of the process (mtlsdiag hashes its input in a second thread).")

    # memory: RSS against file size, and per live flow
    print()
    print("### Memory")
    growth = {}
    for inp in ("handshake", "bulk"):
        half = runs.get((inp + "-half", "mtlsdiag-json"))
        if not half:
            continue
        full_rss = med(inp, "mtlsdiag-json", "rss_kb")
        half_rss = half[0]["rss_kb"]
        full_mb = runs[(inp, "mtlsdiag-json")][0]["bytes"] / 1e6
        half_mb = half[0]["bytes"] / 1e6
        growth[inp] = full_rss / max(1, half_rss)
        print(f"- {inp}: peak RSS of mtlsdiag --format json {mib(half_rss):.1f} MiB on the first "
              f"{half_mb:,.0f} MB, {mib(full_rss):.1f} MiB on all {full_mb:,.0f} MB "
              f"(x{growth[inp]:.2f} for x{full_mb / half_mb:.2f} the bytes)")
    lo, hi = args.hold
    hold = {}
    for name, n in (("hold-lo", lo), ("hold-hi", hi)):
        r = runs.get((name, "mtlsdiag-json"))
        s = summary_of(os.path.join(args.run, f"report-{name}.tail"))
        if r:
            hold[name] = (n, r[0]["rss_kb"], s, r[0]["wall"])
    per_flow = None
    if len(hold) == 2:
        (n_lo, rss_lo, s_lo, w_lo), (n_hi, rss_hi, s_hi, w_hi) = hold["hold-lo"], hold["hold-hi"]
        per_flow = (rss_hi - rss_lo) * 1024 / (n_hi - n_lo)
        conns = gens["hold-hi"]["totals"]["connections"]
        for n, rss, s, w in hold.values():
            live = (s or {}).get("peak_live_flows")
            print(f"- {fmt_int(conns)} connections of the handshake mix, {fmt_int(n)} open at once "
                  f"after their handshake: peak RSS {mib(rss):.1f} MiB (peak_live_flows "
                  f"{fmt_int(live) if live is not None else '?'}, {w:.2f} s)")
        print(f"- per live flow: ({mib(rss_hi):.1f} - {mib(rss_lo):.1f}) MiB / "
              f"({fmt_int(n_hi)} - {fmt_int(n_lo)}) flows = **{per_flow:,.0f} bytes per live "
              "flow**")

    # targets
    print()
    print("### Targets")
    results = []

    def verdict(ok, how):
        results.append(ok)
        print(f"- {'MET' if ok else 'MISSED'}: {how}")

    for inp, target in TARGET_RATIO.items():
        for tool in ("mtlsdiag-text", "mtlsdiag-json", "mtlsdiag-text-nohash"):
            if (inp, tool) not in runs:
                continue
            x = ratio(inp, tool)
            ok = x <= target
            name = {"mtlsdiag-text": "mtlsdiag --format text",
                    "mtlsdiag-json": "mtlsdiag --format json",
                    "mtlsdiag-text-nohash": "mtlsdiag --no-hash --format text"}[tool]
            how = f"{name} within {target:g}x of the bare loop on {inp}: {x:.2f}x"
            if not ok:
                how += f", {x / target:.1f} times the target"
            verdict(ok, how)
    for inp, g in growth.items():
        ok = g <= RSS_GROWTH_OK
        verdict(ok, f"peak RSS not growing with the file ({inp}): x{g:.2f} from half to whole "
                    f"file (at most x{RSS_GROWTH_OK:.2f})")
    if per_flow is not None:
        ok = per_flow < PER_FLOW_OK
        how = f"under 1 KiB per live flow after its handshake: {per_flow:,.0f} bytes"
        if not ok:
            how += f", {per_flow / PER_FLOW_OK:.1f} times the target"
        verdict(ok, how)

    # profiles
    for inp in ("handshake", "bulk"):
        rows = top_symbols(os.path.join(args.run, f"profile-{inp}.txt"))
        if not rows:
            continue
        tool = {"perf": "perf record -g, whole file",
                "callgrind": "valgrind --tool=callgrind, first 20 MB"}.get(args.profiler,
                                                                          args.profiler)
        print()
        print(f"### Profile: mtlsdiag --format json on {inp} ({tool}), top 10 by self time")
        print("| self | symbol | object |")
        print("|--:|---|---|")
        for share, sym, obj in rows:
            print(f"| {share:.2f}% | `{sym}` | {obj} |")
        for by, what in (("comm", "by thread"), ("dso", "by object")):
            shares = top_shares(os.path.join(args.run, f"profile-{inp}-{by}.txt"))
            if shares:
                print(f"{what}: " + ", ".join(f"{name} {share:.1f}%" for share, name in shares))
        print(f"(full report: {os.path.join(args.run, 'profile-' + inp + '.txt')})")

    # checks: mtlsdiag saw the connections the generator made, with their facts
    print()
    print("### Checks")
    all_ok = True
    for inp in ("handshake", "bulk"):
        s = summary_of(os.path.join(args.run, f"report-{inp}.tail"))
        totals = gens[inp]["totals"]
        if s is None:
            print(f"- FAIL: {inp}: no summary at the end of mtlsdiag's JSON report")
            all_ok = False
            continue
        got, want = s.get("connections"), totals["connections"]
        ok = got == want
        all_ok &= ok
        print(f"- {'OK' if ok else 'FAIL'}: {inp}: mtlsdiag counted {got} connections, the "
              f"generator made {want}")
        # facts of the copies against the templates' truth (captures/expected.json); a
        # difference is printed, not fatal: the captures suite checks correctness
        for what, got_v, want_v in (
                ("tls connections", s.get("tls_connections"), totals["tls"]),
                ("http connections", s.get("http_connections"), totals["http"]),
                ("tls versions", s.get("tls_versions"), totals["tls_versions"]),
                ("requested x presented", nonzero(s.get("requested_presented")),
                 nonzero(totals["tls_requested_presented"]))):
            if got_v == want_v:
                print(f"- OK: {inp}: {what}: {json.dumps(want_v, sort_keys=True)}")
            else:
                print(f"- DIFFERS: {inp}: {what}: mtlsdiag {json.dumps(got_v, sort_keys=True)}, "
                      f"generator {json.dumps(want_v, sort_keys=True)}")
    for name, (n, _, s, _) in hold.items():
        want = gens[name]["totals"]["connections"]
        got = (s or {}).get("connections")
        live = (s or {}).get("peak_live_flows")
        ok = got == want
        all_ok &= ok
        print(f"- {'OK' if ok else 'FAIL'}: {name}: mtlsdiag counted {got} connections, the "
              f"generator made {want}; peak_live_flows {live} (the file holds {n} open)")
    met = sum(results)
    print()
    print(f"targets met: {met} of {len(results)}; checks: {'OK' if all_ok else 'FAIL'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
