/* http2-frames.c: HTTP/2 frames and field blocks of both directions of a connection.
 *
 * Follows RFC 9113 (§3.4 connection preface, §4.1 frame format, §4.2 frame size, §4.3 field
 * section compression, §5.1.1 stream identifiers, §6 frame definitions, §8.1 message framing,
 * §8.3 pseudo-header fields) and RFC 7541 (HPACK) through nghttp2's inflater; this is the only
 * file that includes nghttp2.
 *
 * Each direction reads one frame at a time.  Only the 9-octet frame header and the fixed fields
 * before a field block fragment (Pad Length, the priority fields, the Promised Stream ID, one
 * setting) are copied, into a small array; fragment bytes go to the direction's inflater as they
 * arrive, and other payloads are skipped by their length.  A field block is decompressed whole
 * even when its fields are not wanted, since each block changes the decoder's dynamic table.
 * Whatever breaks the framing or the decompression ends that direction: the frame boundaries or
 * the table are unknown from there on.
 */
#include "mtd-http2.h"

#include <string.h>

#include <nghttp2/nghttp2.h>

/* RFC 9113 §6: frame types. */
typedef enum {
  MTD_HTTP2_FRAME_DATA = 0x0,          /* §6.1 */
  MTD_HTTP2_FRAME_HEADERS = 0x1,       /* §6.2 */
  MTD_HTTP2_FRAME_PRIORITY = 0x2,      /* §6.3 */
  MTD_HTTP2_FRAME_RST_STREAM = 0x3,    /* §6.4 */
  MTD_HTTP2_FRAME_SETTINGS = 0x4,      /* §6.5 */
  MTD_HTTP2_FRAME_PUSH_PROMISE = 0x5,  /* §6.6 */
  MTD_HTTP2_FRAME_PING = 0x6,          /* §6.7 */
  MTD_HTTP2_FRAME_GOAWAY = 0x7,        /* §6.8 */
  MTD_HTTP2_FRAME_WINDOW_UPDATE = 0x8, /* §6.9 */
  MTD_HTTP2_FRAME_CONTINUATION = 0x9,  /* §6.10 */
} MtdHttp2FrameType;

/* RFC 9113 §6: frame flags. */
typedef enum {
  MTD_HTTP2_FLAG_ACK = 0x01,         /* SETTINGS, PING */
  MTD_HTTP2_FLAG_END_HEADERS = 0x04, /* HEADERS, PUSH_PROMISE, CONTINUATION */
  MTD_HTTP2_FLAG_PADDED = 0x08,      /* DATA, HEADERS, PUSH_PROMISE */
  MTD_HTTP2_FLAG_PRIORITY = 0x20,    /* HEADERS */
} MtdHttp2Flag;

/* RFC 9113 §6.5.2: setting identifiers. */
typedef enum {
  MTD_HTTP2_SETTINGS_HEADER_TABLE_SIZE = 0x1,
  MTD_HTTP2_SETTINGS_MAX_FRAME_SIZE = 0x5,
} MtdHttp2Setting;

/* RFC 9113 §6.5.2: SETTINGS_HEADER_TABLE_SIZE "The initial value is 4,096 octets";
 * SETTINGS_MAX_FRAME_SIZE (initial value in mtd-http2.h): "The value advertised by an endpoint
 * MUST be between this initial value and the maximum allowed frame size (2^24-1 or 16,777,215
 * octets), inclusive." */
#define MTD_HTTP2_INITIAL_TABLE_SIZE 4096
#define MTD_HTTP2_LARGEST_MAX_FRAME_SIZE 16777215
#define MTD_HTTP2_SETTING_LEN 6         /* §6.5.1: Identifier (16), Value (32) */
#define MTD_HTTP2_PRIORITY_FIELDS_LEN 5 /* §6.2: Exclusive, Stream Dependency (32), Weight (8) */
#define MTD_HTTP2_PROMISED_ID_LEN 4     /* §6.6: Reserved (1), Promised Stream ID (31) */
#define MTD_HTTP2_STREAM_ID_MASK 0x7fffffffu /* §4.1: the reserved bit "MUST be ignored" */

/* Where one direction is inside its current frame. */
typedef enum {
  MTD_HTTP2_PHASE_FRAME_HEADER, /* the 9-octet frame header (§4.1) */
  MTD_HTTP2_PHASE_PAD_LENGTH,   /* Pad Length of a PADDED HEADERS or PUSH_PROMISE */
  MTD_HTTP2_PHASE_PRIORITY,     /* the priority fields of HEADERS with PRIORITY (§6.2) */
  MTD_HTTP2_PHASE_PROMISED_ID,  /* Promised Stream ID of PUSH_PROMISE (§6.6) */
  MTD_HTTP2_PHASE_FRAGMENT,     /* a field block fragment, decompressed as it comes */
  MTD_HTTP2_PHASE_SETTING,      /* one setting of a SETTINGS frame (§6.5.1) */
  MTD_HTTP2_PHASE_SKIP,         /* payload not needed: DATA, padding, other frames */
  MTD_HTTP2_PHASE_STOPPED,      /* nothing more is read in this direction */
} MtdHttp2Phase;

/* What the field block being read is for. */
typedef enum {
  MTD_HTTP2_BLOCK_IGNORED,  /* decompressed for the table only: trailers, pushes, unknown streams */
  MTD_HTTP2_BLOCK_REQUEST,  /* the request header section of a new stream */
  MTD_HTTP2_BLOCK_RESPONSE, /* a response header section on a stream waiting for one */
} MtdHttp2BlockKind;

/* The fields of the block being read that an exchange keeps. */
typedef struct {
  char *method;    /* owned; :method */
  char *path;      /* owned; :path */
  char *authority; /* owned; :authority */
  char *host;      /* owned; the host field */
  char *location;  /* owned */
  gint status;     /* :status, 0 when absent */
  gboolean is_status_bad;
  GPtrArray *kept; /* MtdHttpHeader*, owned, NULL until one is kept */
} MtdHttp2Fields;

typedef struct {
  gboolean is_client;
  MtdHttp2Phase phase;
  guint8 fixed[MTD_HTTP2_FRAME_HEADER_LEN]; /* the frame header or fixed field being read */
  gsize fixed_len;
  gboolean has_frame; /* the first frame (the client's: its preface's SETTINGS) was read */
  guint8 type;        /* of the current frame */
  guint8 flags;
  guint32 stream_id;
  guint32 payload_left;  /* bytes of the current frame's payload not read yet */
  guint32 fragment_left; /* of those, field block fragment bytes */
  guint32 pad_len;
  guint32 max_frame_size; /* the largest frame the peer accepts (its SETTINGS_MAX_FRAME_SIZE) */
  /* The field block being read, which may go on in CONTINUATION frames. */
  gboolean is_in_block;
  guint32 block_stream_id;
  MtdHttp2BlockKind block_kind;
  gsize block_len; /* compressed bytes of it so far */
  gboolean is_block_too_large;
  MtdHttp2Fields fields;
  nghttp2_hd_inflater *inflater; /* owned; made for the first field block */
  gsize table_size;         /* the peer's SETTINGS_HEADER_TABLE_SIZE (capped) for this inflater */
  gsize applied_table_size; /* the bound the inflater has */
  gboolean has_noted_table_cap;
} MtdHttp2Direction;

/* A request waiting for its final response. */
typedef struct {
  guint32 stream_id;
  MtdHttpExchange *exchange; /* borrowed from the caller's exchanges */
} MtdHttp2Stream;

struct _MtdHttp2 {
  MtdAnomalyCounts *anomalies; /* borrowed, may be NULL */
  MtdHttp2NewExchange new_exchange;
  gpointer user_data;            /* borrowed */
  const char *const *kept_names; /* borrowed, NULL-terminated, may be NULL */
  GArray *streams;               /* MtdHttp2Stream, oldest request first */
  guint32 last_client_stream_id;
  gboolean has_noted_too_many_streams;
  guint64 frame;                   /* the frame of the feed call being read */
  GString *value;                  /* owned scratch: a field value being cleaned; reused */
  MtdHttp2Direction directions[2]; /* [0] client to server, [1] server to client */
};

static void
note (MtdHttp2 *h2, MtdAnomaly anomaly)
{
  mtd_anomaly_note (h2->anomalies, anomaly);
}

static void
fields_clear (MtdHttp2Fields *fields)
{
  g_clear_pointer (&fields->method, g_free);
  g_clear_pointer (&fields->path, g_free);
  g_clear_pointer (&fields->authority, g_free);
  g_clear_pointer (&fields->host, g_free);
  g_clear_pointer (&fields->location, g_free);
  g_clear_pointer (&fields->kept, g_ptr_array_unref);
  fields->status = 0;
  fields->is_status_bad = FALSE;
}

static void
stop_direction (MtdHttp2Direction *dir)
{
  dir->phase = MTD_HTTP2_PHASE_STOPPED;
  dir->is_in_block = FALSE;
  fields_clear (&dir->fields);
  g_clear_pointer (&dir->inflater, nghttp2_hd_inflate_del);
}

/* The bytes break RFC 9113 framing: where the next frame starts, or what the block being read
 * says, is unknown. */
static void
stop_bad_frame (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  note (h2, MTD_ANOMALY_HTTP2_BAD_FRAME);
  stop_direction (dir);
}

static MtdHttp2Direction *
peer_of (MtdHttp2 *h2, const MtdHttp2Direction *dir)
{
  return &h2->directions[dir->is_client ? 1 : 0];
}

static gssize
find_stream (const MtdHttp2 *h2, guint32 stream_id)
{
  for (guint i = 0; i < h2->streams->len; i++)
    if (g_array_index (h2->streams, MtdHttp2Stream, i).stream_id == stream_id)
      return (gssize) i;
  return -1;
}

static void
forget_stream (MtdHttp2 *h2, guint32 stream_id)
{
  gssize index = find_stream (h2, stream_id);
  if (index >= 0)
    g_array_remove_index (h2->streams, (guint) index);
}

/* Copies up to need bytes of a fixed-size part into dir->fixed; TRUE when it is complete. */
static gboolean
take_fixed (MtdHttp2Direction *dir, MtdCursor *in, gsize need)
{
  gsize n = MIN (need - dir->fixed_len, mtd_cursor_remaining (in));

  if (!mtd_cursor_copy_bytes (in, dir->fixed + dir->fixed_len, n))
    g_assert_not_reached ();
  dir->fixed_len += n;
  if (dir->fixed_len < need)
    return FALSE;
  dir->fixed_len = 0;
  return TRUE;
}

/* Starts reading a fixed-size part of the payload, which must hold it. */
static void
enter_fixed (MtdHttp2 *h2, MtdHttp2Direction *dir, MtdHttp2Phase phase, gsize need)
{
  if (dir->payload_left < need) {
    stop_bad_frame (h2, dir);
    return;
  }
  dir->fixed_len = 0;
  dir->phase = phase;
}

/* Stored strings are UTF-8 because reports are.  RFC 9113 §8.2.1: a field value "MUST NOT
 * contain the zero value (ASCII NUL, 0x00), line feed (ASCII LF, 0x0a), or carriage return
 * (ASCII CR, 0x0d) at any position"; as RFC 9110 §5.5 allows for HTTP/1.1, each becomes SP.
 * Regular field values lose leading and trailing whitespace, as HTTP/1.x's do. */
static char *
copy_value (MtdHttp2 *h2, const guint8 *bytes, gsize len, gboolean is_trimmed, gsize cap)
{
  MtdCursor cursor = mtd_cursor_init (bytes, len);
  GString *value = h2->value;
  guint8 byte = 0;

  g_string_truncate (value, 0);
  while (value->len < cap && mtd_cursor_read_u8 (&cursor, &byte)) {
    if (byte == '\0' || byte == '\r' || byte == '\n')
      byte = ' ';
    if (is_trimmed && value->len == 0 && (byte == ' ' || byte == '\t'))
      continue;
    g_string_append_c (value, (char) byte);
  }
  while (is_trimmed && value->len > 0
         && (value->str[value->len - 1] == ' ' || value->str[value->len - 1] == '\t'))
    g_string_truncate (value, value->len - 1);
  return g_utf8_make_valid (value->str, (gssize) value->len);
}

static gboolean
name_is (const nghttp2_nv *nv, const char *name)
{
  gsize len = strlen (name);
  return nv->namelen == len && memcmp (nv->name, name, len) == 0;
}

/* A pseudo-header field; RFC 9113 §8.3: "The same pseudo-header field name MUST NOT appear more
 * than once in a field block", so a repeat is noted and the first kept. */
static void
take_pseudo (MtdHttp2 *h2, char **slot, const nghttp2_nv *nv)
{
  if (*slot != NULL) {
    note (h2, MTD_ANOMALY_HTTP_BAD_MESSAGE);
    return;
  }
  *slot = copy_value (h2, nv->value, nv->valuelen, FALSE, MTD_HTTP_MAX_STRING_LEN);
}

static gboolean
is_kept_name (const MtdHttp2 *h2, const nghttp2_nv *nv)
{
  for (const char *const *kept = h2->kept_names; kept != NULL && *kept != NULL; kept++)
    if (strlen (*kept) == nv->namelen
        && g_ascii_strncasecmp ((const char *) nv->name, *kept, nv->namelen) == 0)
      return TRUE;
  return FALSE;
}

static void
keep_field (MtdHttp2 *h2, MtdHttp2Fields *fields, const nghttp2_nv *nv)
{
  MtdHttpHeader *header = NULL;

  if (fields->kept == NULL)
    fields->kept = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_http_header_free);
  if (fields->kept->len >= MTD_HTTP_MAX_KEPT_HEADERS) {
    note (h2, MTD_ANOMALY_HTTP_TOO_MANY);
    return;
  }
  header = g_new0 (MtdHttpHeader, 1);
  header->name = copy_value (h2, nv->name, nv->namelen, FALSE, MTD_HTTP_MAX_STRING_LEN);
  header->value = copy_value (h2, nv->value, nv->valuelen, TRUE, MTD_HTTP_MAX_KEPT_VALUE_LEN);
  g_ptr_array_add (fields->kept, header);
}

/* RFC 9113 §8.3.2: ":status" carries the 3-digit status code; RFC 9110 §15: "All valid status
 * codes are within the range of 100 to 599, inclusive." */
static void
take_status (MtdHttp2 *h2, MtdHttp2Fields *fields, const nghttp2_nv *nv)
{
  MtdCursor cursor = mtd_cursor_init (nv->value, nv->valuelen);
  gint status = 0;
  guint8 digit = 0;

  if (fields->status != 0 || fields->is_status_bad) {
    note (h2, MTD_ANOMALY_HTTP_BAD_MESSAGE);
    return;
  }
  while (mtd_cursor_read_u8 (&cursor, &digit) && g_ascii_isdigit (digit) && status < 1000)
    status = status * 10 + (digit - '0');
  if (nv->valuelen != 3 || status < 100 || status > 599) {
    fields->is_status_bad = TRUE;
    return;
  }
  fields->status = status;
}

/* One decompressed field of the block being read. */
static void
on_field (MtdHttp2 *h2, MtdHttp2Direction *dir, const nghttp2_nv *nv)
{
  MtdHttp2Fields *fields = &dir->fields;

  if (dir->is_block_too_large)
    return;
  switch (dir->block_kind) {
  case MTD_HTTP2_BLOCK_REQUEST:
    /* RFC 9113 §8.3.1 request pseudo-header fields; field names are lowercase (§8.2.1). */
    if (name_is (nv, ":method"))
      take_pseudo (h2, &fields->method, nv);
    else if (name_is (nv, ":path"))
      take_pseudo (h2, &fields->path, nv);
    else if (name_is (nv, ":authority"))
      take_pseudo (h2, &fields->authority, nv);
    else if (name_is (nv, "host")) {
      if (fields->host == NULL)
        fields->host = copy_value (h2, nv->value, nv->valuelen, TRUE, MTD_HTTP_MAX_STRING_LEN);
    } else if (nv->namelen > 0 && nv->name[0] != ':' && is_kept_name (h2, nv))
      keep_field (h2, fields, nv);
    break;
  case MTD_HTTP2_BLOCK_RESPONSE:
    if (name_is (nv, ":status"))
      take_status (h2, fields, nv);
    else if (name_is (nv, "location") && fields->location == NULL)
      fields->location = copy_value (h2, nv->value, nv->valuelen, TRUE, MTD_HTTP_MAX_STRING_LEN);
    break;
  case MTD_HTTP2_BLOCK_IGNORED:
    break;
  }
}

/* Decompresses bytes of the block being read (all of the block's bytes pass here, in order);
 * is_final after its last byte.  FALSE when decompression failed and the direction stopped. */
static gboolean
inflate (MtdHttp2 *h2, MtdHttp2Direction *dir, const guint8 *data, gsize len, gboolean is_final)
{
  static const guint8 nothing[1] = { 0 };
  MtdCursor in = mtd_cursor_init (data != NULL ? data : nothing, data != NULL ? len : 0);

  for (;;) {
    nghttp2_nv nv = { NULL, NULL, 0, 0, 0 };
    int inflate_flags = 0;
    gsize in_len = mtd_cursor_remaining (&in);
    ssize_t n = nghttp2_hd_inflate_hd2 (dir->inflater, &nv, &inflate_flags,
                                        mtd_cursor_peek_bytes (&in), in_len, is_final);

    if (n < 0 || (gsize) n > in_len) {
      /* RFC 9113 §4.3: "A decoding error in a field block MUST be treated as a connection
       * error"; the decoder's table is unknown from here on. */
      note (h2, MTD_ANOMALY_HTTP2_BAD_HPACK);
      stop_direction (dir);
      return FALSE;
    }
    if (!mtd_cursor_skip (&in, (gsize) n))
      g_assert_not_reached ();
    if (inflate_flags & NGHTTP2_HD_INFLATE_EMIT)
      on_field (h2, dir, &nv);
    if (inflate_flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers (dir->inflater);
      return TRUE;
    }
    if (!(inflate_flags & NGHTTP2_HD_INFLATE_EMIT) && mtd_cursor_is_empty (&in)) {
      if (!is_final)
        return TRUE;
      /* nghttp2: with in_final set, all input processed means FINAL is set; be safe. */
      note (h2, MTD_ANOMALY_HTTP2_BAD_HPACK);
      stop_direction (dir);
      return FALSE;
    }
  }
}

/* Starts a field block: decides what it is for and readies the inflater. */
static void
begin_block (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  guint32 stream_id = dir->stream_id;

  dir->is_in_block = TRUE;
  dir->block_stream_id = stream_id;
  dir->block_len = 0;
  dir->is_block_too_large = FALSE;
  dir->block_kind = MTD_HTTP2_BLOCK_IGNORED;
  fields_clear (&dir->fields);
  if (dir->type == MTD_HTTP2_FRAME_HEADERS && dir->is_client) {
    /* RFC 9113 §5.1.1: "The identifier of a newly established stream MUST be numerically
     * greater than all streams that the initiating endpoint has opened or reserved."  A lower
     * one is trailers on an open stream (§8.1) or an error; either way no new request. */
    if (stream_id > h2->last_client_stream_id) {
      h2->last_client_stream_id = stream_id;
      dir->block_kind = MTD_HTTP2_BLOCK_REQUEST;
    }
  } else if (dir->type == MTD_HTTP2_FRAME_HEADERS && find_stream (h2, stream_id) >= 0) {
    dir->block_kind = MTD_HTTP2_BLOCK_RESPONSE;
  }
  /* PUSH_PROMISE (§6.6) blocks carry a promised request: only the table needs them. */

  if (dir->inflater == NULL) {
    int rv = nghttp2_hd_inflate_new (&dir->inflater);
    if (rv != 0)
      g_error ("nghttp2_hd_inflate_new: %s", nghttp2_strerror (rv));
    dir->applied_table_size = MTD_HTTP2_INITIAL_TABLE_SIZE;
  }
  /* Between blocks is the only time the bound may change.  It is raised only: the encoder
   * resizes its table with a Dynamic Table Size Update (RFC 7541 §6.3) no larger than the
   * setting, so a bound that stays at the largest announced value decodes every valid block. */
  if (dir->table_size > dir->applied_table_size) {
    if (nghttp2_hd_inflate_change_table_size (dir->inflater, dir->table_size) != 0)
      g_assert_not_reached ();
    dir->applied_table_size = dir->table_size;
  }
}

static void
finish_request (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  MtdHttp2Fields *fields = &dir->fields;
  MtdHttpExchange *exchange = NULL;
  MtdHttp2Stream stream = { dir->block_stream_id, NULL };

  /* RFC 9113 §8.3.1: "All HTTP/2 requests MUST include exactly one valid value for the
   * ':method', ':scheme', and ':path' pseudo-header fields, unless they are CONNECT requests". */
  if (fields->method == NULL
      || (fields->path == NULL && g_strcmp0 (fields->method, "CONNECT") != 0))
    note (h2, MTD_ANOMALY_HTTP_BAD_MESSAGE);
  exchange = h2->new_exchange (h2->user_data);
  if (exchange == NULL)
    return;
  exchange->request_frame = h2->frame;
  exchange->method = g_steal_pointer (&fields->method);
  exchange->path = g_steal_pointer (&fields->path);
  /* §8.3.1: ":authority" takes the place of Host; "Clients that generate HTTP/2 requests
   * directly MUST use the ':authority' pseudo-header field to convey authority information,
   * unless there is no authority information to convey". */
  exchange->host = fields->authority != NULL ? g_steal_pointer (&fields->authority)
                                             : g_steal_pointer (&fields->host);
  exchange->version = g_strdup ("HTTP/2");
  exchange->request_headers = g_steal_pointer (&fields->kept);

  stream.exchange = exchange;
  if (h2->streams->len >= MTD_HTTP2_MAX_OPEN_STREAMS) {
    /* So many unanswered requests mean the responses are not in the capture: the oldest is
     * given up so the list stays bounded. */
    if (!h2->has_noted_too_many_streams)
      note (h2, MTD_ANOMALY_HTTP_TOO_MANY);
    h2->has_noted_too_many_streams = TRUE;
    g_array_remove_index (h2->streams, 0);
  }
  g_array_append_val (h2->streams, stream);
}

static void
finish_response (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  MtdHttp2Fields *fields = &dir->fields;
  gssize index = find_stream (h2, dir->block_stream_id);
  MtdHttpExchange *exchange = NULL;

  if (index < 0)
    return;
  /* RFC 9113 §8.3.2: "For HTTP/2 responses, a single ':status' pseudo-header field is defined
   * ... and it MUST be included in all responses"; without it the response is malformed. */
  if (fields->status == 0) {
    note (h2, MTD_ANOMALY_HTTP_BAD_MESSAGE);
    g_array_remove_index (h2->streams, (guint) index);
    return;
  }
  /* §8.1: "An HTTP response ... consists of: one HEADERS frame ... containing the control data
   * and header section of an interim (1xx) HTTP response" zero or more times, then the final
   * response's. */
  if (fields->status < 200)
    return;
  exchange = g_array_index (h2->streams, MtdHttp2Stream, index).exchange;
  exchange->status = fields->status;
  exchange->status_frame = h2->frame;
  exchange->location = g_steal_pointer (&fields->location);
  g_array_remove_index (h2->streams, (guint) index);
}

/* The frame with END_HEADERS ended: the block is complete. */
static void
finish_block (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  dir->is_in_block = FALSE;
  if (!inflate (h2, dir, NULL, 0, TRUE))
    return;
  if (!dir->is_block_too_large) {
    if (dir->block_kind == MTD_HTTP2_BLOCK_REQUEST)
      finish_request (h2, dir);
    else if (dir->block_kind == MTD_HTTP2_BLOCK_RESPONSE)
      finish_response (h2, dir);
  }
  fields_clear (&dir->fields);
}

/* The fixed fields of a HEADERS or PUSH_PROMISE frame are read: the fragment, then padding. */
static void
start_fragment (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  /* RFC 9113 §6.2: "If the length of the padding is the length of the frame payload or greater,
   * the recipient MUST treat this as a connection error". */
  if (dir->pad_len > dir->payload_left) {
    stop_bad_frame (h2, dir);
    return;
  }
  dir->fragment_left = dir->payload_left - dir->pad_len;
  dir->phase = MTD_HTTP2_PHASE_FRAGMENT;
}

/* Pad Length is read, or absent: what follows it in HEADERS and PUSH_PROMISE. */
static void
after_pad_length (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  if (dir->type == MTD_HTTP2_FRAME_PUSH_PROMISE)
    enter_fixed (h2, dir, MTD_HTTP2_PHASE_PROMISED_ID, MTD_HTTP2_PROMISED_ID_LEN);
  else if (dir->flags & MTD_HTTP2_FLAG_PRIORITY)
    enter_fixed (h2, dir, MTD_HTTP2_PHASE_PRIORITY, MTD_HTTP2_PRIORITY_FIELDS_LEN);
  else
    start_fragment (h2, dir);
}

/* RFC 9113 §6.5.2.  Each setting bounds what the peer sends to the sender, so it changes the
 * other direction.  Values are taken as the frame is read rather than when acknowledged; both
 * bounds only grow, so a frame sent before the peer saw the change is still read. */
static void
apply_setting (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  MtdCursor setting = mtd_cursor_init (dir->fixed, MTD_HTTP2_SETTING_LEN);
  MtdHttp2Direction *peer = peer_of (h2, dir);
  guint16 identifier = 0;
  guint32 value = 0;

  if (!mtd_cursor_read_u16 (&setting, &identifier) || !mtd_cursor_read_u32 (&setting, &value))
    g_assert_not_reached ();
  switch (identifier) {
  case MTD_HTTP2_SETTINGS_HEADER_TABLE_SIZE:
    /* "the maximum size of the compression table used to decode field blocks": the decoder of
     * the blocks the peer sends. */
    if (value > MTD_HTTP2_MAX_TABLE_SIZE) {
      if (!peer->has_noted_table_cap)
        note (h2, MTD_ANOMALY_HTTP_TOO_LARGE);
      peer->has_noted_table_cap = TRUE;
      value = MTD_HTTP2_MAX_TABLE_SIZE;
    }
    peer->table_size = MAX (peer->table_size, (gsize) value);
    break;
  case MTD_HTTP2_SETTINGS_MAX_FRAME_SIZE:
    /* "Values outside this range MUST be treated as a connection error". */
    if (value < MTD_HTTP2_INITIAL_MAX_FRAME_SIZE || value > MTD_HTTP2_LARGEST_MAX_FRAME_SIZE) {
      stop_bad_frame (h2, dir);
      break;
    }
    peer->max_frame_size = MAX (peer->max_frame_size, value);
    break;
  default:
    /* §6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or unsupported
     * identifier MUST ignore that setting." */
    break;
  }
}

/* Checks a frame header against RFC 9113 §4 and §6; FALSE when the framing is broken. */
static gboolean
is_frame_header_valid (const MtdHttp2Direction *dir, guint32 length)
{
  gboolean is_stream_zero = dir->stream_id == 0;
  gboolean is_block_frame = dir->type == MTD_HTTP2_FRAME_HEADERS
                            || dir->type == MTD_HTTP2_FRAME_PUSH_PROMISE
                            || dir->type == MTD_HTTP2_FRAME_CONTINUATION;

  /* §4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the size
   * defined in SETTINGS_MAX_FRAME_SIZE". */
  if (length > dir->max_frame_size)
    return FALSE;
  /* §3.4: the client's preface "MUST be followed by a SETTINGS frame".  The server's SETTINGS
   * "MUST be the first frame the server sends" too, but it may go out before the client's
   * preface and a caller that starts at the preface (decrypted TLS) may not have it, so any
   * valid frame may come first from the server. */
  if (!dir->has_frame && dir->is_client
      && (dir->type != MTD_HTTP2_FRAME_SETTINGS || (dir->flags & MTD_HTTP2_FLAG_ACK)))
    return FALSE;
  /* §6.10: a block "MUST be followed by a CONTINUATION frame for the same stream.  A receiver
   * MUST treat the receipt of any other type of frame or a frame on a different stream as a
   * connection error". */
  if (dir->is_in_block)
    return dir->type == MTD_HTTP2_FRAME_CONTINUATION && dir->stream_id == dir->block_stream_id;
  if (is_block_frame && is_stream_zero)
    return FALSE; /* §6.2, §6.6, §6.10: "MUST be associated with a stream" */
  switch (dir->type) {
  case MTD_HTTP2_FRAME_DATA:
    return !is_stream_zero; /* §6.1 */
  case MTD_HTTP2_FRAME_HEADERS:
    /* §5.1.1: "Streams initiated by a client MUST use odd-numbered stream identifiers"; the
     * server sends HEADERS on the client's streams and on those it promised (even). */
    return !dir->is_client || dir->stream_id % 2 == 1;
  case MTD_HTTP2_FRAME_RST_STREAM:
    return !is_stream_zero && length == 4; /* §6.4 */
  case MTD_HTTP2_FRAME_SETTINGS:
    /* §6.5: stream 0; "a length other than a multiple of 6 octets MUST be treated as a
     * connection error"; an ACK with "anything other than 0 MUST be treated as a connection
     * error". */
    return is_stream_zero && length % MTD_HTTP2_SETTING_LEN == 0
           && (!(dir->flags & MTD_HTTP2_FLAG_ACK) || length == 0);
  case MTD_HTTP2_FRAME_PUSH_PROMISE:
    return !dir->is_client; /* §8.4: "A client cannot push" */
  case MTD_HTTP2_FRAME_PING:
    return is_stream_zero && length == 8; /* §6.7 */
  case MTD_HTTP2_FRAME_GOAWAY:
    return is_stream_zero && length >= 8; /* §6.8 */
  case MTD_HTTP2_FRAME_WINDOW_UPDATE:
    return length == 4; /* §6.9 */
  case MTD_HTTP2_FRAME_CONTINUATION:
    return FALSE; /* not after an unfinished block (checked above) */
  default:
    return TRUE; /* PRIORITY, and §4.1 "frames of unknown types" are ignored */
  }
}

static void
on_frame_header (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  MtdCursor header = mtd_cursor_init (dir->fixed, MTD_HTTP2_FRAME_HEADER_LEN);
  guint32 length = 0;
  guint32 stream_id = 0;

  /* §4.1: Length (24), Type (8), Flags (8), Reserved (1), Stream Identifier (31). */
  if (!mtd_cursor_read_u24 (&header, &length) || !mtd_cursor_read_u8 (&header, &dir->type)
      || !mtd_cursor_read_u8 (&header, &dir->flags) || !mtd_cursor_read_u32 (&header, &stream_id))
    g_assert_not_reached ();
  dir->stream_id = stream_id & MTD_HTTP2_STREAM_ID_MASK;
  if (!is_frame_header_valid (dir, length)) {
    stop_bad_frame (h2, dir);
    return;
  }
  dir->has_frame = TRUE;
  dir->payload_left = length;
  dir->pad_len = 0;
  dir->phase = MTD_HTTP2_PHASE_SKIP;
  switch (dir->type) {
  case MTD_HTTP2_FRAME_HEADERS:
  case MTD_HTTP2_FRAME_PUSH_PROMISE:
    begin_block (h2, dir);
    if (dir->flags & MTD_HTTP2_FLAG_PADDED)
      enter_fixed (h2, dir, MTD_HTTP2_PHASE_PAD_LENGTH, 1);
    else
      after_pad_length (h2, dir);
    break;
  case MTD_HTTP2_FRAME_CONTINUATION:
    start_fragment (h2, dir);
    break;
  case MTD_HTTP2_FRAME_SETTINGS:
    if (!(dir->flags & MTD_HTTP2_FLAG_ACK))
      dir->phase = MTD_HTTP2_PHASE_SETTING;
    break;
  case MTD_HTTP2_FRAME_RST_STREAM:
    /* §6.4: RST_STREAM closes the stream: no response follows. */
    forget_stream (h2, dir->stream_id);
    break;
  default:
    /* DATA, PRIORITY, PING, GOAWAY, WINDOW_UPDATE and unknown types: their payloads say
     * nothing about requests and responses. */
    break;
  }
}

/* Reads fragment bytes and hands them to the inflater; the block's cap is counted here. */
static void
read_fragment (MtdHttp2 *h2, MtdHttp2Direction *dir, MtdCursor *in)
{
  gsize n = MIN (mtd_cursor_remaining (in), (gsize) dir->fragment_left);
  const guint8 *bytes = NULL;

  if (!mtd_cursor_read_bytes (in, n, &bytes))
    g_assert_not_reached ();
  dir->fragment_left -= (guint32) n;
  dir->payload_left -= (guint32) n;
  dir->block_len += n;
  if (dir->block_len > MTD_HTTP2_MAX_BLOCK_LEN && !dir->is_block_too_large) {
    note (h2, MTD_ANOMALY_HTTP_TOO_LARGE);
    dir->is_block_too_large = TRUE;
    fields_clear (&dir->fields);
  }
  inflate (h2, dir, bytes, n, FALSE);
}

/* The current frame's payload is read. */
static void
end_frame (MtdHttp2 *h2, MtdHttp2Direction *dir)
{
  gboolean is_block_frame = dir->type == MTD_HTTP2_FRAME_HEADERS
                            || dir->type == MTD_HTTP2_FRAME_PUSH_PROMISE
                            || dir->type == MTD_HTTP2_FRAME_CONTINUATION;

  dir->phase = MTD_HTTP2_PHASE_FRAME_HEADER;
  dir->fixed_len = 0;
  if (is_block_frame && (dir->flags & MTD_HTTP2_FLAG_END_HEADERS))
    finish_block (h2, dir);
}

void
mtd_http2_feed (MtdHttp2 *h2, gboolean is_from_client, MtdCursor *in, guint64 frame)
{
  MtdHttp2Direction *dir = NULL;
  gsize n = 0;

  g_return_if_fail (h2 != NULL);
  g_return_if_fail (in != NULL);

  dir = &h2->directions[is_from_client ? 0 : 1];
  h2->frame = frame;
  for (;;) {
    if (dir->phase == MTD_HTTP2_PHASE_FRAGMENT && dir->fragment_left == 0)
      dir->phase = MTD_HTTP2_PHASE_SKIP; /* the padding, if any */
    if ((dir->phase == MTD_HTTP2_PHASE_SKIP || dir->phase == MTD_HTTP2_PHASE_SETTING)
        && dir->payload_left == 0) {
      end_frame (h2, dir);
      continue;
    }
    if (dir->phase == MTD_HTTP2_PHASE_STOPPED || mtd_cursor_is_empty (in))
      break;
    switch (dir->phase) {
    case MTD_HTTP2_PHASE_FRAME_HEADER:
      if (take_fixed (dir, in, MTD_HTTP2_FRAME_HEADER_LEN))
        on_frame_header (h2, dir);
      break;
    case MTD_HTTP2_PHASE_PAD_LENGTH:
      if (take_fixed (dir, in, 1)) {
        dir->pad_len = dir->fixed[0];
        dir->payload_left -= 1;
        after_pad_length (h2, dir);
      }
      break;
    case MTD_HTTP2_PHASE_PRIORITY:
      if (take_fixed (dir, in, MTD_HTTP2_PRIORITY_FIELDS_LEN)) {
        dir->payload_left -= MTD_HTTP2_PRIORITY_FIELDS_LEN;
        start_fragment (h2, dir);
      }
      break;
    case MTD_HTTP2_PHASE_PROMISED_ID:
      if (take_fixed (dir, in, MTD_HTTP2_PROMISED_ID_LEN)) {
        dir->payload_left -= MTD_HTTP2_PROMISED_ID_LEN;
        start_fragment (h2, dir);
      }
      break;
    case MTD_HTTP2_PHASE_FRAGMENT:
      read_fragment (h2, dir, in);
      break;
    case MTD_HTTP2_PHASE_SETTING:
      if (take_fixed (dir, in, MTD_HTTP2_SETTING_LEN)) {
        dir->payload_left -= MTD_HTTP2_SETTING_LEN;
        apply_setting (h2, dir);
      }
      break;
    case MTD_HTTP2_PHASE_SKIP:
      n = MIN (mtd_cursor_remaining (in), (gsize) dir->payload_left);
      if (!mtd_cursor_skip (in, n))
        g_assert_not_reached ();
      dir->payload_left -= (guint32) n;
      break;
    case MTD_HTTP2_PHASE_STOPPED:
      g_assert_not_reached ();
    }
  }
  /* A stopped direction reads nothing more. */
  if (!mtd_cursor_skip (in, mtd_cursor_remaining (in)))
    g_assert_not_reached ();
}

void
mtd_http2_gap (MtdHttp2 *h2, gboolean is_from_client)
{
  g_return_if_fail (h2 != NULL);
  stop_direction (&h2->directions[is_from_client ? 0 : 1]);
}

void
mtd_http2_end (MtdHttp2 *h2)
{
  g_return_if_fail (h2 != NULL);
  stop_direction (&h2->directions[0]);
  stop_direction (&h2->directions[1]);
  g_array_set_size (h2->streams, 0);
}

void
mtd_http2_keep_headers (MtdHttp2 *h2, const char *const *names)
{
  g_return_if_fail (h2 != NULL);
  h2->kept_names = names;
}

MtdHttp2 *
mtd_http2_new (MtdAnomalyCounts *anomalies, MtdHttp2NewExchange new_exchange, gpointer user_data)
{
  MtdHttp2 *h2 = NULL;

  g_return_val_if_fail (new_exchange != NULL, NULL);

  h2 = g_new0 (MtdHttp2, 1);
  h2->anomalies = anomalies;
  h2->new_exchange = new_exchange;
  h2->user_data = user_data;
  h2->streams = g_array_new (FALSE, FALSE, sizeof (MtdHttp2Stream));
  h2->value = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (h2->directions); i++) {
    MtdHttp2Direction *dir = &h2->directions[i];
    dir->is_client = i == 0;
    dir->phase = MTD_HTTP2_PHASE_FRAME_HEADER;
    dir->max_frame_size = MTD_HTTP2_INITIAL_MAX_FRAME_SIZE;
    dir->table_size = MTD_HTTP2_INITIAL_TABLE_SIZE;
  }
  return h2;
}

void
mtd_http2_free (MtdHttp2 *h2)
{
  if (h2 == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (h2->directions); i++)
    stop_direction (&h2->directions[i]);
  g_array_unref (h2->streams);
  g_string_free (h2->value, TRUE);
  g_free (h2);
}
