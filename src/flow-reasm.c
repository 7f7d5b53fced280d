/* flow-reasm.c: one direction of TCP stream reassembly (RFC 9293 §3.4, §3.10.7.4).
 *
 * In-order bytes are delivered straight from the packet, without a copy.  Segments from the
 * future are copied into a capped per-direction store until the hole before them is filled,
 * the direction stalls for too long, the store is full, or the flow ends; then the hole is
 * reported as a gap and never papered over.  Retransmissions and overlaps deliver only the bytes
 * not delivered before.
 */
#include "flow-private.h"

#include <string.h>

/* Sequence-number comparison modulo 2^32 (RFC 9293 §3.4). */
static inline gint32
seq_diff (guint32 a, guint32 b)
{
  return (gint32) (a - b);
}

void
mtd_reasm_side_init (MtdReasmSide *side)
{
  memset (side, 0, sizeof *side);
  side->is_buffering = TRUE;
}

void
mtd_reasm_side_clear (MtdReasmSide *side)
{
  g_free (side->ooo_data);
  side->ooo_data = NULL;
  g_free (side->segments);
  side->segments = NULL;
  side->n_segments = 0;
  side->ooo_used = 0;
}

/* Keeps the last bytes delivered (data, len) so that a later retransmission of them can be
 * compared; a gap empties the window. */
static void
remember_tail (MtdReasmSide *side, const guint8 *data, gsize len)
{
  if (len >= MTD_REASM_TAIL_LEN) {
    memcpy (side->tail, data + len - MTD_REASM_TAIL_LEN, MTD_REASM_TAIL_LEN);
    side->tail_len = MTD_REASM_TAIL_LEN;
    return;
  }
  gsize keep = MIN (side->tail_len, MTD_REASM_TAIL_LEN - len);
  memmove (side->tail, side->tail + side->tail_len - keep, keep);
  memcpy (side->tail + keep, data, len);
  side->tail_len = (guint) (keep + len);
}

/* RFC 9293 §3.10.7.4 lets a receiver keep either copy of retransmitted bytes; an analyser must
 * say when the copies differ, because the two ends may have read different streams.  Only the
 * part of the retransmission that falls in the remembered tail can be compared. */
static void
check_overlap (MtdReasmSide *side, guint32 seq, const guint8 *data, gsize captured_len,
               const MtdReasmSink *sink)
{
  guint32 tail_start = side->next_seq - side->tail_len;
  gint32 from = seq_diff (seq, tail_start) > 0 ? seq_diff (seq, tail_start) : 0;
  gint32 to = MIN (seq_diff (side->next_seq, tail_start),
                   seq_diff (seq + (guint32) captured_len, tail_start));
  for (gint32 i = from; i < to; i++) {
    if (side->tail[i] != data[(guint32) i + (tail_start - seq)]) {
      if (sink->anomaly != NULL)
        sink->anomaly (sink->context, MTD_ANOMALY_OVERLAP_CONFLICT);
      return;
    }
  }
}

/* Delivers the part of a segment at or after next_seq; captured bytes first, then the bytes cut
 * by the snaplen as a gap so that sequence accounting stays right. */
static void
deliver_from (MtdReasmSide *side, guint32 seq, const guint8 *data, gsize captured_len,
              gsize wire_len, guint64 frame, gint64 ts_usec, const MtdReasmSink *sink)
{
  gint32 behind = seq_diff (side->next_seq, seq);
  if (behind < 0)
    return;
  if (behind > 0 && side->tail_len > 0)
    check_overlap (side, seq, data, captured_len, sink);
  gsize skip = (gsize) behind;
  if (skip >= wire_len)
    return;
  if (skip < captured_len) {
    sink->deliver (sink->context, data + skip, captured_len - skip, frame, ts_usec);
    remember_tail (side, data + skip, captured_len - skip);
    side->next_seq += (guint32) (captured_len - skip);
    skip = captured_len;
  }
  if (wire_len > skip) {
    sink->gap (sink->context, wire_len - skip);
    side->tail_len = 0;
    side->next_seq += (guint32) (wire_len - skip);
  }
}

static void
remove_segment (MtdReasmSide *side, guint index)
{
  side->n_segments--;
  if (index < side->n_segments)
    memmove (&side->segments[index], &side->segments[index + 1],
             (side->n_segments - index) * sizeof side->segments[0]);
  if (side->n_segments == 0)
    side->ooo_used = 0;
}

/* Delivers held segments that have become contiguous. */
static void
drain (MtdReasmSide *side, const MtdReasmSink *sink)
{
  gboolean has_progress = TRUE;
  while (has_progress && side->n_segments > 0) {
    has_progress = FALSE;
    for (guint i = 0; i < side->n_segments; i++) {
      MtdOooSegment *segment = &side->segments[i];
      if (seq_diff (segment->seq, side->next_seq) <= 0) {
        MtdOooSegment copy = *segment;
        remove_segment (side, i);
        deliver_from (side, copy.seq, side->ooo_data + copy.offset, copy.captured_len,
                      copy.wire_len, copy.frame, copy.ts_usec, sink);
        has_progress = TRUE;
        break;
      }
    }
  }
  if (side->n_segments == 0)
    side->n_stalled_packets = 0;
}

/* Gives up on the hole before the earliest held segment: reports it, then drains. */
static void
skip_to_earliest (MtdReasmSide *side, const MtdReasmSink *sink)
{
  if (side->n_segments == 0)
    return;
  guint32 earliest = side->segments[0].seq;
  for (guint i = 1; i < side->n_segments; i++)
    if (seq_diff (side->segments[i].seq, earliest) < 0)
      earliest = side->segments[i].seq;
  gint32 hole = seq_diff (earliest, side->next_seq);
  if (hole > 0) {
    sink->gap (sink->context, (gsize) hole);
    side->tail_len = 0;
    side->next_seq = earliest;
  }
  drain (side, sink);
}

/* Makes room for len bytes in the store, compacting it; FALSE when it cannot hold them. */
static gboolean
reserve (MtdReasmSide *side, gsize max_ooo_bytes, gsize len)
{
  if (side->n_segments >= MTD_REASM_MAX_SEGMENTS || len > max_ooo_bytes)
    return FALSE;
  if (side->ooo_data == NULL) {
    side->ooo_data = g_malloc (max_ooo_bytes);
    side->segments = g_new (MtdOooSegment, MTD_REASM_MAX_SEGMENTS);
  }
  if (max_ooo_bytes - side->ooo_used >= len)
    return TRUE;
  /* Compact: segments are few, so moving them is cheap compared with the packet work. */
  gsize used = 0;
  for (guint i = 0; i < side->n_segments; i++) {
    MtdOooSegment *segment = &side->segments[i];
    if (segment->offset != used)
      memmove (side->ooo_data + used, side->ooo_data + segment->offset, segment->captured_len);
    segment->offset = used;
    used += segment->captured_len;
  }
  side->ooo_used = used;
  return max_ooo_bytes - side->ooo_used >= len;
}

void
mtd_reasm_side_add (MtdReasmSide *side, gsize max_ooo_bytes, guint32 seq, const guint8 *data,
                    gsize captured_len, gsize wire_len, guint64 frame, gint64 ts_usec,
                    const MtdReasmSink *sink)
{
  if (wire_len == 0)
    return;
  if (!side->has_base) {
    side->has_base = TRUE;
    side->next_seq = seq;
  }
  gint32 ahead = seq_diff (seq, side->next_seq);
  if (ahead <= 0) {
    deliver_from (side, seq, data, captured_len, wire_len, frame, ts_usec, sink);
    drain (side, sink);
    return;
  }
  /* A segment from the future: hold it, unless this side only follows record headers. */
  if (!side->is_buffering) {
    sink->gap (sink->context, (gsize) ahead);
    side->tail_len = 0;
    side->next_seq = seq;
    deliver_from (side, seq, data, captured_len, wire_len, frame, ts_usec, sink);
    return;
  }
  for (guint i = 0; i < side->n_segments; i++) {
    const MtdOooSegment *held = &side->segments[i];
    if (held->seq == seq && held->wire_len >= wire_len) {
      /* A retransmission of a segment already held: the copies must agree. */
      gsize n_compared = MIN (held->captured_len, captured_len);
      if (n_compared > 0 && memcmp (side->ooo_data + held->offset, data, n_compared) != 0
          && sink->anomaly != NULL)
        sink->anomaly (sink->context, MTD_ANOMALY_OVERLAP_CONFLICT);
      return;
    }
  }
  if (!reserve (side, max_ooo_bytes, captured_len)) {
    if (sink->anomaly != NULL)
      sink->anomaly (sink->context, MTD_ANOMALY_OOO_BUFFER_FULL);
    skip_to_earliest (side, sink);
    if (seq_diff (seq, side->next_seq) > 0) {
      sink->gap (sink->context, (gsize) seq_diff (seq, side->next_seq));
      side->tail_len = 0;
      side->next_seq = seq;
    }
    deliver_from (side, seq, data, captured_len, wire_len, frame, ts_usec, sink);
    drain (side, sink);
    return;
  }
  MtdOooSegment *segment = &side->segments[side->n_segments++];
  segment->seq = seq;
  segment->wire_len = (guint32) wire_len;
  segment->captured_len = (guint32) captured_len;
  segment->offset = side->ooo_used;
  segment->frame = frame;
  segment->ts_usec = ts_usec;
  if (captured_len > 0)
    memcpy (side->ooo_data + side->ooo_used, data, captured_len);
  side->ooo_used += captured_len;
  if (++side->n_stalled_packets > MTD_REASM_MAX_STALL_PACKETS)
    skip_to_earliest (side, sink);
}

void
mtd_reasm_side_flush (MtdReasmSide *side, const MtdReasmSink *sink)
{
  while (side->n_segments > 0)
    skip_to_earliest (side, sink);
}
