/* pcapng-writer.c: a pcapng file of saved packets (see mtd-pcapng-writer.h).
 *
 * Follows draft-ietf-opsawg-pcapng (PCAP Now Generic): §4 general block structure, §4.1 Section
 * Header Block, §4.2 Interface Description Block, §4.3 Enhanced Packet Block, §3.5 options.
 * Blocks are assembled in a small stack buffer around the packet bytes, which go to stdio
 * straight from the ring.
 */
#include "mtd-pcapng-writer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Block types (§4, §11.1). */
enum {
  PCAPNG_BLOCK_SECTION_HEADER = 0x0A0D0D0A,
  PCAPNG_BLOCK_INTERFACE_DESCRIPTION = 0x00000001,
  PCAPNG_BLOCK_ENHANCED_PACKET = 0x00000006,
};

/* §4.1: written in the writer's byte order; a reader tells the order from it. */
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

/* Option codes (§3.5, §4.1, §4.2). */
enum {
  PCAPNG_OPT_ENDOFOPT = 0,
  PCAPNG_OPT_COMMENT = 1,
  PCAPNG_SHB_USERAPPL = 4,
  PCAPNG_IF_NAME = 2,
  PCAPNG_IF_TSRESOL = 9,
};

/* if_tsresol: "the most significant bit equal to zero ... the remaining bits indicates the
 * resolution of the timestamp as a negative power of 10": 6 is microseconds, also the default
 * "if this option is not present". */
#define PCAPNG_TSRESOL_MICROSECONDS 6

/* An option value is at most 65535 bytes; ours (names, comments) are kept far shorter. */
#define MAX_OPTION_TEXT_LEN 200
/* The assembled non-packet parts of a block: fixed fields and a few short options. */
#define BLOCK_BUFFER_LEN 1024
#define WRITE_BUFFER_LEN (256 * 1024)

struct _MtdPcapngWriter {
  FILE *file;          /* owned */
  char *path;          /* owned */
  char *write_buffer;  /* owned: stdio's buffer */
  guint64 n_packets;
  gboolean has_failed;
};

typedef struct {
  guint8 bytes[BLOCK_BUFFER_LEN];
  gsize len;
} BlockBuffer;

static void
put_u16 (BlockBuffer *buffer, guint16 value)
{
  g_assert (buffer->len + 2 <= sizeof buffer->bytes);
  memcpy (buffer->bytes + buffer->len, &value, 2);
  buffer->len += 2;
}

static void
put_u32 (BlockBuffer *buffer, guint32 value)
{
  g_assert (buffer->len + 4 <= sizeof buffer->bytes);
  memcpy (buffer->bytes + buffer->len, &value, 4);
  buffer->len += 4;
}

static void
put_u64 (BlockBuffer *buffer, guint64 value)
{
  g_assert (buffer->len + 8 <= sizeof buffer->bytes);
  memcpy (buffer->bytes + buffer->len, &value, 8);
  buffer->len += 8;
}

static gsize
padding_of (gsize len)
{
  return (4 - (len & 3)) & 3;
}

/* §3.5: code, length, the value, then zeros to a 32-bit boundary. */
static void
put_option (BlockBuffer *buffer, guint16 code, const void *value, gsize value_len)
{
  g_assert (value_len <= G_MAXUINT16);
  put_u16 (buffer, code);
  put_u16 (buffer, (guint16) value_len);
  gsize padded_len = value_len + padding_of (value_len);
  g_assert (buffer->len + padded_len <= sizeof buffer->bytes);
  memcpy (buffer->bytes + buffer->len, value, value_len);
  memset (buffer->bytes + buffer->len + value_len, 0, padded_len - value_len);
  buffer->len += padded_len;
}

/* A UTF-8 string option "not zero-terminated" (§3.5), cut to MAX_OPTION_TEXT_LEN. */
static void
put_text_option (BlockBuffer *buffer, guint16 code, const char *text)
{
  if (text == NULL || text[0] == '\0')
    return;
  put_option (buffer, code, text, MIN (strlen (text), MAX_OPTION_TEXT_LEN));
}

static void
put_end_of_options (BlockBuffer *buffer)
{
  put_u16 (buffer, PCAPNG_OPT_ENDOFOPT);
  put_u16 (buffer, 0);
}

static gboolean
fail (MtdPcapngWriter *writer, GError **error)
{
  int saved_errno = errno != 0 ? errno : EIO;
  writer->has_failed = TRUE;
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s",
               writer->path, g_strerror (saved_errno));
  return FALSE;
}

/* Writes a block whose body (after type and length) is body, with no packet data. */
static gboolean
write_simple_block (MtdPcapngWriter *writer, guint32 type, const BlockBuffer *body,
                    GError **error)
{
  guint32 total_len = (guint32) (body->len + 12);
  errno = 0;
  if (fwrite (&type, 4, 1, writer->file) != 1 || fwrite (&total_len, 4, 1, writer->file) != 1
      || fwrite (body->bytes, 1, body->len, writer->file) != body->len
      || fwrite (&total_len, 4, 1, writer->file) != 1)
    return fail (writer, error);
  return TRUE;
}

MtdPcapngWriter *
mtd_pcapng_writer_open (const char *path, gint linktype, guint32 snaplen,
                        const char *interface_name, const char *application, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  FILE *file = fopen (path, "wb");
  if (file == NULL) {
    int saved_errno = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s", path,
                 g_strerror (saved_errno));
    return NULL;
  }
  g_autoptr (MtdPcapngWriter) writer = g_new0 (MtdPcapngWriter, 1);
  writer->file = file;
  writer->path = g_strdup (path);
  writer->write_buffer = g_malloc (WRITE_BUFFER_LEN);
  setvbuf (file, writer->write_buffer, _IOFBF, WRITE_BUFFER_LEN);

  /* §4.1: "Section Length ... -1 ... means that the size of the section is not specified". */
  BlockBuffer section = { .len = 0 };
  put_u32 (&section, PCAPNG_BYTE_ORDER_MAGIC);
  put_u16 (&section, 1);
  put_u16 (&section, 0);
  put_u64 (&section, G_MAXUINT64);
  put_text_option (&section, PCAPNG_SHB_USERAPPL, application);
  put_end_of_options (&section);
  if (!write_simple_block (writer, PCAPNG_BLOCK_SECTION_HEADER, &section, error))
    return NULL;

  /* §4.2: LinkType is 16 bits; the upper bits of a pcap file's link type field (FCS length)
   * have no place here. */
  BlockBuffer interface = { .len = 0 };
  put_u16 (&interface, (guint16) (linktype & 0xFFFF));
  put_u16 (&interface, 0);
  put_u32 (&interface, snaplen);
  put_text_option (&interface, PCAPNG_IF_NAME, interface_name);
  guint8 resolution = PCAPNG_TSRESOL_MICROSECONDS;
  put_option (&interface, PCAPNG_IF_TSRESOL, &resolution, 1);
  put_end_of_options (&interface);
  if (!write_simple_block (writer, PCAPNG_BLOCK_INTERFACE_DESCRIPTION, &interface, error))
    return NULL;
  /* A valid (empty) capture from the start, and an early error when the disk is full. */
  errno = 0;
  if (fflush (writer->file) != 0) {
    fail (writer, error);
    return NULL;
  }
  return g_steal_pointer (&writer);
}

void
mtd_pcapng_writer_free (MtdPcapngWriter *writer)
{
  if (writer == NULL)
    return;
  if (writer->file != NULL)
    fclose (writer->file);
  g_free (writer->write_buffer);
  g_free (writer->path);
  g_free (writer);
}

gboolean
mtd_pcapng_writer_close (MtdPcapngWriter *writer, GError **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  errno = 0;
  gboolean is_ok = !writer->has_failed && fflush (writer->file) == 0 && !ferror (writer->file);
  int saved_errno = errno != 0 ? errno : EIO;
  is_ok &= fclose (writer->file) == 0;
  if (!is_ok && errno != 0)
    saved_errno = errno;
  writer->file = NULL;
  if (!is_ok)
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                 "%s: the saved packets could not be written completely (%s)", writer->path,
                 g_strerror (saved_errno));
  mtd_pcapng_writer_free (writer);
  return is_ok;
}

/* §4.3: one Enhanced Packet Block on interface 0, the packet's bytes in the ring's pieces. */
static gboolean
write_packet (MtdPcapngWriter *writer, const MtdRingPacket *packet, const char *comment,
              GError **error)
{
  static const guint8 zeros[4] = { 0 };
  BlockBuffer head = { .len = 0 };
  BlockBuffer options = { .len = 0 };
  /* Timestamps are unsigned units since 1970; a clock before that is written as 0. */
  guint64 timestamp = (guint64) MAX (packet->ts_usec, 0);
  put_u32 (&head, 0);
  put_u32 (&head, (guint32) (timestamp >> 32));
  put_u32 (&head, (guint32) (timestamp & 0xFFFFFFFFu));
  put_u32 (&head, packet->caplen);
  put_u32 (&head, MAX (packet->wire_len, packet->caplen));
  put_text_option (&options, PCAPNG_OPT_COMMENT, comment);
  put_end_of_options (&options);
  gsize padding_len = padding_of (packet->caplen);
  guint32 type = PCAPNG_BLOCK_ENHANCED_PACKET;
  guint32 total_len = (guint32) (12 + head.len + packet->caplen + padding_len + options.len);
  errno = 0;
  if (fwrite (&type, 4, 1, writer->file) != 1 || fwrite (&total_len, 4, 1, writer->file) != 1
      || fwrite (head.bytes, 1, head.len, writer->file) != head.len)
    return fail (writer, error);
  for (guint i = 0; i < 2; i++)
    if (packet->bytes_len[i] > 0
        && fwrite (packet->bytes[i], 1, packet->bytes_len[i], writer->file)
               != packet->bytes_len[i])
      return fail (writer, error);
  if (fwrite (zeros, 1, padding_len, writer->file) != padding_len
      || fwrite (options.bytes, 1, options.len, writer->file) != options.len
      || fwrite (&total_len, 4, 1, writer->file) != 1)
    return fail (writer, error);
  writer->n_packets++;
  return TRUE;
}

gboolean
mtd_pcapng_writer_add_ring (MtdPcapngWriter *writer, const MtdPacketRing *ring,
                            guint64 connection_id, GError **error)
{
  g_return_val_if_fail (writer != NULL && ring != NULL, FALSE);
  if (writer->has_failed) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: an earlier write failed",
                 writer->path);
    return FALSE;
  }
  guint64 n_dropped = mtd_packet_ring_n_dropped (ring);
  MtdPacketRingIter iter;
  MtdRingPacket packet;
  mtd_packet_ring_iter_init (ring, &iter);
  gboolean is_first = TRUE;
  while (mtd_packet_ring_iter_next (ring, &iter, &packet)) {
    char comment[MAX_OPTION_TEXT_LEN];
    if (is_first && n_dropped > 0)
      g_snprintf (comment, sizeof comment,
                  "mtlsdiag connection %" G_GUINT64_FORMAT ", frame %" G_GUINT64_FORMAT
                  " (its first %" G_GUINT64_FORMAT " packets did not fit in --save-ring-bytes)",
                  connection_id, packet.frame_number, n_dropped);
    else
      g_snprintf (comment, sizeof comment,
                  "mtlsdiag connection %" G_GUINT64_FORMAT ", frame %" G_GUINT64_FORMAT,
                  connection_id, packet.frame_number);
    is_first = FALSE;
    if (!write_packet (writer, &packet, comment, error))
      return FALSE;
  }
  errno = 0;
  if (fflush (writer->file) != 0)
    return fail (writer, error);
  return TRUE;
}

guint64
mtd_pcapng_writer_n_packets (const MtdPcapngWriter *writer)
{
  return writer->n_packets;
}
