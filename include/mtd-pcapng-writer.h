/* mtd-pcapng-writer.h: writing packets to a pcapng file (live --save-flagged).
 *
 * Owns MtdPcapngWriter: one output file holding one section (a Section Header Block) with one
 * interface (an Interface Description Block with the source's link type and snaplen) and an
 * Enhanced Packet Block per packet, timestamps in microseconds (the default if_tsresol), each
 * with a comment (opt_comment) naming the mtlsdiag connection and the packet's frame number in
 * the live capture, which pcapng itself cannot keep.  Follows draft-ietf-opsawg-pcapng ("PCAP
 * Now Generic"), written in the host's byte order as the format allows (the byte-order magic
 * says which).  libpcap 1.10 writes only pcap, hence this module.
 *
 * Writing is buffered and allocates nothing per packet.
 */
#pragma once

#include <glib.h>

#include "mtd-packet-ring.h"

typedef struct _MtdPcapngWriter MtdPcapngWriter;

/* Creates (or truncates) path and writes the section and interface headers.  linktype is the
 * LINKTYPE_ value files record (mtd_source_file_link_type), interface_name may be NULL,
 * application names the writer (shb_userappl). */
MtdPcapngWriter *mtd_pcapng_writer_open (const char *path, gint linktype, guint32 snaplen,
                                         const char *interface_name, const char *application,
                                         GError **error);
/* Closes without reporting errors; NULL-safe. */
void mtd_pcapng_writer_free (MtdPcapngWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdPcapngWriter, mtd_pcapng_writer_free)
/* Flushes and closes the file, then frees the writer; FALSE with error when the file could not
 * be written completely.  Consumes writer either way. */
gboolean mtd_pcapng_writer_close (MtdPcapngWriter *writer, GError **error);

/* Writes every packet of ring, oldest first, each commented "mtlsdiag connection N, frame M";
 * when the ring dropped packets, the first one's comment says how many earlier ones are missing.
 * Flushes the file, so that it holds whole connections while the capture goes on.  FALSE with
 * error when writing failed (the file is then of no further use). */
gboolean mtd_pcapng_writer_add_ring (MtdPcapngWriter *writer, const MtdPacketRing *ring,
                                     guint64 connection_id, GError **error);

guint64 mtd_pcapng_writer_n_packets (const MtdPcapngWriter *writer);
