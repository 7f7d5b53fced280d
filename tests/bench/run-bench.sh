#!/bin/bash
# run-bench.sh: mtlsdiag's throughput and memory beside a bare libpcap loop and tshark, in one run.
#
# usage: run-bench.sh MTLSDIAG PCAP_COUNT SRCROOT   (meson test -C build --benchmark runs it)
#
# Generates a capture of MTD_BENCH_MB MB (600) from the real handshakes in SRCROOT/captures with
# tests/bench/make-bench-capture.py, then runs, interleaved (A B C A B C ...) for MTD_BENCH_ROUNDS
# rounds (3), the bare read loop (PCAP_COUNT), `mtlsdiag analyze --format json` and `--format
# text`, and reports the median wall time, CPU time and peak RSS of each, measured with GNU time.
# When tshark is installed it also runs `tshark -Y tls.handshake.type==13` once, on the first
# MTD_BENCH_TSHARK_MB MB (100) of the capture, reported per MB.  mtlsdiag is also run once on a
# capture of half the size, to show that its peak RSS does not grow with the file, and once with
# its JSON report kept, whose connection count must equal the generator's.  Timestamps follow a
# link of MTD_BENCH_LINK_MBPS Mbit/s (1000), which sets how many connections start per second.
#
# Exit status: 0 when everything ran and the counts match, 1 when something failed, 77 (skip)
# when a needed tool is missing.  All files live in a temporary directory removed on exit.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 MTLSDIAG PCAP_COUNT SRCROOT" >&2
  exit 2
fi
BIN=$1
PCAP_COUNT=$2
SRCROOT=$3
MB=${MTD_BENCH_MB:-600}
ROUNDS=${MTD_BENCH_ROUNDS:-3}
TSHARK_MB=${MTD_BENCH_TSHARK_MB:-100}
LINK_MBPS=${MTD_BENCH_LINK_MBPS:-1000}   # spaces the timestamps: 600 MB last 4.9 s at 1 Gbit/s
GEN="$SRCROOT/tests/bench/make-bench-capture.py"
TIME=/usr/bin/time

say() { echo "run-bench: $*" >&2; }
fail() { say "$*"; exit 1; }

if ! "$TIME" -f '%e' true >/dev/null 2>&1; then
  say "$TIME (GNU time) is missing; it measures peak RSS. Install it with:"
  say "  apt-get install time        (Debian/Ubuntu package \"time\")"
  exit 77
fi
command -v python3 >/dev/null || { say "python3 is missing (apt-get install python3)"; exit 77; }
[ -x "$BIN" ] || fail "$BIN: not an executable (build mtlsdiag first: ninja -C build)"
[ -x "$PCAP_COUNT" ] || fail "$PCAP_COUNT: not an executable"
[ -f "$GEN" ] || fail "$GEN: missing"
case $MB in ''|*[!0-9]*) fail "MTD_BENCH_MB=$MB: expected a whole number of MB";; esac
[ "$MB" -ge 2 ] || fail "MTD_BENCH_MB=$MB: too small"

HAVE_TSHARK=0
if command -v tshark >/dev/null && command -v editcap >/dev/null; then
  HAVE_TSHARK=1
else
  say "tshark/editcap not found: the tshark row is left out (apt-get install tshark)"
fi

TMP_PARENT=${TMPDIR:-/tmp}
# full + half + tshark slice + reports, with some room to spare
need_kb=$(( (MB + MB / 2 + TSHARK_MB + 100) * 1000 ))
free_kb=$(df -Pk "$TMP_PARENT" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
  fail "$TMP_PARENT: $((free_kb / 1000)) MB free, the benchmark needs about $((need_kb / 1000)) MB (set TMPDIR or MTD_BENCH_MB)"
fi
WORK=$(mktemp -d "$TMP_PARENT/mtd-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

CAP="$WORK/bench.pcap"
HALF="$WORK/half.pcap"
SLICE="$WORK/slice.pcap"
RESULTS="$WORK/results.txt"   # tool file_bytes packets wall_ns user sys rss_kb, one per run
: >"$RESULTS"

say "generating a ${MB} MB capture in $WORK"
python3 "$GEN" --mb "$MB" --link-mbps "$LINK_MBPS" --captures "$SRCROOT/captures" \
  --summary-json "$WORK/gen.json" "$CAP"
python3 "$GEN" --mb $((MB / 2)) --link-mbps "$LINK_MBPS" --captures "$SRCROOT/captures" \
  --summary-json "$WORK/gen-half.json" "$HALF" >/dev/null

file_bytes() { stat -c %s "$1"; }
CAP_BYTES=$(file_bytes "$CAP")
HALF_BYTES=$(file_bytes "$HALF")

# The bare loop is also the reference for the packet count of each file.
count_packets() {
  local out
  out=$("$PCAP_COUNT" "$1") || fail "$PCAP_COUNT $1 failed"
  set -- $out
  echo "$2"
}
# warm the page cache so that no tool pays for the first read from disk
cat "$CAP" "$HALF" >/dev/null
CAP_PACKETS=$(count_packets "$CAP")
HALF_PACKETS=$(count_packets "$HALF")

# measure TOOL FILE OK_STATUSES CMD...: runs CMD under GNU time, appends one line to RESULTS.
measure() {
  local tool=$1 file=$2 packets=$3 ok=$4
  shift 4
  local status=0 t0 t1
  # wall time from the clock in ns (GNU time's %e has 10 ms steps); CPU and RSS from GNU time
  t0=$(date +%s%N)
  "$TIME" -f '%U %S %M' -o "$WORK/time.out" "$@" >/dev/null 2>"$WORK/stderr.out" || status=$?
  t1=$(date +%s%N)
  case " $ok " in
    *" $status "*) ;;
    *) cat "$WORK/stderr.out" >&2
       fail "$tool: exit status $status from: $*";;
  esac
  # GNU time writes "Command exited with non-zero status N" before its line when N != 0
  echo "$tool $(file_bytes "$file") $packets $((t1 - t0)) $(tail -n 1 "$WORK/time.out")" \
    >>"$RESULTS"
}

# mtlsdiag exits 1 when it finds a client-certificate problem, which this capture has on purpose.
for round in $(seq 1 "$ROUNDS"); do
  say "round $round of $ROUNDS"
  measure pcap-count "$CAP" "$CAP_PACKETS" 0 "$PCAP_COUNT" "$CAP"
  measure mtlsdiag-json "$CAP" "$CAP_PACKETS" "0 1" \
    "$BIN" analyze --format json -o /dev/null "$CAP"
  measure mtlsdiag-text "$CAP" "$CAP_PACKETS" "0 1" \
    "$BIN" analyze --format text -o /dev/null "$CAP"
done

say "mtlsdiag on the half-size capture"
measure mtlsdiag-json-half "$HALF" "$HALF_PACKETS" "0 1" \
  "$BIN" analyze --format json -o /dev/null "$HALF"

if [ "$HAVE_TSHARK" = 1 ]; then
  if [ "$MB" -gt "$TSHARK_MB" ]; then
    n=$(( CAP_PACKETS * TSHARK_MB / MB ))
    editcap -r "$CAP" "$SLICE" "1-$n" >/dev/null 2>&1 || fail "editcap could not cut $CAP"
  else
    cp "$CAP" "$SLICE"
  fi
  SLICE_PACKETS=$(count_packets "$SLICE")
  say "tshark on a $(( $(file_bytes "$SLICE") / 1000000 )) MB slice (once)"
  measure tshark "$SLICE" "$SLICE_PACKETS" 0 tshark -r "$SLICE" -Y 'tls.handshake.type==13'
fi

say "mtlsdiag once more, keeping its JSON report for the sanity check"
status=0
"$BIN" analyze --format json -o "$WORK/report.json" "$CAP" >/dev/null 2>"$WORK/stderr.out" || status=$?
if [ "$status" -gt 1 ]; then
  cat "$WORK/stderr.out" >&2
  fail "mtlsdiag analyze --format json -o FILE exited with status $status"
fi

python3 - "$RESULTS" "$WORK/gen.json" "$WORK/gen-half.json" "$WORK/report.json" "$MB" <<'EOF'
import json
import statistics
import sys

results_path, gen_path, gen_half_path, report_path, mb = sys.argv[1:6]
runs = {}
for line in open(results_path):
    tool, fbytes, packets, wall_ns, user, sys_s, rss = line.split()
    runs.setdefault(tool, []).append((int(fbytes), int(packets), int(wall_ns) / 1e9,
                                      float(user) + float(sys_s), int(rss)))

def median(tool):
    r = runs[tool]
    return (r[0][0], r[0][1], statistics.median(x[2] for x in r),
            statistics.median(x[3] for x in r), statistics.median(x[4] for x in r), len(r))

labels = {
    "pcap-count": "pcap-count (bare libpcap loop)",
    "mtlsdiag-json": "mtlsdiag analyze --format json",
    "mtlsdiag-text": "mtlsdiag analyze --format text",
    "tshark": "tshark -Y tls.handshake.type==13",
}
base = median("pcap-count")
base_s_per_mb = base[2] / (base[0] / 1e6)
print()
print(f"mtlsdiag benchmark: {mb} MB capture, median of {base[5]} interleaved rounds "
      "(tshark: one run on a slice)")
head = (f"| {'tool':34} | {'MB':>6} | {'wall s':>7} | {'MB/s':>7} | {'packets/s':>10} | "
        f"{'CPU s':>7} | {'peak RSS MiB':>12} | {'x bare':>7} |")
print(head)
print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
for tool in ("pcap-count", "mtlsdiag-json", "mtlsdiag-text", "tshark"):
    if tool not in runs:
        continue
    fbytes, packets, wall, cpu, rss, n = median(tool)
    file_mb = fbytes / 1e6
    w = max(wall, 0.01)
    ratio = (wall / file_mb) / base_s_per_mb if base_s_per_mb > 0 else float("nan")
    print(f"| {labels[tool]:34} | {file_mb:6.0f} | {wall:7.2f} | {file_mb / w:7.1f} | "
          f"{packets / w:10.0f} | {cpu:7.2f} | {rss / 1024:12.1f} | {ratio:7.1f} |")
print("(x bare: wall seconds per MB divided by the bare loop's; tshark's is per MB of its slice)")

full = median("mtlsdiag-json")
half = median("mtlsdiag-json-half")
gen = json.load(open(gen_path))
gen_half = json.load(open(gen_half_path))
print(f"peak RSS of mtlsdiag --format json: {half[4] / 1024:.1f} MiB on {half[0] / 1e6:.0f} MB "
      f"({gen_half['totals']['connections']} connections, {gen_half['duration_s']:.1f} s of "
      f"traffic), {full[4] / 1024:.1f} MiB on {full[0] / 1e6:.0f} MB "
      f"({gen['totals']['connections']} connections, {gen['duration_s']:.1f} s): "
      f"x{full[4] / max(1, half[4]):.2f} for x{full[0] / max(1, half[0]):.2f} the bytes")

# Sanity check: mtlsdiag saw the connections the generator made (JSON schema_version 1).
try:
    report = json.load(open(report_path))
except (OSError, ValueError) as e:
    print(f"sanity: FAIL: mtlsdiag's JSON report could not be read: {e}")
    sys.exit(1)
summary = report.get("summary") if isinstance(report, dict) else None
if not isinstance(summary, dict):
    print("sanity: FAIL: mtlsdiag's JSON report has no summary object")
    sys.exit(1)
totals = gen["totals"]
want = totals["connections"]
got = summary.get("connections")
listed = report.get("connections")
n_listed = len(listed) if isinstance(listed, list) else None
ok = got == want and n_listed in (None, want)
print(f"sanity: {'OK' if ok else 'FAIL'}: mtlsdiag counted {got} connections "
      f"({n_listed} listed), the generator made {want}")

# The facts of the copies, against the templates' truth from captures/expected.json.  A
# difference is printed, not fatal: the benchmark measures speed, the captures suite correctness.
def nonzero(matrix):
    return {r: {p: n for p, n in row.items() if n} for r, row in (matrix or {}).items()
            if any(row.values())}

facts = [
    ("tls connections", summary.get("tls_connections"), totals["tls"]),
    ("http connections", summary.get("http_connections"), totals["http"]),
    ("tls versions", summary.get("tls_versions"), totals["tls_versions"]),
    ("requested x presented", nonzero(summary.get("requested_presented")),
     nonzero(totals["tls_requested_presented"])),
]
for what, got_v, want_v in facts:
    if got_v == want_v:
        print(f"facts: OK: {what}: {json.dumps(want_v, sort_keys=True)}")
    else:
        print(f"facts: DIFFERS: {what}: mtlsdiag {json.dumps(got_v, sort_keys=True)}, "
              f"generator {json.dumps(want_v, sort_keys=True)}")
sys.exit(0 if ok else 1)
EOF
