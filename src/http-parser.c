/* http-parser.c: incremental HTTP/1.x parsing of both byte streams of a connection.
 *
 * Follows RFC 9112 (§2.2 message parsing, §2.3 HTTP version, §3 request line, §4 status line,
 * §5 field lines and obsolete line folding, §6 message body length, §7.1 chunked transfer coding),
 * RFC 9110 (§5.5 field values, §5.6.2 tokens, §7.2 Host, §8.6 Content-Length, §9 methods, §15
 * status codes) and RFC 9113 §3.4 (the HTTP/2 connection preface).
 *
 * The protocol of each direction is decided by its first bytes: a client whose first 24 bytes
 * are the HTTP/2 preface, and a server whose first 9 bytes are the header of a SETTINGS frame
 * while the client's may still be the preface, speak HTTP/2, whose frames go to the MtdHttp2
 * reader (mtd-http2.h); anything else is HTTP/1.x.
 *
 * Each direction reads one message at a time.  Only the current start line and header section
 * (or chunk-size line, or trailer section) is buffered, in a per-direction GByteArray that is
 * allocated once and reused; bodies are skipped by their framing, never buffered.  Lines are
 * found as bytes arrive, so each byte is scanned once, and a completed header section is parsed
 * once.
 */
#include "mtd-http.h"

#include <string.h>

#include "mtd-cursor.h"
#include "mtd-http2.h"

/* RFC 9112 §2.3 leaves size limits to the recipient; these bound the memory of one connection. */
#define MTD_HTTP_MAX_BLOCK_LEN (64 * 1024) /* start line + header section, trailers, a chunk line */
#define MTD_HTTP_MAX_PENDING 4096          /* requests still waiting for their response */
#define MTD_HTTP_VERSION_LEN 8             /* "HTTP/1.1" */

/* Status codes whose responses have no body or end HTTP/1.1 on the connection. */
typedef enum {
  MTD_HTTP_STATUS_SWITCHING_PROTOCOLS = 101, /* RFC 9110 §15.2.2 */
  MTD_HTTP_STATUS_NO_CONTENT = 204,          /* RFC 9110 §15.3.5 */
  MTD_HTTP_STATUS_NOT_MODIFIED = 304,        /* RFC 9110 §15.4.5 */
} MtdHttpStatus;

/* RFC 9113 §3.4: the client connection preface "starts with a sequence of 24 octets", this
 * string. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define MTD_HTTP_H2_PREFACE_LEN (sizeof h2_preface - 1)

/* What one direction speaks. */
typedef enum {
  MTD_HTTP_PROTOCOL_UNDECIDED, /* its first bytes are held back while they may be HTTP/2's */
  MTD_HTTP_PROTOCOL_HTTP1,
  MTD_HTTP_PROTOCOL_H2,
} MtdHttpProtocol;

/* Where one direction is inside its current message. */
typedef enum {
  MTD_HTTP_PHASE_HEAD,        /* start line and header section (RFC 9112 §2.1) */
  MTD_HTTP_PHASE_BODY,        /* Content-Length bytes to skip (RFC 9112 §6.2) */
  MTD_HTTP_PHASE_CHUNK_SIZE,  /* chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1) */
  MTD_HTTP_PHASE_CHUNK_DATA,  /* chunk-data bytes to skip */
  MTD_HTTP_PHASE_CHUNK_END,   /* the CRLF after chunk-data */
  MTD_HTTP_PHASE_TRAILER,     /* trailer-section CRLF (RFC 9112 §7.1.2) */
  MTD_HTTP_PHASE_UNTIL_CLOSE, /* a response body delimited by the close (RFC 9112 §6.3) */
  MTD_HTTP_PHASE_STOPPED,     /* nothing more is parsed in this direction */
} MtdHttpPhase;

/* Header fields the parser keeps or frames by.  Adding one: an enum value, a table row and a
 * case in apply_field(). */
typedef enum {
  MTD_HTTP_FIELD_OTHER,
  MTD_HTTP_FIELD_HOST,              /* RFC 9110 §7.2 */
  MTD_HTTP_FIELD_CONTENT_LENGTH,    /* RFC 9110 §8.6 */
  MTD_HTTP_FIELD_TRANSFER_ENCODING, /* RFC 9112 §6.1 */
  MTD_HTTP_FIELD_LOCATION,          /* RFC 9110 §10.2.2 */
  MTD_HTTP_FIELD_KEPT,              /* a request field the caller asked to keep */
} MtdHttpField;

static const struct {
  const char *name;
  MtdHttpField field;
} interesting_fields[] = {
  { "Host", MTD_HTTP_FIELD_HOST },
  { "Content-Length", MTD_HTTP_FIELD_CONTENT_LENGTH },
  { "Transfer-Encoding", MTD_HTTP_FIELD_TRANSFER_ENCODING },
  { "Location", MTD_HTTP_FIELD_LOCATION },
};

/* Methods mtd_http_looks_like_request() knows (RFC 9110 §9.3, PATCH from RFC 5789). */
static const char *const request_methods[] = {
  "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
};

typedef struct {
  gboolean is_client;
  MtdHttpPhase phase;
  GByteArray *block;       /* owned: the head, trailers or chunk line being read; NULL until
                            * its first byte and again once it is parsed, so an idle
                            * connection holds none */
  gsize line_len;          /* bytes of the unfinished line at the end of block, LF excluded */
  gboolean is_cr_last;     /* the last byte of that line is CR */
  gboolean has_start_line; /* the current head's start line is complete */
  gboolean has_sp;         /* the start line read so far holds a SP */
  gsize fields_offset;     /* where the field lines begin in block */
  guint64 body_left;       /* Content-Length or chunk-data bytes still to skip */
  char *method;            /* owned, from the request line being read */
  char *path;              /* owned */
  char *version;           /* owned, from either start line */
  gint status;             /* from the status line being read */
} MtdHttpDirection;

/* A request still waiting for its final response. */
typedef struct {
  MtdHttpExchange *exchange; /* borrowed from exchanges; NULL when beyond max_exchanges */
  gboolean is_head;
  gboolean is_connect;
} MtdHttpPending;

/* What the header section of one message said. */
typedef struct {
  char *host;     /* owned */
  char *location; /* owned */
  GPtrArray *kept; /* MtdHttpHeader*, owned, NULL until one is kept */
  gboolean has_host;
  gboolean has_content_length;
  gboolean is_content_length_bad;
  guint64 content_length;
  gboolean has_transfer_encoding;
  gboolean is_chunked; /* chunked is the final transfer coding */
} MtdHttpHeadFields;

struct _MtdHttp {
  MtdAnomalyCounts *anomalies; /* borrowed, may be NULL */
  guint max_exchanges;
  GPtrArray *exchanges;        /* MtdHttpExchange*, owned */
  GArray *pending;             /* MtdHttpPending, oldest at pending_first */
  guint pending_first;
  guint n_dropped;
  gboolean has_noted_too_many;
  gboolean has_noted_too_many_pending;
  gsize n_preface_matched;     /* client bytes held back while they match the h2 preface */
  gboolean is_h2_prior_knowledge;
  MtdHttpProtocol protocols[2]; /* [0] the client's, [1] the server's */
  /* The server's first bytes, held back while they may start its HTTP/2 SETTINGS frame. */
  guint8 server_held[MTD_HTTP2_FRAME_HEADER_LEN];
  gsize n_server_held;
  MtdHttp2 *h2;                /* owned; NULL until HTTP/2 is seen */
  GString *value;              /* owned scratch: the field value being assembled; NULL
                                * outside parse_fields, so an idle connection holds none */
  GString *field_name;         /* owned scratch: the name of a field being kept; as value */
  const char *const *kept_names; /* borrowed, NULL-terminated, may be NULL */
  guint64 frame;               /* the frame of the feed call being parsed */
  MtdHttpDirection directions[2]; /* [0] client to server, [1] server to client */
};

static void direction_feed (MtdHttp *http, MtdHttpDirection *dir, MtdCursor *in);

void
mtd_http_keep_headers (MtdHttp *http, const char *const *names)
{
  http->kept_names = names;
  if (http->h2 != NULL)
    mtd_http2_keep_headers (http->h2, names);
}

void
mtd_http_exchange_free (MtdHttpExchange *exchange)
{
  if (exchange == NULL)
    return;
  g_free (exchange->method);
  g_free (exchange->host);
  g_free (exchange->path);
  g_free (exchange->version);
  g_free (exchange->location);
  if (exchange->request_headers != NULL)
    g_ptr_array_unref (exchange->request_headers);
  g_free (exchange);
}

void
mtd_http_header_free (MtdHttpHeader *header)
{
  if (header == NULL)
    return;
  g_free (header->name);
  g_free (header->value);
  g_free (header);
}

/* Stored strings are UTF-8 because reports are; overlong ones are cut at the cap. */
static char *
copy_string (const guint8 *bytes, gsize len)
{
  return g_utf8_make_valid ((const char *) bytes, (gssize) MIN (len, MTD_HTTP_MAX_STRING_LEN));
}

static gboolean
is_tchar (guint8 byte)
{
  /* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
   * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
  return g_ascii_isalnum (byte) || (byte != '\0' && strchr ("!#$%&'*+-.^_`|~", byte) != NULL);
}

static gboolean
is_ctl (guint8 byte)
{
  return (byte < 0x20 && byte != '\t') || byte == 0x7f;
}

static gboolean
is_target_char (guint8 byte)
{
  return byte > ' ' && byte != 0x7f;
}

static gboolean
is_ows (guint8 byte)
{
  return byte == ' ' || byte == '\t';
}

/* How many bytes from the cursor's position satisfy is_ok. */
static gsize
cursor_span (const MtdCursor *cursor, gboolean (*is_ok) (guint8))
{
  gsize n = 0;
  guint8 byte = 0;
  while (mtd_cursor_peek_u8 (cursor, n, &byte) && is_ok (byte))
    n++;
  return n;
}

/* Reads one byte when it is expected. */
static gboolean
cursor_read_char (MtdCursor *cursor, guint8 expected)
{
  guint8 byte = 0;
  return mtd_cursor_peek_u8 (cursor, 0, &byte) && byte == expected && mtd_cursor_skip (cursor, 1);
}

static void
cursor_skip_ows (MtdCursor *cursor)
{
  if (!mtd_cursor_skip (cursor, cursor_span (cursor, is_ows)))
    g_assert_not_reached ();
}

/* Reads a line up to the next LF into line, without its CR LF or bare LF; the cursor must hold
 * one (the block only holds complete lines). */
static void
cursor_read_line (MtdCursor *cursor, MtdCursor *line)
{
  gsize n = 0;
  guint8 byte = 0;
  guint8 last = 0;
  gsize content_len = 0;

  while (mtd_cursor_peek_u8 (cursor, n, &byte) && byte != '\n') {
    last = byte;
    n++;
  }
  content_len = last == '\r' ? n - 1 : n;
  if (!mtd_cursor_read_sub (cursor, content_len, line)
      || !mtd_cursor_skip (cursor, n - content_len + 1))
    g_assert_not_reached ();
}

/* Borrows len bytes at offset of the direction's block. */
static MtdCursor
block_slice (const MtdHttpDirection *dir, gsize offset, gsize len)
{
  MtdCursor block = mtd_cursor_init (dir->block->data, dir->block->len);
  MtdCursor slice = mtd_cursor_init (NULL, 0);
  if (!mtd_cursor_skip (&block, offset) || !mtd_cursor_read_sub (&block, len, &slice))
    g_assert_not_reached ();
  return slice;
}

static void
note (MtdHttp *http, MtdAnomaly anomaly)
{
  mtd_anomaly_note (http->anomalies, anomaly);
}

static void
reset_head (MtdHttpDirection *dir)
{
  g_clear_pointer (&dir->block, g_byte_array_unref);
  dir->line_len = 0;
  dir->is_cr_last = FALSE;
  dir->has_start_line = FALSE;
  dir->has_sp = FALSE;
  dir->fields_offset = 0;
  dir->status = 0;
  g_clear_pointer (&dir->method, g_free);
  g_clear_pointer (&dir->path, g_free);
  g_clear_pointer (&dir->version, g_free);
}

static void
stop_direction (MtdHttpDirection *dir)
{
  reset_head (dir);
  dir->phase = MTD_HTTP_PHASE_STOPPED;
}

/* Nothing more is parsed on the connection, in either protocol. */
static void
stop_all (MtdHttp *http)
{
  for (guint i = 0; i < G_N_ELEMENTS (http->protocols); i++)
    if (http->protocols[i] == MTD_HTTP_PROTOCOL_UNDECIDED)
      http->protocols[i] = MTD_HTTP_PROTOCOL_HTTP1;
  http->n_server_held = 0;
  stop_direction (&http->directions[0]);
  stop_direction (&http->directions[1]);
  if (http->h2 != NULL)
    mtd_http2_end (http->h2);
}

/* The bytes cannot be HTTP/1.x: the direction's framing is lost for good. */
static void
stop_bad (MtdHttp *http, MtdHttpDirection *dir)
{
  note (http, MTD_ANOMALY_HTTP_BAD_MESSAGE);
  stop_direction (dir);
}

static void
start_message (MtdHttpDirection *dir)
{
  reset_head (dir);
  dir->phase = MTD_HTTP_PHASE_HEAD;
}

/* Checks one byte of a start line as it arrives, so bytes that are not HTTP/1.x are refused
 * without buffering up to the cap. */
static gboolean
is_start_line_byte_ok (MtdHttpDirection *dir, guint8 byte)
{
  static const char http_name[] = "HTTP/"; /* RFC 9112 §2.3: HTTP-name is case-sensitive */

  /* CR is valid only right before the LF; the full parse of the line checks where it is. */
  if (byte == '\r')
    return TRUE;
  if (is_ctl (byte))
    return FALSE;
  if (!dir->is_client)
    return dir->line_len >= sizeof http_name - 1 || byte == (guint8) http_name[dir->line_len];
  if (dir->has_sp)
    return TRUE;
  if (byte == ' ') {
    dir->has_sp = TRUE;
    return dir->line_len > 0;
  }
  return is_tchar (byte); /* RFC 9112 §3.1: method = token */
}

/* Moves bytes up to and including the next LF from in to the block; TRUE when a line ended.
 * Stops the direction when the block would pass its cap or a start line cannot be HTTP/1.x. */
static gboolean
take_line (MtdHttp *http, MtdHttpDirection *dir, MtdCursor *in)
{
  gboolean is_start_line = dir->phase == MTD_HTTP_PHASE_HEAD && !dir->has_start_line;
  gsize available = mtd_cursor_remaining (in);
  gsize room = MTD_HTTP_MAX_BLOCK_LEN - (dir->block != NULL ? dir->block->len : 0);
  gsize scan_len = MIN (available, room);
  gboolean has_lf = FALSE;
  gsize n = 0;
  const guint8 *bytes = NULL;

  while (n < scan_len && !has_lf) {
    guint8 byte = 0;
    if (!mtd_cursor_peek_u8 (in, n, &byte))
      g_assert_not_reached ();
    n++;
    if (byte == '\n') {
      has_lf = TRUE;
    } else {
      if (is_start_line && !is_start_line_byte_ok (dir, byte)) {
        stop_bad (http, dir);
        return FALSE;
      }
      dir->is_cr_last = byte == '\r';
      dir->line_len++;
    }
  }
  if (!has_lf && available > room) {
    note (http, MTD_ANOMALY_HTTP_TOO_LARGE);
    stop_direction (dir);
    return FALSE;
  }
  if (!mtd_cursor_read_bytes (in, n, &bytes))
    g_assert_not_reached ();
  if (n == 0)
    return FALSE;
  if (dir->block == NULL)
    dir->block = g_byte_array_sized_new ((guint) n);
  g_byte_array_append (dir->block, bytes, (guint) n);
  return has_lf;
}

/* RFC 9112 §2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT; only major version 1 is ours.
 * On success version borrows its MTD_HTTP_VERSION_LEN bytes. */
static gboolean
read_version (MtdCursor *cursor, const guint8 **version)
{
  static const char http_1[] = "HTTP/1.";
  const gsize prefix_len = sizeof http_1 - 1;
  guint8 minor = 0;

  return mtd_cursor_peek_u8 (cursor, prefix_len, &minor) && g_ascii_isdigit (minor)
         && mtd_cursor_read_bytes (cursor, prefix_len + 1, version)
         && memcmp (*version, http_1, prefix_len) == 0;
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version */
static gboolean
parse_request_line (MtdHttpDirection *dir, MtdCursor *line)
{
  const guint8 *method = NULL;
  const guint8 *target = NULL;
  const guint8 *version = NULL;
  gsize method_len = cursor_span (line, is_tchar);
  gsize target_len = 0;

  if (method_len == 0 || !mtd_cursor_read_bytes (line, method_len, &method)
      || !cursor_read_char (line, ' '))
    return FALSE;
  target_len = cursor_span (line, is_target_char);
  if (target_len == 0 || !mtd_cursor_read_bytes (line, target_len, &target)
      || !cursor_read_char (line, ' ') || !read_version (line, &version)
      || !mtd_cursor_is_done (line))
    return FALSE;
  dir->method = copy_string (method, method_len);
  dir->path = copy_string (target, target_len);
  dir->version = copy_string (version, MTD_HTTP_VERSION_LEN);
  return TRUE;
}

/* RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]; the second SP is
 * also accepted missing, as widely sent when the reason is empty. */
static gboolean
parse_status_line (MtdHttpDirection *dir, MtdCursor *line)
{
  const guint8 *version = NULL;
  gint status = 0;

  if (!read_version (line, &version) || !cursor_read_char (line, ' '))
    return FALSE;
  for (guint i = 0; i < 3; i++) {
    guint8 digit = 0;
    if (!mtd_cursor_read_u8 (line, &digit) || !g_ascii_isdigit (digit))
      return FALSE;
    status = status * 10 + (digit - '0');
  }
  /* RFC 9110 §15: "All valid status codes are within the range of 100 to 599, inclusive." */
  if (status < 100 || status > 599)
    return FALSE;
  if (!mtd_cursor_is_empty (line) && !cursor_read_char (line, ' '))
    return FALSE;
  dir->version = copy_string (version, MTD_HTTP_VERSION_LEN);
  dir->status = status;
  return TRUE;
}

/* Appends one line of a field value, OWS trimmed, joining folded lines with one SP. */
static void
append_value (GString *value, MtdCursor *line)
{
  gsize len = 0;
  gsize n = 0;
  guint8 byte = 0;

  cursor_skip_ows (line);
  while (mtd_cursor_peek_u8 (line, n, &byte)) {
    n++;
    if (!is_ows (byte))
      len = n;
  }
  if (len == 0)
    return;
  if (value->len > 0)
    g_string_append_c (value, ' ');
  for (gsize i = 0; i < len; i++) {
    if (!mtd_cursor_read_u8 (line, &byte))
      g_assert_not_reached ();
    /* RFC 9110 §5.5: a recipient of CR, LF or NUL in a field value "MUST either reject the
     * message or replace each of those characters with SP". */
    g_string_append_c (value, (byte == '\0' || byte == '\r') ? ' ' : (char) byte);
  }
}

/* RFC 9110 §8.6: Content-Length = 1*DIGIT; a list of identical values may be taken as one. */
static gboolean
parse_content_length (const GString *value, guint64 *out)
{
  MtdCursor cursor = mtd_cursor_init ((const guint8 *) value->str, value->len);
  gboolean has_number = FALSE;
  guint64 number = 0;

  for (;;) {
    guint64 element = 0;
    gsize n_digits = 0;
    guint8 digit = 0;

    cursor_skip_ows (&cursor);
    while (mtd_cursor_peek_u8 (&cursor, 0, &digit) && g_ascii_isdigit (digit)) {
      if (element > (G_MAXUINT64 - (guint64) (digit - '0')) / 10)
        return FALSE;
      element = element * 10 + (guint64) (digit - '0');
      n_digits++;
      if (!mtd_cursor_skip (&cursor, 1))
        g_assert_not_reached ();
    }
    cursor_skip_ows (&cursor);
    if (n_digits > 0) {
      if (has_number && element != number)
        return FALSE;
      number = element;
      has_number = TRUE;
    }
    if (mtd_cursor_is_empty (&cursor))
      break;
    if (!cursor_read_char (&cursor, ','))
      return FALSE;
  }
  *out = number;
  return has_number;
}

/* Skips a transfer coding's parameters up to the next list comma, quoted strings included. */
static void
skip_to_comma (MtdCursor *cursor)
{
  gboolean is_quoted = FALSE;
  guint8 byte = 0;

  while (mtd_cursor_peek_u8 (cursor, 0, &byte)) {
    if (!is_quoted && byte == ',')
      return;
    if (!mtd_cursor_skip (cursor, 1))
      g_assert_not_reached ();
    if (is_quoted && byte == '\\') {
      if (!mtd_cursor_is_empty (cursor) && !mtd_cursor_skip (cursor, 1))
        g_assert_not_reached ();
    } else if (byte == '"') {
      is_quoted = !is_quoted;
    }
  }
}

/* RFC 9112 §6.1: Transfer-Encoding = #transfer-coding; coding names are case-insensitive (§7).
 * Updates is_chunked to whether the last coding of this field line is chunked; a line without
 * codings adds nothing to the list. */
static void
parse_transfer_encoding (const GString *value, gboolean *is_chunked)
{
  static const char chunked[] = "chunked";
  MtdCursor cursor = mtd_cursor_init ((const guint8 *) value->str, value->len);

  while (!mtd_cursor_is_empty (&cursor)) {
    const guint8 *coding = NULL;
    gsize coding_len = 0;

    cursor_skip_ows (&cursor);
    coding_len = cursor_span (&cursor, is_tchar);
    if (!mtd_cursor_read_bytes (&cursor, coding_len, &coding))
      g_assert_not_reached ();
    if (coding_len > 0)
      *is_chunked = coding_len == sizeof chunked - 1
                    && g_ascii_strncasecmp ((const char *) coding, chunked, coding_len) == 0;
    skip_to_comma (&cursor);
    if (!mtd_cursor_is_empty (&cursor) && !mtd_cursor_skip (&cursor, 1))
      g_assert_not_reached ();
  }
}

static MtdHttpField
lookup_field (const guint8 *name, gsize name_len)
{
  for (gsize i = 0; i < G_N_ELEMENTS (interesting_fields); i++) {
    const char *known = interesting_fields[i].name;
    if (strlen (known) == name_len
        && g_ascii_strncasecmp ((const char *) name, known, name_len) == 0)
      return interesting_fields[i].field;
  }
  return MTD_HTTP_FIELD_OTHER;
}

/* Takes in one complete field (its value, unfolded, in http->value). */
static void
apply_field (MtdHttp *http, const MtdHttpDirection *dir, MtdHttpField field,
             MtdHttpHeadFields *fields)
{
  const GString *value = http->value;
  guint64 content_length = 0;

  switch (field) {
  case MTD_HTTP_FIELD_HOST:
    if (!dir->is_client)
      break;
    /* RFC 9112 §3.2: a server MUST answer 400 to "any request message that contains more than
     * one Host header field line"; the first is kept so the report still names a host. */
    if (fields->has_host) {
      note (http, MTD_ANOMALY_HTTP_BAD_MESSAGE);
      break;
    }
    fields->has_host = TRUE;
    fields->host = copy_string ((const guint8 *) value->str, value->len);
    break;
  case MTD_HTTP_FIELD_CONTENT_LENGTH:
    if (!parse_content_length (value, &content_length)
        || (fields->has_content_length && content_length != fields->content_length))
      fields->is_content_length_bad = TRUE;
    fields->has_content_length = TRUE;
    fields->content_length = content_length;
    break;
  case MTD_HTTP_FIELD_TRANSFER_ENCODING:
    fields->has_transfer_encoding = TRUE;
    parse_transfer_encoding (value, &fields->is_chunked);
    break;
  case MTD_HTTP_FIELD_LOCATION:
    if (dir->is_client || fields->location != NULL)
      break;
    fields->location = copy_string ((const guint8 *) value->str, value->len);
    break;
  case MTD_HTTP_FIELD_KEPT: {
    if (fields->kept == NULL)
      fields->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_header_free);
    if (fields->kept->len >= MTD_HTTP_MAX_KEPT_HEADERS) {
      note (http, MTD_ANOMALY_HTTP_TOO_MANY);
      break;
    }
    MtdHttpHeader *header = g_new0 (MtdHttpHeader, 1);
    header->name = g_strdup (http->field_name->str);
    header->value = g_utf8_make_valid (value->str,
                                       (gssize) MIN (value->len, MTD_HTTP_MAX_KEPT_VALUE_LEN));
    g_ptr_array_add (fields->kept, header);
    break;
  }
  case MTD_HTTP_FIELD_OTHER:
    break;
  }
}

static gboolean
is_kept_name (const MtdHttp *http, const guint8 *name, gsize name_len)
{
  for (const char *const *kept = http->kept_names; kept != NULL && *kept != NULL; kept++)
    if (strlen (*kept) == name_len && g_ascii_strncasecmp ((const char *) name, *kept, name_len) == 0)
      return TRUE;
  return FALSE;
}

/* Parses the field lines of a complete header section (RFC 9112 §5). */
static void
parse_fields (MtdHttp *http, const MtdHttpDirection *dir, MtdCursor *block,
              MtdHttpHeadFields *fields)
{
  MtdHttpField field = MTD_HTTP_FIELD_OTHER;
  gboolean has_field = FALSE;

  /* Made per header section, not per packet, and only for as long as it is read. */
  http->value = g_string_new (NULL);
  http->field_name = g_string_new (NULL);
  while (!mtd_cursor_is_empty (block)) {
    MtdCursor line = mtd_cursor_init (NULL, 0);
    const guint8 *name = NULL;
    gsize name_len = 0;
    guint8 first = 0;

    cursor_read_line (block, &line);
    if (!mtd_cursor_peek_u8 (&line, 0, &first))
      break; /* the empty line that ends the section */
    if (is_ows (first)) {
      /* RFC 9112 §5.2: a recipient that accepts obs-fold must "replace each received obs-fold
       * with one or more SP octets prior to interpreting the field value".  A folded line with
       * no field before it is consumed "without further processing of it" (RFC 9112 §2.2). */
      if (has_field && field != MTD_HTTP_FIELD_OTHER)
        append_value (http->value, &line);
      continue;
    }
    if (has_field)
      apply_field (http, dir, field, fields);
    has_field = FALSE;
    /* RFC 9112 §5.1: field-line = field-name ":" OWS field-value OWS; "No whitespace is allowed
     * between the field name and colon".  A line that breaks this is skipped, not fatal. */
    name_len = cursor_span (&line, is_tchar);
    if (name_len == 0 || !mtd_cursor_read_bytes (&line, name_len, &name)
        || !cursor_read_char (&line, ':')) {
      note (http, MTD_ANOMALY_HTTP_BAD_MESSAGE);
      continue;
    }
    has_field = TRUE;
    field = lookup_field (name, name_len);
    if (field == MTD_HTTP_FIELD_OTHER && dir->is_client && is_kept_name (http, name, name_len)) {
      field = MTD_HTTP_FIELD_KEPT;
      g_string_truncate (http->field_name, 0);
      g_string_append_len (http->field_name, (const char *) name, (gssize) name_len);
    }
    g_string_truncate (http->value, 0);
    if (field != MTD_HTTP_FIELD_OTHER)
      append_value (http->value, &line);
  }
  if (has_field)
    apply_field (http, dir, field, fields);
  g_string_free (g_steal_pointer (&http->value), TRUE);
  g_string_free (g_steal_pointer (&http->field_name), TRUE);
}

static void
head_fields_clear (MtdHttpHeadFields *fields)
{
  g_clear_pointer (&fields->host, g_free);
  g_clear_pointer (&fields->location, g_free);
  g_clear_pointer (&fields->kept, g_ptr_array_unref);
}

/* A new exchange, or NULL when max_exchanges are kept already. */
static MtdHttpExchange *
add_exchange (MtdHttp *http)
{
  MtdHttpExchange *exchange = NULL;

  if (http->exchanges->len >= http->max_exchanges) {
    if (!http->has_noted_too_many)
      note (http, MTD_ANOMALY_HTTP_TOO_MANY);
    http->has_noted_too_many = TRUE;
    if (http->n_dropped < G_MAXUINT)
      http->n_dropped++;
    return NULL;
  }
  exchange = g_new0 (MtdHttpExchange, 1);
  g_ptr_array_add (http->exchanges, exchange);
  return exchange;
}

static gboolean
pop_pending (MtdHttp *http, MtdHttpPending *out)
{
  if (http->pending_first >= http->pending->len)
    return FALSE;
  *out = g_array_index (http->pending, MtdHttpPending, http->pending_first);
  http->pending_first++;
  if (http->pending_first == http->pending->len) {
    g_array_set_size (http->pending, 0);
    http->pending_first = 0;
  } else if (http->pending_first >= 64 && http->pending_first * 2 >= http->pending->len) {
    g_array_remove_range (http->pending, 0, http->pending_first);
    http->pending_first = 0;
  }
  return TRUE;
}

static void
push_pending (MtdHttp *http, const MtdHttpPending *request)
{
  MtdHttpPending oldest = { NULL, FALSE, FALSE };

  /* So many unanswered requests mean the responses are not in the capture: the oldest is given
   * up so the queue stays bounded. */
  if (http->pending->len - http->pending_first >= MTD_HTTP_MAX_PENDING) {
    if (!http->has_noted_too_many_pending)
      note (http, MTD_ANOMALY_HTTP_TOO_MANY);
    http->has_noted_too_many_pending = TRUE;
    if (!pop_pending (http, &oldest))
      g_assert_not_reached ();
  }
  g_array_append_val (http->pending, *request);
}

/* Sets up the body of a message framed by Transfer-Encoding or Content-Length (RFC 9112 §6.3
 * items 3 to 5); FALSE when neither field is present. */
static gboolean
frame_body (MtdHttp *http, MtdHttpDirection *dir, const MtdHttpHeadFields *fields)
{
  if (fields->has_transfer_encoding) {
    /* RFC 9112 §6.3 item 3: with both fields "the Transfer-Encoding overrides the
     * Content-Length.  Such a message might indicate an attempt to perform request smuggling
     * ... and ought to be handled as an error." */
    if (fields->has_content_length)
      note (http, MTD_ANOMALY_HTTP_BAD_MESSAGE);
    if (fields->is_chunked) {
      dir->phase = MTD_HTTP_PHASE_CHUNK_SIZE;
    } else if (dir->is_client) {
      /* item 4: in a request without chunked last "the message body length cannot be
       * determined reliably" */
      stop_bad (http, dir);
    } else {
      /* item 4: in a response, "the message body length is determined by reading the
       * connection until it is closed by the server" */
      dir->phase = MTD_HTTP_PHASE_UNTIL_CLOSE;
    }
    return TRUE;
  }
  if (!fields->has_content_length)
    return FALSE;
  if (fields->is_content_length_bad) {
    /* item 5: an invalid Content-Length without Transfer-Encoding: "the message framing is
     * invalid" */
    stop_bad (http, dir);
  } else if (fields->content_length > 0) {
    dir->phase = MTD_HTTP_PHASE_BODY;
    dir->body_left = fields->content_length;
  }
  return TRUE;
}

static void
finish_request (MtdHttp *http, MtdHttpDirection *dir, MtdHttpHeadFields *fields)
{
  MtdHttpExchange *exchange = add_exchange (http);
  MtdHttpPending request = { exchange, FALSE, FALSE };

  request.is_head = g_strcmp0 (dir->method, "HEAD") == 0;
  request.is_connect = g_strcmp0 (dir->method, "CONNECT") == 0;
  push_pending (http, &request);
  if (exchange != NULL) {
    exchange->request_frame = http->frame;
    exchange->method = g_steal_pointer (&dir->method);
    exchange->path = g_steal_pointer (&dir->path);
    exchange->version = g_steal_pointer (&dir->version);
    exchange->host = g_steal_pointer (&fields->host);
    exchange->request_headers = g_steal_pointer (&fields->kept);
  }
  start_message (dir);
  /* RFC 9112 §6.3 item 6: a request with neither field has no body. */
  frame_body (http, dir, fields);
}

static void
finish_response (MtdHttp *http, MtdHttpDirection *dir, MtdHttpHeadFields *fields)
{
  MtdHttpPending request = { NULL, FALSE, FALSE };
  gboolean has_request = FALSE;
  MtdHttpExchange *exchange = NULL;
  gint status = dir->status;

  /* RFC 9110 §15.2: a 1xx response is interim, "a client MUST be able to parse one or more 1xx
   * responses received prior to a final response"; 101 ends HTTP/1.1 on the connection, so it
   * is the last response and is kept as final. */
  if (status < 200 && status != MTD_HTTP_STATUS_SWITCHING_PROTOCOLS) {
    start_message (dir);
    return;
  }
  has_request = pop_pending (http, &request);
  if (has_request) {
    exchange = request.exchange;
  } else {
    /* No request for it: the capture probably started inside the connection. */
    exchange = add_exchange (http);
    if (exchange != NULL)
      exchange->version = g_steal_pointer (&dir->version);
  }
  if (exchange != NULL) {
    exchange->status = status;
    exchange->status_frame = http->frame;
    exchange->location = g_steal_pointer (&fields->location);
  }
  start_message (dir);

  /* RFC 9112 §6.3 item 2: after a 2xx response to CONNECT "the connection will become a tunnel
   * immediately after the empty line"; after 101 the protocol named in Upgrade takes over. */
  if (status == MTD_HTTP_STATUS_SWITCHING_PROTOCOLS
      || (request.is_connect && status >= 200 && status < 300)) {
    stop_all (http);
    return;
  }
  /* item 1: responses to HEAD and 1xx, 204 and 304 responses end at the empty line. */
  if (request.is_head || status == MTD_HTTP_STATUS_NO_CONTENT
      || status == MTD_HTTP_STATUS_NOT_MODIFIED)
    return;
  /* item 8: otherwise "the message body length is determined by the number of octets received
   * prior to the server closing the connection". */
  if (!frame_body (http, dir, fields))
    dir->phase = MTD_HTTP_PHASE_UNTIL_CLOSE;
}

static void
finish_head (MtdHttp *http, MtdHttpDirection *dir)
{
  MtdHttpHeadFields fields = { 0 };
  MtdCursor block = block_slice (dir, dir->fields_offset, dir->block->len - dir->fields_offset);

  parse_fields (http, dir, &block, &fields);
  if (dir->is_client)
    finish_request (http, dir, &fields);
  else
    finish_response (http, dir, &fields);
  head_fields_clear (&fields);
}

/* RFC 9112 §7.1: chunk-size = 1*HEXDIG, then [ chunk-ext ] = *( BWS ";" BWS chunk-ext-name
 * [ BWS "=" BWS chunk-ext-val ] ), which is skipped. */
static void
parse_chunk_size (MtdHttp *http, MtdHttpDirection *dir, MtdCursor *line)
{
  guint64 size = 0;
  gsize n_digits = 0;
  guint8 byte = 0;

  while (mtd_cursor_peek_u8 (line, 0, &byte) && g_ascii_isxdigit (byte)) {
    if (size > (G_MAXUINT64 >> 4)) {
      stop_bad (http, dir);
      return;
    }
    size = (size << 4) | (guint64) g_ascii_xdigit_value (byte);
    n_digits++;
    if (!mtd_cursor_skip (line, 1))
      g_assert_not_reached ();
  }
  cursor_skip_ows (line);
  if (n_digits == 0 || (!mtd_cursor_is_empty (line) && !cursor_read_char (line, ';'))) {
    stop_bad (http, dir);
    return;
  }
  g_clear_pointer (&dir->block, g_byte_array_unref);
  if (size == 0) {
    /* last-chunk: the trailer section follows (RFC 9112 §7.1.2). */
    dir->phase = MTD_HTTP_PHASE_TRAILER;
    return;
  }
  dir->phase = MTD_HTTP_PHASE_CHUNK_DATA;
  dir->body_left = size;
}

/* A line ended at the end of the block: acts on it according to the phase. */
static void
on_line (MtdHttp *http, MtdHttpDirection *dir)
{
  gsize line_len = dir->line_len - (dir->is_cr_last ? 1 : 0);
  gsize line_offset = dir->block->len - dir->line_len - 1;
  gboolean is_empty = line_len == 0;
  MtdCursor line = block_slice (dir, line_offset, line_len);

  dir->line_len = 0;
  dir->is_cr_last = FALSE;
  switch (dir->phase) {
  case MTD_HTTP_PHASE_HEAD:
    if (dir->has_start_line) {
      if (is_empty)
        finish_head (http, dir);
    } else if (is_empty) {
      /* RFC 9112 §2.2: a recipient "SHOULD ignore at least one empty line (CRLF) received prior
       * to the request-line"; old clients send one after a POST body. */
      reset_head (dir);
    } else if (dir->is_client ? parse_request_line (dir, &line)
                              : parse_status_line (dir, &line)) {
      dir->has_start_line = TRUE;
      dir->fields_offset = dir->block->len;
    } else {
      stop_bad (http, dir);
    }
    break;
  case MTD_HTTP_PHASE_CHUNK_SIZE:
    parse_chunk_size (http, dir, &line);
    break;
  case MTD_HTTP_PHASE_CHUNK_END:
    /* RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF */
    g_clear_pointer (&dir->block, g_byte_array_unref);
    if (is_empty)
      dir->phase = MTD_HTTP_PHASE_CHUNK_SIZE;
    else
      stop_bad (http, dir);
    break;
  case MTD_HTTP_PHASE_TRAILER:
    if (is_empty)
      start_message (dir);
    break;
  case MTD_HTTP_PHASE_BODY:
  case MTD_HTTP_PHASE_CHUNK_DATA:
  case MTD_HTTP_PHASE_UNTIL_CLOSE:
  case MTD_HTTP_PHASE_STOPPED:
    g_assert_not_reached ();
  }
}

/* Skips body bytes; TRUE when the counted body is complete. */
static gboolean
skip_body (MtdHttpDirection *dir, MtdCursor *in)
{
  gsize n = mtd_cursor_remaining (in);

  if ((guint64) n > dir->body_left)
    n = (gsize) dir->body_left;
  if (!mtd_cursor_skip (in, n))
    g_assert_not_reached ();
  dir->body_left -= n;
  return dir->body_left == 0;
}

static void
direction_feed (MtdHttp *http, MtdHttpDirection *dir, MtdCursor *in)
{
  while (!mtd_cursor_is_empty (in)) {
    switch (dir->phase) {
    case MTD_HTTP_PHASE_HEAD:
    case MTD_HTTP_PHASE_CHUNK_SIZE:
    case MTD_HTTP_PHASE_CHUNK_END:
    case MTD_HTTP_PHASE_TRAILER:
      if (take_line (http, dir, in))
        on_line (http, dir);
      break;
    case MTD_HTTP_PHASE_BODY:
      if (skip_body (dir, in))
        start_message (dir);
      break;
    case MTD_HTTP_PHASE_CHUNK_DATA:
      if (skip_body (dir, in))
        dir->phase = MTD_HTTP_PHASE_CHUNK_END;
      break;
    case MTD_HTTP_PHASE_UNTIL_CLOSE:
      if (!mtd_cursor_skip (in, mtd_cursor_remaining (in)))
        g_assert_not_reached ();
      break;
    case MTD_HTTP_PHASE_STOPPED:
      return;
    }
  }
}

static MtdHttpExchange *
new_h2_exchange (gpointer user_data)
{
  return add_exchange (user_data);
}

static MtdHttp2 *
ensure_h2 (MtdHttp *http)
{
  if (http->h2 == NULL) {
    http->h2 = mtd_http2_new (http->anomalies, new_h2_exchange, http);
    mtd_http2_keep_headers (http->h2, http->kept_names);
  }
  return http->h2;
}

/* The server's bytes held while they might start its HTTP/2 preface go where its protocol
 * says, now that it is decided. */
static void
release_server_held (MtdHttp *http)
{
  MtdCursor held = mtd_cursor_init (http->server_held, http->n_server_held);

  http->n_server_held = 0;
  if (mtd_cursor_is_empty (&held))
    return;
  if (http->protocols[1] == MTD_HTTP_PROTOCOL_H2)
    mtd_http2_feed (http->h2, FALSE, &held, http->frame);
  else
    direction_feed (http, &http->directions[1], &held);
}

/* The client's first bytes are not the preface: the connection is HTTP/1.x. */
static void
decide_client_http1 (MtdHttp *http)
{
  MtdCursor held = mtd_cursor_init ((const guint8 *) h2_preface, http->n_preface_matched);

  http->protocols[0] = MTD_HTTP_PROTOCOL_HTTP1;
  direction_feed (http, &http->directions[0], &held);
  switch (http->protocols[1]) {
  case MTD_HTTP_PROTOCOL_UNDECIDED:
    http->protocols[1] = MTD_HTTP_PROTOCOL_HTTP1;
    release_server_held (http);
    break;
  case MTD_HTTP_PROTOCOL_H2:
    /* The server started HTTP/2 to a client that speaks HTTP/1.x: its bytes are not HTTP/1.x
     * and no request of this client can be read from them. */
    http->protocols[1] = MTD_HTTP_PROTOCOL_HTTP1;
    g_clear_pointer (&http->h2, mtd_http2_free);
    stop_bad (http, &http->directions[1]);
    break;
  case MTD_HTTP_PROTOCOL_HTTP1:
    break;
  }
}

/* The client sent the whole preface: both directions speak HTTP/2 from here on. */
static void
decide_client_h2 (MtdHttp *http)
{
  MtdHttp2 *h2 = ensure_h2 (http);

  http->is_h2_prior_knowledge = TRUE;
  http->protocols[0] = MTD_HTTP_PROTOCOL_H2;
  switch (http->protocols[1]) {
  case MTD_HTTP_PROTOCOL_UNDECIDED:
    /* RFC 9113 §3.4: "the server connection preface consists of a potentially empty SETTINGS
     * frame"; whatever the server sent so far is read as HTTP/2 frames. */
    http->protocols[1] = MTD_HTTP_PROTOCOL_H2;
    release_server_held (http);
    break;
  case MTD_HTTP_PROTOCOL_HTTP1:
    /* The server's first bytes were no SETTINGS frame, so its frames cannot be found. */
    if (http->directions[1].phase != MTD_HTTP_PHASE_STOPPED)
      note (http, MTD_ANOMALY_HTTP2_BAD_FRAME);
    http->protocols[1] = MTD_HTTP_PROTOCOL_H2;
    mtd_http2_gap (h2, FALSE);
    break;
  case MTD_HTTP_PROTOCOL_H2:
    break;
  }
  stop_direction (&http->directions[0]);
  stop_direction (&http->directions[1]);
}

/* Holds back the client's first bytes while they may still be the HTTP/2 preface, and decides
 * the client's protocol once they match it or stop matching it. */
static void
match_preface (MtdHttp *http, MtdCursor *in)
{
  guint8 byte = 0;

  while (http->n_preface_matched < MTD_HTTP_H2_PREFACE_LEN) {
    if (!mtd_cursor_peek_u8 (in, 0, &byte))
      return;
    if (byte != (guint8) h2_preface[http->n_preface_matched]) {
      decide_client_http1 (http);
      return;
    }
    if (!mtd_cursor_skip (in, 1))
      g_assert_not_reached ();
    http->n_preface_matched++;
  }
  decide_client_h2 (http);
}

/* RFC 9113 §3.4: the server's preface is a SETTINGS frame that "MUST be the first frame the
 * server sends", and a server may send it before the client's preface is complete.  Its header
 * is a length below the initial SETTINGS_MAX_FRAME_SIZE of 2^14, type 0x4, no flags (no ACK)
 * and stream 0. */
static gboolean
is_server_preface_byte (gsize index, guint8 byte)
{
  switch (index) {
  case 1:
  case 2:
    return TRUE; /* the low 16 bits of the length, checked whole below */
  case 3:
    return byte == 0x04;
  default:
    return byte == 0;
  }
}

/* Holds back the server's first bytes while the client's protocol is not decided and they may
 * start the server's HTTP/2 preface.  TRUE when the server's protocol is decided (the held
 * bytes were passed on), so the rest of in goes where it says. */
static gboolean
match_server_preface (MtdHttp *http, MtdCursor *in)
{
  guint8 byte = 0;

  while (http->n_server_held < MTD_HTTP2_FRAME_HEADER_LEN) {
    if (!mtd_cursor_peek_u8 (in, 0, &byte))
      return FALSE;
    if (!is_server_preface_byte (http->n_server_held, byte)) {
      http->protocols[1] = MTD_HTTP_PROTOCOL_HTTP1;
      release_server_held (http);
      return TRUE;
    }
    if (!mtd_cursor_read_u8 (in, &http->server_held[http->n_server_held]))
      g_assert_not_reached ();
    http->n_server_held++;
  }

  MtdCursor header = mtd_cursor_init (http->server_held, http->n_server_held);
  guint32 length = 0;
  if (!mtd_cursor_read_u24 (&header, &length))
    g_assert_not_reached ();
  /* RFC 9113 §6.5: a SETTINGS length is a multiple of 6; §4.2: no frame is larger than the
   * initial SETTINGS_MAX_FRAME_SIZE before SETTINGS say more. */
  if (length % 6 == 0 && length <= MTD_HTTP2_INITIAL_MAX_FRAME_SIZE) {
    ensure_h2 (http);
    http->protocols[1] = MTD_HTTP_PROTOCOL_H2;
  } else {
    http->protocols[1] = MTD_HTTP_PROTOCOL_HTTP1;
  }
  release_server_held (http);
  return TRUE;
}

MtdHttp *
mtd_http_new (MtdAnomalyCounts *anomalies, guint max_exchanges)
{
  MtdHttp *http = g_new0 (MtdHttp, 1);

  http->anomalies = anomalies;
  http->max_exchanges = max_exchanges;
  http->exchanges = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  http->pending = g_array_new (FALSE, FALSE, sizeof (MtdHttpPending));
  for (guint i = 0; i < G_N_ELEMENTS (http->directions); i++) {
    http->directions[i].is_client = i == 0;
    http->directions[i].phase = MTD_HTTP_PHASE_HEAD;
  }
  return http;
}

void
mtd_http_free (MtdHttp *http)
{
  if (http == NULL)
    return;
  /* The HTTP/2 reader borrows exchanges: it goes first. */
  mtd_http2_free (http->h2);
  for (guint i = 0; i < G_N_ELEMENTS (http->directions); i++) {
    reset_head (&http->directions[i]);
  }
  g_ptr_array_unref (http->exchanges);
  g_array_unref (http->pending);
  g_free (http);
}

void
mtd_http_feed (MtdHttp *http, gboolean is_from_client, const guint8 *data, gsize len,
               guint64 frame)
{
  MtdCursor in = mtd_cursor_init (data, len);

  g_return_if_fail (http != NULL);
  g_return_if_fail (data != NULL || len == 0);

  http->frame = frame;
  if (is_from_client) {
    if (http->protocols[0] == MTD_HTTP_PROTOCOL_UNDECIDED)
      match_preface (http, &in);
  } else if (http->protocols[1] == MTD_HTTP_PROTOCOL_UNDECIDED) {
    if (!match_server_preface (http, &in))
      return;
  }
  switch (http->protocols[is_from_client ? 0 : 1]) {
  case MTD_HTTP_PROTOCOL_UNDECIDED:
    break; /* all of in is held back */
  case MTD_HTTP_PROTOCOL_HTTP1:
    direction_feed (http, &http->directions[is_from_client ? 0 : 1], &in);
    break;
  case MTD_HTTP_PROTOCOL_H2:
    mtd_http2_feed (http->h2, is_from_client, &in, frame);
    break;
  }
}

void
mtd_http_gap (MtdHttp *http, gboolean is_from_client)
{
  g_return_if_fail (http != NULL);

  /* RFC 9112 framing cannot be found again after missing bytes: the next message may start
   * anywhere, so the direction ends here.  In HTTP/2 the frame boundaries and the header
   * compression state are lost likewise.  A gap before the client's protocol is decided leaves
   * the server's to its own first bytes. */
  guint side = is_from_client ? 0 : 1;
  if (http->protocols[side] == MTD_HTTP_PROTOCOL_UNDECIDED) {
    http->protocols[side] = MTD_HTTP_PROTOCOL_HTTP1;
    if (!is_from_client)
      http->n_server_held = 0;
  }
  if (http->protocols[side] == MTD_HTTP_PROTOCOL_H2)
    mtd_http2_gap (http->h2, is_from_client);
  stop_direction (&http->directions[side]);
}

void
mtd_http_end (MtdHttp *http)
{
  g_return_if_fail (http != NULL);

  /* A body read until close is complete now; nothing after the end is parsed. */
  stop_all (http);
}

gboolean
mtd_http_is_h2_prior_knowledge (const MtdHttp *http)
{
  g_return_val_if_fail (http != NULL, FALSE);
  return http->is_h2_prior_knowledge;
}

gboolean
mtd_http_is_h2 (const MtdHttp *http)
{
  g_return_val_if_fail (http != NULL, FALSE);
  return http->protocols[0] == MTD_HTTP_PROTOCOL_H2 || http->protocols[1] == MTD_HTTP_PROTOCOL_H2;
}

const GPtrArray *
mtd_http_exchanges (const MtdHttp *http)
{
  g_return_val_if_fail (http != NULL, NULL);
  return http->exchanges;
}

GPtrArray *
mtd_http_steal_exchanges (MtdHttp *http)
{
  g_return_val_if_fail (http != NULL, NULL);
  /* Requests still waiting for a response point into the array; nothing is parsed after this,
   * so they are dropped with it. */
  g_array_set_size (http->pending, 0);
  http->pending_first = 0;
  GPtrArray *exchanges = http->exchanges;
  http->exchanges = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_exchange_free);
  mtd_http_end (http);
  return exchanges;
}

guint
mtd_http_n_dropped (const MtdHttp *http)
{
  g_return_val_if_fail (http != NULL, 0);
  return http->n_dropped;
}

gboolean
mtd_http_looks_like_request (const guint8 *data, gsize len)
{
  const MtdCursor in = mtd_cursor_init (data, len);

  for (gsize i = 0; i < G_N_ELEMENTS (request_methods); i++) {
    MtdCursor cursor = in;
    const gsize method_len = strlen (request_methods[i]);
    const guint8 *method = NULL;

    if (mtd_cursor_read_bytes (&cursor, method_len, &method)
        && memcmp (method, request_methods[i], method_len) == 0 && cursor_read_char (&cursor, ' '))
      return TRUE;
  }
  return FALSE;
}

gboolean
mtd_http_looks_like_start (const guint8 *data, gsize len, gboolean is_from_client)
{
  MtdCursor in = mtd_cursor_init (data, len);
  if (is_from_client) {
    gsize n_compared = MIN (len, MTD_HTTP_H2_PREFACE_LEN);
    const guint8 *start = NULL;
    return mtd_http_looks_like_request (data, len)
           || (n_compared >= 4 && mtd_cursor_read_bytes (&in, n_compared, &start)
               && memcmp (start, h2_preface, n_compared) == 0);
  }
  /* RFC 9113 §4.1 frame header: length (24), type (8), flags (8), R + stream id (32); the
   * server preface's SETTINGS (type 0x4) is not an ACK and is on stream 0 (§6.5). */
  guint32 frame_len = 0, stream_id = 0;
  guint8 type = 0, flags = 0;
  return mtd_cursor_read_u24 (&in, &frame_len) && mtd_cursor_read_u8 (&in, &type)
         && mtd_cursor_read_u8 (&in, &flags) && mtd_cursor_read_u32 (&in, &stream_id)
         && type == 0x4 && (flags & 0x1) == 0 && stream_id == 0 && frame_len % 6 == 0;
}
