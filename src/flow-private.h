/* flow-private.h: the per-direction reassembly state shared by flow-table.c and flow-reasm.c. */
#pragma once

#include "mtd-flow.h"

/* Out-of-order segments held per direction; beyond this a gap is declared. */
#define MTD_REASM_MAX_SEGMENTS 32
/* A direction waiting this many of its own packets for a missing segment gives up on it. */
#define MTD_REASM_MAX_STALL_PACKETS 64
/* The last bytes delivered per direction, kept to tell a retransmission that carries different
 * bytes (an overlap conflict: an evasion attempt or a broken middlebox) from a plain one. */
#define MTD_REASM_TAIL_LEN 32

G_STATIC_ASSERT (MTD_REASM_MAX_SEGMENTS <= G_MAXUINT8 && MTD_REASM_TAIL_LEN <= G_MAXUINT8);

typedef struct {
  guint32 seq;
  guint32 wire_len;     /* sequence space the segment covers */
  guint32 captured_len; /* bytes stored (less than wire_len when cut by the snaplen) */
  gsize offset;         /* into the store */
  guint64 frame;
  gint64 ts_usec;
} MtdOooSegment;

typedef struct {
  /* Flags and small counts in bytes, grouped: a live flow keeps two of these (80 bytes each). */
  guint8 has_base;       /* next_seq is known */
  guint8 is_buffering;
  guint8 has_fin;
  guint8 has_peer_ack;
  guint32 next_seq;      /* the first sequence number not yet delivered */
  guint32 fin_seq;
  guint32 max_peer_ack;  /* the highest ACK the other side sent for this direction */
  guint8 *ooo_data;      /* owned, allocated on first need, capacity max_ooo_bytes */
  gsize ooo_used;
  MtdOooSegment *segments; /* owned, MTD_REASM_MAX_SEGMENTS, allocated with ooo_data: most
                            * directions never see a segment out of order */
  guint n_stalled_packets;
  guint8 n_segments;     /* at most MTD_REASM_MAX_SEGMENTS */
  guint8 tail_len;       /* at most MTD_REASM_TAIL_LEN */
  guint8 tail[MTD_REASM_TAIL_LEN]; /* the last tail_len bytes delivered, ending at next_seq */
} MtdReasmSide;

/* Where reassembled bytes go: the flow table forwards them to the analysis callbacks. */
typedef struct {
  void (*deliver) (gpointer context, const guint8 *data, gsize len, guint64 frame,
                   gint64 ts_usec);
  void (*gap) (gpointer context, gsize len);
  void (*anomaly) (gpointer context, MtdAnomaly anomaly); /* overlap conflict, store full */
  gpointer context;
} MtdReasmSink;

void mtd_reasm_side_init (MtdReasmSide *side);
void mtd_reasm_side_clear (MtdReasmSide *side);

/* A segment of this direction.  seq is the first payload byte's sequence number; wire_len what
 * the IP length says; captured_len <= wire_len bytes at data. */
void mtd_reasm_side_add (MtdReasmSide *side, gsize max_ooo_bytes, guint32 seq,
                         const guint8 *data, gsize captured_len, gsize wire_len, guint64 frame,
                         gint64 ts_usec, const MtdReasmSink *sink);
/* Delivers whatever is held, declaring gaps where bytes are missing. */
void mtd_reasm_side_flush (MtdReasmSide *side, const MtdReasmSink *sink);
