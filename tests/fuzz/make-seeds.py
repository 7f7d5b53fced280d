#!/usr/bin/env python3
"""make-seeds.py: writes the fuzz seed corpora of tests/fuzz/seeds/ from the sample captures.

  tls   each TCP stream of captures/*.pcap* (tshark's follow,tcp,raw), in the two-direction chunk
        form of fuzz-chunks.h; node 0 (the side that sent first) is side 0
  http  the same for the HTTP captures, plus a few hand-written exchanges for framings the
        captures do not have (chunked bodies, pipelining, 1xx, folding, read-until-close) and
        HTTP/2 connections (h2-*: frames and HPACK blocks built here, RFC 9113, RFC 7541)
  x509  the certificates of captures/pki/*.pem as DER, and their subject and issuer Names
  certheader  a name byte (fuzz-certheader.c) and a forwarding header value carrying
        captures/pki/client.pem in each encoding mtd-certheader.h knows

Run from anywhere: make-seeds.py [--captures DIR] [--out DIR] [--only tls|http|x509].
--captures may name another folder (for a local, uncommitted corpus from other captures).
"""
import argparse
import base64
import glob
import hashlib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def chunk_ops(chunks, flags=0):
    """chunks: list of (side, bytes) or (side, None, gap_len).  Returns the fuzz-chunks.h form."""
    out = bytearray([flags])
    for chunk in chunks:
        side, data = chunk[0], chunk[1]
        if data is None:
            out.append(0xC0 | (min(chunk[2], 0x1F) << 1) | side)
            continue
        for at in range(0, max(len(data), 1), 0xFFFF):
            piece = data[at:at + 0xFFFF]
            out += bytes([side, len(piece) >> 8, len(piece) & 0xFF]) + piece
    return bytes(out)


def tshark_streams(path):
    """Yields the list of (side, bytes) chunks of each TCP stream of a capture."""
    fields = subprocess.run(['tshark', '-r', path, '-T', 'fields', '-e', 'tcp.stream'],
                            capture_output=True, text=True).stdout.split()
    for stream in sorted({int(f) for f in fields if f.isdigit()}):
        text = subprocess.run(['tshark', '-r', path, '-q', '-z', f'follow,tcp,raw,{stream}'],
                              capture_output=True, text=True).stdout
        chunks = []
        in_body = False
        for line in text.splitlines():
            if line.startswith('Node 1:'):
                in_body = True
                continue
            if not in_body or line.startswith('====='):
                continue
            side = 1 if line.startswith('\t') else 0
            hex_text = line.strip()
            if re.fullmatch(r'[0-9a-fA-F]+', hex_text):
                chunks.append((side, bytes.fromhex(hex_text)))
        if chunks:
            yield stream, chunks


_written = set()


def write(out_dir, name, data):
    """Writes one seed, unless the same bytes were already written to that folder."""
    if (out_dir, data) in _written:
        return
    _written.add((out_dir, data))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name), 'wb') as f:
        f.write(data)


def captures_in(captures):
    paths = []
    for pattern in ('*.pcap', '*.pcapng'):
        paths += glob.glob(os.path.join(captures, '**', pattern), recursive=True)
    return sorted(paths)


def make_tls(captures, out_dir):
    for path in captures_in(captures):
        base = os.path.splitext(os.path.relpath(path, captures))[0].replace(os.sep, '_')
        if base.startswith('http-'):
            continue
        for stream, chunks in tshark_streams(path):
            if not chunks[0][1][:1] in (b'\x16', b'\x80') and len(chunks) < 2:
                continue
            write(out_dir, f'{base}-{stream}', chunk_ops(chunks))
            if 'midstream' in base:
                write(out_dir, f'{base}-{stream}-flags-midstream', chunk_ops(chunks, 0x01))


HTTP_HANDWRITTEN = {
    'chunked-pipelined': [
        (0, b'GET /a HTTP/1.1\r\nHost: app.example\r\nX-ARR-ClientCert: MIIBsz\r\n\r\n'
            b'GET /b HTTP/1.1\r\nHost: app.example\r\n\r\n'),
        (1, b'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
            b'5\r\nhello\r\n0\r\nTrailer: x\r\n\r\n'
            b'HTTP/1.1 302 Found\r\nLocation: https://app.example/b\r\nContent-Length: 0\r\n\r\n'),
    ],
    'post-folded-close': [
        (0, b'POST /upload HTTP/1.0\r\nHost: app.example\r\nX-Forwarded-Client-Cert:\r\n'
            b' By=spiffe://a;Hash=00\r\n\tSubject="CN=x"\r\nContent-Length: 4\r\n\r\nbody'),
        (1, b'HTTP/1.0 403 Forbidden\r\nServer: t\r\n\r\nclient certificate required'),
    ],
    'gap-then-next': [
        (0, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
        (1, b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234'),
        (1, None, 5),
        (0, b'GET /again HTTP/1.1\r\nHost: h\r\n\r\n'),
        (1, b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'),
    ],
    'h2-preface': [
        (0, b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'),
    ],
}


H2_PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


def h2_frame(frame_type, flags, stream, payload=b''):
    """An HTTP/2 frame (RFC 9113 §4.1)."""
    return (len(payload).to_bytes(3, 'big') + bytes([frame_type, flags])
            + stream.to_bytes(4, 'big') + payload)


def hpack_int(value, prefix_bits, first):
    """RFC 7541 §5.1 integer with an N-bit prefix; first holds the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack(fields, indexed=()):
    """A field block: static table entries by index (§6.1), then each (name, value) as a literal
    with incremental indexing and a new name, strings without Huffman (§6.2.1, §5.2), so blocks
    fill the decoder's dynamic table."""
    out = bytearray(b''.join(hpack_int(index, 7, 0x80) for index in indexed))
    for name, value in fields:
        out += b'\x40' + hpack_int(len(name), 7, 0) + name + hpack_int(len(value), 7, 0) + value
    return bytes(out)


def h2_seeds():
    """HTTP/2 connections for fuzz-http, in the chunk form with flags 0 (the preface is in the
    bytes)."""
    settings = h2_frame(4, 0, 0, (4).to_bytes(2, 'big') + (65535).to_bytes(4, 'big'))
    ack = h2_frame(4, 1, 0)
    # Static indices (RFC 7541 Appendix A): 2 :method GET, 7 :scheme https, 4 :path /,
    # 8 :status 200, 13 :status 404.
    request = hpack([(b':authority', b'app.example'), (b'x-arr-clientcert', b'MIIBsz')],
                    indexed=(2, 7, 4))
    again = bytes([0x82, 0x87, 0x84, 0xBF, 0xBE])  # the two literals again, from the table
    ok = hpack([(b'content-type', b'text/plain')], indexed=(8,))
    return {
        'h2-get-200': [
            (0, H2_PREFACE + settings + h2_frame(1, 0x05, 1, request)),
            (1, settings + ack + h2_frame(1, 0x04, 1, ok) + h2_frame(0, 0x01, 1, b'hello')),
            (0, ack + h2_frame(1, 0x05, 3, again)),
            (1, h2_frame(1, 0x05, 3, bytes([0x8D]))
                + h2_frame(7, 0, 0, bytes(8))),
        ],
        'h2-padded-continuation-push': [
            (0, H2_PREFACE + settings
                + h2_frame(1, 0x29, 1, b'\x03' + b'\x80\x00\x00\x00\x10' + request[:5]
                           + b'\x00\x00\x00')
                + h2_frame(9, 0x04, 1, request[5:])),
            (1, settings + h2_frame(1, 0x04, 1, b'\x08\x03100')  # :status 100, not indexed
                + h2_frame(5, 0x0C, 1, b'\x01\x00\x00\x00\x02'
                           + hpack([(b':path', b'/style.css')], indexed=(2, 7)) + b'\x00')
                + h2_frame(1, 0x04, 1, hpack([(b'location', b'https://app.example/login')],
                                            indexed=(13,)))),
        ],
        'h2-server-first-concurrent': [
            (1, settings),
            (0, H2_PREFACE[:10]),
            (0, H2_PREFACE[10:] + settings + h2_frame(1, 0x05, 1, request)
                + h2_frame(1, 0x05, 3, again)),
            (1, ack + h2_frame(1, 0x05, 3, bytes([0x8D])) + h2_frame(3, 0, 1, bytes(4))),
            (0, None, 4),
            (1, h2_frame(1, 0x05, 1, ok)),
        ],
    }


def make_http(captures, out_dir):
    for path in captures_in(captures):
        base = os.path.splitext(os.path.relpath(path, captures))[0].replace(os.sep, '_')
        for stream, chunks in tshark_streams(path):
            if re.match(rb'[A-Z]+ \S+ HTTP/1', chunks[0][1]):
                write(out_dir, f'{base}-{stream}', chunk_ops(chunks))
    if captures == os.path.join(ROOT, 'captures'):
        for name, chunks in HTTP_HANDWRITTEN.items():
            write(out_dir, name, chunk_ops(chunks))
            write(out_dir, name + '-flags-keep', chunk_ops(chunks, 0x01 | (2 << 1)))
        for name, chunks in h2_seeds().items():
            write(out_dir, name, chunk_ops(chunks, 0x01 | (2 << 1)))


def der_element(data, at):
    """Returns (start of the whole element, start of its contents, end) of the DER at data[at]."""
    length = data[at + 1]
    header = 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[at + 2:at + 2 + n], 'big')
        header += n
    return at, at + header, at + header + length


def names_of(der):
    """The issuer and subject Names of a certificate (RFC 5280 §4.1)."""
    _, cert_body, _ = der_element(der, 0)
    _, tbs_body, tbs_end = der_element(der, cert_body)
    elements = []
    at = tbs_body
    while at < tbs_end:
        start, _, end = der_element(der, at)
        elements.append(der[start:end])
        at = end
    if elements[0][0] == 0xA0:  # [0] version
        elements = elements[1:]
    # serialNumber, signature, issuer, validity, subject
    return elements[2], elements[4]


def make_x509(captures, out_dir):
    for path in sorted(glob.glob(os.path.join(captures, 'pki', '*.pem'))):
        if 'key' in os.path.basename(path):
            continue
        text = open(path).read()
        blocks = re.findall(r'-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----', text,
                            re.S)
        base = os.path.splitext(os.path.basename(path))[0]
        for i, block in enumerate(blocks):
            der = base64.b64decode(''.join(block.split()))
            write(out_dir, f'{base}-{i}.der', der)
            issuer, subject = names_of(der)
            write(out_dir, f'{base}-{i}-issuer.dn', issuer)
            write(out_dir, f'{base}-{i}-subject.dn', subject)


def known_header_names():
    """The names of src/certheader-decode.c's known_headers table, in order."""
    text = open(os.path.join(ROOT, 'src', 'certheader-decode.c')).read()
    table = text[text.index('known_headers[]'):]
    table = table[:table.index('};')]
    return re.findall(r'\{\s*"([^"]+)"', table)


def make_certheader(captures, out_dir):
    names = known_header_names()
    extra = len(names)  # the name byte that picks the run-time name

    def index(name):
        return names.index(name) if name in names else extra

    pem = open(os.path.join(captures, 'pki', 'client.pem')).read().strip()
    chain = open(os.path.join(captures, 'pki', 'client-chain.pem')).read().strip()
    body = ''.join(pem.splitlines()[1:-1])
    der = base64.b64decode(body)
    url_pem = ''.join(c if c.isalnum() or c in '-._~' else '%%%02X' % ord(c) for c in pem + '\n')
    sha256 = hashlib.sha256(der).hexdigest()
    values = {
        'arr-base64': ('X-ARR-ClientCert', body),
        'arr-pem-mismatch': ('X-ARR-ClientCert', pem),
        'pem-chain': ('X-SSL-Client-Cert', chain),
        'pem-spaces': ('X-Client-Cert', pem.replace('\n', ' ')),
        'url-pem': ('ssl-client-cert', url_pem),
        'rfc9440': ('Client-Cert', ':' + body + ':'),
        'xfcc': ('X-Forwarded-Client-Cert',
                 'By=spiffe://cluster.local/ns/a/sa/front;Hash=%s;Cert="%s";'
                 'Subject="CN=client,O=mtlsdiag";URI=spiffe://cluster.local/ns/b/sa/c;'
                 'DNS=client.example;DNS=alt.example,By=spiffe://x;Hash=00' % (sha256, url_pem)),
        'traefik-no-markers': ('X-Forwarded-Tls-Client-Cert', body + ',' + body),
        'garbage': ('X-My-Client-Cert', '%%%%zz:::===\x01\xff'),
    }
    for name, (header, value) in values.items():
        write(out_dir, name, bytes([index(header)]) + value.encode('latin-1'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--captures', default=os.path.join(ROOT, 'captures'))
    parser.add_argument('--out', default=os.path.join(HERE, 'seeds'))
    parser.add_argument('--only', choices=['tls', 'http', 'x509', 'certheader'])
    args = parser.parse_args()
    makers = {'tls': make_tls, 'http': make_http, 'x509': make_x509,
              'certheader': make_certheader}
    for name, maker in makers.items():
        if args.only in (None, name):
            maker(args.captures, os.path.join(args.out, name))
    return 0


if __name__ == '__main__':
    sys.exit(main())
