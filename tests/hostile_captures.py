#!/usr/bin/env python3
"""hostile_captures.py: captures made to hurt a packet analyser, written at test time.

Usage: hostile_captures.py OUT_DIR      (writes every capture; test_hostile.py imports it)

Each capture is a classic pcap (Ethernet, IPv4, TCP) built here with struct, byte by byte, from
the wire formats (RFC 791, RFC 9293, RFC 5246 §6.2 and §7.4, RFC 9112), so what each one holds
is known by construction:
- syn-flood:         a million SYN-only flows from distinct ports and addresses;
- huge-length:       a ClientHello whose handshake length field says 16 MB, then 40 bytes;
- overlap:           a ClientHello whose retransmission carries different bytes;
- seq-wrap:          a full TLS 1.2 handshake asking for a certificate, whose client sequence
                     numbers wrap through 2^32 in the middle of the ClientHello;
- reneg-storm:       a TLS 1.2 connection with 1,000 encrypted handshake records after Finished
                     (a renegotiation every time, as record types show it);
- many-extensions:   a ClientHello with 5,000 extensions;
- huge-header:       an HTTP/1.1 request with a 1 MB header field;
- lying-records:     a pcap whose record headers claim more bytes than the file holds;
- late-acks:         20,000 connections that each open (SYN, SYN+ACK, ACK) and close (FIN+ACK
                     both ways) within a second, then the last ACK of each, then a duplicate of
                     it: more closed connections than the tombstones kept (16,384) whose late
                     packets all arrive within the linger.
"""
import os
import struct
import sys

ETHERTYPE_IPV4 = 0x0800
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def pcap_header(snaplen=262144):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1)


def ip_bytes(address):
    return bytes(int(x) for x in address.split("."))


def packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    """Ethernet + IPv4 (RFC 791, no options) + TCP (RFC 9293, no options); checksums zero, as
    loopback captures with offload show them."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, ip_bytes(src),
                     ip_bytes(dst)) + tcp
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" \
        + struct.pack("!H", ETHERTYPE_IPV4) + ip


class Writer:
    def __init__(self, path):
        self.file = open(path, "wb")
        self.file.write(pcap_header())
        self.usec = 1_700_000_000 * 1_000_000

    def add(self, frame, orig_len=None):
        self.usec += 100
        self.file.write(struct.pack("<IIII", self.usec // 1_000_000, self.usec % 1_000_000,
                                    len(frame), len(frame) if orig_len is None else orig_len))
        self.file.write(frame)

    def close(self):
        self.file.close()


class Tcp:
    """One TCP connection's packets: handshake, data each way, close."""

    def __init__(self, writer, client=("10.0.0.1", 40000), server=("10.0.0.2", 443),
                 client_isn=1000, server_isn=5000):
        self.w = writer
        self.c, self.s = client, server
        self.cseq, self.sseq = client_isn, server_isn
        self.w.add(packet(client[0], server[0], client[1], server[1], self.cseq, 0, SYN))
        self.w.add(packet(server[0], client[0], server[1], client[1], self.sseq, self.cseq + 1,
                          SYN | ACK))
        self.cseq += 1
        self.sseq += 1
        self.w.add(packet(client[0], server[0], client[1], server[1], self.cseq, self.sseq, ACK))

    def client_sends(self, data, seq=None):
        for i in range(0, len(data), 1400):
            chunk = data[i:i + 1400]
            self.w.add(packet(self.c[0], self.s[0], self.c[1], self.s[1],
                              self.cseq if seq is None else seq, self.sseq, ACK | PSH, chunk))
            if seq is None:
                self.cseq += len(chunk)
            else:
                seq += len(chunk)

    def server_sends(self, data):
        for i in range(0, len(data), 1400):
            chunk = data[i:i + 1400]
            self.w.add(packet(self.s[0], self.c[0], self.s[1], self.c[1], self.sseq, self.cseq,
                              ACK | PSH, chunk))
            self.sseq += len(chunk)

    def close(self):
        self.w.add(packet(self.c[0], self.s[0], self.c[1], self.s[1], self.cseq, self.sseq,
                          FIN | ACK))
        self.w.add(packet(self.s[0], self.c[0], self.s[1], self.c[1], self.sseq, self.cseq + 1,
                          FIN | ACK))
        self.w.add(packet(self.c[0], self.s[0], self.c[1], self.s[1], self.cseq + 1,
                          self.sseq + 1, ACK))


# ---- TLS (RFC 5246) -------------------------------------------------------------------------

def record(content_type, body, version=0x0303):
    """RFC 5246 §6.2.1: fragments of at most 2^14 bytes, each with its own header."""
    out = b""
    for i in range(0, max(len(body), 1), 1 << 14):
        fragment = body[i:i + (1 << 14)]
        out += struct.pack("!BHH", content_type, version, len(fragment)) + fragment
    return out


def handshake(msg_type, body):
    return struct.pack("!B", msg_type) + len(body).to_bytes(3, "big") + body


def client_hello(extensions=b"", n_extensions=None):
    """RFC 5246 §7.4.1.2: version, random, session id, cipher suites, compression, extensions."""
    body = struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" \
        + struct.pack("!HH", 2, 0xC02F) + b"\x01\x00"
    if n_extensions is not None:
        # n_extensions empty extensions of unassigned types (RFC 8701-style padding types avoided)
        extensions = b"".join(struct.pack("!HH", 0x7000 + (i % 0x0FFF), 0)
                              for i in range(n_extensions))
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    return handshake(1, body)


def server_hello():
    body = struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\x00" + struct.pack("!H", 0xC02F) \
        + b"\x00"
    return handshake(2, body)


def certificate_request():
    """RFC 5246 §7.4.4: certificate types (ecdsa_sign), signature algorithms, no CA names."""
    body = b"\x01\x40" + struct.pack("!HH", 2, 0x0403) + struct.pack("!H", 0)
    return handshake(13, body)


def empty_certificate():
    return handshake(11, b"\x00\x00\x00")


# ---- The captures ---------------------------------------------------------------------------

def syn_flood(path, n=1_000_000):
    w = Writer(path)
    out = w.file
    usec = w.usec
    for i in range(n):
        src = "10.%d.%d.%d" % (1 + (i >> 16) % 200, (i >> 8) & 0xFF, i & 0xFF)
        frame = packet(src, "10.250.0.1", 1024 + (i % 60000), 443, i * 7919, 0, SYN)
        usec += 1
        out.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                              len(frame)))
        out.write(frame)
    w.close()


def huge_length(path):
    w = Writer(path)
    t = Tcp(w)
    # A handshake header that says 16 MB (2^24 - 1) follows, with 40 bytes behind it.
    body = struct.pack("!B", 1) + (0xFFFFFF).to_bytes(3, "big") + b"\x03\x03" + bytes(38)
    t.client_sends(record(22, body))
    t.close()
    w.close()


def overlap(path):
    w = Writer(path)
    t = Tcp(w)
    hello = record(22, client_hello())
    start = t.cseq
    t.client_sends(hello)
    # The same sequence range again, with different bytes.
    t.client_sends(bytes(b ^ 0x5A for b in hello), seq=start)
    t.server_sends(record(22, server_hello() + certificate_request() + handshake(14, b"")))
    t.close()
    w.close()


def seq_wrap(path):
    w = Writer(path)
    hello = record(22, client_hello())
    # The client's ISN puts 2^32 a hundred bytes into the ClientHello record.
    t = Tcp(w, client_isn=(1 << 32) - 1 - 100)
    t.client_sends(hello[:60])
    t.client_sends(hello[60:])
    t.server_sends(record(22, server_hello() + certificate_request() + handshake(14, b"")))
    # RFC 5246 §7.4.6: the client without a certificate answers with an empty list.
    t.client_sends(record(22, empty_certificate()) + record(22, handshake(16, b"\x41" + bytes(65))))
    t.close()
    w.close()


def reneg_storm(path, n=1000):
    w = Writer(path)
    t = Tcp(w)
    t.client_sends(record(22, client_hello()))
    t.server_sends(record(22, server_hello() + handshake(14, b"")))
    t.client_sends(record(22, handshake(16, b"\x41" + bytes(65))) + record(20, b"\x01")
                   + record(22, bytes(40)))
    t.server_sends(record(20, b"\x01") + record(22, bytes(40)))
    for i in range(n):
        # Encrypted handshake records after Finished: HelloRequest and the client's answer.
        t.server_sends(record(22, bytes(36)))
        t.client_sends(record(22, bytes(300)) + record(22, bytes(100)) + record(20, bytes(25))
                       + record(22, bytes(40)))
    t.close()
    w.close()


def many_extensions(path, n=5000):
    w = Writer(path)
    t = Tcp(w)
    t.client_sends(record(22, client_hello(n_extensions=n)))
    t.server_sends(record(22, server_hello() + handshake(14, b"")))
    t.close()
    w.close()


def huge_header(path, size=1 << 20):
    w = Writer(path)
    t = Tcp(w, server=("10.0.0.2", 80))
    t.client_sends(b"GET /big HTTP/1.1\r\nHost: example.test\r\nX-Big: " + b"a" * size
                   + b"\r\n\r\n")
    t.server_sends(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n")
    t.close()
    w.close()


def lying_records(path):
    w = Writer(path)
    t = Tcp(w)
    t.client_sends(record(22, client_hello()))
    w.close()
    # The last record header claims 60,000 bytes more than the file holds.
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        last = len(data)
        offset = 24
        while offset + 16 <= last:
            incl = struct.unpack_from("<I", data, offset + 8)[0]
            if offset + 16 + incl >= last:
                struct.pack_into("<II", data, offset + 8, incl + 60000, incl + 60000)
                break
            offset += 16 + incl
        f.seek(0)
        f.write(data)


def late_acks(path, n=20_000):
    """Each connection i: client 10.x.y.z:(1024 + i % 60000) to 10.250.0.1:443, ISNs 1000 and
    5000; one microsecond between packets, so everything lies within the tombstone linger."""
    w = Writer(path)
    usec = w.usec

    def put(frame):
        nonlocal usec
        usec += 1
        w.file.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                                 len(frame)))
        w.file.write(frame)

    def ends(i):
        return ("10.%d.%d.%d" % (1 + (i >> 16) % 200, (i >> 8) & 0xFF, i & 0xFF), "10.250.0.1",
                1024 + (i % 60000), 443)

    for i in range(n):
        client, server, cport, sport = ends(i)
        put(packet(client, server, cport, sport, 1000, 0, SYN))
        put(packet(server, client, sport, cport, 5000, 1001, SYN | ACK))
        put(packet(client, server, cport, sport, 1001, 5001, ACK))
        put(packet(client, server, cport, sport, 1001, 5001, FIN | ACK))
        put(packet(server, client, sport, cport, 5001, 1002, FIN | ACK))
    for _ in range(2):
        for i in range(n):
            client, server, cport, sport = ends(i)
            put(packet(client, server, cport, sport, 1002, 5002, ACK))
    w.close()


CAPTURES = {
    "syn-flood": syn_flood,
    "huge-length": huge_length,
    "overlap": overlap,
    "seq-wrap": seq_wrap,
    "reneg-storm": reneg_storm,
    "many-extensions": many_extensions,
    "huge-header": huge_header,
    "lying-records": lying_records,
    "late-acks": late_acks,
}


def write_all(folder):
    paths = {}
    for name, make in CAPTURES.items():
        paths[name] = os.path.join(folder, name + ".pcap")
        make(paths[name])
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    for name, path in write_all(sys.argv[1]).items():
        print(path)
