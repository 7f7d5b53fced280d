/* packet-ring.c: a bounded copy of one flow's most recent packets (see mtd-packet-ring.h).
 *
 * One byte buffer used as a circular queue of records: a fixed capture header followed by the
 * captured bytes.  A record may wrap around the end of the buffer, so copies in and out are done
 * in up to two pieces; the buffer is used to the last byte and never grown.
 */
#include "mtd-packet-ring.h"

#include <string.h>

/* The capture header of a record, as it is copied into the ring (our own bytes, not the
 * wire's). */
typedef struct {
  gint64 ts_usec;
  guint64 frame_number;
  guint32 caplen;
  guint32 wire_len;
} RecordHeader;

G_STATIC_ASSERT (sizeof (RecordHeader) == MTD_PACKET_RING_RECORD_OVERHEAD);

struct _MtdPacketRing {
  guint8 *data;       /* owned, capacity_len bytes */
  gsize capacity_len;
  gsize start;        /* offset of the oldest record */
  gsize used_len;     /* bytes of records held, from start, wrapping */
  guint n_packets;
  guint64 n_dropped;
};

MtdPacketRing *
mtd_packet_ring_new (gsize capacity_len)
{
  g_return_val_if_fail (capacity_len > 0, NULL);
  MtdPacketRing *ring = g_new0 (MtdPacketRing, 1);
  ring->data = g_malloc (capacity_len);
  ring->capacity_len = capacity_len;
  return ring;
}

void
mtd_packet_ring_free (MtdPacketRing *ring)
{
  if (ring == NULL)
    return;
  g_free (ring->data);
  g_free (ring);
}

static gsize
wrap (const MtdPacketRing *ring, gsize offset)
{
  return offset >= ring->capacity_len ? offset - ring->capacity_len : offset;
}

/* Copies len bytes into the ring at offset, wrapping at the end. */
static void
copy_in (MtdPacketRing *ring, gsize offset, const void *bytes, gsize len)
{
  gsize first_len = MIN (len, ring->capacity_len - offset);
  memcpy (ring->data + offset, bytes, first_len);
  if (len > first_len)
    memcpy (ring->data, (const guint8 *) bytes + first_len, len - first_len);
}

static void
copy_out (const MtdPacketRing *ring, gsize offset, void *bytes, gsize len)
{
  gsize first_len = MIN (len, ring->capacity_len - offset);
  memcpy (bytes, ring->data + offset, first_len);
  if (len > first_len)
    memcpy ((guint8 *) bytes + first_len, ring->data, len - first_len);
}

static void
drop_oldest (MtdPacketRing *ring)
{
  RecordHeader header;
  copy_out (ring, ring->start, &header, sizeof header);
  gsize record_len = sizeof header + header.caplen;
  ring->start = wrap (ring, ring->start + record_len);
  ring->used_len -= record_len;
  ring->n_packets--;
  ring->n_dropped++;
  if (ring->n_packets == 0) {
    ring->start = 0;
    ring->used_len = 0;
  }
}

void
mtd_packet_ring_add (MtdPacketRing *ring, const MtdPacket *packet)
{
  g_return_if_fail (ring != NULL && packet != NULL);
  gsize record_len = sizeof (RecordHeader) + packet->caplen;
  if (record_len > ring->capacity_len) {
    ring->n_dropped += ring->n_packets + 1;
    ring->n_packets = 0;
    ring->start = 0;
    ring->used_len = 0;
    return;
  }
  while (ring->used_len + record_len > ring->capacity_len)
    drop_oldest (ring);
  RecordHeader header = {
    .ts_usec = packet->ts_usec,
    .frame_number = packet->frame_number,
    .caplen = packet->caplen,
    .wire_len = packet->wire_len,
  };
  gsize offset = wrap (ring, ring->start + ring->used_len);
  copy_in (ring, offset, &header, sizeof header);
  if (packet->caplen > 0)
    copy_in (ring, wrap (ring, offset + sizeof header), packet->bytes, packet->caplen);
  ring->used_len += record_len;
  ring->n_packets++;
}

guint
mtd_packet_ring_n_packets (const MtdPacketRing *ring)
{
  return ring->n_packets;
}

guint64
mtd_packet_ring_n_dropped (const MtdPacketRing *ring)
{
  return ring->n_dropped;
}

void
mtd_packet_ring_iter_init (const MtdPacketRing *ring, MtdPacketRingIter *iter)
{
  iter->offset = ring->start;
  iter->n_left = ring->n_packets;
}

gboolean
mtd_packet_ring_iter_next (const MtdPacketRing *ring, MtdPacketRingIter *iter,
                           MtdRingPacket *packet)
{
  if (iter->n_left == 0)
    return FALSE;
  RecordHeader header;
  copy_out (ring, iter->offset, &header, sizeof header);
  packet->frame_number = header.frame_number;
  packet->ts_usec = header.ts_usec;
  packet->caplen = header.caplen;
  packet->wire_len = header.wire_len;
  gsize data_offset = wrap (ring, iter->offset + sizeof header);
  gsize first_len = MIN ((gsize) header.caplen, ring->capacity_len - data_offset);
  packet->bytes[0] = ring->data + data_offset;
  packet->bytes_len[0] = first_len;
  packet->bytes[1] = ring->data;
  packet->bytes_len[1] = header.caplen - first_len;
  iter->offset = wrap (ring, data_offset + header.caplen);
  iter->n_left--;
  return TRUE;
}
