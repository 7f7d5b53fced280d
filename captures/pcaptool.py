#!/usr/bin/env python3
"""pcaptool.py - tiny classic-pcap rewriter for mtlsdiag's test captures.

Plain python3, standard library only (struct): reads and writes classic
libpcap files (not pcapng).  The rewriting commands expect link type EN10MB
(what `tcpdump -i lo` writes on Linux: Ethernet with all-zero MACs) carrying
IPv4/TCP, which is what make-captures.sh feeds them.

Commands (IN and OUT are pcap files):
  info IN                     link type, snaplen, records, truncation (JSON)
  vlan [--outer-vid N] --vid N IN OUT
        insert an 802.1Q tag (TPID 0x8100) after the MAC addresses; with
        --outer-vid also an outer 802.1ad tag (TPID 0x88a8) before it (QinQ).
  reorder --server-port P IN OUT
        re-segment the server's first flight into 5 TCP segments, deliver
        them out of order with one exact duplicate and one partially
        overlapping retransmission (identical bytes); recompute IPv4 total
        length and checksums and the TCP checksum.  Prints a JSON summary.
  midstream --server-port P IN OUT
        drop the SYN, the SYN-ACK and the packet(s) carrying the ClientHello.
  snaplen --snaplen N IN OUT  cut every record to N bytes (caplen < len).
  truncate --server-port P IN OUT
        keep the packets up to the server's first flight, split that flight
        into [plaintext records] + [encrypted records], and write the last
        pcap record with an incl_len that promises more bytes than the file
        holds, so that the file ends in the middle of a TLS record and of a
        pcap record.  Prints a JSON summary.
"""
import argparse
import json
import struct
import sys

LINKTYPES = {0: "NULL", 1: "EN10MB", 101: "RAW", 113: "LINUX_SLL", 276: "LINUX_SLL2"}


class Pcap:
    """A classic pcap file: header fields plus a list of records."""

    def __init__(self):
        self.endian = "<"
        self.magic = 0xA1B2C3D4
        self.version = (2, 4)
        self.thiszone = 0
        self.sigfigs = 0
        self.snaplen = 262144
        self.linktype = 1
        self.records = []  # [ts_sec, ts_frac, orig_len, data(bytes)]
        self.truncated_tail = None  # description when the file ends mid-record

    @property
    def ts_scale(self):
        return 1_000_000_000 if self.magic == 0xA1B23C4D else 1_000_000

    @classmethod
    def read(cls, path):
        p = cls()
        with open(path, "rb") as f:
            buf = f.read()
        if len(buf) < 24:
            raise ValueError(f"{path}: too short for a pcap header")
        for endian in ("<", ">"):
            magic = struct.unpack(endian + "I", buf[:4])[0]
            if magic in (0xA1B2C3D4, 0xA1B23C4D):
                break
        else:
            raise ValueError(f"{path}: not a classic pcap file (pcapng?)")
        p.endian = endian
        (p.magic, vmaj, vmin, p.thiszone, p.sigfigs, p.snaplen, p.linktype) = struct.unpack(
            endian + "IHHiIII", buf[:24])
        p.version = (vmaj, vmin)
        off = 24
        while off < len(buf):
            if off + 16 > len(buf):
                p.truncated_tail = f"record header cut short at offset {off}"
                break
            ts_sec, ts_frac, incl, orig = struct.unpack(endian + "IIII", buf[off:off + 16])
            if off + 16 + incl > len(buf):
                p.truncated_tail = (f"record {len(p.records) + 1} promises {incl} bytes, "
                                    f"file has {len(buf) - off - 16}")
                break
            p.records.append([ts_sec, ts_frac, orig, buf[off + 16:off + 16 + incl]])
            off += 16 + incl
        return p

    def header_bytes(self):
        return struct.pack(self.endian + "IHHiIII", self.magic, self.version[0], self.version[1],
                           self.thiszone, self.sigfigs, self.snaplen, self.linktype)

    def write(self, path, cut_last_to=None):
        """Write the file.  cut_last_to=N keeps only N data bytes of the last
        record while its header still promises all of them."""
        out = bytearray(self.header_bytes())
        for i, (ts_sec, ts_frac, orig, data) in enumerate(self.records):
            out += struct.pack(self.endian + "IIII", ts_sec, ts_frac, len(data), orig)
            if cut_last_to is not None and i == len(self.records) - 1:
                out += data[:cut_last_to]
            else:
                out += data
        with open(path, "wb") as f:
            f.write(out)


# ---------------------------------------------------------------- packets
def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


class Pkt:
    """EN10MB / IPv4 / TCP view of a captured frame."""

    def __init__(self, data):
        if len(data) < 14:
            raise ValueError("short frame")
        self.eth = data[:14]
        etype = struct.unpack("!H", data[12:14])[0]
        if etype != 0x0800:
            raise ValueError(f"ethertype 0x{etype:04x} is not IPv4")
        ihl = (data[14] & 0x0F) * 4
        self.ip = bytearray(data[14:14 + ihl])
        if self.ip[9] != 6:
            raise ValueError("not TCP")
        tot = struct.unpack("!H", self.ip[2:4])[0]
        t = 14 + ihl
        doff = (data[t + 12] >> 4) * 4
        self.tcp = bytearray(data[t:t + doff])
        self.payload = bytes(data[t + doff:14 + tot])
        self.trailer = bytes(data[14 + tot:])

    sport = property(lambda s: struct.unpack("!H", s.tcp[0:2])[0])
    dport = property(lambda s: struct.unpack("!H", s.tcp[2:4])[0])
    seq = property(lambda s: struct.unpack("!I", s.tcp[4:8])[0])
    flags = property(lambda s: s.tcp[13])

    def build(self, payload=None, seq=None, ip_id=None, psh=None):
        """Return frame bytes with the given payload/seq, lengths and
        checksums recomputed."""
        payload = self.payload if payload is None else payload
        ip = bytearray(self.ip)
        tcp = bytearray(self.tcp)
        struct.pack_into("!H", ip, 2, len(ip) + len(tcp) + len(payload))
        if ip_id is not None:
            struct.pack_into("!H", ip, 4, ip_id & 0xFFFF)
        struct.pack_into("!H", ip, 10, 0)
        struct.pack_into("!H", ip, 10, csum16(bytes(ip)))
        if seq is not None:
            struct.pack_into("!I", tcp, 4, seq & 0xFFFFFFFF)
        if psh is not None:
            tcp[13] = (tcp[13] | 0x08) if psh else (tcp[13] & ~0x08)
        struct.pack_into("!H", tcp, 16, 0)
        pseudo = bytes(ip[12:20]) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        struct.pack_into("!H", tcp, 16, csum16(pseudo + bytes(tcp) + payload))
        return self.eth + bytes(ip) + bytes(tcp) + payload


def tls_records(payload):
    """[(offset, content_type, length)] for the complete records in payload."""
    recs, off = [], 0
    while off + 5 <= len(payload):
        ctype, _ver, ln = struct.unpack("!BHH", payload[off:off + 5])
        if off + 5 + ln > len(payload):
            break
        recs.append((off, ctype, ln))
        off += 5 + ln
    return recs


def first_server_flight(pcap, server_port):
    """Index of the first record carrying TCP payload from the server."""
    for i, rec in enumerate(pcap.records):
        p = Pkt(rec[3])
        if p.sport == server_port and p.payload:
            return i
    raise SystemExit("no server payload found")


def shift_later(pcap, start_index, min_time):
    """Keep timestamps monotonic after inserting packets."""
    scale = pcap.ts_scale
    prev = min_time
    for rec in pcap.records[start_index:]:
        t = rec[0] * scale + rec[1]
        if t <= prev:
            t = prev + 1
            rec[0], rec[1] = divmod(t, scale)
        prev = t


# ---------------------------------------------------------------- commands
def cmd_info(a):
    p = Pcap.read(a.input)
    caps = [len(r[3]) for r in p.records]
    print(json.dumps({
        "file": a.input, "link_type": LINKTYPES.get(p.linktype, str(p.linktype)),
        "linktype_value": p.linktype, "snaplen": p.snaplen, "records": len(p.records),
        "nanosecond": p.magic == 0xA1B23C4D,
        "records_cut_by_snaplen": sum(1 for r in p.records if len(r[3]) < r[2]),
        "max_caplen": max(caps) if caps else 0,
        "truncated": p.truncated_tail is not None, "truncation": p.truncated_tail}, indent=1))


def cmd_vlan(a):
    p = Pcap.read(a.input)
    if p.linktype != 1:
        raise SystemExit("vlan: input must be EN10MB")
    tags = b""
    if a.outer_vid is not None:
        tags += struct.pack("!HH", 0x88A8, a.outer_vid & 0x0FFF)
    tags += struct.pack("!HH", 0x8100, a.vid & 0x0FFF)
    for rec in p.records:
        data = rec[3]
        rec[3] = data[:12] + tags + data[12:]
        rec[2] += len(tags)
    p.snaplen = max(p.snaplen, max(len(r[3]) for r in p.records))
    p.write(a.output)


def cmd_reorder(a):
    p = Pcap.read(a.input)
    idx = first_server_flight(p, a.server_port)
    ts_sec, ts_frac, _orig, data = p.records[idx]
    pkt = Pkt(data)
    pay = pkt.payload
    recs = tls_records(pay)
    # Expected TLS 1.2 first flight, one handshake message per record:
    # ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone
    if len(recs) < 5 or any(r[1] != 22 for r in recs):
        raise SystemExit(f"reorder: unexpected server flight records {recs}")
    hs_types = [pay[r[0] + 5] for r in recs]
    cert = recs[hs_types.index(11)]
    creq = recs[hs_types.index(13)]
    done = recs[hs_types.index(14)]
    cuts = [
        cert[0] + 5 + cert[2] // 2,   # middle of the server Certificate record
        cert[0] + 5 + cert[2] + 3,    # inside the next record's 5-byte header
        creq[0] + 5 + creq[2] // 2,   # middle of the CertificateRequest record
        done[0] + 2,                  # inside the ServerHelloDone record header
    ]
    bounds = [0] + cuts + [len(pay)]
    pieces = [(bounds[i], bounds[i + 1]) for i in range(5)]
    mid = lambda r: (r[0] + r[1]) // 2  # noqa: E731
    overlap = (mid(pieces[2]), mid(pieces[3]))
    plan = [  # (label, (start, end)) in delivery order
        ("seg1", pieces[0]),
        ("seg3 (out of order)", pieces[2]),
        ("seg2 (fills gap)", pieces[1]),
        ("seg2 again (duplicate retransmission)", pieces[1]),
        ("seg5 (out of order)", pieces[4]),
        ("overlap seg3b+seg4a (partial-overlap retransmission, identical bytes)", overlap),
        ("seg4 (fills last gap: flight complete)", pieces[3]),
    ]
    base_seq = pkt.seq
    ip_id = struct.unpack("!H", pkt.ip[4:6])[0]
    scale = p.ts_scale
    t0 = ts_sec * scale + ts_frac
    step = scale // 1_000_000 or 1  # 1 microsecond
    new = []
    for k, (_label, (s, e)) in enumerate(plan):
        frame = pkt.build(payload=pay[s:e], seq=base_seq + s, ip_id=ip_id + k, psh=(e == len(pay)))
        sec, frac = divmod(t0 + k * step, scale)
        new.append([sec, frac, len(frame), frame])
    p.records[idx:idx + 1] = new
    shift_later(p, idx + len(new), t0 + (len(new) - 1) * step)
    p.write(a.output)

    # Which delivered frame completes the CertificateRequest record?
    have = 0
    done_frame = None
    received = []
    for k, (_label, (s, e)) in enumerate(plan):
        received.append((s, e))
        changed = True
        while changed:
            changed = False
            for (s2, e2) in received:
                if s2 <= have < e2:
                    have, changed = e2, True
        if done_frame is None and have >= creq[0] + 5 + creq[2]:
            done_frame = idx + 1 + k
    print(json.dumps({
        "server_flight_original_frame": idx + 1,
        "flight_bytes": len(pay),
        "tls_records": [{"offset": r[0], "type": r[1], "length": r[2], "hs_type": pay[r[0] + 5]}
                        for r in recs],
        "delivered": [{"frame": idx + 1 + k, "what": lbl, "rel_seq": s, "len": e - s}
                      for k, (lbl, (s, e)) in enumerate(plan)],
        "frames_added": len(new) - 1,
        "cert_request_complete_frame": done_frame,
    }, indent=1))


def cmd_midstream(a):
    p = Pcap.read(a.input)
    keep, dropped = [], []
    seen_ch = False
    for i, rec in enumerate(p.records):
        pkt = Pkt(rec[3])
        syn = pkt.flags & 0x02
        if syn:
            dropped.append(i + 1)
            continue
        if (not seen_ch and pkt.dport == a.server_port and pkt.payload
                and pkt.payload[0] == 22 and len(pkt.payload) > 5 and pkt.payload[5] == 1):
            seen_ch = True
            dropped.append(i + 1)
            continue
        keep.append(rec)
    if not seen_ch:
        raise SystemExit("midstream: no ClientHello found")
    p.records = keep
    p.write(a.output)
    print(json.dumps({"dropped_original_frames": dropped}))


def cmd_snaplen(a):
    p = Pcap.read(a.input)
    p.snaplen = a.snaplen
    for rec in p.records:
        rec[3] = rec[3][:a.snaplen]
    p.write(a.output)


def cmd_truncate(a):
    p = Pcap.read(a.input)
    idx = first_server_flight(p, a.server_port)
    ts_sec, ts_frac, _orig, data = p.records[idx]
    pkt = Pkt(data)
    pay = pkt.payload
    recs = tls_records(pay)
    # TLS 1.3 server flight: ServerHello(22) ChangeCipherSpec(20) then
    # encrypted records (23): EncryptedExtensions, CertificateRequest,
    # Certificate, CertificateVerify, Finished.
    enc = [r for r in recs if r[1] == 23]
    if not enc or len(enc) < 3:
        raise SystemExit(f"truncate: unexpected server flight {recs}")
    split = enc[0][0]  # plaintext part | encrypted part
    cut_rec = enc[2]   # third encrypted record (the server Certificate)
    ip_id = struct.unpack("!H", pkt.ip[4:6])[0]
    f1 = pkt.build(payload=pay[:split], psh=False)
    f2 = pkt.build(payload=pay[split:], seq=pkt.seq + split, ip_id=ip_id + 1, psh=True)
    scale = p.ts_scale
    sec2, frac2 = divmod(ts_sec * scale + ts_frac + (scale // 1_000_000 or 1), scale)
    p.records = p.records[:idx] + [[ts_sec, ts_frac, len(f1), f1], [sec2, frac2, len(f2), f2]]
    hdr_len = len(f2) - (len(pay) - split)
    keep_bytes = hdr_len + (cut_rec[0] - split) + 5 + cut_rec[2] // 2
    p.write(a.output, cut_last_to=keep_bytes)
    print(json.dumps({
        "frames_readable": idx + 1, "truncated_frame": idx + 2,
        "truncated_frame_promised_bytes": len(f2), "truncated_frame_bytes_in_file": keep_bytes,
        "encrypted_records_complete_in_file": [r[2] for r in enc if r[0] + 5 + r[2] <= cut_rec[0]],
        "cut_inside_encrypted_record_of_length": cut_rec[2]}, indent=1))


def main():
    ap = argparse.ArgumentParser(description="classic pcap rewriter for mtlsdiag test captures")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("info")
    s.add_argument("input")
    s = sub.add_parser("vlan")
    s.add_argument("--vid", type=int, required=True)
    s.add_argument("--outer-vid", type=int)
    s.add_argument("input")
    s.add_argument("output")
    for name in ("reorder", "midstream", "truncate"):
        s = sub.add_parser(name)
        s.add_argument("--server-port", type=int, required=True)
        s.add_argument("input")
        s.add_argument("output")
    s = sub.add_parser("snaplen")
    s.add_argument("--snaplen", type=int, required=True)
    s.add_argument("input")
    s.add_argument("output")
    a = ap.parse_args()
    {"info": cmd_info, "vlan": cmd_vlan, "reorder": cmd_reorder, "midstream": cmd_midstream,
     "snaplen": cmd_snaplen, "truncate": cmd_truncate}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
