/* test-http.c: unit tests of the incremental HTTP/1.x and HTTP/2 parser (mtd-http.h).
 *
 * Follows RFC 9112 (message framing), RFC 9110 (fields, status codes), RFC 9113 (HTTP/2: §3.4
 * the preface, §4 frames, §6 frame definitions, §8 messages) and RFC 7541 (HPACK).  Each case is
 * a list of stream segments, each fed as one call with its own frame number (1000 + its 1-based
 * index), and the exchanges that must come out.  Every case is fed whole, one byte at a time and
 * in random pieces, each of which must give the expected result; and cut at every byte, where an
 * exchange's request (or response) must be there exactly when the segment that ends its head was
 * fed in full.  HTTP/2 cases build their segments when the tests start: field blocks are
 * compressed with nghttp2's deflater, one per side as a real peer would, and framed by hand.
 */
#include <malloc.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "mtd-http.h"
#include "mtd-http2.h"

#define FRAME_BASE 1000
#define DEFAULT_MAX_EXCHANGES 16
#define MAX_SEGMENTS 16
#define MAX_EXPECTED 6
#define HEAD_CAP (64 * 1024)
#define STRING_CAP (8 * 1024)

typedef enum {
  END, /* no more segments */
  C,   /* client to server bytes */
  S,   /* server to client bytes */
  GAP_C,
  GAP_S,
} SegmentKind;

typedef struct {
  SegmentKind kind;
  const char *bytes;
  gsize len;
} Segment;

/* sizeof keeps NUL bytes inside binary segments. */
#define SEG(kind, literal) { kind, literal, sizeof literal - 1 }
#define GAP(kind) { kind, NULL, 0 }

typedef struct {
  const char *method;
  const char *host;
  const char *path;
  const char *version;
  gint status;
  const char *location;
  guint request_seg; /* 1-based segment whose last byte ends the request head; 0: none */
  guint status_seg;  /* likewise for the final response head */
  const char *kept_name;  /* the one kept request header (KEPT_NAMES), or NULL for none */
  const char *kept_value;
} Expected;

/* The request fields every case keeps. */
static const char *const kept_names[] = { "X-ARR-ClientCert", NULL };

typedef struct {
  const char *name;
  guint max_exchanges; /* 0: DEFAULT_MAX_EXCHANGES */
  Segment segments[MAX_SEGMENTS];
  Expected exchanges[MAX_EXPECTED];
  guint n_dropped;
  guint n_bad;
  guint n_too_large;
  guint n_too_many;
  guint n_bad_frame;
  guint n_bad_hpack;
  gboolean is_h2;
  gboolean has_head_inside_segment; /* a head ends before its segment does: no cut checks */
  guint cut_stride; /* cut only every this many bytes and near segment ends (0: every byte) */
} Case;

static const Case cases[] = {
  { .name = "get-200",
    .segments = { SEG (C, "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n"
                          "Accept: */*\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                          "Content-Length: 5\r\n\r\n"),
                  SEG (S, "hello") },
    .exchanges = { { "GET", "example.com", "/index.html", "HTTP/1.1", 200, NULL, 1, 2 } } },
  { .name = "keep-alive",
    .segments = { SEG (C, "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
                  SEG (S, "0123456789\r\n"),
                  SEG (C, "GET /b HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n"),
                  SEG (S, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n") },
    .exchanges = { { "GET", "example.com", "/a", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", "example.com", "/b", "HTTP/1.1", 404, NULL, 4, 5 } } },
  /* 304 carries a Content-Length of the representation, not a body (RFC 9112 §6.3 item 1). */
  { .name = "pipelined",
    .segments = { SEG (C, "GET /1 HTTP/1.1\r\nHost: p.example\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\nHost: p.example\r\n\r\n"),
                  SEG (C, "DELETE /3 HTTP/1.1\r\nHost: p.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
                  SEG (S, "one"),
                  SEG (S, "HTTP/1.1 304 Not Modified\r\nContent-Length: 999\r\n\r\n"),
                  SEG (S, "HTTP/1.1 204 No Content\r\n\r\n") },
    .exchanges = { { "GET", "p.example", "/1", "HTTP/1.1", 200, NULL, 1, 4 },
                   { "GET", "p.example", "/2", "HTTP/1.1", 304, NULL, 2, 6 },
                   { "DELETE", "p.example", "/3", "HTTP/1.1", 204, NULL, 3, 7 } } },
  { .name = "pipelined-one-segment",
    .segments = { SEG (C, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.0\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 200 OK\r\n\r\n"
                          "HTTP/1.1 500 read until close\r\n\r\n") },
    .exchanges = { { "GET", "a", "/x", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", NULL, "/y", "HTTP/1.0", 200, NULL, 1, 2 } },
    .has_head_inside_segment = TRUE },
  { .name = "post-body-looks-like-request",
    .segments = { SEG (C, "POST /submit HTTP/1.1\r\nHost: post.example\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 42\r\n\r\n"),
                  SEG (C, "GET /evil HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 201 Created\r\nLocation: /items/7\r\n"
                          "Content-Length: 0\r\n\r\n") },
    .exchanges = { { "POST", "post.example", "/submit", "HTTP/1.1", 201, "/items/7", 1, 3 } } },
  /* Chunk extensions with a quoted ";" and ",", chunk data holding a last-chunk lookalike, a
   * trailer section with a status-line lookalike (RFC 9112 §7.1). */
  { .name = "chunked-response",
    .segments = { SEG (C, "GET /chunked HTTP/1.1\r\nHost: c.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"),
                  SEG (S, "5;name=value;q=\"a;b,c\"\r\nhello\r\n1a ; x\r\n"
                          "abcdefghijklmnopqrstuvwxyz\r\n7\r\n\r\n0\r\n\r\n\r\n0;last\r\n"
                          "X-Checksum: abc\r\nX-Next: HTTP/1.1 500 Oops\r\n\r\n"),
                  SEG (C, "GET /next HTTP/1.1\r\nHost: c.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "c.example", "/chunked", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", "c.example", "/next", "HTTP/1.1", 200, NULL, 4, 5 } } },
  { .name = "chunked-request",
    .segments = { SEG (C, "POST /up HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\n\r\n"),
                  SEG (C, "4\r\nGET \r\n0\r\n\r\n"),
                  SEG (C, "GET /second HTTP/1.1\r\nHost: u\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "POST", "u", "/up", "HTTP/1.1", 200, NULL, 1, 4 },
                   { "GET", "u", "/second", "HTTP/1.1", 200, NULL, 3, 5 } } },
  /* RFC 9112 §6.3 item 3: Transfer-Encoding overrides Content-Length, and the pair is an error
   * worth noting. */
  { .name = "transfer-encoding-wins",
    .segments = { SEG (C, "POST /te HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n"),
                  SEG (C, "3\r\nabc\r\n0\r\n\r\n"),
                  SEG (C, "GET /after HTTP/1.1\r\nHost: t\r\n\r\n") },
    .exchanges = { { "POST", "t", "/te", "HTTP/1.1", 0, NULL, 1, 0 },
                   { "GET", "t", "/after", "HTTP/1.1", 0, NULL, 3, 0 } },
    .n_bad = 1 },
  { .name = "read-until-close",
    .segments = { SEG (C, "GET /old HTTP/1.0\r\n\r\n"),
                  SEG (S, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"),
                  SEG (S, "<html>HTTP/1.1 500 Internal\r\n\r\n</html>") },
    .exchanges = { { "GET", NULL, "/old", "HTTP/1.0", 200, NULL, 1, 2 } } },
  { .name = "head-response-no-body",
    .segments = { SEG (C, "HEAD /big HTTP/1.1\r\nHost: h.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"),
                  SEG (C, "GET /small HTTP/1.1\r\nHost: h.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
                  SEG (S, "ok") },
    .exchanges = { { "HEAD", "h.example", "/big", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", "h.example", "/small", "HTTP/1.1", 200, NULL, 3, 4 } } },
  { .name = "100-continue",
    .segments = { SEG (C, "PUT /upload HTTP/1.1\r\nHost: up.example\r\nExpect: 100-continue\r\n"
                          "Content-Length: 4\r\n\r\n"),
                  SEG (S, "HTTP/1.1 100 Continue\r\n\r\n"),
                  SEG (C, "data"),
                  SEG (S, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"),
                  SEG (S, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "PUT", "up.example", "/upload", "HTTP/1.1", 201, NULL, 1, 5 } } },
  { .name = "redirect-to-https",
    .segments = { SEG (C, "GET /login HTTP/1.1\r\nHost: app.example\r\n\r\n"),
                  SEG (S, "HTTP/1.1 301 Moved Permanently\r\n"
                          "Location: https://app.example/login\r\n"
                          "Location: http://other.example/\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "app.example", "/login", "HTTP/1.1", 301,
                     "https://app.example/login", 1, 2 } } },
  /* RFC 9112 §5.2: each obs-fold becomes SP. */
  { .name = "folded-fields",
    .segments = { SEG (C, "GET /fold HTTP/1.1\r\nHost:\r\n  folded.example\r\n"
                          "X-Long: a\r\n\tb\r\n\r\n"),
                  SEG (S, "HTTP/1.1 302 Found\r\nLocation: https://fold.example/\r\n\tpart2  \r\n"
                          "Content-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "folded.example", "/fold", "HTTP/1.1", 302,
                     "https://fold.example/ part2", 1, 2 } } },
  /* RFC 9112 §2.2: a folded line right after the start line is consumed unprocessed. */
  { .name = "fold-after-start-line",
    .segments = { SEG (C, "GET /f HTTP/1.1\r\n Host: ignored.example\r\n"
                          "Host: real.example\r\n\r\n") },
    .exchanges = { { "GET", "real.example", "/f", "HTTP/1.1", 0, NULL, 1, 0 } } },
  { .name = "bare-lf",
    .segments = { SEG (C, "GET /lf HTTP/1.1\nHost: lf.example\n\n"),
                  SEG (S, "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n"),
                  SEG (S, "2\nok\n0\n\n"),
                  SEG (C, "GET /lf2 HTTP/1.1\r\nHost: lf.example\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\n\n") },
    .exchanges = { { "GET", "lf.example", "/lf", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", "lf.example", "/lf2", "HTTP/1.1", 200, NULL, 4, 5 } } },
  { .name = "host-case-and-ows",
    .segments = { SEG (C, "GET /h HTTP/1.1\r\nhOsT: \t spaced.example \t\r\n\r\n") },
    .exchanges = { { "GET", "spaced.example", "/h", "HTTP/1.1", 0, NULL, 1, 0 } } },
  /* RFC 9112 §3.2: more than one Host is invalid; the first is kept. */
  /* Host means nothing in a response: repeating it there is no anomaly. */
  { .name = "host-in-response",
    .segments = { SEG (C, "GET / HTTP/1.1\r\nHost: q\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "q", "/", "HTTP/1.1", 200, NULL, 1, 2 } } },
  { .name = "repeated-host",
    .segments = { SEG (C, "GET /r HTTP/1.1\r\nHost: first.example\r\n"
                          "HOST: second.example\r\n\r\n") },
    .exchanges = { { "GET", "first.example", "/r", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  /* RFC 9112 §2.2: empty lines before a request line are ignored. */
  { .name = "crlf-after-body",
    .segments = { SEG (C, "POST /p HTTP/1.1\r\nHost: e\r\nContent-Length: 2\r\n\r\n"),
                  SEG (C, "ab\r\n\r\n"),
                  SEG (C, "GET /q HTTP/1.1\r\nHost: e\r\n\r\n") },
    .exchanges = { { "POST", "e", "/p", "HTTP/1.1", 0, NULL, 1, 0 },
                   { "GET", "e", "/q", "HTTP/1.1", 0, NULL, 3, 0 } } },
  { .name = "content-length-list",
    .segments = { SEG (C, "POST /l HTTP/1.1\r\nHost: l\r\nContent-Length: 3, 3\r\n"
                          "Content-Length: 3\r\n\r\n"),
                  SEG (C, "abc"),
                  SEG (C, "GET /m HTTP/1.1\r\nHost: l\r\n\r\n") },
    .exchanges = { { "POST", "l", "/l", "HTTP/1.1", 0, NULL, 1, 0 },
                   { "GET", "l", "/m", "HTTP/1.1", 0, NULL, 3, 0 } } },
  { .name = "response-without-request",
    .segments = { SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
                  SEG (S, "abc"),
                  SEG (S, "HTTP/1.1 302 Found\r\nLocation: https://mid.example/\r\n"
                          "Content-Length: 0\r\n\r\n") },
    .exchanges = { { NULL, NULL, NULL, "HTTP/1.1", 200, NULL, 0, 1 },
                   { NULL, NULL, NULL, "HTTP/1.1", 302, "https://mid.example/", 0, 3 } } },
  /* RFC 9112 §6.3 item 4: a response whose last coding is not chunked runs until the close; a
   * quoted parameter does not split the list. */
  { .name = "response-gzip-until-close",
    .segments = { SEG (C, "GET /z HTTP/1.1\r\nHost: z\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\n"
                          "Transfer-Encoding: chunked, gzip;p=\"a,chunked\"\r\n\r\n"),
                  SEG (S, "0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "z", "/z", "HTTP/1.1", 200, NULL, 1, 2 } } },
  { .name = "utf8-made-valid",
    .segments = { SEG (C, "GET /caf\xc3\xa9/\xe9 HTTP/1.1\r\nHost: u\xff.example\r\n\r\n") },
    .exchanges = { { "GET", "u\xef\xbf\xbd.example", "/caf\xc3\xa9/\xef\xbf\xbd", "HTTP/1.1", 0,
                     NULL, 1, 0 } } },
  /* RFC 9110 §5.5: NUL in a field value is replaced with SP. */
  { .name = "nul-in-value",
    .segments = { SEG (C, "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n") },
    .exchanges = { { "GET", "a b", "/", "HTTP/1.1", 0, NULL, 1, 0 } } },
  { .name = "h2-prior-knowledge",
    .segments = { SEG (C, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                  SEG (C, "\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
                  SEG (S, "\x00\x00\x00\x04\x00\x00\x00\x00\x00") },
    .is_h2 = TRUE },
  /* A server that starts with an HTTP/2 SETTINGS frame to a client that then speaks HTTP/1.x:
   * the server's bytes are not HTTP/1.x. */
  { .name = "server-settings-then-http1",
    .segments = { SEG (S, "\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
                  SEG (C, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") },
    .exchanges = { { "GET", "a", "/", "HTTP/1.1", 0, NULL, 2, 0 } },
    .n_bad = 1 },
  /* Server bytes that start like a SETTINGS frame but are not one are HTTP/1.x's. */
  { .name = "server-almost-settings",
    .segments = { SEG (S, "\x00\x00\x00\x04\x01"),
                  SEG (C, "GET / HTTP/1.1\r\nHost: a\r\n\r\n") },
    .exchanges = { { "GET", "a", "/", "HTTP/1.1", 0, NULL, 2, 0 } },
    .n_bad = 1 },
  { .name = "put-starts-like-preface",
    .segments = { SEG (C, "PUT /p HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\n\r\n"),
                  SEG (C, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") },
    .exchanges = { { "PUT", "p", "/p", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  { .name = "preface-lookalike",
    .segments = { SEG (C, "PRI * HTTP/2.0\r\n\r\nXX") },
    .n_bad = 1 },
  { .name = "upgrade-101",
    .segments = { SEG (C, "GET /ws HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\n"),
                  SEG (S, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\n\r\n"),
                  SEG (S, "\x81\x05hello"),
                  SEG (C, "\x81\x85\x00\x00\x00\x00hello") },
    .exchanges = { { "GET", "ws.example", "/ws", "HTTP/1.1", 101, NULL, 1, 2 } } },
  { .name = "connect-tunnel",
    .segments = { SEG (C, "CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 Connection Established\r\n\r\n"),
                  SEG (C, "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"),
                  SEG (S, "\x16\x03\x03\x00\x02\x02\x00") },
    .exchanges = { { "CONNECT", "api.example:443", "api.example:443", "HTTP/1.1", 200, NULL, 1,
                     2 } } },
  { .name = "gap-client",
    .segments = { SEG (C, "GET /1 HTTP/1.1\r\nHost: g\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\nHo"),
                  GAP (GAP_C),
                  SEG (C, "st: g\r\n\r\n"),
                  SEG (C, "GET /3 HTTP/1.1\r\nHost: g\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "g", "/1", "HTTP/1.1", 200, NULL, 1, 6 } } },
  { .name = "gap-server",
    .segments = { SEG (C, "GET /1 HTTP/1.1\r\nHost: g\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"),
                  SEG (S, "abc"),
                  GAP (GAP_S),
                  SEG (S, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\nHost: g\r\n\r\n") },
    .exchanges = { { "GET", "g", "/1", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", "g", "/2", "HTTP/1.1", 0, NULL, 6, 0 } } },
  /* The third request is HEAD and not kept: its response must still end at its empty line, so
   * the fourth and fifth responses (unsolicited) are seen and dropped too. */
  { .name = "max-exchanges",
    .max_exchanges = 2,
    .segments = { SEG (C, "GET /1 HTTP/1.1\r\nHost: m\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\nHost: m\r\n\r\n"),
                  SEG (C, "HEAD /3 HTTP/1.1\r\nHost: m\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"),
                  SEG (S, "abc"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "m", "/1", "HTTP/1.1", 200, NULL, 1, 4 },
                   { "GET", "m", "/2", "HTTP/1.1", 200, NULL, 2, 6 } },
    .n_dropped = 3,
    .n_too_many = 1 },
  { .name = "binary-client",
    .segments = { SEG (C, "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00\n\r\n"),
                  SEG (C, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") },
    .n_bad = 1 },
  { .name = "binary-server",
    .segments = { SEG (C, "GET / HTTP/1.1\r\nHost: b\r\n\r\n"),
                  SEG (S, "\x00\x00\x12\x04\x00\x00\x00\x00\x00"),
                  SEG (S, "HTTP/1.1 200 OK\r\n\r\n") },
    .exchanges = { { "GET", "b", "/", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  /* Not HTTP/1.x is known before any LF arrives. */
  { .name = "binary-without-lf",
    .segments = { SEG (C, "\x80\x81\x82\x83") },
    .n_bad = 1 },
  { .name = "server-not-http-without-lf",
    .segments = { SEG (S, "HTTQ/1.1 200 OK") },
    .n_bad = 1 },
  { .name = "request-http2-version",
    .segments = { SEG (C, "GET / HTTP/2.0\r\nHost: x\r\n\r\n") },
    .n_bad = 1 },
  { .name = "request-http09",
    .segments = { SEG (C, "GET /\r\n") },
    .n_bad = 1 },
  { .name = "request-leading-space",
    .segments = { SEG (C, " GET / HTTP/1.1\r\n\r\n") },
    .n_bad = 1 },
  { .name = "request-control-in-target",
    .segments = { SEG (C, "GET /a\x01z HTTP/1.1\r\n\r\n") },
    .n_bad = 1 },
  /* RFC 9112 §2.3: HTTP-name is case-sensitive. */
  { .name = "status-lowercase-http",
    .segments = { SEG (S, "http/1.1 200 OK\r\n\r\n") },
    .n_bad = 1 },
  { .name = "status-four-digits",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"), SEG (S, "HTTP/1.1 2000 OK\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  /* RFC 9110 §15: valid status codes are 100 to 599. */
  { .name = "status-out-of-range",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"), SEG (S, "HTTP/1.1 600 Huh\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  /* RFC 9112 §6.3 item 5: an invalid Content-Length makes the framing invalid. */
  { .name = "content-length-not-digits",
    .segments = { SEG (C, "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 12a\r\n\r\n"),
                  SEG (C, "GET /never HTTP/1.1\r\n\r\n") },
    .exchanges = { { "POST", "x", "/cl", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  { .name = "content-length-conflict",
    .segments = { SEG (C, "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          "Content-Length: 6\r\n\r\n"),
                  SEG (C, "GET /never HTTP/1.1\r\n\r\n") },
    .exchanges = { { "POST", "x", "/cl", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  { .name = "content-length-list-conflict",
    .segments = { SEG (C, "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\n"),
                  SEG (C, "abcde"),
                  SEG (C, "GET /never HTTP/1.1\r\n\r\n") },
    .exchanges = { { "POST", "x", "/cl", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  { .name = "content-length-overflow",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 200, NULL, 1, 2 } },
    .n_bad = 1 },
  /* RFC 9112 §6.3 item 4: a request whose last coding is not chunked cannot be framed. */
  { .name = "request-gzip-encoding",
    .segments = { SEG (C, "POST /g HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"),
                  SEG (C, "GET /never HTTP/1.1\r\n\r\n") },
    .exchanges = { { "POST", "x", "/g", "HTTP/1.1", 0, NULL, 1, 0 } },
    .n_bad = 1 },
  { .name = "chunk-size-not-hex",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                  SEG (S, "zz\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", NULL, "/2", "HTTP/1.1", 0, NULL, 4, 0 } },
    .n_bad = 1 },
  { .name = "chunk-data-without-crlf",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                  SEG (S, "3\r\nabcX\r\n0\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 200, NULL, 1, 2 } },
    .n_bad = 1 },
  /* 17 hex digits do not fit 64 bits. */
  { .name = "chunk-size-overflow",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                  SEG (S, "10000000000000000\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", NULL, "/2", "HTTP/1.1", 0, NULL, 4, 0 } },
    .n_bad = 1 },
  { .name = "chunk-size-trailing-junk",
    .segments = { SEG (C, "GET / HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                  SEG (S, "3x\r\nabc\r\n0\r\n\r\n"),
                  SEG (C, "GET /2 HTTP/1.1\r\n\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", NULL, "/", "HTTP/1.1", 200, NULL, 1, 2 },
                   { "GET", NULL, "/2", "HTTP/1.1", 0, NULL, 4, 0 } },
    .n_bad = 1 },
  /* RFC 9112 §5.1: no whitespace between name and colon; such lines are skipped. */
  { .name = "bad-field-lines",
    .segments = { SEG (C, "GET / HTTP/1.1\r\nHost: ok.example\r\nNoColonHere\r\nHost : evil\r\n"
                          "\r\n"),
                  SEG (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") },
    .exchanges = { { "GET", "ok.example", "/", "HTTP/1.1", 200, NULL, 1, 2 } },
    .n_bad = 2 },
};

typedef enum {
  FEED_WHOLE,
  FEED_BYTES,
  FEED_PIECES,
} FeedMode;

static guint
case_max_exchanges (const Case *test)
{
  return test->max_exchanges != 0 ? test->max_exchanges : DEFAULT_MAX_EXCHANGES;
}

static gsize
case_n_expected (const Case *test)
{
  gsize n = 0;
  while (n < MAX_EXPECTED
         && (test->exchanges[n].request_seg != 0 || test->exchanges[n].status_seg != 0))
    n++;
  return n;
}

static gsize
case_total_len (const Case *test)
{
  gsize total = 0;
  for (gsize i = 0; i < MAX_SEGMENTS && test->segments[i].kind != END; i++)
    total += test->segments[i].len;
  return total;
}

static void
feed_segment (MtdHttp *http, const Segment *segment, gsize len, guint64 frame, FeedMode mode,
              GRand *rand)
{
  gboolean is_from_client = segment->kind == C;
  const guint8 *bytes = (const guint8 *) segment->bytes;
  gsize offset = 0;

  if (segment->kind == GAP_C || segment->kind == GAP_S) {
    mtd_http_gap (http, segment->kind == GAP_C);
    return;
  }
  while (offset < len) {
    gsize piece = len - offset;
    gsize random_len = (gsize) g_rand_int_range (rand, 1, 8);
    if (mode == FEED_BYTES)
      piece = 1;
    else if (mode == FEED_PIECES && random_len < piece)
      piece = random_len;
    mtd_http_feed (http, is_from_client, bytes + offset, piece, frame);
    offset += piece;
  }
}

/* Feeds the case's first cut_len bytes (all of them with G_MAXSIZE), then ends the connection;
 * *n_complete is set to the number of segments fed in full. */
static MtdHttp *
run_case (const Case *test, gsize cut_len, FeedMode mode, MtdAnomalyCounts *counts,
          guint *n_complete)
{
  MtdHttp *http = mtd_http_new (counts, case_max_exchanges (test));
  mtd_http_keep_headers (http, kept_names);
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  gsize offset = 0;

  *n_complete = 0;
  for (guint i = 0; i < MAX_SEGMENTS && test->segments[i].kind != END; i++) {
    const Segment *segment = &test->segments[i];
    gsize len = segment->len;
    if (offset + len > cut_len)
      len = cut_len - offset;
    feed_segment (http, segment, len, FRAME_BASE + i + 1, mode, rand);
    offset += len;
    if (len < segment->len)
      break;
    *n_complete = i + 1;
  }
  mtd_http_end (http);
  return http;
}

static void
assert_exchange (const MtdHttpExchange *exchange, const Expected *expected, guint n_complete)
{
  gboolean has_request = expected->request_seg != 0 && expected->request_seg <= n_complete;
  gboolean has_status = expected->status_seg != 0 && expected->status_seg <= n_complete;

  if (has_request) {
    g_assert_cmpstr (exchange->method, ==, expected->method);
    g_assert_cmpstr (exchange->host, ==, expected->host);
    g_assert_cmpstr (exchange->path, ==, expected->path);
    g_assert_cmpstr (exchange->version, ==, expected->version);
    g_assert_cmpuint (exchange->request_frame, ==, FRAME_BASE + expected->request_seg);
    if (expected->kept_name != NULL) {
      g_assert_nonnull (exchange->request_headers);
      g_assert_cmpuint (exchange->request_headers->len, ==, 1);
      const MtdHttpHeader *header = g_ptr_array_index (exchange->request_headers, 0);
      g_assert_cmpstr (header->name, ==, expected->kept_name);
      g_assert_cmpstr (header->value, ==, expected->kept_value);
    } else {
      g_assert_null (exchange->request_headers);
    }
  } else {
    g_assert_null (exchange->method);
    g_assert_null (exchange->host);
    g_assert_null (exchange->path);
    g_assert_cmpuint (exchange->request_frame, ==, 0);
  }
  if (has_status) {
    g_assert_cmpint (exchange->status, ==, expected->status);
    g_assert_cmpuint (exchange->status_frame, ==, FRAME_BASE + expected->status_seg);
    g_assert_cmpstr (exchange->location, ==, expected->location);
    if (!has_request)
      g_assert_cmpstr (exchange->version, ==, expected->version);
  } else {
    g_assert_cmpint (exchange->status, ==, 0);
    g_assert_cmpuint (exchange->status_frame, ==, 0);
    g_assert_null (exchange->location);
  }
}

static void
assert_anomalies (const MtdAnomalyCounts *counts, const Case *test)
{
  for (guint i = 0; i < MTD_ANOMALY_COUNT; i++) {
    guint expected = 0;
    if (i == MTD_ANOMALY_HTTP_BAD_MESSAGE)
      expected = test->n_bad;
    else if (i == MTD_ANOMALY_HTTP_TOO_LARGE)
      expected = test->n_too_large;
    else if (i == MTD_ANOMALY_HTTP_TOO_MANY)
      expected = test->n_too_many;
    else if (i == MTD_ANOMALY_HTTP2_BAD_FRAME)
      expected = test->n_bad_frame;
    else if (i == MTD_ANOMALY_HTTP2_BAD_HPACK)
      expected = test->n_bad_hpack;
    g_assert_cmpuint (counts->counts[i], ==, expected);
  }
}

static void
test_case_full (gconstpointer data)
{
  const Case *test = data;
  const FeedMode modes[] = { FEED_WHOLE, FEED_BYTES, FEED_PIECES };

  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++) {
    MtdAnomalyCounts counts = { { 0 } };
    guint n_complete = 0;
    g_autoptr (MtdHttp) http = run_case (test, G_MAXSIZE, modes[m], &counts, &n_complete);
    const GPtrArray *exchanges = mtd_http_exchanges (http);

    g_assert_cmpuint (exchanges->len, ==, case_n_expected (test));
    for (guint i = 0; i < exchanges->len; i++)
      assert_exchange (g_ptr_array_index (exchanges, i), &test->exchanges[i], n_complete);
    g_assert_cmpuint (mtd_http_n_dropped (http), ==, test->n_dropped);
    g_assert_cmpint (mtd_http_is_h2_prior_knowledge (http), ==, test->is_h2);
    g_assert_cmpint (mtd_http_is_h2 (http), ==, test->is_h2);
    assert_anomalies (&counts, test);
  }
}

/* Is the cut within a frame header's length of a segment's end? */
static gboolean
is_near_segment_end (const Case *test, gsize cut_len)
{
  gsize end = 0;
  for (gsize i = 0; i < MAX_SEGMENTS && test->segments[i].kind != END; i++) {
    end += test->segments[i].len;
    if (cut_len + MTD_HTTP2_FRAME_HEADER_LEN >= end && cut_len <= end + MTD_HTTP2_FRAME_HEADER_LEN)
      return TRUE;
  }
  return FALSE;
}

/* Cut at every byte: an exchange exists once the segment ending its first head was fed in full,
 * and holds exactly what the fully fed segments carry. */
static void
test_case_cuts (gconstpointer data)
{
  const Case *test = data;
  gsize total = case_total_len (test);
  gsize n_expected = case_n_expected (test);
  gboolean has_anomaly = test->n_bad + test->n_too_large + test->n_too_many + test->n_bad_frame
                         + test->n_bad_hpack > 0;

  for (gsize i = 1; i < n_expected; i++) {
    const Expected *before = &test->exchanges[i - 1];
    const Expected *expected = &test->exchanges[i];
    g_assert_cmpuint (before->request_seg ? before->request_seg : before->status_seg, <=,
                      expected->request_seg ? expected->request_seg : expected->status_seg);
  }
  for (gsize cut_len = 0; cut_len <= total; cut_len++) {
    if (test->cut_stride > 1 && cut_len % test->cut_stride != 0 && !is_near_segment_end (test, cut_len))
      continue;
    MtdAnomalyCounts counts = { { 0 } };
    guint n_complete = 0;
    g_autoptr (MtdHttp) http = run_case (test, cut_len, FEED_WHOLE, &counts, &n_complete);
    const GPtrArray *exchanges = mtd_http_exchanges (http);
    gsize n_present = 0;

    if (test->has_head_inside_segment) {
      g_assert_cmpuint (exchanges->len, <=, n_expected);
      continue;
    }
    for (gsize i = 0; i < n_expected; i++) {
      const Expected *expected = &test->exchanges[i];
      guint first_seg = expected->request_seg ? expected->request_seg : expected->status_seg;
      if (first_seg <= n_complete)
        n_present++;
    }
    g_assert_cmpuint (exchanges->len, ==, n_present);
    for (guint i = 0; i < exchanges->len; i++)
      assert_exchange (g_ptr_array_index (exchanges, i), &test->exchanges[i], n_complete);
    if (!has_anomaly) {
      MtdAnomalyCounts none = { { 0 } };
      g_assert_cmpmem (&counts, sizeof counts, &none, sizeof none);
    }
  }
}

/* A request whose start line and header section is exactly len bytes long. */
static GByteArray *
build_request (gsize len)
{
  static const char head[] = "GET /big HTTP/1.1\r\nHost: big.example\r\nX-Pad: ";
  static const char tail[] = "\r\n\r\n";
  GByteArray *request = g_byte_array_new ();
  gsize pad_len = len - (sizeof head - 1) - (sizeof tail - 1);

  g_byte_array_append (request, (const guint8 *) head, sizeof head - 1);
  for (gsize i = 0; i < pad_len; i++)
    g_byte_array_append (request, (const guint8 *) "a", 1);
  g_byte_array_append (request, (const guint8 *) tail, sizeof tail - 1);
  g_assert_cmpuint (request->len, ==, len);
  return request;
}

static void
feed_all (MtdHttp *http, gboolean is_from_client, const GByteArray *bytes, gboolean is_bytewise,
          guint64 frame)
{
  if (!is_bytewise) {
    mtd_http_feed (http, is_from_client, bytes->data, bytes->len, frame);
    return;
  }
  for (guint i = 0; i < bytes->len; i++)
    mtd_http_feed (http, is_from_client, bytes->data + i, 1, frame);
}

/* Request fields named by mtd_http_keep_headers are kept in order with their names as sent,
 * matched case-insensitively, folded lines unfolded (RFC 9112 §5.2: obs-fold becomes SP);
 * response fields and other names are not kept, and at most MTD_HTTP_MAX_KEPT_HEADERS are. */
static void
test_kept_headers (void)
{
  static const char *const kept[] = { "X-ARR-ClientCert", "X-Forwarded-For", NULL };
  static const char request[] = "GET /a HTTP/1.1\r\n"
                                "Host: app\r\n"
                                "x-arr-clientcert: MIIB\r\n"
                                "X-Forwarded-For: 10.0.0.1,\r\n"
                                " 10.0.0.2\r\n"
                                "X-Other: no\r\n"
                                "\r\n";
  static const char response[] = "HTTP/1.1 200 OK\r\nX-Forwarded-For: 9.9.9.9\r\n"
                                 "Content-Length: 0\r\n\r\n";
  for (guint is_bytewise = 0; is_bytewise <= 1; is_bytewise++) {
    MtdAnomalyCounts counts = { { 0 } };
    g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
    mtd_http_keep_headers (http, kept);
    g_autoptr (GByteArray) bytes = g_byte_array_new ();
    g_byte_array_append (bytes, (const guint8 *) request, sizeof request - 1);
    feed_all (http, TRUE, bytes, is_bytewise, 1);
    mtd_http_feed (http, FALSE, (const guint8 *) response, sizeof response - 1, 2);
    const GPtrArray *exchanges = mtd_http_exchanges (http);
    g_assert_cmpuint (exchanges->len, ==, 1);
    const MtdHttpExchange *exchange = g_ptr_array_index (exchanges, 0);
    g_assert_nonnull (exchange->request_headers);
    g_assert_cmpuint (exchange->request_headers->len, ==, 2);
    const MtdHttpHeader *first = g_ptr_array_index (exchange->request_headers, 0);
    const MtdHttpHeader *second = g_ptr_array_index (exchange->request_headers, 1);
    g_assert_cmpstr (first->name, ==, "x-arr-clientcert");
    g_assert_cmpstr (first->value, ==, "MIIB");
    g_assert_cmpstr (second->name, ==, "X-Forwarded-For");
    g_assert_cmpstr (second->value, ==, "10.0.0.1, 10.0.0.2");
    g_assert_cmpint (exchange->status, ==, 200);
  }

  /* The cap: 20 kept fields in one request keep 16; each one dropped is counted. */
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
  mtd_http_keep_headers (http, kept);
  g_autoptr (GString) many = g_string_new ("GET / HTTP/1.1\r\nHost: a\r\n");
  for (guint i = 0; i < 20; i++)
    g_string_append_printf (many, "X-Forwarded-For: 10.0.0.%u\r\n", i);
  g_string_append (many, "\r\n");
  mtd_http_feed (http, TRUE, (const guint8 *) many->str, many->len, 1);
  const MtdHttpExchange *exchange = g_ptr_array_index (mtd_http_exchanges (http), 0);
  g_assert_cmpuint (exchange->request_headers->len, ==, MTD_HTTP_MAX_KEPT_HEADERS);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_MANY], ==, 20 - MTD_HTTP_MAX_KEPT_HEADERS);
}

/* The header block cap is 64 KiB: a block of exactly that many bytes is parsed, one more byte
 * is refused; the client direction then stops while the server's still parses. */
static void
test_head_cap (void)
{
  static const char response[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 "Content-Length: 0\r\n\r\n";
  g_autoptr (GByteArray) at_cap = build_request (HEAD_CAP);
  g_autoptr (GByteArray) over_cap = build_request (HEAD_CAP + 1);
  g_autoptr (GByteArray) next = build_request (100);

  for (guint is_bytewise = 0; is_bytewise <= 1; is_bytewise++) {
    MtdAnomalyCounts counts = { { 0 } };
    g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
    const GPtrArray *exchanges = mtd_http_exchanges (http);
    const MtdHttpExchange *exchange = NULL;

    feed_all (http, TRUE, at_cap, is_bytewise, 1);
    g_assert_cmpuint (exchanges->len, ==, 1);
    g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_LARGE], ==, 0);
    feed_all (http, TRUE, over_cap, is_bytewise, 2);
    feed_all (http, TRUE, next, is_bytewise, 3);
    g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_LARGE], ==, 1);
    g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_BAD_MESSAGE], ==, 0);
    g_assert_cmpuint (exchanges->len, ==, 1);

    mtd_http_feed (http, FALSE, (const guint8 *) response, sizeof response - 1, 4);
    mtd_http_feed (http, FALSE, (const guint8 *) response, sizeof response - 1, 5);
    g_assert_cmpuint (exchanges->len, ==, 2);
    exchange = g_ptr_array_index (exchanges, 0);
    g_assert_cmpstr (exchange->path, ==, "/big");
    g_assert_cmpint (exchange->status, ==, 431);
    g_assert_cmpuint (exchange->status_frame, ==, 4);
    exchange = g_ptr_array_index (exchanges, 1);
    g_assert_null (exchange->method);
    g_assert_cmpint (exchange->status, ==, 431);
    g_assert_cmpuint (exchange->status_frame, ==, 5);
  }
}

/* Valid start-line bytes without any LF stop at the cap, not later. */
static void
test_line_without_end (void)
{
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
  g_autofree guint8 *filler = g_malloc (1024 * 1024);

  memset (filler, 'a', 1024 * 1024);
  mtd_http_feed (http, TRUE, (const guint8 *) "GET /", 5, 1);
  mtd_http_feed (http, TRUE, filler, 1024 * 1024, 2);
  mtd_http_feed (http, TRUE, (const guint8 *) " HTTP/1.1\r\n\r\n", 13, 3);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_LARGE], ==, 1);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 0);
}

/* An overlong chunk-size line (chunk extensions) hits the same cap. */
static void
test_chunk_line_cap (void)
{
  static const char request[] = "GET / HTTP/1.1\r\n\r\n";
  static const char head[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=";
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
  g_autofree guint8 *filler = g_malloc (HEAD_CAP);

  memset (filler, 'x', HEAD_CAP);
  mtd_http_feed (http, TRUE, (const guint8 *) request, sizeof request - 1, 1);
  mtd_http_feed (http, FALSE, (const guint8 *) head, sizeof head - 1, 2);
  mtd_http_feed (http, FALSE, filler, HEAD_CAP, 3);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_LARGE], ==, 1);
  g_assert_cmpint (((MtdHttpExchange *) g_ptr_array_index (mtd_http_exchanges (http), 0))->status,
                   ==, 200);
}

/* Stored strings are cut at 8 KiB. */
static void
test_long_path (void)
{
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
  g_autoptr (GString) request = g_string_new ("GET /");
  const MtdHttpExchange *exchange = NULL;

  for (guint i = 0; i < 2 * STRING_CAP; i++)
    g_string_append_c (request, 'p');
  g_string_append (request, " HTTP/1.1\r\n\r\n");
  mtd_http_feed (http, TRUE, (const guint8 *) request->str, request->len, 1);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 1);
  exchange = g_ptr_array_index (mtd_http_exchanges (http), 0);
  g_assert_cmpuint (strlen (exchange->path), ==, STRING_CAP);
  g_assert_true (g_str_has_prefix (exchange->path, "/ppp"));
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_BAD_MESSAGE], ==, 0);
}

/* Random bytes from either side: one anomaly per direction at most, no exchange, no crash. */
static void
test_random_garbage (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint8 *garbage = g_malloc (256 * 1024);

  for (guint round = 0; round < 16; round++) {
    MtdAnomalyCounts counts = { { 0 } };
    g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
    guint n_anomalies = 0;

    for (gsize i = 0; i < 256 * 1024; i++)
      garbage[i] = (guint8) g_rand_int_range (rand, 0, 256);
    mtd_http_feed (http, TRUE, garbage, 128 * 1024, 1);
    mtd_http_feed (http, FALSE, garbage + 128 * 1024, 128 * 1024, 2);
    n_anomalies = counts.counts[MTD_ANOMALY_HTTP_BAD_MESSAGE]
                  + counts.counts[MTD_ANOMALY_HTTP_TOO_LARGE];
    g_assert_cmpuint (n_anomalies, >=, 1);
    g_assert_cmpuint (n_anomalies, <=, 2);
    g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 0);
  }
}

static void
feed_string (MtdHttp *http, gboolean is_from_client, const char *text, guint64 frame)
{
  mtd_http_feed (http, is_from_client, (const guint8 *) text, strlen (text), frame);
}

static void
feed_request (MtdHttp *http, guint number)
{
  g_autofree char *request = g_strdup_printf ("GET /%u HTTP/1.1\r\nHost: n\r\n\r\n", number);
  feed_string (http, TRUE, request, number);
}

/* The response to request number n has status 200 + n % 100, so the pairing shows. */
static void
feed_response (MtdHttp *http, guint number)
{
  g_autofree char *response = g_strdup_printf ("HTTP/1.1 %u OK\r\nContent-Length: 0\r\n\r\n",
                                                200 + number % 100);
  feed_string (http, FALSE, response, 100000 + number);
}

static void
assert_paired (const MtdHttp *http, guint number, gboolean has_response)
{
  const MtdHttpExchange *exchange = g_ptr_array_index (mtd_http_exchanges (http), number - 1);
  g_autofree char *path = g_strdup_printf ("/%u", number);

  g_assert_cmpstr (exchange->path, ==, path);
  g_assert_cmpuint (exchange->request_frame, ==, number);
  g_assert_cmpint (exchange->status, ==, has_response ? (gint) (200 + number % 100) : 0);
  g_assert_cmpuint (exchange->status_frame, ==, has_response ? 100000 + number : 0);
}

/* Long pipelines: requests and responses in uneven bursts stay paired in order. */
static void
test_long_pipeline (void)
{
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 1000);
  guint n_requests = 0;
  guint n_responses = 0;
  const guint bursts[][2] = { { 150, 100 }, { 50, 90 }, { 300, 10 }, { 1, 301 } };

  for (gsize b = 0; b < G_N_ELEMENTS (bursts); b++) {
    for (guint i = 0; i < bursts[b][0]; i++)
      feed_request (http, ++n_requests);
    for (guint i = 0; i < bursts[b][1]; i++)
      feed_response (http, ++n_responses);
  }
  g_assert_cmpuint (n_requests, ==, 501);
  g_assert_cmpuint (n_responses, ==, 501);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, n_requests);
  for (guint number = 1; number <= n_requests; number++)
    assert_paired (http, number, TRUE);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_BAD_MESSAGE], ==, 0);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_MANY], ==, 0);
}

/* More than 4096 unanswered requests: the oldest is given up (noted once), so the first
 * response pairs with the second request. */
static void
test_too_many_pending (void)
{
  const guint n_requests = 4096 + 1;
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 5000);

  for (guint number = 1; number <= n_requests; number++)
    feed_request (http, number);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_MANY], ==, 1);
  feed_response (http, 2);
  feed_response (http, 3);
  assert_paired (http, 1, FALSE);
  assert_paired (http, 2, TRUE);
  assert_paired (http, 3, TRUE);
  assert_paired (http, 4, FALSE);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, n_requests);
  g_assert_cmpuint (mtd_http_n_dropped (http), ==, 0);
}

/* After mtd_http_end nothing more is parsed. */
static void
test_after_end (void)
{
  static const char request[] = "GET / HTTP/1.1\r\n\r\n";
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);

  mtd_http_feed (http, TRUE, (const guint8 *) request, sizeof request - 1, 1);
  mtd_http_end (http);
  mtd_http_feed (http, TRUE, (const guint8 *) request, sizeof request - 1, 2);
  mtd_http_feed (http, FALSE, (const guint8 *) "\x01\x02\n", 3, 3);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 1);
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_BAD_MESSAGE], ==, 0);
}

/* No anomaly counters given, and frees that accept NULL. */
static void
test_null_safety (void)
{
  static const char garbage[] = "\x00\x01\x02\n";
  g_autoptr (MtdHttp) http = mtd_http_new (NULL, 0);

  mtd_http_feed (http, TRUE, NULL, 0, 1);
  feed_string (http, TRUE, "GET / HTTP/1.1\r\n\r\n", 1);
  mtd_http_feed (http, FALSE, (const guint8 *) garbage, sizeof garbage - 1, 2);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 0);
  g_assert_cmpuint (mtd_http_n_dropped (http), ==, 1);
  mtd_http_free (NULL);
  mtd_http_exchange_free (NULL);
}

static void
test_looks_like_request (void)
{
  static const struct {
    const char *bytes;
    gsize len;
    gboolean is_request;
  } vectors[] = {
    { "GET / HTTP/1.1\r\n", 16, TRUE },
    { "GET ", 4, TRUE },
    { "POST /x", 7, TRUE },
    { "PUT ", 4, TRUE },
    { "HEAD ", 5, TRUE },
    { "DELETE ", 7, TRUE },
    { "OPTIONS *", 9, TRUE },
    { "PATCH ", 6, TRUE },
    { "CONNECT a:443", 13, TRUE },
    { "TRACE ", 6, TRUE },
    { "GET", 3, FALSE },       /* could still become a request: no */
    { "GE", 2, FALSE },
    { "", 0, FALSE },
    { "get / HTTP/1.1", 14, FALSE }, /* RFC 9110 §9.1: methods are case-sensitive */
    { "GETX ", 5, FALSE },
    { "GET\t/", 5, FALSE },
    { "PRI * HTTP/2.0", 14, FALSE },
    { "PROPFIND / ", 11, FALSE },
    { "\x16\x03\x01\x00", 4, FALSE },
    { "HTTP/1.1 200 OK", 15, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    g_assert_cmpint (
        mtd_http_looks_like_request ((const guint8 *) vectors[i].bytes, vectors[i].len), ==,
        vectors[i].is_request);
  g_assert_false (mtd_http_looks_like_request (NULL, 0));
}

/* RFC 9113 §3.4: the client's preface (whole or its first bytes) or, from the server, a SETTINGS
 * frame header on stream 0 that is not an ACK. */
static void
test_looks_like_start (void)
{
  static const struct {
    const char *bytes;
    gsize len;
    gboolean is_from_client;
    gboolean is_start;
  } vectors[] = {
    { "GET / HTTP/1.1\r\n", 16, TRUE, TRUE },
    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, TRUE, TRUE },
    { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\4", 28, TRUE, TRUE },
    { "PRI ", 4, TRUE, TRUE },
    { "PRI", 3, TRUE, FALSE },
    { "PRI * HTTP/1.1", 14, TRUE, FALSE },
    { "\x16\x03\x01\x00", 4, TRUE, FALSE },
    { "\0\0\x12\x04\0\0\0\0\0", 9, FALSE, TRUE },   /* SETTINGS, 3 settings */
    { "\0\0\0\x04\0\0\0\0\0", 9, FALSE, TRUE },     /* empty SETTINGS */
    { "\0\0\0\x04\x01\0\0\0\0", 9, FALSE, FALSE },  /* an ACK is not a preface */
    { "\0\0\x06\x04\0\0\0\0\x01", 9, FALSE, FALSE }, /* stream 1 */
    { "\0\0\x07\x04\0\0\0\0\0", 9, FALSE, FALSE },  /* not a multiple of 6 */
    { "\0\0\x06\x01\0\0\0\0\0", 9, FALSE, FALSE },  /* HEADERS */
    { "\0\0\0\x04\0\0\0\0", 8, FALSE, FALSE },       /* cut short */
    { "GET / HTTP/1.1\r\n", 16, FALSE, FALSE },      /* the server does not send requests */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (vectors); i++)
    g_assert_cmpint (mtd_http_looks_like_start ((const guint8 *) vectors[i].bytes, vectors[i].len,
                                                vectors[i].is_from_client),
                     ==, vectors[i].is_start);
  g_assert_false (mtd_http_looks_like_start (NULL, 0, TRUE));
  g_assert_false (mtd_http_looks_like_start (NULL, 0, FALSE));
}

/* ---- HTTP/2 -------------------------------------------------------------------------------- */

/* RFC 9113 §3.4: the client connection preface. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* RFC 9113 §6 frame types and flags, §6.5.2 settings. */
enum {
  H2_DATA = 0x0,
  H2_HEADERS = 0x1,
  H2_PRIORITY = 0x2,
  H2_RST_STREAM = 0x3,
  H2_SETTINGS = 0x4,
  H2_PUSH_PROMISE = 0x5,
  H2_PING = 0x6,
  H2_GOAWAY = 0x7,
  H2_WINDOW_UPDATE = 0x8,
  H2_CONTINUATION = 0x9,
};
enum {
  H2_END_STREAM = 0x01,
  H2_ACK = 0x01,
  H2_END_HEADERS = 0x04,
  H2_PADDED = 0x08,
  H2_PRIORITY_FLAG = 0x20,
};
enum {
  H2_SETTINGS_HEADER_TABLE_SIZE = 0x1,
  H2_SETTINGS_MAX_FRAME_SIZE = 0x5,
};

/* Builds the segments of an HTTP/2 case: each side compresses with its own deflater, as a
 * peer does, so later blocks refer to the dynamic table earlier ones filled. */
typedef struct {
  Case *test;                        /* owned; its segments point into buffers */
  GPtrArray *buffers;                /* GByteArray*, owned, one per segment */
  nghttp2_hd_deflater *deflaters[2]; /* owned: [0] the client's, [1] the server's */
  guint n_segments;
} H2Builder;

static void
h2_builder_free (H2Builder *builder)
{
  g_free (builder->test);
  g_ptr_array_unref (builder->buffers);
  for (guint i = 0; i < 2; i++)
    nghttp2_hd_deflate_del (builder->deflaters[i]);
  g_free (builder);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (H2Builder, h2_builder_free)

static GByteArray *
current (H2Builder *b)
{
  g_assert_cmpuint (b->n_segments, >, 0);
  return g_ptr_array_index (b->buffers, b->n_segments - 1);
}

static gboolean
is_current_client (H2Builder *b)
{
  return b->test->segments[b->n_segments - 1].kind == C;
}

/* Starts a segment of kind C, S, GAP_C or GAP_S. */
static void
seg (H2Builder *b, SegmentKind kind)
{
  g_assert_cmpuint (b->n_segments, <, MAX_SEGMENTS - 1);
  b->test->segments[b->n_segments].kind = kind;
  g_ptr_array_add (b->buffers, g_byte_array_new ());
  b->n_segments++;
}

static void
put_bytes (H2Builder *b, const void *bytes, gsize len)
{
  g_byte_array_append (current (b), bytes, (guint) len);
}

static void
put_preface (H2Builder *b)
{
  put_bytes (b, h2_preface, sizeof h2_preface - 1);
}

/* RFC 9113 §4.1: Length (24), Type (8), Flags (8), Reserved (1), Stream Identifier (31). */
static void
put_frame_header (H2Builder *b, guint32 len, guint8 type, guint8 flags, guint32 stream)
{
  const guint8 header[] = { (guint8) (len >> 16), (guint8) (len >> 8), (guint8) len, type, flags,
                            (guint8) (stream >> 24), (guint8) (stream >> 16),
                            (guint8) (stream >> 8), (guint8) stream };
  put_bytes (b, header, sizeof header);
}

static void
put_frame (H2Builder *b, guint8 type, guint8 flags, guint32 stream, const void *payload,
           gsize len)
{
  put_frame_header (b, (guint32) len, type, flags, stream);
  if (len > 0)
    put_bytes (b, payload, len);
}

/* A SETTINGS frame of (identifier, value) pairs ending with identifier 0. */
static void
put_settings (H2Builder *b, const guint32 *pairs)
{
  g_autoptr (GByteArray) payload = g_byte_array_new ();
  for (gsize i = 0; pairs != NULL && pairs[i] != 0; i += 2) {
    const guint8 setting[] = { (guint8) (pairs[i] >> 8), (guint8) pairs[i],
                               (guint8) (pairs[i + 1] >> 24), (guint8) (pairs[i + 1] >> 16),
                               (guint8) (pairs[i + 1] >> 8), (guint8) pairs[i + 1] };
    g_byte_array_append (payload, setting, sizeof setting);
  }
  put_frame (b, H2_SETTINGS, 0, 0, payload->data, payload->len);
}

static void
put_settings_ack (H2Builder *b)
{
  put_frame (b, H2_SETTINGS, H2_ACK, 0, NULL, 0);
}

/* Compresses name, value pairs (NULL-terminated) with the current side's deflater. */
static GByteArray *
encode (H2Builder *b, const char *const *fields)
{
  g_autoptr (GArray) nva = g_array_new (FALSE, FALSE, sizeof (nghttp2_nv));
  nghttp2_hd_deflater *deflater = b->deflaters[is_current_client (b) ? 0 : 1];

  for (gsize i = 0; fields[i] != NULL; i += 2) {
    nghttp2_nv nv = { (guint8 *) fields[i], (guint8 *) fields[i + 1], strlen (fields[i]),
                      strlen (fields[i + 1]), NGHTTP2_NV_FLAG_NONE };
    g_array_append_val (nva, nv);
  }
  gsize bound = nghttp2_hd_deflate_bound (deflater, (nghttp2_nv *) nva->data, nva->len);
  GByteArray *block = g_byte_array_sized_new ((guint) bound);
  g_byte_array_set_size (block, (guint) bound);
  ssize_t len = nghttp2_hd_deflate_hd (deflater, block->data, bound, (nghttp2_nv *) nva->data,
                                       nva->len);
  g_assert_cmpint (len, >=, 0);
  g_byte_array_set_size (block, (guint) len);
  return block;
}

/* One HEADERS frame with END_HEADERS carrying a whole field block. */
static void
put_headers (H2Builder *b, guint32 stream, guint8 flags, const char *const *fields)
{
  g_autoptr (GByteArray) block = encode (b, fields);
  put_frame (b, H2_HEADERS, flags | H2_END_HEADERS, stream, block->data, block->len);
}

static void
put_data (H2Builder *b, guint32 stream, guint8 flags, const char *text)
{
  put_frame (b, H2_DATA, flags, stream, text, strlen (text));
}

/* The usual start: the client's preface and SETTINGS, the server's SETTINGS and both ACKs. */
static void
put_handshake (H2Builder *b)
{
  seg (b, C);
  put_preface (b);
  put_settings (b, NULL);
  seg (b, S);
  put_settings (b, NULL);
  put_settings_ack (b);
}

static const char *const get_a[] = { ":method", "GET", ":scheme", "https", ":path", "/a",
                                     ":authority", "example.com", NULL };
static const char *const get_b[] = { ":method", "GET", ":scheme", "https", ":path", "/b",
                                     ":authority", "example.com", NULL };
static const char *const status_200[] = { ":status", "200", "content-type", "text/plain", NULL };
static const char *const status_404[] = { ":status", "404", NULL };

static void
build_handshake_only (H2Builder *b)
{
  put_handshake (b);
}

static void
build_get_200 (H2Builder *b)
{
  static const char *const request[] = {
    ":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "example.com",
    "user-agent", "t/1", "x-arr-clientcert", "MIIBsz", NULL
  };
  static const guint8 ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  static const guint8 goaway[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };
  static const guint8 window[4] = { 0, 0, 0x10, 0 };

  put_handshake (b);
  seg (b, C);
  put_settings_ack (b);
  put_frame (b, H2_WINDOW_UPDATE, 0, 0, window, sizeof window);
  put_headers (b, 1, H2_END_STREAM, request);
  seg (b, S);
  put_headers (b, 1, 0, status_200);
  seg (b, S);
  /* §4.1: "Implementations MUST ignore and discard frames of unknown types". */
  put_frame (b, 0xfa, 0xff, 0, "unknown", 7);
  put_data (b, 1, H2_END_STREAM, "hello");
  put_frame (b, H2_PING, 0, 0, ping, sizeof ping);
  put_frame (b, H2_GOAWAY, 0, 0, goaway, sizeof goaway);
}

static void
build_concurrent (H2Builder *b)
{
  static const char *const get_c[] = { ":method", "GET", ":scheme", "https", ":path", "/c",
                                       ":authority", "example.com", NULL };
  static const char *const found[] = { ":status", "302", "location", "https://example.com/login",
                                       "location", "https://other.example/", NULL };

  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_404);
  seg (b, S);
  put_headers (b, 1, 0, found);
  seg (b, S);
  put_data (b, 1, H2_END_STREAM, "");
  seg (b, C);
  put_headers (b, 5, H2_END_STREAM, get_c);
  seg (b, S);
  put_headers (b, 5, H2_END_STREAM, status_200);
}

/* HEADERS with PADDED and PRIORITY (RFC 9113 §6.2): Pad Length, the priority fields, the block,
 * then padding; a padded response and padded DATA; a PRIORITY frame. */
static void
put_padded_headers (H2Builder *b, guint32 stream, guint8 flags, const char *const *fields,
                    guint8 pad_len, gboolean has_priority)
{
  g_autoptr (GByteArray) block = encode (b, fields);
  static const guint8 priority[5] = { 0x80, 0, 0, 0, 0, };
  static const guint8 padding[255] = { 0 };
  gsize len = 1 + (has_priority ? sizeof priority : 0) + block->len + pad_len;

  put_frame_header (b, (guint32) len, H2_HEADERS,
                    flags | H2_PADDED | (has_priority ? H2_PRIORITY_FLAG : 0), stream);
  put_bytes (b, &pad_len, 1);
  if (has_priority)
    put_bytes (b, priority, sizeof priority);
  put_bytes (b, block->data, block->len);
  put_bytes (b, padding, pad_len);
}

static void
build_padded_priority (H2Builder *b)
{
  static const guint8 priority[5] = { 0, 0, 0, 1, 200 };
  static const guint8 padded_data[] = { 3, 'o', 'k', 0, 0, 0 };

  put_handshake (b);
  seg (b, C);
  put_frame (b, H2_PRIORITY, 0, 3, priority, sizeof priority);
  put_padded_headers (b, 1, H2_END_STREAM | H2_END_HEADERS, get_a, 7, TRUE);
  seg (b, S);
  put_padded_headers (b, 1, H2_END_HEADERS, status_200, 0, FALSE);
  seg (b, S);
  put_frame (b, H2_DATA, H2_PADDED | H2_END_STREAM, 1, padded_data, sizeof padded_data);
  seg (b, C);
  put_padded_headers (b, 3, H2_END_STREAM | H2_END_HEADERS, get_b, 255, TRUE);
  seg (b, S);
  put_padded_headers (b, 3, H2_END_HEADERS | H2_END_STREAM, status_404, 1, FALSE);
}

/* A field block in HEADERS and CONTINUATION frames (RFC 9113 §6.10), each in its own segment;
 * the response's in one segment. */
static void
build_continuation (H2Builder *b)
{
  static const char *const request[] = {
    ":method", "GET", ":scheme", "https", ":path", "/split/path/that/is/long",
    ":authority", "split.example", "x-arr-clientcert", "MIIBcontinued", "accept", "*/*", NULL
  };
  put_handshake (b);
  seg (b, C);
  g_autoptr (GByteArray) block = encode (b, request);
  gsize third = block->len / 3;
  put_frame (b, H2_HEADERS, H2_END_STREAM, 1, block->data, third);
  seg (b, C);
  put_frame (b, H2_CONTINUATION, 0, 1, block->data + third, third);
  seg (b, C);
  put_frame (b, H2_CONTINUATION, 0, 1, NULL, 0);
  put_frame (b, H2_CONTINUATION, H2_END_HEADERS, 1, block->data + 2 * third,
             block->len - 2 * third);
  seg (b, S);
  g_autoptr (GByteArray) response = encode (b, status_404);
  put_frame (b, H2_HEADERS, H2_END_STREAM, 1, response->data, 1);
  put_frame (b, H2_CONTINUATION, H2_END_HEADERS, 1, response->data + 1, response->len - 1);
}

/* DATA payloads are skipped by length: bytes that look like frames inside them are not read,
 * and a frame larger than 2^14 is accepted once the receiver's SETTINGS allow it (§4.2). */
static void
build_large_data (H2Builder *b)
{
  static const char *const post[] = { ":method", "POST", ":scheme", "https", ":path", "/upload",
                                      ":authority", "up.example", NULL };
  static const char *const created[] = { ":status", "201", NULL };
  static const guint32 big_frames[] = { H2_SETTINGS_MAX_FRAME_SIZE, 65536, 0 };
  g_autoptr (GByteArray) body = g_byte_array_new ();

  for (guint i = 0; i < 60000; i++)
    g_byte_array_append (body, (const guint8 *) (i % 9 == 0 ? "\x01" : "\x00"), 1);
  seg (b, C);
  put_preface (b);
  put_settings (b, NULL);
  seg (b, S);
  put_settings (b, big_frames);
  seg (b, C);
  put_headers (b, 1, 0, post);
  seg (b, C);
  put_frame (b, H2_DATA, H2_END_STREAM, 1, body->data, body->len);
  seg (b, S);
  put_headers (b, 1, 0, created);
  seg (b, S);
  put_frame (b, H2_DATA, H2_END_STREAM, 1, body->data, 16384);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_200);
}

/* RFC 9113 §8.1: interim 1xx responses come before the final one. */
static void
build_100_continue (H2Builder *b)
{
  static const char *const put[] = { ":method", "PUT", ":scheme", "https", ":path", "/upload",
                                     ":authority", "up.example", "expect", "100-continue", NULL };
  static const char *const status_100[] = { ":status", "100", NULL };
  static const char *const status_103[] = { ":status", "103", "link", "</s.css>; rel=preload",
                                            NULL };
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, 0, put);
  seg (b, S);
  put_headers (b, 1, 0, status_100);
  seg (b, C);
  put_data (b, 1, H2_END_STREAM, "data");
  seg (b, S);
  put_headers (b, 1, 0, status_103);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_404);
}

/* The server's SETTINGS can come before the client's preface (RFC 9113 §3.4: "the server
 * connection preface ... MUST be the first frame the server sends"). */
static void
build_server_first (H2Builder *b)
{
  static const guint32 table[] = { H2_SETTINGS_HEADER_TABLE_SIZE, 8192, 0 };
  seg (b, S);
  put_settings (b, table);
  seg (b, C);
  put_preface (b);
  put_settings (b, NULL);
  seg (b, S);
  put_settings_ack (b);
  seg (b, C);
  put_settings_ack (b);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* ... or in the middle of it, and the server's SETTINGS frame in two pieces. */
static void
build_server_mid_preface (H2Builder *b)
{
  static const guint32 frames[] = { H2_SETTINGS_MAX_FRAME_SIZE, 20000, 0 };
  seg (b, C);
  put_bytes (b, h2_preface, 16);
  seg (b, S);
  put_settings (b, frames);
  GByteArray *whole = current (b);
  seg (b, S);
  put_bytes (b, whole->data + 5, whole->len - 5);
  g_byte_array_set_size (whole, 5);
  seg (b, C);
  put_bytes (b, h2_preface + 16, sizeof h2_preface - 1 - 16);
  put_settings (b, NULL);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* The server's SETTINGS went out before the client's preface and the parser was started at the
 * preface (as for decrypted TLS): the server's first frame seen is its SETTINGS ACK. */
static void
build_server_preface_missed (H2Builder *b)
{
  seg (b, C);
  put_preface (b);
  put_settings (b, NULL);
  seg (b, S);
  put_settings_ack (b);
  seg (b, C);
  put_settings_ack (b);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* h2c with prior knowledge to a server that only speaks HTTP/1.1: neither side's bytes after
 * the preface are HTTP/2 frames. */
static void
build_http1_after_preface (H2Builder *b)
{
  static const char request[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  static const char response[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  seg (b, C);
  put_preface (b);
  put_bytes (b, request, sizeof request - 1);
  seg (b, S);
  put_bytes (b, response, sizeof response - 1);
}

/* Frames after a good start that break the framing: a CONTINUATION without a block. */
static void
build_stray_continuation (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, C);
  put_frame (b, H2_CONTINUATION, H2_END_HEADERS, 1, "\x82", 1);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* A frame header that claims 16 MB under the initial SETTINGS_MAX_FRAME_SIZE. */
static void
build_lying_length (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_frame_header (b, 0xffffff, H2_HEADERS, H2_END_HEADERS, 1);
  put_bytes (b, "\x82\x87\x84", 3);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* A request field block over 64 KiB: its fields are not kept, but the table it fills is used by
 * the next request, whose kept header is an index into it. */
static void
build_block_too_large (H2Builder *b)
{
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  /* '~' has a 13-bit Huffman code, so the deflater sends these values as they are. */
  g_autofree char *pad = g_strnfill (2000, '~');
  static const char *const after[] = { ":method", "GET", ":scheme", "https", ":path", "/after",
                                       ":authority", "big.example", "x-arr-clientcert",
                                       "MIIBig", NULL };
  static const char *const status_431[] = { ":status", "431", NULL };

  const char *const head[] = { ":method", "GET", ":scheme", "https", ":path", "/big",
                               ":authority", "big.example" };
  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (fields, g_strdup (head[i]));
  for (guint i = 0; i < 40; i++) {
    g_ptr_array_add (fields, g_strdup_printf ("x-pad-%u", i));
    g_ptr_array_add (fields, g_strdup_printf ("%u%s", i, pad));
  }
  g_ptr_array_add (fields, g_strdup ("x-arr-clientcert"));
  g_ptr_array_add (fields, g_strdup ("MIIBig"));
  g_ptr_array_add (fields, NULL);

  put_handshake (b);
  seg (b, C);
  g_autoptr (GByteArray) block = encode (b, (const char *const *) fields->pdata);
  g_assert_cmpuint (block->len, >, MTD_HTTP2_MAX_BLOCK_LEN);
  for (gsize at = 0; at < block->len; at += 16384) {
    gsize len = MIN (16384, block->len - at);
    gboolean is_last = at + len == block->len;
    put_frame (b, at == 0 ? H2_HEADERS : H2_CONTINUATION,
               (at == 0 ? H2_END_STREAM : 0) | (is_last ? H2_END_HEADERS : 0), 1,
               block->data + at, len);
  }
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_431);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, after);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_200);
}

/* A gap ends the direction: the client's next request is not read, the responses to what was
 * read still are. */
static void
build_gap_client (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, GAP_C);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_200);
}

static void
build_gap_server (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, GAP_S);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
}

/* RFC 7541 §6.1: index 0 is not a valid index: decoding fails, and so does all that direction
 * could say after it. */
static void
build_bad_hpack (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, C);
  put_frame (b, H2_HEADERS, H2_END_HEADERS | H2_END_STREAM, 3, "\x80", 1);
  put_headers (b, 5, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* RFC 9113 §6.4: RST_STREAM ends a stream without its response. */
static void
build_rst_stream (H2Builder *b)
{
  static const guint8 refused[4] = { 0, 0, 0, 0x7 };
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  put_frame (b, H2_RST_STREAM, 0, 1, refused, sizeof refused);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_404);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_200);
}

/* RFC 9113 §6.6: a PUSH_PROMISE block is decoded with the server's table (the final response
 * refers to what it added); the pushed response is no exchange. */
static void
build_push_promise (H2Builder *b)
{
  static const char *const promised[] = { ":method", "GET", ":scheme", "https", ":path",
                                          "/style.css", ":authority", "example.com",
                                          "x-pushed-by", "server.example", NULL };
  static const char *const pushed[] = { ":status", "200", "x-pushed-by", "server.example",
                                        NULL };
  static const char *const final[] = { ":status", "200", "x-pushed-by", "server.example",
                                       "location", "/moved", NULL };
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  g_autoptr (GByteArray) block = encode (b, promised);
  const guint8 fixed[] = { 2, 0, 0, 0, 2 }; /* Pad Length 2, Promised Stream ID 2 */
  put_frame_header (b, (guint32) (sizeof fixed + block->len + 2), H2_PUSH_PROMISE,
                    H2_PADDED | H2_END_HEADERS, 1);
  put_bytes (b, fixed, sizeof fixed);
  put_bytes (b, block->data, block->len);
  put_bytes (b, "\0\0", 2);
  seg (b, S);
  put_headers (b, 2, H2_END_STREAM, pushed);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, final);
}

static void
build_max_exchanges (H2Builder *b)
{
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, status_404);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
}

/* RFC 7541 §4.2, §6.3: after the client announces a 64 KiB table the server's encoder grows its
 * table with a Dynamic Table Size Update and fills it past the initial 4096 octets. */
static void
build_table_size (H2Builder *b, guint32 announced)
{
  const guint32 table[] = { H2_SETTINGS_HEADER_TABLE_SIZE, announced, 0 };
  g_autofree char *big = g_strnfill (3000, 'v');
  const char *const response[] = { ":status", "200", "x-one", big, "x-two", big, NULL };

  seg (b, C);
  put_preface (b);
  put_settings (b, table);
  seg (b, S);
  put_settings (b, NULL);
  put_settings_ack (b);
  if (nghttp2_hd_deflate_change_table_size (b->deflaters[1], announced) != 0)
    g_assert_not_reached ();
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, response);
  seg (b, C);
  put_headers (b, 3, H2_END_STREAM, get_b);
  seg (b, S);
  put_headers (b, 3, H2_END_STREAM, response);
}

static void
build_table_size_64k (H2Builder *b)
{
  build_table_size (b, MTD_HTTP2_MAX_TABLE_SIZE);
}

/* More than the cap: the inflater keeps the cap and cannot follow the encoder past it. */
static void
build_table_size_over_cap (H2Builder *b)
{
  build_table_size (b, 1024 * 1024);
}

/* RFC 9113 §8.3.1: without :authority the host field names the host; fields after the block
 * ends (trailers, §8.1) make no new exchange. */
static void
build_host_and_trailers (H2Builder *b)
{
  static const char *const request[] = { ":method", "POST", ":scheme", "http", ":path", "/rpc",
                                         "host", "legacy.example", "X-ARR-ClientCert",
                                         "  MIIB\rpadded\t ", NULL };
  static const char *const trailers[] = { "x-checksum", "abc", NULL };
  static const char *const response_trailers[] = { "grpc-status", "0", NULL };
  put_handshake (b);
  seg (b, C);
  put_headers (b, 1, 0, request);
  put_data (b, 1, 0, "body");
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, trailers);
  seg (b, S);
  put_headers (b, 1, 0, status_200);
  put_data (b, 1, 0, "answer");
  put_headers (b, 1, H2_END_STREAM, response_trailers);
}

typedef struct {
  Case expected; /* the segments are built by build */
  void (*build) (H2Builder *builder);
} H2Case;

static const H2Case h2_cases[] = {
  { { .name = "h2-get-200",
      .exchanges = { { "GET", "example.com", "/index.html", "HTTP/2", 200, NULL, 3, 4,
                       "x-arr-clientcert", "MIIBsz" } },
      .is_h2 = TRUE },
    build_get_200 },
  { { .name = "h2-concurrent-out-of-order",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 302, "https://example.com/login", 3,
                       6 },
                     { "GET", "example.com", "/b", "HTTP/2", 404, NULL, 4, 5 },
                     { "GET", "example.com", "/c", "HTTP/2", 200, NULL, 8, 9 } },
      .is_h2 = TRUE },
    build_concurrent },
  { { .name = "h2-padded-priority",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 4 },
                     { "GET", "example.com", "/b", "HTTP/2", 404, NULL, 6, 7 } },
      .is_h2 = TRUE },
    build_padded_priority },
  { { .name = "h2-continuation",
      .exchanges = { { "GET", "split.example", "/split/path/that/is/long", "HTTP/2", 404, NULL, 5,
                       6, "x-arr-clientcert", "MIIBcontinued" } },
      .is_h2 = TRUE },
    build_continuation },
  { { .name = "h2-large-data",
      .exchanges = { { "POST", "up.example", "/upload", "HTTP/2", 201, NULL, 3, 5 },
                     { "GET", "example.com", "/b", "HTTP/2", 200, NULL, 7, 8 } },
      .is_h2 = TRUE },
    build_large_data },
  { { .name = "h2-100-continue",
      .exchanges = { { "PUT", "up.example", "/upload", "HTTP/2", 404, NULL, 3, 7 } },
      .is_h2 = TRUE },
    build_100_continue },
  { { .name = "h2-server-settings-first",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 4, 5 } },
      .is_h2 = TRUE },
    build_server_first },
  { { .name = "h2-server-settings-mid-preface",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 4, 5 } },
      .is_h2 = TRUE },
    build_server_mid_preface },
  { { .name = "h2-server-preface-missed",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 4 } },
      .is_h2 = TRUE },
    build_server_preface_missed },
  { { .name = "h2-http1-after-preface", .n_bad_frame = 2, .is_h2 = TRUE },
    build_http1_after_preface },
  { { .name = "h2-stray-continuation",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 5 } },
      .n_bad_frame = 1,
      .is_h2 = TRUE },
    build_stray_continuation },
  { { .name = "h2-lying-length", .n_bad_frame = 1, .is_h2 = TRUE }, build_lying_length },
  { { .name = "h2-block-too-large",
      .exchanges = { { "GET", "big.example", "/after", "HTTP/2", 200, NULL, 5, 6,
                       "x-arr-clientcert", "MIIBig" } },
      .n_too_large = 1,
      .is_h2 = TRUE,
      .cut_stride = 97 },
    build_block_too_large },
  { { .name = "h2-gap-client",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 6 } },
      .is_h2 = TRUE },
    build_gap_client },
  { { .name = "h2-gap-server",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 0, NULL, 3, 0 },
                     { "GET", "example.com", "/b", "HTTP/2", 0, NULL, 6, 0 } },
      .is_h2 = TRUE },
    build_gap_server },
  { { .name = "h2-bad-hpack",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 5 } },
      .n_bad_hpack = 1,
      .is_h2 = TRUE },
    build_bad_hpack },
  { { .name = "h2-rst-stream",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 0, NULL, 3, 0 },
                     { "GET", "example.com", "/b", "HTTP/2", 200, NULL, 6, 7 } },
      .is_h2 = TRUE },
    build_rst_stream },
  { { .name = "h2-push-promise",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, "/moved", 3, 6 } },
      .is_h2 = TRUE },
    build_push_promise },
  { { .name = "h2-max-exchanges",
      .max_exchanges = 1,
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 6 } },
      .n_dropped = 1,
      .n_too_many = 1,
      .is_h2 = TRUE },
    build_max_exchanges },
  { { .name = "h2-table-size",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 200, NULL, 3, 4 },
                     { "GET", "example.com", "/b", "HTTP/2", 200, NULL, 5, 6 } },
      .is_h2 = TRUE },
    build_table_size_64k },
  { { .name = "h2-table-size-over-cap",
      .exchanges = { { "GET", "example.com", "/a", "HTTP/2", 0, NULL, 3, 0 },
                     { "GET", "example.com", "/b", "HTTP/2", 0, NULL, 5, 0 } },
      .n_too_large = 1,
      .n_bad_hpack = 1,
      .is_h2 = TRUE },
    build_table_size_over_cap },
  { { .name = "h2-host-and-trailers",
      .exchanges = { { "POST", "legacy.example", "/rpc", "HTTP/2", 200, NULL, 3, 5,
                       "X-ARR-ClientCert", "MIIB padded" } },
      .is_h2 = TRUE,
      .has_head_inside_segment = TRUE },
    build_host_and_trailers },
};

static H2Builder *
h2_case_build (const H2Case *h2_case)
{
  H2Builder *b = g_new0 (H2Builder, 1);

  b->test = g_new0 (Case, 1);
  *b->test = h2_case->expected;
  b->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  for (guint i = 0; i < 2; i++)
    if (nghttp2_hd_deflate_new (&b->deflaters[i], 1024 * 1024) != 0)
      g_assert_not_reached ();
  h2_case->build (b);
  for (guint i = 0; i < b->n_segments; i++) {
    const GByteArray *bytes = g_ptr_array_index (b->buffers, i);
    b->test->segments[i].bytes = (const char *) bytes->data;
    b->test->segments[i].len = bytes->len;
  }
  return b;
}

static void
feed_built (MtdHttp *http, const H2Builder *b)
{
  for (guint i = 0; i < b->n_segments; i++) {
    const GByteArray *bytes = g_ptr_array_index (b->buffers, i);
    mtd_http_feed (http, b->test->segments[i].kind == C, bytes->data, bytes->len, i + 1);
  }
}

/* Every request field named by mtd_http_keep_headers is kept, up to the cap; each one more is
 * counted. */
static void
test_h2_kept_cap (void)
{
  const H2Case h2_case = { { .name = "kept-cap" }, build_handshake_only };
  g_autoptr (H2Builder) b = h2_case_build (&h2_case);
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);
  g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);

  for (gsize i = 0; i < G_N_ELEMENTS (get_a) - 1; i++)
    g_ptr_array_add (fields, g_strdup (get_a[i]));
  for (guint i = 0; i < 20; i++) {
    g_ptr_array_add (fields, g_strdup ("x-arr-clientcert"));
    g_ptr_array_add (fields, g_strdup_printf ("v%u", i));
  }
  g_ptr_array_add (fields, NULL);
  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, (const char *const *) fields->pdata);

  mtd_http_keep_headers (http, kept_names);
  feed_built (http, b);
  const GPtrArray *exchanges = mtd_http_exchanges (http);
  g_assert_cmpuint (exchanges->len, ==, 1);
  const MtdHttpExchange *exchange = g_ptr_array_index (exchanges, 0);
  g_assert_cmpuint (exchange->request_headers->len, ==, MTD_HTTP_MAX_KEPT_HEADERS);
  const MtdHttpHeader *first = g_ptr_array_index (exchange->request_headers, 0);
  g_assert_cmpstr (first->name, ==, "x-arr-clientcert");
  g_assert_cmpstr (first->value, ==, "v0");
  g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP_TOO_MANY], ==, 20 - MTD_HTTP_MAX_KEPT_HEADERS);
}

static gsize
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();
  return info.uordblks + info.hblkhd;
}

/* A DATA frame of 16 MB (allowed: the server announced the largest SETTINGS_MAX_FRAME_SIZE) is
 * skipped as it comes, never buffered; the capture ending inside it is no anomaly.  A HEADERS
 * frame of 16 MB is refused by the client's initial frame size limit. */
static void
test_h2_huge_frames (void)
{
  static const guint32 largest[] = { 0x5, 16777215, 0 };
  const H2Case h2_case = { { .name = "huge" }, build_handshake_only };
  g_autoptr (H2Builder) b = h2_case_build (&h2_case);
  g_autofree guint8 *chunk = g_malloc0 (1024 * 1024);
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);

  seg (b, S);
  put_settings (b, largest);
  seg (b, C);
  put_headers (b, 1, 0, get_a);
  put_frame_header (b, 0xffffff, H2_DATA, H2_END_STREAM, 1);
  feed_built (http, b);

  gsize before = heap_in_use ();
  for (guint i = 0; i < 15; i++)
    mtd_http_feed (http, TRUE, chunk, 1024 * 1024, 100 + i);
  g_assert_cmpuint (heap_in_use (), <, before + 1024 * 1024);
  mtd_http_end (http);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 1);
  MtdAnomalyCounts none = { { 0 } };
  g_assert_cmpmem (&counts, sizeof counts, &none, sizeof none);

  /* The server's frames are still limited to 2^14 by the client's SETTINGS. */
  g_autoptr (H2Builder) lying = h2_case_build (&h2_case);
  MtdAnomalyCounts lying_counts = { { 0 } };
  g_autoptr (MtdHttp) lying_http = mtd_http_new (&lying_counts, 8);
  seg (lying, S);
  put_frame_header (lying, 0xffffff, H2_HEADERS, H2_END_HEADERS, 1);
  feed_built (lying_http, lying);
  before = heap_in_use ();
  for (guint i = 0; i < 4; i++)
    mtd_http_feed (lying_http, FALSE, chunk, 1024 * 1024, 100 + i);
  g_assert_cmpuint (heap_in_use (), <, before + 1024 * 1024);
  g_assert_cmpuint (lying_counts.counts[MTD_ANOMALY_HTTP2_BAD_FRAME], ==, 1);
}

/* Random bytes after a good start, from either side: at most one anomaly per direction and
 * per HTTP/2 rule family, no exchange beyond the real one, no crash. */
static void
test_h2_random_after_preface (void)
{
  const H2Case h2_case = { { .name = "random" }, build_handshake_only };
  g_autoptr (GRand) rand = g_rand_new_with_seed (9113);
  g_autofree guint8 *garbage = g_malloc (64 * 1024);

  for (guint round = 0; round < 64; round++) {
    g_autoptr (H2Builder) b = h2_case_build (&h2_case);
    MtdAnomalyCounts counts = { { 0 } };
    g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);

    seg (b, C);
    put_headers (b, 1, H2_END_STREAM, get_a);
    feed_built (http, b);
    for (gsize i = 0; i < 64 * 1024; i++)
      garbage[i] = (guint8) g_rand_int_range (rand, 0, 256);
    /* Half the rounds start with a plausible frame header, so the payload is read. */
    if (round % 2 == 1) {
      garbage[0] = 0;
      garbage[1] = 0;
      garbage[3] = (guint8) (round % 10);
    }
    mtd_http_feed (http, round % 4 < 2, garbage, 32 * 1024, 10);
    mtd_http_feed (http, round % 4 >= 2, garbage + 32 * 1024, 32 * 1024, 11);
    mtd_http_end (http);
    g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 1);
    g_assert_cmpuint (counts.counts[MTD_ANOMALY_HTTP2_BAD_FRAME]
                          + counts.counts[MTD_ANOMALY_HTTP2_BAD_HPACK],
                      <=, 2);
  }
}

/* Handing the exchanges over ends parsing: a response after it touches nothing. */
static void
test_h2_steal (void)
{
  const H2Case h2_case = { { .name = "steal" }, build_handshake_only };
  g_autoptr (H2Builder) b = h2_case_build (&h2_case);
  MtdAnomalyCounts counts = { { 0 } };
  g_autoptr (MtdHttp) http = mtd_http_new (&counts, 8);

  seg (b, C);
  put_headers (b, 1, H2_END_STREAM, get_a);
  feed_built (http, b);
  GPtrArray *exchanges = mtd_http_steal_exchanges (http);
  g_assert_cmpuint (exchanges->len, ==, 1);
  g_ptr_array_unref (exchanges);

  seg (b, S);
  put_headers (b, 1, H2_END_STREAM, status_200);
  const GByteArray *response = current (b);
  mtd_http_feed (http, FALSE, response->data, response->len, 99);
  g_assert_cmpuint (mtd_http_exchanges (http)->len, ==, 0);
  g_assert_true (mtd_http_is_h2 (http));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *full = g_strdup_printf ("/http/case/%s/full", cases[i].name);
    g_autofree char *cuts = g_strdup_printf ("/http/case/%s/cuts", cases[i].name);
    g_test_add_data_func (full, &cases[i], test_case_full);
    g_test_add_data_func (cuts, &cases[i], test_case_cuts);
  }
  g_autoptr (GPtrArray) h2_builders = g_ptr_array_new_with_free_func ((GDestroyNotify) h2_builder_free);
  for (gsize i = 0; i < G_N_ELEMENTS (h2_cases); i++) {
    H2Builder *builder = h2_case_build (&h2_cases[i]);
    g_autofree char *full = g_strdup_printf ("/http/case/%s/full", builder->test->name);
    g_autofree char *cuts = g_strdup_printf ("/http/case/%s/cuts", builder->test->name);
    g_ptr_array_add (h2_builders, builder);
    g_test_add_data_func (full, builder->test, test_case_full);
    g_test_add_data_func (cuts, builder->test, test_case_cuts);
  }
  g_test_add_func ("/http/h2-kept-cap", test_h2_kept_cap);
  g_test_add_func ("/http/h2-huge-frames", test_h2_huge_frames);
  g_test_add_func ("/http/h2-random-after-preface", test_h2_random_after_preface);
  g_test_add_func ("/http/h2-steal", test_h2_steal);
  g_test_add_func ("/http/head-cap", test_head_cap);
  g_test_add_func ("/http/kept-headers", test_kept_headers);
  g_test_add_func ("/http/line-without-end", test_line_without_end);
  g_test_add_func ("/http/chunk-line-cap", test_chunk_line_cap);
  g_test_add_func ("/http/long-path", test_long_path);
  g_test_add_func ("/http/random-garbage", test_random_garbage);
  g_test_add_func ("/http/after-end", test_after_end);
  g_test_add_func ("/http/long-pipeline", test_long_pipeline);
  g_test_add_func ("/http/too-many-pending", test_too_many_pending);
  g_test_add_func ("/http/null-safety", test_null_safety);
  g_test_add_func ("/http/looks-like-request", test_looks_like_request);
  g_test_add_func ("/http/looks-like-start", test_looks_like_start);
  return g_test_run ();
}
