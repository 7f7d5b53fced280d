#!/bin/bash
# run-bench.sh: mtlsdiag's speed and memory beside a bare libpcap loop, tcpdump, tshark and
# ndpiReader, on generated captures, in one run that prints one table.
#
# usage: run-bench.sh MTLSDIAG PCAP_COUNT SRCROOT   (meson test -C build --benchmark runs it)
#
# Inputs, made by tests/bench/make-bench-capture.py from the real handshakes in SRCROOT/captures
# (deterministic; sizes at BENCH_SCALE=1):
#   handshake  1100 MB, 171,462 short connections (2.6 million packets): TLS 1.2 and 1.3 with a
#              client certificate, with an empty list, not requested, rejected, unknown CA
#              (154,316 TLS), and 10% plain HTTP, 4,000 open at once;
#   bulk       2000 MB, 2,127 long TLS connections carrying 16 KB application-data records, 256
#              open at once;
#   hold-10k, hold-100k  the same 100,000 connections of the handshake mix, opened 10,000 or
#              100,000 at a time (everything up to the first FIN, then the ends): the difference
#              of mtlsdiag's peak RSS on the two, over 90,000, is its memory per live flow;
#   the first half of handshake and bulk (peak RSS must not grow with the file), and their first
#   MTD_BENCH_SLICE_MB (100) MB for tshark, which is too slow and too big for the whole files.
#
# Rounds: MTD_BENCH_ROUNDS (5) times, round-robin over the tools on each input: the bare
# pcap_next_ex loop (PCAP_COUNT, the floor), `tcpdump -r FILE -w /dev/null`, `mtlsdiag analyze
# --format text`, `--format json` and `--no-hash --format text` (report to /dev/null),
# `ndpiReader -i FILE`, then on the slice the bare loop again and
# `tshark -r SLICE -Y tls.handshake.type==13`.  Each run is
# spawned by bench-run.c (compiled here with cc), which reads wall time, user + system CPU and
# peak RSS from wait4.  The table shows medians; "x bare" is the median over rounds of the
# tool's wall time divided by the bare loop's on the same file in the same round.  Then once:
# mtlsdiag on the halves and on the hold files, and `perf record -g` of mtlsdiag on both inputs
# (valgrind's callgrind on a 20 MB slice when perf cannot record) for the top 10 symbols by self
# time; its JSON reports must count the connections with the facts the generator made.
# The footer says which targets are met: mtlsdiag within 2x of the bare loop on handshake and
# within 1.2x on bulk, peak RSS not growing with the file, under 1 KiB per live flow.
#
# Optional tools, each row left out when missing: tcpdump, tshark (Debian package tshark),
# ndpiReader (Debian package libndpi-bin, the nDPI 4.2 that mtlsdiag links; installed for the
# benchmark only, not a dependency of mtlsdiag), perf (linux-perf) or valgrind.
#
# Environment: BENCH_SCALE (1.0) shrinks every input and the hold counts, e.g. 0.05 for a quick
# run; MTD_BENCH_ROUNDS (5); MTD_BENCH_SLICE_MB (100); MTD_BENCH_PROFILE (1; 0 skips it);
# MTD_BENCH_DIR (${TMPDIR:-/tmp}/mtlsdiag-bench): the work directory, kept after the run.  Its
# inputs-SCALE/ holds the inputs, reused while the generator is unchanged; run-SCALE/ this run's
# results: table.txt, results.txt (one line per run), profile-*.txt (perf report by symbol,
# and by thread and object), report-*.tail.
#
# Exit status: 0 when everything ran and mtlsdiag's counts match the generator's (targets that
# are missed are reported, not failed), 1 when something failed, 77 (skip) when python3 or a C
# compiler is missing.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 MTLSDIAG PCAP_COUNT SRCROOT" >&2
  exit 2
fi
BIN=$1
PCAP_COUNT=$2
SRCROOT=$3
SCALE=${BENCH_SCALE:-1.0}
ROUNDS=${MTD_BENCH_ROUNDS:-5}
SLICE_MB=${MTD_BENCH_SLICE_MB:-100}
PROFILE=${MTD_BENCH_PROFILE:-1}
BENCH_DIR=${MTD_BENCH_DIR:-${TMPDIR:-/tmp}/mtlsdiag-bench}
HERE="$SRCROOT/tests/bench"
GEN="$HERE/make-bench-capture.py"
CC=${CC:-cc}

say() { echo "run-bench: $*" >&2; }
fail() { say "$*"; exit 1; }

command -v python3 >/dev/null || { say "python3 is missing (apt-get install python3)"; exit 77; }
command -v "$CC" >/dev/null || { say "no C compiler ($CC) for bench-run.c"; exit 77; }
[ -x "$BIN" ] || fail "$BIN: not an executable (build mtlsdiag first: ninja -C build)"
[ -x "$PCAP_COUNT" ] || fail "$PCAP_COUNT: not an executable"
[ -f "$GEN" ] || fail "$GEN: missing"
case $ROUNDS in ''|*[!0-9]*|0) fail "MTD_BENCH_ROUNDS=$ROUNDS: expected a whole number >= 1";; esac
case $SLICE_MB in ''|*[!0-9]*|0) fail "MTD_BENCH_SLICE_MB=$SLICE_MB: expected whole MB >= 1";; esac

# sizes: handshake MB, bulk MB, hold counts (the larger is ten times the smaller)
read -r HS_MB BULK_MB HOLD_HI HOLD_LO <<<"$(python3 - "$SCALE" <<'EOF'
import sys
try:
    s = float(sys.argv[1])
except ValueError:
    s = -1
if not 0.001 <= s <= 10:
    print("bad")
    sys.exit(0)
hi = max(1000, round(100000 * s / 1000) * 1000)
print(max(2, round(1100 * s)), max(2, round(2000 * s)), hi, hi // 10)
EOF
)"
[ "$HS_MB" != bad ] || fail "BENCH_SCALE=$SCALE: expected a number from 0.001 to 10"

HAVE_TCPDUMP=0; command -v tcpdump >/dev/null && HAVE_TCPDUMP=1
HAVE_TSHARK=0; command -v tshark >/dev/null && HAVE_TSHARK=1
HAVE_NDPI=0; command -v ndpiReader >/dev/null && HAVE_NDPI=1
[ $HAVE_TCPDUMP = 1 ] || say "tcpdump not found: its rows are left out (apt-get install tcpdump)"
[ $HAVE_TSHARK = 1 ] || say "tshark not found: its rows are left out (apt-get install tshark)"
[ $HAVE_NDPI = 1 ] || say "ndpiReader not found: its rows are left out (apt-get install libndpi-bin)"

IN="$BENCH_DIR/inputs-$SCALE"
RUN="$BENCH_DIR/run-$SCALE"
mkdir -p "$IN" "$RUN"
rm -f "$RUN"/*

# Inputs are kept between runs; the key names everything they are made from.
key=$( { cat "$GEN" "$SRCROOT/captures/expected.json"
         echo "hs=$HS_MB bulk=$BULK_MB hold=$HOLD_LO/$HOLD_HI slice=$SLICE_MB"; } | sha256sum)
if [ "$(cat "$IN/key" 2>/dev/null)" != "$key" ]; then
  rm -f "$IN"/*
  # the inputs, halves and slices, and the JSON reports' tails, with some room to spare
  need_mb=$(( (HS_MB + BULK_MB) * 3 / 2 + 2 * SLICE_MB + 12 * HOLD_HI / 1000 + 500 ))
  free_mb=$(( $(df -Pk "$IN" | awk 'NR == 2 { print $4 }') / 1000 ))
  [ "$free_mb" -ge "$need_mb" ] ||
    fail "$IN: $free_mb MB free, the inputs need about $need_mb MB (MTD_BENCH_DIR, BENCH_SCALE)"
  say "generating the inputs in $IN (BENCH_SCALE=$SCALE)"
  gen() { python3 "$GEN" --captures "$SRCROOT/captures" "$@" >/dev/null || fail "generator failed: $*"; }
  gen --mode handshake --mb "$HS_MB" --concurrency 4000 \
    --summary-json "$IN/handshake.json" "$IN/handshake.pcap"
  gen --mode bulk --mb "$BULK_MB" --bulk-lanes 256 --bulk-records 30-90 \
    --summary-json "$IN/bulk.json" "$IN/bulk.pcap"
  gen --mode hold --connections "$HOLD_HI" --hold "$HOLD_LO" \
    --summary-json "$IN/hold-lo.json" "$IN/hold-lo.pcap"
  gen --mode hold --connections "$HOLD_HI" --hold "$HOLD_HI" \
    --summary-json "$IN/hold-hi.json" "$IN/hold-hi.pcap"
  # the first half of the bytes, and the first SLICE_MB, cut at a record boundary
  python3 - "$IN" "$SLICE_MB" <<'EOF'
import os
import struct
import sys

folder, slice_mb = sys.argv[1], int(sys.argv[2])

def head(src, dst, max_bytes):
    with open(src, "rb") as f:
        data = f.read(max_bytes + 16)
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        sys.exit(f"{src}: not a little-endian classic pcap")
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        if off + 16 + incl > max_bytes:
            break
        off += 16 + incl
    with open(dst, "wb") as f:
        f.write(memoryview(data)[:off])

for name in ("handshake", "bulk"):
    src = os.path.join(folder, name + ".pcap")
    size = os.path.getsize(src)
    head(src, os.path.join(folder, name + "-half.pcap"), size // 2)
    head(src, os.path.join(folder, name + "-slice.pcap"), min(size, slice_mb * 1_000_000))
EOF
  echo "$key" >"$IN/key"
else
  say "reusing the inputs in $IN"
fi

# Copies, so that a rebuild while the benchmark runs cannot change what is measured.
cp "$BIN" "$RUN/mtlsdiag"
cp "$PCAP_COUNT" "$RUN/pcap-count"
MTD="$RUN/mtlsdiag"
COUNT="$RUN/pcap-count"
"$CC" -std=gnu11 -O2 -o "$RUN/bench-run" "$HERE/bench-run.c" || fail "cannot compile bench-run.c"
BRUN="$RUN/bench-run"
RESULTS="$RUN/results.txt"   # round input tool file_bytes packets wall_ns user_us sys_us rss_kb
: >"$RESULTS"

# warm the page cache so that no tool pays for the first read from disk
cat "$IN"/*.pcap >/dev/null
declare -A PACKETS
for f in "$IN"/*.pcap; do
  out=$("$COUNT" "$f") || fail "$COUNT $f failed"
  set -- $out
  PACKETS[$(basename "$f" .pcap)]=$2
done

# measure ROUND INPUT TOOL OK_STATUSES CMD...: runs CMD (output to /dev/null) under bench-run
measure() {
  local round=$1 input=$2 tool=$3 ok=$4
  shift 4
  rm -f "$RUN/time.out"
  "$BRUN" "$RUN/time.out" "$@" >/dev/null 2>"$RUN/stderr.out" || true
  record "$round" "$input" "$tool" "$ok" "$*"
}
# record ROUND INPUT TOOL OK_STATUSES CMDLINE: checks and keeps the line bench-run wrote
record() {
  local status wall user sys rss
  read -r status wall user sys rss <"$RUN/time.out" || fail "$3: bench-run wrote nothing"
  case " $4 " in
    *" $status "*) ;;
    *) cat "$RUN/stderr.out" >&2
       fail "$3: exit status $status from: $5";;
  esac
  echo "$1 $2 $3 $(stat -c %s "$IN/$2.pcap") ${PACKETS[$2]} $wall $user $sys $rss" >>"$RESULTS"
}

say "load average before the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load_start $(cut -d' ' -f1-3 /proc/loadavg)" >"$RUN/load.txt"
# mtlsdiag exits 1 when it finds a client-certificate problem, which the inputs have on purpose.
for round in $(seq 1 "$ROUNDS"); do
  say "round $round of $ROUNDS"
  echo "load_round$round $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/load.txt"
  for input in handshake bulk; do
    f="$IN/$input.pcap"
    measure "$round" "$input" bare 0 "$COUNT" "$f"
    [ $HAVE_TCPDUMP = 0 ] || measure "$round" "$input" tcpdump 0 tcpdump -r "$f" -w /dev/null
    measure "$round" "$input" mtlsdiag-text "0 1" "$MTD" analyze --format text -o /dev/null "$f"
    measure "$round" "$input" mtlsdiag-json "0 1" "$MTD" analyze --format json -o /dev/null "$f"
    measure "$round" "$input" mtlsdiag-text-nohash "0 1" "$MTD" analyze --no-hash --format text \
      -o /dev/null "$f"
    [ $HAVE_NDPI = 0 ] || measure "$round" "$input" ndpiReader 0 ndpiReader -i "$f"
    if [ $HAVE_TSHARK = 1 ]; then
      s="$IN/$input-slice.pcap"
      measure "$round" "$input-slice" bare 0 "$COUNT" "$s"
      measure "$round" "$input-slice" tshark 0 tshark -r "$s" -Y 'tls.handshake.type==13'
    fi
  done
done

# run_json INPUT TOOL: mtlsdiag --format json, once, its report's tail kept for the checks
run_json() {
  local input=$1 tool=$2
  rm -f "$RUN/time.out"
  "$BRUN" "$RUN/time.out" "$MTD" analyze --format json "$IN/$input.pcap" 2>"$RUN/stderr.out" |
    tail -c 1000000 >"$RUN/report-$input.tail" || true
  record once "$input" "$tool" "0 1" "mtlsdiag analyze --format json $IN/$input.pcap"
}
say "mtlsdiag on the halves and on the hold files (once each)"
for input in handshake-half bulk-half hold-lo hold-hi; do
  run_json "$input" mtlsdiag-json
done

# profile INPUT: the top symbols by self time, and the report's tail for the checks
PROFILER=none
if [ "$PROFILE" != 0 ]; then
  if command -v perf >/dev/null &&
     perf record -q -o "$RUN/perf-probe.data" -- true >/dev/null 2>&1; then
    PROFILER=perf
  elif command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    PROFILER=callgrind
  else
    say "neither perf nor valgrind can profile here: no profile"
  fi
  rm -f "$RUN/perf-probe.data"
fi
for input in handshake bulk; do
  f="$IN/$input.pcap"
  case $PROFILER in
    perf)
      say "perf record -g: mtlsdiag --format json on $input"
      perf record -q -g -o "$RUN/perf-$input.data" -- \
        "$MTD" analyze --format json "$f" 2>"$RUN/stderr.out" |
        tail -c 1000000 >"$RUN/report-$input.tail" || true
      perf report -i "$RUN/perf-$input.data" --no-children --sort dso,symbol -g none --stdio \
        >"$RUN/profile-$input.txt" 2>/dev/null || fail "perf report failed on $input"
      for by in comm dso; do   # shares per thread and per object
        perf report -i "$RUN/perf-$input.data" --no-children --sort "$by" -g none --stdio \
          >"$RUN/profile-$input-$by.txt" 2>/dev/null || fail "perf report failed on $input"
      done
      rm -f "$RUN/perf-$input.data"
      ;;
    callgrind)
      say "valgrind --tool=callgrind: mtlsdiag --format json on 20 MB of $input"
      python3 - "$f" "$RUN/cg-$input.pcap" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read(20_000_000 + 16)
off = 24
while off + 16 <= len(data):
    incl = struct.unpack_from("<I", data, off + 8)[0]
    if off + 16 + incl > 20_000_000:
        break
    off += 16 + incl
open(sys.argv[2], "wb").write(data[:off])
EOF
      valgrind -q --tool=callgrind --callgrind-out-file="$RUN/callgrind-$input.out" \
        "$MTD" analyze --format json -o /dev/null "$RUN/cg-$input.pcap" 2>/dev/null || true
      callgrind_annotate --inclusive=no "$RUN/callgrind-$input.out" >"$RUN/profile-$input.txt" ||
        fail "callgrind_annotate failed on $input"
      rm -f "$RUN/cg-$input.pcap" "$RUN/callgrind-$input.out"
      ;;
  esac
  if [ ! -s "$RUN/report-$input.tail" ]; then
    "$MTD" analyze --format json "$f" 2>"$RUN/stderr.out" |
      tail -c 1000000 >"$RUN/report-$input.tail" || true
  fi
done
echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RUN/load.txt"

python3 "$HERE/bench-report.py" --results "$RESULTS" --inputs "$IN" --run "$RUN" \
  --scale "$SCALE" --rounds "$ROUNDS" --profiler "$PROFILER" --hold "$HOLD_LO" "$HOLD_HI" \
  | tee "$RUN/table.txt"
status=${PIPESTATUS[0]}
say "work directory: $RUN (inputs in $IN)"
exit "$status"
