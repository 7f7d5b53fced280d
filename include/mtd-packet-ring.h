/* mtd-packet-ring.h: a bounded copy of one flow's most recent packets (live --save-flagged).
 *
 * Owns MtdPacketRing: one buffer of a fixed size, allocated when the ring is made (when its flow
 * starts) and never grown.  Each packet is copied in (its capture header and captured bytes);
 * when the buffer is full the oldest packets are dropped to make room, and the ring remembers
 * how many it dropped, so whoever saves it can say the connection was cut short.  Nothing is
 * allocated per packet, and nothing here interprets the bytes.
 */
#pragma once

#include <glib.h>

#include "mtd-source.h"

typedef struct _MtdPacketRing MtdPacketRing;

/* Bytes of ring storage each packet costs beside its captured bytes (its capture header). */
#define MTD_PACKET_RING_RECORD_OVERHEAD 24

/* capacity_len bytes of storage, allocated now (a packet costs its caplen plus
 * MTD_PACKET_RING_RECORD_OVERHEAD). */
MtdPacketRing *mtd_packet_ring_new (gsize capacity_len);
void mtd_packet_ring_free (MtdPacketRing *ring); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdPacketRing, mtd_packet_ring_free)

/* Copies one packet in, dropping the oldest packets while it does not fit.  A packet larger than
 * the whole ring empties it and is dropped too. */
void mtd_packet_ring_add (MtdPacketRing *ring, const MtdPacket *packet);

/* Packets held now. */
guint mtd_packet_ring_n_packets (const MtdPacketRing *ring);
/* Packets dropped so far to make room: non-zero means the first packets are lost. */
guint64 mtd_packet_ring_n_dropped (const MtdPacketRing *ring);

/* A held packet.  Its bytes are borrowed from the ring, in up to two pieces because the ring
 * wraps around (bytes_len[1] is 0 when it did not). */
typedef struct {
  guint64 frame_number;
  gint64 ts_usec;
  guint32 caplen;
  guint32 wire_len;
  const guint8 *bytes[2];
  gsize bytes_len[2];
} MtdRingPacket;

typedef struct {
  gsize offset;     /* private */
  guint n_left;     /* private */
} MtdPacketRingIter;

/* Iterates over the held packets, oldest first.  The ring must not change meanwhile. */
void mtd_packet_ring_iter_init (const MtdPacketRing *ring, MtdPacketRingIter *iter);
/* Fills *packet with the next packet; FALSE when none is left. */
gboolean mtd_packet_ring_iter_next (const MtdPacketRing *ring, MtdPacketRingIter *iter,
                                    MtdRingPacket *packet);
