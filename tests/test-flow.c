/* test-flow.c: unit tests of the flow table and TCP reassembly (mtd-flow.h).
 *
 * Segments are built by hand as decoded packets (RFC 9293 §3.1 fields: ports, sequence and
 * acknowledgment numbers, flags, payload) and fed to the table; the callbacks write what they are
 * told into a log per flow: every data delivery (side, length, frame), every gap (side, length)
 * and the end (reason).  Delivered bytes are collected per side and must equal the stream that
 * was sent, byte for byte.  Sequence arithmetic is modulo 2^32 (RFC 9293 §3.4).
 */
#include <string.h>

#include "mtd-flow.h"

/* ---- Recording the callbacks -------------------------------------------------------------- */

typedef struct {
  guint index;              /* order of on_start */
  GByteArray *stream[2];    /* bytes delivered per side */
  GString *events;          /* "d0:10@3 g0:5 end:fin" */
  gboolean has_ended;
  MtdFlowEndReason reason;
  MtdFlowInfo info_at_end;  /* copied in on_end */
  guint64 n_packets_seen;   /* on_packet calls */
} FlowLog;

typedef struct {
  GPtrArray *flows;         /* FlowLog*, owned, in order of on_start */
  gint unbuffered_side;     /* side whose buffering on_start turns off, -1 none */
} Recorder;

static void
flow_log_free (gpointer data)
{
  FlowLog *log = data;
  g_byte_array_unref (log->stream[0]);
  g_byte_array_unref (log->stream[1]);
  g_string_free (log->events, TRUE);
  g_free (log);
}

static gpointer
on_start (MtdFlow *flow, gpointer user_data)
{
  Recorder *recorder = user_data;
  FlowLog *log = g_new0 (FlowLog, 1);
  log->index = recorder->flows->len;
  log->stream[0] = g_byte_array_new ();
  log->stream[1] = g_byte_array_new ();
  log->events = g_string_new (NULL);
  g_ptr_array_add (recorder->flows, log);
  if (recorder->unbuffered_side >= 0)
    mtd_flow_set_side_buffering (flow, (guint) recorder->unbuffered_side, FALSE);
  return log;
}

static void
on_packet (MtdFlow *flow, gpointer state, guint side, const MtdDecodedPacket *decoded,
           const MtdPacket *packet, gpointer user_data)
{
  FlowLog *log = state;
  g_assert_false (log->has_ended);
  log->n_packets_seen++;
}

static void
append_event (FlowLog *log, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
append_event (FlowLog *log, const char *format, ...)
{
  if (log->events->len > 0)
    g_string_append_c (log->events, ' ');
  va_list args;
  va_start (args, format);
  g_string_append_vprintf (log->events, format, args);
  va_end (args);
}

static void
on_data (MtdFlow *flow, gpointer state, guint side, const guint8 *data, gsize len,
         const MtdPacket *packet, gpointer user_data)
{
  FlowLog *log = state;
  g_assert_false (log->has_ended);
  g_assert_cmpuint (side, <, 2);
  g_assert_cmpuint (len, >, 0);
  g_byte_array_append (log->stream[side], data, (guint) len);
  append_event (log, "d%u:%zu@%" G_GUINT64_FORMAT, side, len, packet->frame_number);
}

static void
on_gap (MtdFlow *flow, gpointer state, guint side, gsize len, gpointer user_data)
{
  FlowLog *log = state;
  g_assert_false (log->has_ended);
  append_event (log, "g%u:%zu", side, len);
}

static void
on_end (MtdFlow *flow, gpointer state, MtdFlowEndReason reason, gpointer user_data)
{
  FlowLog *log = state;
  g_assert_false (log->has_ended);
  log->has_ended = TRUE;
  log->reason = reason;
  log->info_at_end = *mtd_flow_info (flow);
  append_event (log, "end:%s", mtd_flow_end_reason_name (reason));
}

static const MtdFlowCallbacks callbacks = { on_start, on_packet, on_data, on_gap, on_end };

typedef struct {
  Recorder recorder;
  MtdFlowTable *table;
  guint64 frame;
} Fixture;

static void
fixture_init (Fixture *fixture, const MtdFlowLimits *limits)
{
  MtdFlowLimits defaults;
  mtd_flow_limits_init_default (&defaults);
  memset (fixture, 0, sizeof *fixture);
  fixture->recorder.flows = g_ptr_array_new_with_free_func (flow_log_free);
  fixture->recorder.unbuffered_side = -1;
  fixture->table
      = mtd_flow_table_new (limits != NULL ? limits : &defaults, &callbacks, &fixture->recorder);
}

static void
fixture_clear (Fixture *fixture)
{
  mtd_flow_table_free (fixture->table);
  fixture->table = NULL;
  g_ptr_array_unref (fixture->recorder.flows);
}

static FlowLog *
flow_log (Fixture *fixture, guint index)
{
  g_assert (index < fixture->recorder.flows->len); /* fatal: the caller dereferences the log */
  return g_ptr_array_index (fixture->recorder.flows, index);
}

/* ---- Building segments -------------------------------------------------------------------- */

/* Endpoints: a client 10.0.0.1:40000 + n and a server 10.0.0.2:443, for conversation n. */
typedef struct {
  guint conversation;
  gboolean is_from_client;
  guint32 seq;
  guint32 ack;
  guint8 flags;
  const guint8 *payload;
  gsize len;          /* captured payload bytes */
  gsize wire_len;     /* 0: len */
  gint64 ts_usec;     /* 0: the frame number in milliseconds */
} Seg;

static void
feed (Fixture *fixture, const Seg *seg)
{
  MtdDecodedPacket decoded = { 0 };
  static const guint8 client_addr[4] = { 10, 0, 0, 1 };
  static const guint8 server_addr[4] = { 10, 0, 0, 2 };
  decoded.ip_version = 4;
  guint16 client_port = (guint16) (40000 + seg->conversation);
  if (seg->is_from_client) {
    memcpy (decoded.src_addr, client_addr, 4);
    memcpy (decoded.dst_addr, server_addr, 4);
    decoded.src_port = client_port;
    decoded.dst_port = 443;
  } else {
    memcpy (decoded.src_addr, server_addr, 4);
    memcpy (decoded.dst_addr, client_addr, 4);
    decoded.src_port = 443;
    decoded.dst_port = client_port;
  }
  decoded.seq = seg->seq;
  decoded.ack = seg->ack;
  decoded.tcp_flags = seg->flags;
  /* A copy on the heap that dies after the call: the table must not keep the pointer. */
  g_autofree guint8 *payload = seg->len > 0 ? g_memdup2 (seg->payload, seg->len) : NULL;
  decoded.payload = payload;
  decoded.payload_len = seg->len;
  decoded.payload_wire_len = seg->wire_len != 0 ? seg->wire_len : seg->len;
  MtdPacket packet = { 0 };
  packet.frame_number = ++fixture->frame;
  packet.ts_usec = seg->ts_usec != 0 ? seg->ts_usec : (gint64) packet.frame_number * 1000;
  packet.link_type = 1;
  mtd_flow_table_add_segment (fixture->table, &decoded, &packet);
  if (payload != NULL)
    memset (payload, 0xEE, seg->len);
}

#define SYN MTD_TCP_SYN
#define ACK MTD_TCP_ACK
#define FIN MTD_TCP_FIN
#define RST MTD_TCP_RST
#define PSH MTD_TCP_PSH

/* Shorthand: one segment of conversation 0 with its flags. */
static void
send (Fixture *fixture, gboolean is_from_client, guint32 seq, guint32 ack, guint8 flags,
      const guint8 *payload, gsize len)
{
  Seg seg = { 0, is_from_client, seq, ack, flags, payload, len, 0, 0 };
  feed (fixture, &seg);
}

#define CISN 1000u
#define SISN 5000u

/* The three-way handshake (RFC 9293 §3.5): frames 1, 2, 3. */
static void
handshake (Fixture *fixture, guint32 client_isn, guint32 server_isn)
{
  send (fixture, TRUE, client_isn, 0, SYN, NULL, 0);
  send (fixture, FALSE, server_isn, client_isn + 1, SYN | ACK, NULL, 0);
  send (fixture, TRUE, client_isn + 1, server_isn + 1, ACK, NULL, 0);
}

/* The close of RFC 9293 §3.6: the client's FIN, the server's FIN with the ACK of it, the
 * client's last ACK.  seq values are the next sequence numbers of each side. */
static void
close_both (Fixture *fixture, guint32 client_seq, guint32 server_seq)
{
  send (fixture, TRUE, client_seq, server_seq, ACK | FIN, NULL, 0);
  send (fixture, FALSE, server_seq, client_seq + 1, ACK | FIN, NULL, 0);
  send (fixture, TRUE, client_seq + 1, server_seq + 1, ACK, NULL, 0);
}

/* A test stream: bytes whose value depends on the position, so any misplaced byte shows. */
static guint8 *
make_stream (gsize len, guint seed)
{
  guint8 *bytes = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    bytes[i] = (guint8) (i * 7 + seed + (i >> 8));
  return bytes;
}

static void
assert_stream (const GByteArray *delivered, const guint8 *expected, gsize len)
{
  g_assert_cmpmem (delivered->data, delivered->len, expected, len);
}

static void
assert_no_anomalies (const MtdFlowInfo *info)
{
  for (int i = 0; i < MTD_ANOMALY_COUNT; i++)
    if (info->anomalies.counts[i] != 0)
      g_test_fail_printf ("unexpected anomaly %s (%u)", mtd_anomaly_name (i),
                          info->anomalies.counts[i]);
}

/* ---- Tests -------------------------------------------------------------------------------- */

static void
test_in_order (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (30, 1);
  g_autofree guint8 *down = make_stream (50, 2);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK | PSH, up, 10);            /* frame 4 */
  send (&f, TRUE, CISN + 11, SISN + 1, ACK | PSH, up + 10, 20);      /* frame 5 */
  send (&f, FALSE, SISN + 1, CISN + 31, ACK | PSH, down, 50);        /* frame 6 */
  close_both (&f, CISN + 31, SISN + 51);                            /* frames 7, 8, 9 */
  g_assert_cmpuint (f.recorder.flows->len, ==, 1);
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 d0:20@5 d1:50@6 end:fin");
  assert_stream (log->stream[0], up, 30);
  assert_stream (log->stream[1], down, 50);
  const MtdFlowInfo *info = &log->info_at_end;
  g_assert_cmpint (info->syn_client_side, ==, 0);
  g_assert_false (info->is_incomplete);
  assert_no_anomalies (info);
  g_assert_cmpuint (info->n_payload_bytes[0], ==, 30);
  g_assert_cmpuint (info->n_payload_bytes[1], ==, 50);
  g_assert_cmpuint (info->n_packets, ==, 9);
  g_assert_cmpuint (log->n_packets_seen, ==, 9);
  g_assert_cmpuint (info->first_frame, ==, 1);
  g_assert_cmpuint (info->last_frame, ==, 9);
  g_assert_cmpuint (info->port[0], ==, 40000);
  g_assert_cmpuint (info->port[1], ==, 443);
  g_assert_cmpuint (info->addr[0][3], ==, 1);
  g_assert_cmpuint (info->addr[1][3], ==, 2);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  fixture_clear (&f);
}

/* Out-of-order segments are held and delivered in order once the hole fills, each with its own
 * frame. */
static void
test_out_of_order (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (40, 3);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10); /* frame 4: third piece */
  send (&f, TRUE, CISN + 31, SISN + 1, ACK, up + 30, 10); /* frame 5: fourth */
  send (&f, TRUE, CISN + 11, SISN + 1, ACK, up + 10, 10); /* frame 6: second */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "");
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);       /* frame 7: first */
  g_assert_cmpstr (log->events->str, ==, "d0:10@7 d0:10@6 d0:10@4 d0:10@5");
  assert_stream (log->stream[0], up, 40);
  fixture_clear (&f);
}

/* A retransmission of delivered bytes, and of a held segment, is delivered once. */
static void
test_retransmission (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (30, 4);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);        /* frame 4 */
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);        /* frame 5: again */
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);  /* frame 6: held */
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);  /* frame 7: held again */
  send (&f, TRUE, CISN + 11, SISN + 1, ACK, up + 10, 10);  /* frame 8: fills the hole */
  send (&f, TRUE, CISN + 11, SISN + 1, ACK, up + 10, 10);  /* frame 9: old */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 d0:10@8 d0:10@6");
  assert_stream (log->stream[0], up, 30);
  mtd_flow_table_end_all (f.table);
  g_assert_false (log->info_at_end.is_incomplete);
  assert_no_anomalies (&log->info_at_end);
  fixture_clear (&f);
}

/* RFC 9293 §3.10.7.4: a retransmission whose bytes differ from the first copy (an evasion attempt
 * or a broken middlebox) keeps the first copy and is recorded as an overlap conflict, whether the
 * first copy was delivered already or is held out of order. */
static void
test_overlap_conflict (void)
{
  for (guint held = 0; held < 2; held++) {
    Fixture f;
    fixture_init (&f, NULL);
    g_autofree guint8 *up = make_stream (30, 9);
    g_autofree guint8 *other = g_memdup2 (up, 30);
    other[held ? 25 : 7] ^= 0xFF;
    handshake (&f, CISN, SISN);
    if (held) {
      send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);    /* frame 4: held */
      send (&f, TRUE, CISN + 21, SISN + 1, ACK, other + 20, 10); /* frame 5: differs */
      send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 20);          /* frame 6: fills the hole */
    } else {
      send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);          /* frame 4: delivered */
      send (&f, TRUE, CISN + 1, SISN + 1, ACK, other, 20);       /* frame 5: differs, longer */
      send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);    /* frame 6 */
    }
    FlowLog *log = flow_log (&f, 0);
    assert_stream (log->stream[0], up, 30); /* the first copies */
    mtd_flow_table_end_all (f.table);
    g_assert_cmpuint (log->info_at_end.anomalies.counts[MTD_ANOMALY_OVERLAP_CONFLICT], ==, 1);
    fixture_clear (&f);
  }
}

/* A segment overlapping delivered bytes delivers only the new ones, in order and in place. */
static void
test_partial_overlap (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (40, 5);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);        /* frame 4: 0..9 */
  send (&f, TRUE, CISN + 6, SISN + 1, ACK, up + 5, 15);    /* frame 5: 5..19 */
  /* Held segments overlapping each other: 30..39 and 25..34, then 20..24 fills the hole. */
  send (&f, TRUE, CISN + 31, SISN + 1, ACK, up + 30, 10);  /* frame 6 */
  send (&f, TRUE, CISN + 26, SISN + 1, ACK, up + 25, 10);  /* frame 7 */
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 5);   /* frame 8 */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 d0:10@5 d0:5@8 d0:10@7 d0:5@6");
  assert_stream (log->stream[0], up, 40);
  fixture_clear (&f);
}

/* A hole never filled becomes a gap of its exact length when the flow ends, and the flow is
 * incomplete. */
static void
test_hole_becomes_gap (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (30, 6);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);            /* frame 4: 0..9 */
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);      /* frame 5: 20..29 */
  send (&f, TRUE, CISN + 31, SISN + 1, ACK | FIN, NULL, 0);    /* frame 6 */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4");
  /* The server acknowledges everything, FIN included (RFC 9293 §3.5). */
  send (&f, FALSE, SISN + 1, CISN + 32, ACK | FIN, NULL, 0);   /* frame 7 */
  send (&f, TRUE, CISN + 32, SISN + 2, ACK, NULL, 0);          /* frame 8 */
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 g0:10 d0:10@5 end:fin");
  GByteArray *delivered = log->stream[0];
  g_assert_cmpmem (delivered->data, 10, up, 10);
  g_assert_cmpmem (delivered->data + 10, 10, up + 20, 10);
  g_assert_true (log->info_at_end.is_incomplete);
  g_assert_cmpuint (log->info_at_end.anomalies.counts[MTD_ANOMALY_STREAM_GAP], ==, 1);
  fixture_clear (&f);
}

/* Bytes the peer acknowledged but the capture never showed: a gap at the end. */
static void
test_acknowledged_tail_missing (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (10, 7);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);       /* frame 4 */
  send (&f, FALSE, SISN + 1, CISN + 31, ACK, NULL, 0);    /* frame 5: 20 more acknowledged */
  mtd_flow_table_end_all (f.table);
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 g0:20 end:capture_end");
  g_assert_true (log->info_at_end.is_incomplete);
  fixture_clear (&f);
}

/* RFC 9293 §3.4: sequence numbers wrap modulo 2^32.  The client's ISN is just below the wrap, the
 * wrap falls inside a segment, and segments around it come out of order. */
static void
test_wraparound (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  const guint32 isn = 0xFFFFFFF0u;
  g_autofree guint8 *up = make_stream (60, 8);
  handshake (&f, isn, SISN);
  /* Data starts at isn + 1 = 0xFFFFFFF1; the byte at offset 15 has sequence number 0. */
  send (&f, TRUE, isn + 1, SISN + 1, ACK, up, 10);             /* frame 4: ..0xFFFFFFFA */
  send (&f, TRUE, isn + 21, SISN + 1, ACK, up + 20, 10);       /* frame 5: 0x00000005.. */
  send (&f, TRUE, isn + 41, SISN + 1, ACK, up + 40, 20);       /* frame 6 */
  send (&f, TRUE, isn + 11, SISN + 1, ACK, up + 10, 10);       /* frame 7: across the wrap */
  send (&f, TRUE, isn + 31, SISN + 1, ACK, up + 30, 10);       /* frame 8 */
  g_assert_cmpuint ((guint32) (isn + 11 + 10), <, 0x100u);
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 d0:10@7 d0:10@5 d0:10@8 d0:20@6");
  assert_stream (log->stream[0], up, 60);
  close_both (&f, isn + 61, SISN + 1);
  g_assert_true (log->has_ended);
  g_assert_cmpint (log->reason, ==, MTD_FLOW_END_FIN);
  g_assert_false (log->info_at_end.is_incomplete);
  assert_no_anomalies (&log->info_at_end);
  fixture_clear (&f);
}

/* syn_client_side: the sender of a SYN, or the peer of the sender of a SYN-ACK (RFC 9293 §3.5).
 * Side 0 is the sender of the flow's first packet. */
static void
test_syn_client_side (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  /* Conversation 0: the capture starts with the client's SYN. */
  Seg syn = { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 0 };
  feed (&f, &syn);
  /* Conversation 1: the capture starts with the server's SYN-ACK: the server is side 0, and the
   * client is its peer, side 1. */
  Seg syn_ack = { 1, FALSE, SISN, CISN + 1, SYN | ACK, NULL, 0, 0, 0 };
  feed (&f, &syn_ack);
  Seg ack = { 1, TRUE, CISN + 1, SISN + 1, ACK, NULL, 0, 0, 0 };
  feed (&f, &ack);
  /* Conversation 2: no SYN at all, a mid-stream start. */
  static const guint8 data[] = "midstream";
  Seg mid = { 2, TRUE, 77777, 88888, ACK, data, 9, 0, 0 };
  feed (&f, &mid);
  mtd_flow_table_end_all (f.table);
  g_assert_cmpuint (f.recorder.flows->len, ==, 3);
  const MtdFlowInfo *info = &flow_log (&f, 0)->info_at_end;
  g_assert_cmpint (info->syn_client_side, ==, 0);
  g_assert_cmpuint (info->anomalies.counts[MTD_ANOMALY_MIDSTREAM_START], ==, 0);
  info = &flow_log (&f, 1)->info_at_end;
  g_assert_cmpint (info->syn_client_side, ==, 1);
  g_assert_cmpuint (info->port[0], ==, 443); /* side 0 is the SYN-ACK's sender */
  g_assert_cmpuint (info->port[1], ==, 40001);
  info = &flow_log (&f, 2)->info_at_end;
  g_assert_cmpint (info->syn_client_side, ==, -1);
  g_assert_cmpuint (info->anomalies.counts[MTD_ANOMALY_MIDSTREAM_START], ==, 1);
  g_assert_true (info->is_incomplete);
  /* Mid-stream, the first byte seen is the start of the stream. */
  g_assert_cmpstr (flow_log (&f, 2)->events->str, ==, "d0:9@4 end:capture_end");
  fixture_clear (&f);
}

/* The oldest live flow per address and role, which the chainer asks before it settles a chain:
 * a flow that began with a SYN counts its client in the client role and its server in the
 * server role; one that began without a SYN counts both addresses in both roles; a flow that
 * ends leaves them. */
static void
test_oldest_live_by_role (void)
{
  static const guint8 client_addr[4] = { 10, 0, 0, 1 };
  static const guint8 server_addr[4] = { 10, 0, 0, 2 };
  static const guint8 other_addr[4] = { 10, 0, 0, 9 };
  Fixture f;
  fixture_init (&f, NULL);
  MtdFlowTable *table = f.table;
  /* Frame 1 (1 ms): conversation 0 starts with the client's SYN. */
  Seg syn0 = { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 0 };
  feed (&f, &syn0);
  /* Frame 2 (2 ms): conversation 2 starts mid-stream, with bytes from the client. */
  static const guint8 data[] = "midstream";
  Seg mid = { 2, TRUE, 77777, 88888, ACK, data, 9, 0, 0 };
  feed (&f, &mid);
  /* Frame 3 (3 ms): conversation 1 starts with the client's SYN. */
  Seg syn1 = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 0 };
  feed (&f, &syn1);

  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, client_addr),
                   ==, 1000);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_SERVER, 4, server_addr),
                   ==, 1000);
  /* Only the mid-stream flow puts the client's address in the server role, and back. */
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_SERVER, 4, client_addr),
                   ==, 2000);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, server_addr),
                   ==, 2000);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, other_addr),
                   ==, G_MAXINT64);

  /* Conversation 0 is reset: its client's oldest is now the mid-stream flow. */
  Seg rst0 = { 0, TRUE, CISN + 1, 0, RST, NULL, 0, 0, 0 };
  feed (&f, &rst0);
  g_assert_true (flow_log (&f, 0)->has_ended);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, client_addr),
                   ==, 2000);
  /* The mid-stream flow is reset too: it leaves all four of its queues. */
  Seg rst2 = { 2, TRUE, 77777 + 9, 0, RST, NULL, 0, 0, 0 };
  feed (&f, &rst2);
  g_assert_true (flow_log (&f, 1)->has_ended);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, client_addr),
                   ==, 3000);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_SERVER, 4, client_addr),
                   ==, G_MAXINT64);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_CLIENT, 4, server_addr),
                   ==, G_MAXINT64);

  /* Frame 6: another mid-stream flow, left open: freeing the table ends it (and frees what it
   * holds). */
  Seg mid3 = { 3, FALSE, 99999, 11111, ACK, data, 9, 0, 0 };
  feed (&f, &mid3);
  g_assert_cmpint (mtd_flow_table_oldest_live_at (table, MTD_FLOW_ROLE_SERVER, 4, client_addr),
                   ==, 6000);
  fixture_clear (&f);
}

/* FIN from both sides ends the flow once both are acknowledged (RFC 9293 §3.6); packets after
 * it start no new flow. */
static void
test_fin_and_late_acks (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (5, 9);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 5);
  send (&f, TRUE, CISN + 6, SISN + 1, ACK | FIN, NULL, 0);
  g_assert_false (flow_log (&f, 0)->has_ended);
  send (&f, FALSE, SISN + 1, CISN + 7, ACK | FIN, NULL, 0);
  send (&f, TRUE, CISN + 7, SISN + 2, ACK, NULL, 0);          /* the final ACK */
  FlowLog *log = flow_log (&f, 0);
  g_assert_true (log->has_ended);
  g_assert_cmpint (log->reason, ==, MTD_FLOW_END_FIN);
  g_assert_cmpuint (log->info_at_end.n_packets, ==, 7);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  send (&f, FALSE, SISN + 1, CISN + 7, ACK | FIN, NULL, 0);   /* a retransmitted FIN */
  send (&f, TRUE, CISN + 7, SISN + 2, ACK, NULL, 0);          /* and its ACK */
  g_assert_cmpuint (f.recorder.flows->len, ==, 1);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:5@4 end:fin");
  g_assert_false (log->info_at_end.is_incomplete);
  fixture_clear (&f);
  /* Freeing the table does not end the flow a second time (on_end asserts that). */
}

/* A new SYN on the same ports after the close is a new connection. */
static void
test_port_reuse (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  handshake (&f, CISN, SISN);
  close_both (&f, CISN + 1, SISN + 1);
  g_assert_true (flow_log (&f, 0)->has_ended);
  handshake (&f, 90000, 70000);
  g_assert_cmpuint (f.recorder.flows->len, ==, 2);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 1);
  fixture_clear (&f);
}

/* Both FINs without the last ACK in the capture: the connection was closed all the same. */
static void
test_fin_without_last_ack (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK | FIN, NULL, 0);
  send (&f, FALSE, SISN + 1, CISN + 2, ACK | FIN, NULL, 0);
  FlowLog *log = flow_log (&f, 0);
  g_assert_false (log->has_ended);
  mtd_flow_table_end_all (f.table);
  g_assert_true (log->has_ended);
  g_assert_cmpint (log->reason, ==, MTD_FLOW_END_FIN);
  g_assert_false (log->info_at_end.is_incomplete);
  fixture_clear (&f);
}

/* RST ends the flow at once (RFC 9293 §3.5.2). */
static void
test_rst (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (8, 10);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 8);
  send (&f, FALSE, SISN + 1, CISN + 9, ACK | RST, NULL, 0);
  FlowLog *log = flow_log (&f, 0);
  g_assert_true (log->has_ended);
  g_assert_cmpint (log->reason, ==, MTD_FLOW_END_RST);
  g_assert_cmpstr (log->events->str, ==, "d0:8@4 end:rst");
  send (&f, TRUE, CISN + 9, SISN + 1, ACK, NULL, 0);
  g_assert_cmpuint (f.recorder.flows->len, ==, 1);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  fixture_clear (&f);
}

/* A flow with no packet for idle_timeout_usec ends with reason idle. */
static void
test_idle_timeout (void)
{
  MtdFlowLimits limits;
  mtd_flow_limits_init_default (&limits);
  limits.idle_timeout_usec = 10 * G_USEC_PER_SEC;
  Fixture f;
  fixture_init (&f, &limits);
  Seg syn = { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 1 * G_USEC_PER_SEC };
  feed (&f, &syn);
  mtd_flow_table_expire (f.table, 10 * G_USEC_PER_SEC);
  g_assert_false (flow_log (&f, 0)->has_ended);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 1);
  mtd_flow_table_expire (f.table, 11 * G_USEC_PER_SEC + 1);
  FlowLog *log = flow_log (&f, 0);
  g_assert_true (log->has_ended);
  g_assert_cmpint (log->reason, ==, MTD_FLOW_END_IDLE);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  g_assert_cmpuint (mtd_flow_table_n_idle_closed (f.table), ==, 1);

  /* Idle flows also end when a later packet of another flow arrives. */
  Seg other = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 20 * G_USEC_PER_SEC };
  feed (&f, &other);
  Seg late = { 1, TRUE, CISN + 1, 0, ACK, NULL, 0, 0, 40 * G_USEC_PER_SEC };
  feed (&f, &late);
  /* A bare ACK opens no connection: it may be the tail of one already forgotten. */
  g_assert_cmpuint (f.recorder.flows->len, ==, 2);
  g_assert_true (flow_log (&f, 1)->has_ended);
  g_assert_cmpint (flow_log (&f, 1)->reason, ==, MTD_FLOW_END_IDLE);
  g_assert_cmpuint (mtd_flow_table_n_idle_closed (f.table), ==, 2);
  fixture_clear (&f);
}

/* Conversation 0 opens and closes at t = 0.1 s (a closed flow lingers a little as a tombstone). */
static const Seg closed_conversation[] = {
  { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 100000 },
  { 0, FALSE, SISN, CISN + 1, SYN | ACK, NULL, 0, 0, 100000 },
  { 0, TRUE, CISN + 1, SISN + 1, ACK | FIN, NULL, 0, 0, 100000 },
  { 0, FALSE, SISN + 1, CISN + 2, ACK | FIN, NULL, 0, 0, 100000 },
  { 0, TRUE, CISN + 2, SISN + 2, ACK, NULL, 0, 0, 100000 },
};

/* The idle timeout of a live flow holds even when a closed connection was active before it, here
 * with a short timeout (--idle-timeout 1). */
static void
test_idle_timeout_short_after_closed_flow (void)
{
  MtdFlowLimits limits;
  mtd_flow_limits_init_default (&limits);
  limits.idle_timeout_usec = 1 * G_USEC_PER_SEC;
  Fixture f;
  fixture_init (&f, &limits);
  for (gsize i = 0; i < G_N_ELEMENTS (closed_conversation); i++)
    feed (&f, &closed_conversation[i]);
  g_assert_true (flow_log (&f, 0)->has_ended);
  /* Conversation 1: one packet at t = 0.5 s, then nothing. */
  Seg c1 = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 500000 };
  feed (&f, &c1);
  mtd_flow_table_expire (f.table, 2 * G_USEC_PER_SEC);
  FlowLog *log = flow_log (&f, 1);
  if (!log->has_ended)
    g_test_fail_printf ("a flow idle for 1.5 s with a 1 s idle timeout did not end: a closed "
                        "flow before it in the idle queue stops mtd_flow_table_expire");
  else
    g_assert_cmpint (log->reason, ==, MTD_FLOW_END_IDLE);
  fixture_clear (&f);
}

/* The same with the default timeout (300 s) while late ACKs of the closed connection keep
 * arriving every 4 s. */
static void
test_idle_timeout_with_late_packets_of_closed_flow (void)
{
  MtdFlowLimits limits;
  mtd_flow_limits_init_default (&limits);
  Fixture f;
  fixture_init (&f, &limits);
  for (gsize i = 0; i < G_N_ELEMENTS (closed_conversation); i++)
    feed (&f, &closed_conversation[i]);
  Seg c1 = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 1 * G_USEC_PER_SEC };
  feed (&f, &c1);
  for (gint64 t = 4; t <= 400; t += 4) {
    Seg late = { 0, TRUE, CISN + 2, SISN + 2, ACK, NULL, 0, 0, t * G_USEC_PER_SEC };
    feed (&f, &late);
  }
  FlowLog *log = flow_log (&f, 1);
  if (!log->has_ended)
    g_test_fail_printf ("a flow idle for 399 s with a 300 s idle timeout did not end: late "
                        "packets of a closed flow keep it at the head of the idle queue");
  else
    g_assert_cmpint (log->reason, ==, MTD_FLOW_END_IDLE);
  g_assert_cmpuint (f.recorder.flows->len, ==, 2);
  fixture_clear (&f);
}

/* Closed flows are remembered up to max_closed: with 2, after four connections closed, a late
 * ACK of the newest is still swallowed, and one of the oldest (forgotten) starts no new flow
 * either: only a SYN or bytes open a connection (more connections closing within the linger than
 * max_closed used to count one bogus connection per late ACK). */
static void
test_closed_flows_are_capped (void)
{
  MtdFlowLimits limits;
  mtd_flow_limits_init_default (&limits);
  limits.max_closed = 2;
  Fixture f;
  fixture_init (&f, &limits);
  for (guint conversation = 0; conversation < 4; conversation++)
    for (gsize i = 0; i < G_N_ELEMENTS (closed_conversation); i++) {
      Seg seg = closed_conversation[i];
      seg.conversation = conversation;
      feed (&f, &seg);
    }
  g_assert_cmpuint (f.recorder.flows->len, ==, 4);
  Seg late_newest = { 3, TRUE, CISN + 2, SISN + 2, ACK, NULL, 0, 0, 200000 };
  feed (&f, &late_newest);
  g_assert_cmpuint (f.recorder.flows->len, ==, 4);
  Seg late_oldest = { 0, TRUE, CISN + 2, SISN + 2, ACK, NULL, 0, 0, 200000 };
  feed (&f, &late_oldest);
  Seg late_fin = { 1, FALSE, SISN + 1, CISN + 2, ACK | FIN, NULL, 0, 0, 200000 };
  feed (&f, &late_fin);
  Seg late_rst = { 0, TRUE, CISN + 2, 0, RST, NULL, 0, 0, 200000 };
  feed (&f, &late_rst);
  g_assert_cmpuint (f.recorder.flows->len, ==, 4);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 0);
  mtd_flow_table_end_all (f.table);
  g_assert_cmpuint (f.recorder.flows->len, ==, 4);
  g_assert_cmpuint (mtd_flow_table_n_idle_closed (f.table), ==, 0);
  g_assert_cmpuint (mtd_flow_table_n_evicted (f.table), ==, 0);
  /* A port reused with a SYN is a new connection, whatever bare segments came before. */
  Seg reuse = { 0, TRUE, CISN + 100, 0, SYN, NULL, 0, 0, 300000 };
  feed (&f, &reuse);
  g_assert_cmpuint (f.recorder.flows->len, ==, 5);
  fixture_clear (&f);
}

/* max_flows = 2 with a third flow: the idlest is evicted and counted. */
static void
test_eviction (void)
{
  MtdFlowLimits limits;
  mtd_flow_limits_init_default (&limits);
  limits.max_flows = 2;
  Fixture f;
  fixture_init (&f, &limits);
  g_autofree guint8 *data = make_stream (4, 11);
  Seg a1 = { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 1000 };
  Seg b1 = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 2000 };
  Seg a2 = { 0, TRUE, CISN + 1, 0, ACK, data, 4, 0, 3000 }; /* flow 0 is now the more recent */
  Seg c1 = { 2, TRUE, CISN, 0, SYN, NULL, 0, 0, 4000 };
  feed (&f, &a1);
  feed (&f, &b1);
  feed (&f, &a2);
  feed (&f, &c1);
  g_assert_cmpuint (f.recorder.flows->len, ==, 3);
  g_assert_false (flow_log (&f, 0)->has_ended);
  g_assert_true (flow_log (&f, 1)->has_ended);
  g_assert_cmpint (flow_log (&f, 1)->reason, ==, MTD_FLOW_END_EVICTED);
  g_assert_false (flow_log (&f, 2)->has_ended);
  g_assert_cmpuint (mtd_flow_table_n_evicted (f.table), ==, 1);
  g_assert_cmpuint (mtd_flow_table_n_live (f.table), ==, 2);
  g_assert_cmpuint (mtd_flow_table_peak_live (f.table), ==, 2);
  /* The evicted flow's bytes start a new flow (which evicts the next idlest, flow 0). */
  Seg b2 = { 1, TRUE, CISN + 1, 0, ACK, data, 4, 0, 5000 };
  feed (&f, &b2);
  g_assert_cmpuint (f.recorder.flows->len, ==, 4);
  g_assert_cmpint (flow_log (&f, 0)->reason, ==, MTD_FLOW_END_EVICTED);
  g_assert_cmpuint (mtd_flow_table_n_evicted (f.table), ==, 2);
  g_assert_cmpstr (flow_log (&f, 0)->events->str, ==, "d0:4@3 end:evicted");
  fixture_clear (&f);
}

/* A payload cut by the snaplen: the captured bytes, then a gap of the rest, and the stream goes
 * on in step. */
static void
test_snaplen_truncated (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (130, 12);
  handshake (&f, CISN, SISN);
  Seg cut = { 0, TRUE, CISN + 1, SISN + 1, ACK, up, 60, 100, 0 };  /* frame 4 */
  feed (&f, &cut);
  send (&f, TRUE, CISN + 101, SISN + 1, ACK, up + 100, 30);       /* frame 5 */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:60@4 g0:40 d0:30@5");
  g_assert_cmpmem (log->stream[0]->data, 60, up, 60);
  g_assert_cmpmem (log->stream[0]->data + 60, 30, up + 100, 30);
  mtd_flow_table_end_all (f.table);
  const MtdFlowInfo *info = &log->info_at_end;
  g_assert_cmpuint (info->anomalies.counts[MTD_ANOMALY_SNAPLEN_TRUNCATED], ==, 1);
  g_assert_cmpuint (info->anomalies.counts[MTD_ANOMALY_STREAM_GAP], ==, 1);
  g_assert_true (info->is_incomplete);
  fixture_clear (&f);
}

/* With buffering off, a segment from the future is a gap at once, and its bytes follow. */
static void
test_side_buffering_off (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  f.recorder.unbuffered_side = 0;
  g_autofree guint8 *up = make_stream (30, 13);
  g_autofree guint8 *down = make_stream (30, 14);
  handshake (&f, CISN, SISN);
  send (&f, TRUE, CISN + 1, SISN + 1, ACK, up, 10);          /* frame 4 */
  send (&f, TRUE, CISN + 21, SISN + 1, ACK, up + 20, 10);    /* frame 5: gap 10 at once */
  FlowLog *log = flow_log (&f, 0);
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 g0:10 d0:10@5");
  send (&f, TRUE, CISN + 11, SISN + 1, ACK, up + 10, 10);    /* frame 6: too late, dropped */
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 g0:10 d0:10@5");
  /* The other side still buffers. */
  send (&f, FALSE, SISN + 11, CISN + 31, ACK, down + 10, 20); /* frame 7: held */
  send (&f, FALSE, SISN + 1, CISN + 31, ACK, down, 10);       /* frame 8 */
  g_assert_cmpstr (log->events->str, ==, "d0:10@4 g0:10 d0:10@5 d1:10@8 d1:20@7");
  assert_stream (log->stream[1], down, 30);
  fixture_clear (&f);
}

/* Freeing the table ends every live flow with capture_end, delivering what it held. */
static void
test_free_ends_flows (void)
{
  Fixture f;
  fixture_init (&f, NULL);
  g_autofree guint8 *up = make_stream (20, 15);
  Seg a = { 0, TRUE, CISN, 0, SYN, NULL, 0, 0, 0 };
  Seg b = { 1, TRUE, CISN, 0, SYN, NULL, 0, 0, 0 };
  feed (&f, &a);
  feed (&f, &b);
  Seg held = { 1, TRUE, CISN + 11, 0, ACK, up + 10, 10, 0, 0 };  /* frame 3, after a hole */
  feed (&f, &held);
  GPtrArray *flows = g_ptr_array_ref (f.recorder.flows);
  fixture_clear (&f);
  g_assert (flows->len == 2); /* fatal: both are dereferenced below */
  FlowLog *first = g_ptr_array_index (flows, 0);
  FlowLog *second = g_ptr_array_index (flows, 1);
  g_assert_cmpstr (first->events->str, ==, "end:capture_end");
  g_assert_cmpstr (second->events->str, ==, "g0:10 d0:10@3 end:capture_end");
  g_assert_true (second->info_at_end.is_incomplete);
  g_ptr_array_unref (flows);
}

/* Many held segments and a large stream in random order: always the same bytes in the end. */
static void
test_random_order (void)
{
  GRand *rand = g_rand_new_with_seed (42);
  for (guint round = 0; round < 50; round++) {
    Fixture f;
    fixture_init (&f, NULL);
    const gsize n_segments = 24, segment_len = 100;
    g_autofree guint8 *up = make_stream (n_segments * segment_len, round);
    guint order[24];
    for (guint i = 0; i < n_segments; i++)
      order[i] = i;
    for (guint i = n_segments - 1; i > 0; i--) {
      guint j = (guint) g_rand_int_range (rand, 0, (gint) i + 1);
      guint t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    guint32 isn = g_rand_int (rand);
    handshake (&f, isn, SISN);
    for (guint i = 0; i < n_segments; i++) {
      gsize at = order[i] * segment_len;
      send (&f, TRUE, isn + 1 + (guint32) at, SISN + 1, ACK, up + at, segment_len);
      if (g_rand_boolean (rand)) /* and sometimes a retransmission */
        send (&f, TRUE, isn + 1 + (guint32) at, SISN + 1, ACK, up + at, segment_len);
    }
    FlowLog *log = flow_log (&f, 0);
    assert_stream (log->stream[0], up, n_segments * segment_len);
    g_assert_null (strstr (log->events->str, "g"));
    fixture_clear (&f);
  }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  g_test_add_func ("/flow/in-order", test_in_order);
  g_test_add_func ("/flow/out-of-order", test_out_of_order);
  g_test_add_func ("/flow/retransmission", test_retransmission);
  g_test_add_func ("/flow/partial-overlap", test_partial_overlap);
  g_test_add_func ("/flow/overlap-conflict", test_overlap_conflict);
  g_test_add_func ("/flow/hole-becomes-gap", test_hole_becomes_gap);
  g_test_add_func ("/flow/acknowledged-tail-missing", test_acknowledged_tail_missing);
  g_test_add_func ("/flow/wraparound", test_wraparound);
  g_test_add_func ("/flow/syn-client-side", test_syn_client_side);
  g_test_add_func ("/flow/oldest-live-by-role", test_oldest_live_by_role);
  g_test_add_func ("/flow/fin-and-late-acks", test_fin_and_late_acks);
  g_test_add_func ("/flow/fin-without-last-ack", test_fin_without_last_ack);
  g_test_add_func ("/flow/port-reuse", test_port_reuse);
  g_test_add_func ("/flow/rst", test_rst);
  g_test_add_func ("/flow/idle-timeout", test_idle_timeout);
  g_test_add_func ("/flow/idle-timeout/short-after-closed-flow",
                   test_idle_timeout_short_after_closed_flow);
  g_test_add_func ("/flow/idle-timeout/late-packets-of-closed-flow",
                   test_idle_timeout_with_late_packets_of_closed_flow);
  g_test_add_func ("/flow/eviction", test_eviction);
  g_test_add_func ("/flow/snaplen-truncated", test_snaplen_truncated);
  g_test_add_func ("/flow/side-buffering-off", test_side_buffering_off);
  g_test_add_func ("/flow/free-ends-flows", test_free_ends_flows);
  g_test_add_func ("/flow/closed-flows-are-capped", test_closed_flows_are_capped);
  g_test_add_func ("/flow/random-order", test_random_order);
  return g_test_run ();
}
