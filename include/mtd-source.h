/* mtd-source.h: where packets come from: capture files (pcap, pcapng, standard input) and live
 * interfaces, through libpcap.
 *
 * Owns MtdSource, the only holder of libpcap handles (source-pcap.c is the only file that
 * includes pcap.h).  It yields borrowed packets and interprets none of their bytes.  Offline
 * files are hashed (SHA-256) as libpcap reads them, so the report can name exactly which bytes
 * were analysed without a second pass over the file.
 */
#pragma once

#include <glib.h>

#define MTD_SOURCE_ERROR (mtd_source_error_quark ())
GQuark mtd_source_error_quark (void);

typedef enum {
  MTD_SOURCE_ERROR_OPEN,    /* missing, unreadable, a directory, not a capture */
  MTD_SOURCE_ERROR_READ,    /* a read failed in the middle */
  MTD_SOURCE_ERROR_FILTER,  /* the BPF filter does not compile */
} MtdSourceErrorCode;

typedef struct {
  guint64 frame_number; /* 1-based within this source, as Wireshark numbers frames */
  gint64 ts_usec;       /* microseconds since the epoch, UTC */
  guint32 caplen;       /* bytes captured */
  guint32 wire_len;     /* bytes on the wire */
  gint link_type;       /* libpcap DLT_ value */
  const guint8 *bytes;  /* borrowed: valid until the next mtd_source_next */
} MtdPacket;

typedef enum {
  MTD_SOURCE_PACKET,    /* *packet is filled */
  MTD_SOURCE_TIMEOUT,   /* live only: nothing arrived within the read timeout */
  MTD_SOURCE_END,       /* end of file, or the capture was stopped */
  MTD_SOURCE_TRUNCATED, /* the file ends in the middle of a packet record: *error says where */
  MTD_SOURCE_FAILED,    /* a read error: *error says why */
} MtdSourceStatus;

typedef struct _MtdSource MtdSource;

typedef enum {
  MTD_SOURCE_HASH_SHA256, /* the input's SHA-256 for the report (mtd_source_sha256) */
  MTD_SOURCE_HASH_NONE,   /* --no-hash: on one core SHA-256 (about 2 GB/s) is slower than
                           * reading a cached file, so it bounds the speed on bulk captures */
} MtdSourceHash;

/* Opens a pcap or pcapng file, or standard input for "-". */
MtdSource *mtd_source_open_file (const char *path, MtdSourceHash hash, GError **error);
/* Opens a live interface with a BPF filter (NULL or "" for none). */
MtdSource *mtd_source_open_live (const char *interface, const char *bpf_filter, gint snaplen,
                                 GError **error);
void mtd_source_free (MtdSource *source); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdSource, mtd_source_free)

MtdSourceStatus mtd_source_next (MtdSource *source, MtdPacket *packet, GError **error);

/* Makes a blocked mtd_source_next return MTD_SOURCE_END; safe from a signal handler. */
void mtd_source_stop (MtdSource *source);

gint mtd_source_link_type (const MtdSource *source);
/* libpcap's name for a DLT value ("EN10MB", "LINUX_SLL2"); "DLT_<n>" when it has none. */
const char *mtd_source_link_type_name (gint link_type, char *buf, gsize buf_len);
gint mtd_source_snaplen (const MtdSource *source);
/* The link type as capture files record it (a LINKTYPE_ value, which differs from the DLT_ value
 * for a few types, DLT_RAW among them): for writing this source's packets to a file. */
gint mtd_source_file_link_type (const MtdSource *source);

/* SHA-256 of the bytes read so far (standard input included), uppercase hex; empty for live
 * captures and MTD_SOURCE_HASH_NONE.  Complete once MTD_SOURCE_END was returned. */
void mtd_source_sha256 (MtdSource *source, char out_hex[65]);

/* Live only: libpcap's counts of packets received and dropped by the kernel. */
gboolean mtd_source_live_stats (MtdSource *source, guint64 *n_received, guint64 *n_dropped);

/* Regular files only: the reader's offset in the file and the file's size, for progress.  FALSE
 * for standard input, pipes and live captures, whose size is unknown. */
gboolean mtd_source_position (MtdSource *source, guint64 *offset, guint64 *total);
