#!/usr/bin/env python3
"""make-bench-capture.py - large classic pcaps built from mtlsdiag's real sample handshakes.

Plain python3, standard library only.  Reads the real loopback captures in captures/ (classic
pcap, link type EN10MB, Ethernet + IPv4 + TCP) and writes one large classic pcap of copies of
them.  --mode chooses the traffic:

  * mixed (the default, used by tests/test_chains.py): short connections, tens of thousands of
    copies of the template connections (TLS 1.2 and 1.3 with a client certificate presented, an
    empty one, none requested, rejected, unknown CA, and plain HTTP), and bulk connections, copies
    of the successful TLS templates with encrypted application data (records of type 23, ~16 KB
    each, split into 1448-byte TCP segments with delayed ACKs) inserted before the closing alert,
    so that most of the bytes are bulk data;
  * handshake: short connections only, mostly failures (see HANDSHAKE_TLS_KINDS) and
    --http-share of plain HTTP, CONCURRENCY open at once: about 156 connections per MB;
  * bulk: bulk connections only, --bulk-lanes of them open at once;
  * hold: --connections short connections of the handshake mix, opened in batches of --hold:
    every connection of a batch sends everything up to its first FIN (the handshake is over, the
    connection still open), then they close one after the other.  Two files that differ only in --hold
    have the same connections, addresses and sequence numbers, so the difference of a tool's peak
    memory on them is what --hold extra open connections cost.

Every copy keeps its template's bytes; only the client address and port, the server address and
port (443, or 80 for HTTP), the sequence numbers (a random initial number per direction, applied
to seq and ack alike) and the IPv4 checksum are rewritten.  TCP checksums are left as they are
(loopback captures already carry unfinished ones).  Every copy is a distinct 5-tuple.  Connections
are interleaved round-robin: lanes of short and bulk connections each emit one step per round, so
thousands of connections are open at any time, and timestamps grow with the bytes at the link
rate (--link-mbps, 1 Gbit/s).  The output depends only on the options (--seed, 1).

The expected facts (cert_requested, cert_presented, ...) of each kind come from
captures/expected.json.  A summary goes to standard output, and as JSON to --summary-json.

usage: make-bench-capture.py [--mode mixed|handshake|bulk|hold] [--mb 500] [--seed 1] OUT.pcap
"""
import argparse
import json
import os
import random
import struct
import sys
import time

# Short connection kinds and their weights in the mix.
SHORT_KINDS = [
    ("tls12-presented", 3), ("tls13-presented", 3),
    ("tls12-no-request", 3), ("tls13-no-request", 3),
    ("tls12-empty", 1), ("tls13-empty", 1),
    ("tls12-rejected", 1), ("tls13-rejected", 1),
    ("tls12-unknown-ca", 1), ("tls13-unknown-ca", 1),
    ("http-200", 1), ("http-redirect", 1),
]
# TLS kinds of --mode handshake and hold, and their weights: more failures than successes, as
# the traffic mtlsdiag is pointed at (about 5.9 KB per connection).
HANDSHAKE_TLS_KINDS = [
    ("tls12-presented", 3), ("tls13-presented", 3),
    ("tls12-no-request", 2), ("tls13-no-request", 2),
    ("tls12-empty", 1), ("tls13-empty", 1),
    ("tls12-rejected", 3), ("tls13-rejected", 3),
    ("tls12-unknown-ca", 2), ("tls13-unknown-ca", 2),
]
HTTP_KINDS = ["http-200", "http-redirect"]
# Templates that complete their handshake and can carry bulk application data.
BULK_KINDS = ["tls12-presented", "tls13-presented", "tls12-no-request", "tls13-no-request"]

ETH_LEN = 14
IP_OFF = 14
TCP_OFF = 34           # templates have IPv4 headers without options (checked)
MSS = 1448             # segment payload of the bulk data (1500 MTU, TCP timestamps)
SEGS_PER_STEP = 8      # bulk segments a lane emits per round
ACK_EVERY = 2          # the receiver ACKs every second segment (delayed ACK)
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

PCAP_HDR = struct.Struct("<IIII")          # ts_sec, ts_usec, incl_len, orig_len
# IPv4 checksum, src, dst, TCP sport, dport, seq, ack: contiguous from offset 24 to 46.
FIELDS = struct.Struct(">HIIHHII")
FIELDS_OFF = 24
IP_TOTLEN = struct.Struct(">H")


def die(msg):
    print(f"make-bench-capture: {msg}", file=sys.stderr)
    sys.exit(2)


def read_pcap(path):
    """Returns (linktype, [(ts_usec, bytes)]) of a classic pcap file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 24:
        die(f"{path}: too short for a pcap header")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", buf[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        die(f"{path}: not a classic pcap file")
    scale = 1000 if magic == 0xA1B23C4D else 1
    linktype = struct.unpack(endian + "I", buf[20:24])[0]
    records = []
    off = 24
    while off + 16 <= len(buf):
        ts_sec, ts_frac, incl, orig = struct.unpack(endian + "IIII", buf[off:off + 16])
        off += 16
        if incl != orig or off + incl > len(buf):
            die(f"{path}: record {len(records) + 1} is cut short; templates must be whole")
        records.append((ts_sec * 1_000_000 + ts_frac // scale, buf[off:off + incl]))
        off += incl
    return linktype, records


def ip_words_sum(header):
    return sum(struct.unpack(">10H", header[:20]))


class Pkt:
    """One template packet, with everything that a copy rewrites taken out."""
    __slots__ = ("base", "wire_len", "is_c2s", "seq_rel", "ack_rel", "csum_part", "flags",
                 "payload_len")


class Template:
    """One template connection (a capture of exactly one TCP connection) and its facts."""

    def __init__(self, name, path, facts, server_ip, server_port):
        linktype, records = read_pcap(path)
        if linktype != 1:
            die(f"{path}: link type {linktype}, the generator needs EN10MB (1)")
        self.name = name
        self.facts = facts
        self.server_ip = server_ip
        self.server_port = server_port
        self.pkts = []
        self.first_usec = records[0][0]
        first = records[0][1]
        self._check(path, first)
        c_ip, s_ip = struct.unpack(">II", first[26:34])
        c_port, s_port = struct.unpack(">HH", first[34:38])
        if first[47] & (TCP_SYN | TCP_ACK) != TCP_SYN:
            die(f"{path}: the first packet is not the client's SYN")
        c_isn = struct.unpack(">I", first[38:42])[0]
        s_isn = None
        for _, data in records:
            self._check(path, data)
            src_ip, dst_ip = struct.unpack(">II", data[26:34])
            sport, dport = struct.unpack(">HH", data[34:38])
            is_c2s = (src_ip, sport) == (c_ip, c_port)
            if not is_c2s and (src_ip, sport, dst_ip, dport) != (s_ip, s_port, c_ip, c_port):
                die(f"{path}: more than one connection")
            seq, ack = struct.unpack(">II", data[38:46])
            flags = data[47]
            if not is_c2s and s_isn is None:
                if flags & TCP_SYN == 0:
                    die(f"{path}: the server's first packet is not a SYN-ACK")
                s_isn = seq
            p = Pkt()
            p.is_c2s = is_c2s
            p.flags = flags
            own_isn, peer_isn = (c_isn, s_isn) if is_c2s else (s_isn, c_isn)
            p.seq_rel = (seq - own_isn) & 0xFFFFFFFF
            p.ack_rel = (ack - peer_isn) & 0xFFFFFFFF if flags & TCP_ACK else None
            p.payload_len = len(data) - TCP_OFF - (data[46] >> 4) * 4
            p.wire_len = len(data)
            base = bytearray(data)
            FIELDS.pack_into(base, FIELDS_OFF, 0, 0, 0, 0, 0, 0, 0)
            p.base = bytes(base)
            # checksum words of the header without the client address (added per copy)
            p.csum_part = ip_words_sum(p.base[IP_OFF:IP_OFF + 20]) + (server_ip >> 16) + (
                server_ip & 0xFFFF)
            self.pkts.append(p)
        # hold mode sends everything before the first FIN or RST, and the rest later
        self.first_end = next((i for i, p in enumerate(self.pkts) if p.flags & (TCP_FIN | TCP_RST)),
                              len(self.pkts))
        self.wire_bytes = sum(p.wire_len for p in self.pkts)
        self.file_bytes = self.wire_bytes + 16 * len(self.pkts)
        self._find_bulk_point()

    @staticmethod
    def _check(path, data):
        if len(data) < 54 or data[12:14] != b"\x08\x00":
            die(f"{path}: a packet is not Ethernet + IPv4")
        if data[14] != 0x45 or data[23] != 6:
            die(f"{path}: a packet has IPv4 options or is not TCP")

    def _find_bulk_point(self):
        """Where bulk data fits: before the server's last data packet ahead of the first FIN."""
        self.bulk_at = None
        first_fin = next((i for i, p in enumerate(self.pkts) if p.flags & (TCP_FIN | TCP_RST)),
                         len(self.pkts))
        for i in range(first_fin - 1, 2, -1):
            p = self.pkts[i]
            if not p.is_c2s and p.payload_len > 0:
                self.bulk_at = i
                break
        # per direction, a data segment and a pure ACK, whose headers the bulk packets reuse
        self.seg_hdr = {True: None, False: None}
        self.ack_hdr = {True: None, False: None}
        for p in self.pkts:
            hdr_len = p.wire_len - p.payload_len
            if p.payload_len > 0 and self.seg_hdr[p.is_c2s] is None and p.flags == TCP_PSH | TCP_ACK:
                self.seg_hdr[p.is_c2s] = (p.base[:hdr_len], p.csum_part)
            if p.payload_len == 0 and p.flags == TCP_ACK and self.ack_hdr[p.is_c2s] is None:
                self.ack_hdr[p.is_c2s] = (p.base, p.csum_part)
        self.seg_full = {d: with_payload_len(*h, MSS) if h else None
                         for d, h in self.seg_hdr.items()}


class Writer:
    """Buffered pcap writer; the clock advances with each packet's wire time."""

    def __init__(self, path, start_usec, link_bps):
        self.ns_per_byte = 8 * 1_000_000_000 / link_bps
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.buf = bytearray()
        self.clock_ns = start_usec * 1000
        self.n_packets = 0
        self.n_wire_bytes = 0
        self.n_file_bytes = 24

    def emit(self, base, wire_len, csum, src, dst, sport, dport, seq, ack, payload=None):
        t_us = self.clock_ns // 1000
        buf = self.buf
        buf += PCAP_HDR.pack(t_us // 1_000_000, t_us % 1_000_000, wire_len, wire_len)
        pos = len(buf)
        buf += base
        if payload is not None:
            buf += payload
        FIELDS.pack_into(buf, pos + FIELDS_OFF, csum, src, dst, sport, dport, seq, ack)
        self.clock_ns += int((wire_len + 24) * self.ns_per_byte)  # + preamble, IFG, FCS
        self.n_packets += 1
        self.n_wire_bytes += wire_len
        if len(buf) >= 1 << 23:
            self.flush()

    def flush(self):
        self.f.write(self.buf)
        self.n_file_bytes += len(self.buf)
        self.buf = bytearray()

    def close(self):
        self.flush()
        self.f.close()


def fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    """One copy of a template: its client address and port and initial sequence numbers."""

    def __init__(self, tpl, index, rng):
        self.tpl = tpl
        self.c_ip = 0x0A000100 + index // 4000       # 10.0.1.0 upwards
        self.c_port = 32768 + index % 4000
        self.c_isn = rng.getrandbits(32)
        self.s_isn = rng.getrandbits(32)
        self.ip_sum = (self.c_ip >> 16) + (self.c_ip & 0xFFFF)

    def emit_tpl(self, w, p, shift_c2s=0, shift_s2c=0):
        """Emits template packet p; shift_* move the stream of that direction (bulk inserted)."""
        tpl = self.tpl
        if p.is_c2s:
            seq = (self.c_isn + p.seq_rel + shift_c2s) & 0xFFFFFFFF
            ack = (self.s_isn + p.ack_rel + shift_s2c) & 0xFFFFFFFF if p.ack_rel is not None else 0
            w.emit(p.base, p.wire_len, fold(p.csum_part + self.ip_sum), self.c_ip, tpl.server_ip,
                   self.c_port, tpl.server_port, seq, ack)
        else:
            seq = (self.s_isn + p.seq_rel + shift_s2c) & 0xFFFFFFFF
            ack = (self.c_isn + p.ack_rel + shift_c2s) & 0xFFFFFFFF if p.ack_rel is not None else 0
            w.emit(p.base, p.wire_len, fold(p.csum_part + self.ip_sum), tpl.server_ip, self.c_ip,
                   tpl.server_port, self.c_port, seq, ack)

    def emit_raw(self, w, hdr, csum_part, is_c2s, seq, ack, payload=None):
        """Emits a packet made from header hdr (its IPv4 total length already right)."""
        tpl = self.tpl
        wire_len = len(hdr) + (len(payload) if payload is not None else 0)
        if is_c2s:
            w.emit(hdr, wire_len, fold(csum_part + self.ip_sum), self.c_ip, tpl.server_ip,
                   self.c_port, tpl.server_port, seq, ack, payload)
        else:
            w.emit(hdr, wire_len, fold(csum_part + self.ip_sum), tpl.server_ip, self.c_ip,
                   tpl.server_port, self.c_port, seq, ack, payload)


def with_payload_len(hdr, csum_part, payload_len):
    """hdr with the IPv4 total length for payload_len bytes of payload, and its checksum part."""
    b = bytearray(hdr)
    old_tot = IP_TOTLEN.unpack_from(b, IP_OFF + 2)[0]
    new_tot = len(hdr) - ETH_LEN + payload_len
    IP_TOTLEN.pack_into(b, IP_OFF + 2, new_tot)
    return bytes(b), csum_part - old_tot + new_tot


def short_steps(conn, w, first=0, end=None):
    """A short connection (template packets first to end): one template packet per round."""
    for p in conn.tpl.pkts[first:end]:
        conn.emit_tpl(w, p)
        yield


def bulk_steps(conn, w, stream, upload):
    """A bulk connection: the template with `stream` (TLS records) inserted by one side."""
    tpl = conn.tpl
    pkts = tpl.pkts
    at = tpl.bulk_at
    for p in pkts[:at]:
        conn.emit_tpl(w, p)
        yield
    # the sender's next sequence number is where the packet at `at` stands in the template
    mark = pkts[at]
    sender_c2s = upload
    if sender_c2s:
        s_next = (conn.c_isn + mark.ack_rel) & 0xFFFFFFFF
        r_next = (conn.s_isn + mark.seq_rel) & 0xFFFFFFFF
    else:
        s_next = (conn.s_isn + mark.seq_rel) & 0xFFFFFFFF
        r_next = (conn.c_isn + mark.ack_rel) & 0xFFFFFFFF
    seg_hdr, seg_csum = tpl.seg_full[sender_c2s]
    ack_hdr, ack_csum = tpl.ack_hdr[not sender_c2s]
    view = memoryview(stream)
    total = len(stream)
    off = 0
    n_in_step = 0
    unacked = 0
    while off < total:
        seg = view[off:off + MSS]
        if len(seg) == MSS:
            conn.emit_raw(w, seg_hdr, seg_csum, sender_c2s, (s_next + off) & 0xFFFFFFFF, r_next,
                          seg)
        else:
            hdr, csum = with_payload_len(*tpl.seg_hdr[sender_c2s], len(seg))
            conn.emit_raw(w, hdr, csum, sender_c2s, (s_next + off) & 0xFFFFFFFF, r_next, seg)
        off += len(seg)
        unacked += 1
        if unacked == ACK_EVERY or off == total:
            conn.emit_raw(w, ack_hdr, ack_csum, not sender_c2s, r_next,
                          (s_next + off) & 0xFFFFFFFF)
            unacked = 0
        n_in_step += 1
        if n_in_step == SEGS_PER_STEP:
            n_in_step = 0
            yield
    if n_in_step:
        yield
    shift = (total, 0) if sender_c2s else (0, total)
    for p in pkts[at:]:
        conn.emit_tpl(w, p, shift[0], shift[1])
        yield


def make_stream(rng, pool, n_records, rec_len, last_len):
    parts = []
    for i in range(n_records):
        length = rec_len if i < n_records - 1 else last_len
        off = rng.randrange(0, len(pool) - length)
        parts.append(b"\x17\x03\x03" + struct.pack(">H", length))
        parts.append(pool[off:off + length])
    return b"".join(parts)


def stream_file_bytes(n):
    """File bytes of n bytes of bulk data: segments, delayed ACKs and their record headers."""
    n_seg = -(-n // MSS)
    return n + (n_seg + -(-n_seg // ACK_EVERY)) * (16 + 66)


def bulk_step_bytes():
    """File bytes one bulk lane writes per round (segments plus delayed ACKs)."""
    seg = 16 + 66 + MSS
    ack = 16 + 66
    return SEGS_PER_STEP * seg + (SEGS_PER_STEP // ACK_EVERY) * ack


class Run:
    """One generation: the writer, the templates, and the connections made so far."""

    def __init__(self, templates, rng, w):
        self.templates = templates
        self.rng = rng
        self.w = w
        self.next_index = 0
        self.counts = {}
        self.bulk_counts = {}
        self.bulk_data_bytes = 0
        self.pool = None

    def new_conn(self, name):
        c = Conn(self.templates[name], self.next_index, self.rng)
        self.next_index += 1
        self.counts[name] = self.counts.get(name, 0) + 1
        return c

    def bulk_source(self, lanes_bulk, bulk_budget, lo, hi):
        """next_bulk(lane): the lane's next bulk connection, None once its budget is spent."""
        rng = self.rng
        if self.pool is None:
            self.pool = rng.randbytes(1 << 20)
        lane_budget = [bulk_budget // lanes_bulk if lanes_bulk else 0] * lanes_bulk
        bulk_rr = [0]

        def next_bulk(lane):
            left = lane_budget[lane]
            if left <= 0:
                return None
            name = BULK_KINDS[bulk_rr[0] % len(BULK_KINDS)]
            upload = bulk_rr[0] % 4 == 3
            bulk_rr[0] += 1
            tpl = self.templates[name]
            rec_len = 16401 if name.startswith("tls13") else 16408   # 2^14 + AEAD overhead
            per_rec = stream_file_bytes(rec_len + 5)
            # ceil: the lane's last connection takes what is left, so the file reaches its size
            fit = max(1, -int(-(left - tpl.file_bytes) // per_rec))
            n_rec = min(rng.randint(lo, hi), fit)
            if fit - n_rec < lo // 2:
                n_rec = fit
            stream = make_stream(rng, self.pool, n_rec, rec_len, rng.randint(200, rec_len))
            lane_budget[lane] = left - stream_file_bytes(len(stream)) - tpl.file_bytes
            self.bulk_data_bytes += len(stream)
            self.bulk_counts[name] = self.bulk_counts.get(name, 0) + 1
            return bulk_steps(self.new_conn(name), self.w, stream, upload)

        return next_bulk


def run_lanes(lanes, next_short, next_bulk):
    """Round-robin over lanes [is_bulk, lane, generator, delay] until all are spent; a lane
    whose connection ends starts its next one.  Returns the most connections open at once."""
    peak_open = 0
    while lanes:
        alive = []
        n_open = 0
        for lane in lanes:
            if lane[3]:
                lane[3] -= 1
                alive.append(lane)
                continue
            gen = lane[2]
            while gen is not None:
                try:
                    next(gen)
                    break
                except StopIteration:
                    gen = next_bulk(lane[1]) if lane[0] else next_short()
                    lane[2] = gen
            if gen is not None:
                alive.append(lane)
                n_open += 1
        peak_open = max(peak_open, n_open)
        lanes = alive
    return peak_open


def round_robin(gens):
    """One step of each generator per round until all are spent."""
    while gens:
        alive = []
        for gen in gens:
            try:
                next(gen)
                alive.append(gen)
            except StopIteration:
                pass
        gens = alive


def handshake_list(templates, rng, n, http_share):
    """n short connection kinds of the handshake mix, n * http_share of them HTTP, shuffled."""
    n_http = round(n * http_share)
    n_tls = n - n_http
    weight_sum = sum(wt for _, wt in HANDSHAKE_TLS_KINDS)
    # largest remainders, so that exactly n_tls are made
    share = {k: divmod(n_tls * wt, weight_sum) for k, wt in HANDSHAKE_TLS_KINDS}
    left = n_tls - sum(q for q, _ in share.values())
    extra = sorted(share, key=lambda k: -share[k][1])[:left]
    kinds = []
    for k, _ in HANDSHAKE_TLS_KINDS:
        kinds += [k] * (share[k][0] + (k in extra))
    for i, k in enumerate(HTTP_KINDS):
        kinds += [k] * (n_http // len(HTTP_KINDS) + (i < n_http % len(HTTP_KINDS)))
    rng.shuffle(kinds)
    return kinds


def mode_mixed(run, args, target):
    rng = run.rng
    templates = run.templates
    # short connections: exact proportions, shuffled
    weight_sum = sum(wt for _, wt in SHORT_KINDS)
    avg_short = sum(templates[k].file_bytes * wt for k, wt in SHORT_KINDS) / weight_sum
    n_short = max(len(SHORT_KINDS), int(target * args.short_share / avg_short))
    short_list = []
    for k, wt in SHORT_KINDS:
        short_list += [k] * max(1, round(n_short * wt / weight_sum))
    rng.shuffle(short_list)
    n_short = len(short_list)
    short_bytes = sum(templates[k].file_bytes for k in short_list)
    short_pkts = sum(len(templates[k].pkts) for k in short_list)

    lanes_short = max(1, min(args.concurrency, n_short // 8))
    max_delay = 16
    rounds = -(-short_pkts // lanes_short) + max_delay // 2
    bulk_budget = max(0, target - 24 - short_bytes)
    per_round = bulk_step_bytes()
    lanes_bulk = max(1, -(-bulk_budget // (rounds * per_round))) if bulk_budget else 0
    lo, hi = (int(x) for x in args.bulk_records.split("-"))
    run.pool = rng.randbytes(1 << 20)
    short_iter = iter(short_list)

    def next_short():
        name = next(short_iter, None)
        return None if name is None else short_steps(run.new_conn(name), run.w)

    next_bulk = run.bulk_source(lanes_bulk, bulk_budget, lo, hi)
    # lanes: (is_bulk, lane number, generator, delay); bulk lanes spread among the short ones
    lanes = []
    for j in range(lanes_short):
        lanes.append([False, j, next_short(), rng.randrange(max_delay)])
    spacing = max(1, lanes_short // max(1, lanes_bulk))
    for j in range(lanes_bulk):
        lanes.insert(min(len(lanes), j * (spacing + 1)), [True, j, next_bulk(j),
                                                          rng.randrange(max_delay)])
    peak = run_lanes(lanes, next_short, next_bulk)
    return {"short_connections": n_short, "concurrency_lanes": lanes_short + lanes_bulk,
            "peak_open_connections": peak}


def mode_handshake(run, args, target):
    rng = run.rng
    templates = run.templates
    weight_sum = sum(wt for _, wt in HANDSHAKE_TLS_KINDS)
    avg_tls = sum(templates[k].file_bytes * wt for k, wt in HANDSHAKE_TLS_KINDS) / weight_sum
    avg_http = sum(templates[k].file_bytes for k in HTTP_KINDS) / len(HTTP_KINDS)
    avg = (1 - args.http_share) * avg_tls + args.http_share * avg_http
    n = max(len(HANDSHAKE_TLS_KINDS) + len(HTTP_KINDS), -int(-(target - 24) // avg))
    short_list = handshake_list(templates, rng, n, args.http_share)
    lanes_short = max(1, min(args.concurrency, len(short_list) // 8))
    max_delay = 16
    short_iter = iter(short_list)

    def next_short():
        name = next(short_iter, None)
        return None if name is None else short_steps(run.new_conn(name), run.w)

    lanes = [[False, j, next_short(), rng.randrange(max_delay)] for j in range(lanes_short)]
    peak = run_lanes(lanes, next_short, None)
    return {"short_connections": len(short_list), "concurrency_lanes": lanes_short,
            "peak_open_connections": peak}


def mode_bulk(run, args, target):
    rng = run.rng
    lo, hi = (int(x) for x in args.bulk_records.split("-"))
    lanes_bulk = max(1, args.bulk_lanes)
    next_bulk = run.bulk_source(lanes_bulk, max(0, target - 24), lo, hi)
    max_delay = 16
    lanes = [[True, j, next_bulk(j), rng.randrange(max_delay)] for j in range(lanes_bulk)]
    peak = run_lanes(lanes, None, next_bulk)
    return {"short_connections": 0, "concurrency_lanes": lanes_bulk, "peak_open_connections": peak}


def mode_hold(run, args, target):
    if args.connections < 1 or args.hold < 1:
        die("--mode hold needs --connections and --hold of 1 or more")
    kinds = handshake_list(run.templates, run.rng, args.connections, args.http_share)
    # all connections first, so that the addresses and sequence numbers do not depend on --hold
    conns = [run.new_conn(k) for k in kinds]
    for start in range(0, len(conns), args.hold):
        batch = conns[start:start + args.hold]
        round_robin([short_steps(c, run.w, 0, c.tpl.first_end) for c in batch])
        # each end whole (FIN, FIN, last ACK), as a real close takes one round trip, not one
        # round over the whole batch
        for c in batch:
            for _ in short_steps(c, run.w, c.tpl.first_end):
                pass
    return {"short_connections": len(conns), "concurrency_lanes": min(args.hold, len(conns)),
            "peak_open_connections": min(args.hold, len(conns)), "hold": args.hold}


MODES = {"mixed": mode_mixed, "handshake": mode_handshake, "bulk": mode_bulk, "hold": mode_hold}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output classic pcap")
    ap.add_argument("--mode", choices=sorted(MODES), default="mixed",
                    help="the traffic: mixed (default), handshake, bulk or hold")
    ap.add_argument("--mb", type=float, default=500.0,
                    help="size of the capture in MB (10^6 bytes, default 500); not for hold")
    ap.add_argument("--captures", default=os.path.join(here, "..", "..", "captures"),
                    help="directory of the template captures and expected.json")
    ap.add_argument("--concurrency", type=int, default=2000,
                    help="lanes of short connections open at once (default 2000)")
    ap.add_argument("--short-share", type=float, default=0.3,
                    help="mixed: share of the bytes in short (handshake-only) connections (0.3)")
    ap.add_argument("--http-share", type=float, default=0.1,
                    help="handshake, hold: share of the connections that are plain HTTP (0.1)")
    ap.add_argument("--bulk-records", default="16-160",
                    help="range of ~16 KB records per bulk connection (16-160)")
    ap.add_argument("--bulk-lanes", type=int, default=256,
                    help="bulk: bulk connections open at once (256)")
    ap.add_argument("--connections", type=int, default=100000,
                    help="hold: number of connections (100000)")
    ap.add_argument("--hold", type=int, default=10000,
                    help="hold: connections open at once, after their handshake (10000)")
    ap.add_argument("--link-mbps", type=float, default=1000.0,
                    help="link rate that spaces the timestamps, in Mbit/s (1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--summary-json", help="also write the summary as JSON to this file")
    args = ap.parse_args()
    t0 = time.monotonic()

    target = int(args.mb * 1_000_000)
    rng = random.Random(args.seed)
    try:
        with open(os.path.join(args.captures, "expected.json")) as f:
            expected = json.load(f)
    except OSError as e:
        die(f"{args.captures}/expected.json: {e.strerror}")

    templates = {}
    names = [k for k, _ in SHORT_KINDS] + [k for k in BULK_KINDS if k not in dict(SHORT_KINDS)]
    for i, name in enumerate(names):
        fname = name + ".pcap"
        if fname not in expected or len(expected[fname]["connections"]) != 1:
            die(f"{fname}: no single connection in expected.json")
        facts = expected[fname]["connections"][0]
        is_http = facts.get("app_protocol") == "http"
        templates[name] = Template(name, os.path.join(args.captures, fname), facts,
                                   0xC0000200 + 10 + i, 80 if is_http else 443)
    for name in BULK_KINDS:
        t = templates[name]
        if t.bulk_at is None or None in t.seg_hdr.values() or None in t.ack_hdr.values():
            die(f"{name}.pcap: no place for bulk data")

    start_usec = min(t.first_usec for t in templates.values()) // 1_000_000 * 1_000_000
    w = Writer(args.out, start_usec, args.link_mbps * 1e6)
    run = Run(templates, rng, w)
    shape = MODES[args.mode](run, args, target)
    w.close()
    counts = run.counts
    bulk_counts = run.bulk_counts
    bulk_data_bytes = run.bulk_data_bytes

    # the expected facts, per kind and in total
    kinds = []
    totals = {"connections": 0, "tls": 0, "http": 0, "requested": {}, "presented": {},
              "handshake_complete": {}, "tls_versions": {}, "tls_requested_presented": {}}
    for name in names:
        n = counts.get(name, 0)
        if not n:
            continue
        f = templates[name].facts
        req, pres = f.get("cert_requested"), f.get("cert_presented")
        hs = f.get("handshake_complete")
        kinds.append({"kind": name, "connections": n, "bulk": bulk_counts.get(name, 0),
                      "app_protocol": f.get("app_protocol"), "tls_version": f.get("tls_version"),
                      "cert_requested": req, "cert_presented": pres, "handshake_complete": hs,
                      "packets_per_copy": len(templates[name].pkts)})
        totals["connections"] += n
        proto = f.get("app_protocol")
        if proto in ("tls", "http"):
            totals[proto] += n
        totals["requested"][req] = totals["requested"].get(req, 0) + n
        totals["presented"][pres] = totals["presented"].get(pres, 0) + n
        if proto == "tls":
            key = {True: "yes", False: "no"}.get(hs, "unknown")
            totals["handshake_complete"][key] = totals["handshake_complete"].get(key, 0) + n
            ver = f.get("tls_version")
            totals["tls_versions"][ver] = totals["tls_versions"].get(ver, 0) + n
            cell = totals["tls_requested_presented"].setdefault(req, {})
            cell[pres] = cell.get(pres, 0) + n
    summary = {
        "file": args.out, "mode": args.mode, "file_bytes": w.n_file_bytes, "packets": w.n_packets,
        "wire_bytes": w.n_wire_bytes, "bulk_data_bytes": bulk_data_bytes,
        "bulk_connections": sum(bulk_counts.values()),
        "duration_s": round((w.clock_ns - start_usec * 1000) / 1e9, 3),
        "kinds": kinds, "totals": totals, "seed": args.seed,
        "generate_s": round(time.monotonic() - t0, 1),
    }
    summary.update(shape)
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")

    print(f"{args.out}: {w.n_file_bytes / 1e6:.1f} MB, {w.n_packets} packets, "
          f"{summary['duration_s']} s of traffic, generated in {summary['generate_s']} s")
    print(f"  connections {totals['connections']} ({summary['short_connections']} short, "
          f"{summary['bulk_connections']} bulk carrying {bulk_data_bytes / 1e6:.1f} MB of "
          f"application data, {100 * bulk_data_bytes / max(1, w.n_wire_bytes):.0f}% of the "
          f"bytes); up to {summary['peak_open_connections']} open at once")
    print(f"  {'kind':18} {'conns':>6} {'bulk':>5}  {'version':8} {'requested':9} "
          f"{'presented':9} {'complete':8}")
    for k in kinds:
        print(f"  {k['kind']:18} {k['connections']:6} {k['bulk']:5}  "
              f"{str(k['tls_version'] or '-'):8} {str(k['cert_requested']):9} "
              f"{str(k['cert_presented']):9} {str(k['handshake_complete']):8}")
    print(f"  requested: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["requested"].items())))
    print(f"  presented: " + ", ".join(f"{k} {v}" for k, v in sorted(totals["presented"].items())))
    print(f"  handshake complete (TLS): " + ", ".join(
        f"{k} {v}" for k, v in sorted(totals["handshake_complete"].items())))


if __name__ == "__main__":
    main()
