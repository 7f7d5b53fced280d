/* test-http.c: unit tests of the incremental HTTP/1.x parser (mtd-http.h).
 *
 * Follows RFC 9112 (message framing), RFC 9110 (fields, status codes) and RFC 9113 §3.4 (the
 * HTTP/2 preface).  Each case is a list of stream segments, each fed as one call with its own
 * frame number (1000 + its 1-based index), and the exchanges that must come out.  Every case is
 * fed whole, one byte at a time and in random pieces, each of which must give the expected
 * result; and cut at every byte, where an exchange's request (or response) must be there exactly
 * when the segment that ends its head was fed in full.
 */
#include <string.h>

#include "mtd-http.h"

#define FRAME_BASE 1000
#define DEFAULT_MAX_EXCHANGES 16
#define MAX_SEGMENTS 12
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
} Expected;

typedef struct {
  const char *name;
  guint max_exchanges; /* 0: DEFAULT_MAX_EXCHANGES */
  Segment segments[MAX_SEGMENTS];
  Expected exchanges[MAX_EXPECTED];
  guint n_dropped;
  guint n_bad;
  guint n_too_large;
  guint n_too_many;
  gboolean is_h2;
  gboolean has_head_inside_segment; /* a head ends before its segment does: no cut checks */
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
    assert_anomalies (&counts, test);
  }
}

/* Cut at every byte: an exchange exists once the segment ending its first head was fed in full,
 * and holds exactly what the fully fed segments carry. */
static void
test_case_cuts (gconstpointer data)
{
  const Case *test = data;
  gsize total = case_total_len (test);
  gsize n_expected = case_n_expected (test);
  gboolean has_anomaly = test->n_bad + test->n_too_large + test->n_too_many > 0;

  for (gsize i = 1; i < n_expected; i++) {
    const Expected *before = &test->exchanges[i - 1];
    const Expected *expected = &test->exchanges[i];
    g_assert_cmpuint (before->request_seg ? before->request_seg : before->status_seg, <=,
                      expected->request_seg ? expected->request_seg : expected->status_seg);
  }
  for (gsize cut_len = 0; cut_len <= total; cut_len++) {
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
  return g_test_run ();
}
