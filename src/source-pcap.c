/* source-pcap.c: capture files and live interfaces through libpcap (see mtd-source.h).
 *
 * The only file that includes pcap.h.  A regular file is hashed (SHA-256) by a second thread
 * that reads it beside libpcap, so the hash costs no time on the packet path when a second core
 * is free; standard input and pipes, which can be read only once, are handed to libpcap as a
 * FILE* whose reads also feed the digest (fopencookie).
 */
/* fopencookie is a GNU extension; it must be asked for before any system header. */
#define _GNU_SOURCE
#include "mtd-source.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <pcap/pcap.h>

G_DEFINE_QUARK (mtd-source-error-quark, mtd_source_error)

/* A large stdio buffer: libpcap reads record by record, and small reads through the cookie
 * layer would dominate the cost of reading a big file. */
#define SOURCE_READ_BUFFER_LEN (256 * 1024)
/* A live read waits at most this long, so that --duration and signals are noticed promptly on a
 * quiet link: the handle is non-blocking and we poll its descriptor.  Not immediate mode: on Linux
 * libpcap then uses TPACKET_V2, whose ring has one fixed slot per packet sized for the largest
 * packet the interface can hand over (64 KiB on lo or with GRO), so 32 MiB hold only ~500
 * packets and a short stall drops some (the soak test saw up to 1 in 300 dropped at 10,000
 * packets a second).  TPACKET_V3 packs packets into blocks that the kernel hands over when full
 * or after the same timeout, so a packet waits at most that long and the buffer holds what it
 * says. */
#define LIVE_POLL_TIMEOUT_MS 200

/* Packet timestamps come from the file and may be anything (a pcapng timestamp is 64 bits in
 * any unit, so libpcap can hand over ~10^13 seconds).  Seconds are clamped to about +-73,000
 * years: microseconds, and the differences of two timestamps that flows and reports compute,
 * then fit in a gint64 (found by fuzz-pipeline: signed overflow in the multiplication). */
#define MAX_TIMESTAMP_SECONDS ((G_GINT64_CONSTANT (1) << 61) / G_USEC_PER_SEC)

typedef struct {
  FILE *underlying; /* owned */
  EVP_MD_CTX *digest;
} HashingReader;

/* Hashes a regular file in its own thread. */
typedef struct {
  char *path;
  gint is_cancelled; /* atomic */
  char sha256_hex[65];
} FileHasher;

#define HASH_CHUNK_LEN (1024 * 1024)

static gpointer
hash_file (gpointer data)
{
  FileHasher *hasher = data;
  FILE *file = fopen (hasher->path, "rb");
  EVP_MD_CTX *digest = EVP_MD_CTX_new ();
  g_autofree guint8 *chunk = g_malloc (HASH_CHUNK_LEN);
  gboolean is_ok = file != NULL && digest != NULL && EVP_DigestInit_ex (digest, EVP_sha256 (), NULL);
  while (is_ok && !g_atomic_int_get (&hasher->is_cancelled)) {
    size_t n_read = fread (chunk, 1, HASH_CHUNK_LEN, file);
    if (n_read > 0)
      EVP_DigestUpdate (digest, chunk, n_read);
    if (n_read < HASH_CHUNK_LEN) {
      is_ok = !ferror (file);
      break;
    }
  }
  guint8 value[EVP_MAX_MD_SIZE];
  unsigned int value_len = 0;
  if (is_ok && !g_atomic_int_get (&hasher->is_cancelled)
      && EVP_DigestFinal_ex (digest, value, &value_len) && value_len == 32)
    for (guint i = 0; i < 32; i++)
      g_snprintf (hasher->sha256_hex + 2 * i, 3, "%02X", value[i]);
  EVP_MD_CTX_free (digest);
  if (file != NULL)
    fclose (file);
  return NULL;
}

struct _MtdSource {
  pcap_t *pcap;
  HashingReader *reader; /* standard input and pipes: hashed as libpcap reads */
  GThread *hash_thread;  /* regular files: hashed beside libpcap */
  FileHasher *hasher;
  char *read_buffer;
  gboolean is_live;
  gboolean is_regular_file; /* its size is known: mtd_source_position */
  guint64 n_frames;
  char sha256_hex[65];
  gboolean has_final_hash;
};

static ssize_t
hashing_read (void *cookie, char *buf, size_t size)
{
  HashingReader *reader = cookie;
  size_t n_read = fread (buf, 1, size, reader->underlying);
  if (n_read > 0)
    EVP_DigestUpdate (reader->digest, buf, n_read);
  if (n_read == 0 && ferror (reader->underlying))
    return -1;
  return (ssize_t) n_read;
}

static int
hashing_close (void *cookie)
{
  HashingReader *reader = cookie;
  int status = fclose (reader->underlying);
  EVP_MD_CTX_free (reader->digest);
  g_free (reader);
  return status;
}

static FILE *
open_hashing_file (FILE *underlying, HashingReader **out_reader)
{
  HashingReader *reader = g_new0 (HashingReader, 1);
  reader->underlying = underlying;
  reader->digest = EVP_MD_CTX_new ();
  if (reader->digest == NULL || !EVP_DigestInit_ex (reader->digest, EVP_sha256 (), NULL)) {
    EVP_MD_CTX_free (reader->digest);
    g_free (reader);
    return NULL;
  }
  cookie_io_functions_t functions = { .read = hashing_read, .close = hashing_close };
  FILE *wrapped = fopencookie (reader, "rb", functions);
  if (wrapped == NULL) {
    EVP_MD_CTX_free (reader->digest);
    g_free (reader);
    return NULL;
  }
  *out_reader = reader;
  return wrapped;
}

/* libpcap's messages carry no file name; make them plain words. */
static char *
describe_open_failure (const char *pcap_message)
{
  if (g_str_has_prefix (pcap_message, "unknown file format"))
    return g_strdup ("not a pcap or pcapng capture (unknown file format)");
  if (strstr (pcap_message, "truncated") != NULL || strstr (pcap_message, "premature end") != NULL)
    return g_strdup_printf ("not a complete capture file (%s)", pcap_message);
  return g_strdup (pcap_message);
}

MtdSource *
mtd_source_open_file (const char *path, MtdSourceHash hash, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  gboolean is_stdin = g_strcmp0 (path, "-") == 0;
  gboolean is_regular = FALSE;
  FILE *underlying = NULL;
  if (is_stdin) {
    underlying = fdopen (dup (STDIN_FILENO), "rb");
  } else {
    struct stat info;
    if (stat (path, &info) != 0) {
      int saved_errno = errno;
      g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: %s", path,
                   g_strerror (saved_errno));
      return NULL;
    }
    if (S_ISDIR (info.st_mode)) {
      g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN,
                   "%s: is a directory, not a capture file", path);
      return NULL;
    }
    /* Read-only: input files are evidence and are never modified. */
    underlying = fopen (path, "rb");
    is_regular = S_ISREG (info.st_mode);
  }
  if (underlying == NULL) {
    int saved_errno = errno;
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: %s", path,
                 g_strerror (saved_errno));
    return NULL;
  }
  HashingReader *reader = NULL;
  gboolean is_hashed = hash == MTD_SOURCE_HASH_SHA256;
  FILE *wrapped = is_regular || !is_hashed ? underlying : open_hashing_file (underlying, &reader);
  if (wrapped == NULL) {
    fclose (underlying);
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: cannot set up reading",
                 path);
    return NULL;
  }
  g_autoptr (MtdSource) source = g_new0 (MtdSource, 1);
  source->read_buffer = g_malloc (SOURCE_READ_BUFFER_LEN);
  setvbuf (wrapped, source->read_buffer, _IOFBF, SOURCE_READ_BUFFER_LEN);

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  /* Microsecond precision: frames' times are reported to the microsecond. */
  pcap_t *pcap = pcap_fopen_offline_with_tstamp_precision (wrapped, PCAP_TSTAMP_PRECISION_MICRO,
                                                           errbuf);
  if (pcap == NULL) {
    fclose (wrapped);
    g_autofree char *reason = describe_open_failure (errbuf);
    if (errbuf[0] == '\0') {
      g_free (reason);
      reason = g_strdup ("empty file, not a capture");
    }
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: %s", path, reason);
    return NULL;
  }
  source->pcap = pcap; /* pcap_close closes wrapped, which closes underlying */
  source->reader = reader;
  source->is_regular_file = is_regular;
  if (is_regular && is_hashed) {
    source->hasher = g_new0 (FileHasher, 1);
    source->hasher->path = g_strdup (path);
    source->hash_thread = g_thread_new ("mtd-hash", hash_file, source->hasher);
  }
  return g_steal_pointer (&source);
}

MtdSource *
mtd_source_open_live (const char *interface, const char *bpf_filter, gint snaplen,
                      GError **error)
{
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *pcap = pcap_create (interface, errbuf);
  if (pcap == NULL) {
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: %s", interface, errbuf);
    return NULL;
  }
  g_autoptr (MtdSource) source = g_new0 (MtdSource, 1);
  source->pcap = pcap;
  source->is_live = TRUE;
  pcap_set_snaplen (pcap, snaplen > 0 ? snaplen : 262144);
  pcap_set_promisc (pcap, 0);
  pcap_set_timeout (pcap, LIVE_POLL_TIMEOUT_MS);
  pcap_set_immediate_mode (pcap, 0);
  pcap_set_buffer_size (pcap, 32 * 1024 * 1024);
  int status = pcap_activate (pcap);
  if (status < 0) {
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN, "%s: %s", interface,
                 status == PCAP_ERROR ? pcap_geterr (pcap) : pcap_statustostr (status));
    return NULL;
  }
  if (pcap_setnonblock (pcap, 1, errbuf) != 0 || pcap_get_selectable_fd (pcap) < 0) {
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_OPEN,
                 "%s: cannot read the interface without blocking: %s", interface, errbuf);
    return NULL;
  }
  if (bpf_filter != NULL && bpf_filter[0] != '\0') {
    struct bpf_program program;
    if (pcap_compile (pcap, &program, bpf_filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_FILTER,
                   "filter \"%s\" does not compile: %s", bpf_filter, pcap_geterr (pcap));
      return NULL;
    }
    int set_status = pcap_setfilter (pcap, &program);
    pcap_freecode (&program);
    if (set_status != 0) {
      g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_FILTER, "%s: cannot set filter: %s",
                   interface, pcap_geterr (pcap));
      return NULL;
    }
  }
  return g_steal_pointer (&source);
}

void
mtd_source_free (MtdSource *source)
{
  if (source == NULL)
    return;
  if (source->hash_thread != NULL) {
    g_atomic_int_set (&source->hasher->is_cancelled, 1);
    g_thread_join (source->hash_thread);
  }
  if (source->hasher != NULL) {
    g_free (source->hasher->path);
    g_free (source->hasher);
  }
  if (source->pcap != NULL)
    pcap_close (source->pcap);
  g_free (source->read_buffer);
  g_free (source);
}

static void
finish_hash (MtdSource *source)
{
  if (source->has_final_hash)
    return;
  if (source->hash_thread != NULL) {
    g_thread_join (g_steal_pointer (&source->hash_thread));
    memcpy (source->sha256_hex, source->hasher->sha256_hex, sizeof source->sha256_hex);
    source->has_final_hash = TRUE;
    return;
  }
  if (source->reader == NULL)
    return;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex (source->reader->digest, digest, &digest_len) && digest_len == 32) {
    for (guint i = 0; i < 32; i++)
      g_snprintf (source->sha256_hex + 2 * i, 3, "%02X", digest[i]);
  }
  source->has_final_hash = TRUE;
}

MtdSourceStatus
mtd_source_next (MtdSource *source, MtdPacket *packet, GError **error)
{
  struct pcap_pkthdr *header = NULL;
  const u_char *bytes = NULL;
  int status = pcap_next_ex (source->pcap, &header, &bytes);
  if (status == 0 && source->is_live) {
    struct pollfd descriptor = { .fd = pcap_get_selectable_fd (source->pcap), .events = POLLIN };
    if (poll (&descriptor, 1, LIVE_POLL_TIMEOUT_MS) > 0)
      status = pcap_next_ex (source->pcap, &header, &bytes);
  }
  switch (status) {
  case 1:
    source->n_frames++;
    packet->frame_number = source->n_frames;
    packet->ts_usec = CLAMP ((gint64) header->ts.tv_sec, -MAX_TIMESTAMP_SECONDS,
                             MAX_TIMESTAMP_SECONDS) * G_USEC_PER_SEC
                      + header->ts.tv_usec;
    packet->caplen = header->caplen;
    packet->wire_len = header->len;
    packet->link_type = pcap_datalink (source->pcap);
    packet->bytes = bytes;
    return MTD_SOURCE_PACKET;
  case 0:
    return MTD_SOURCE_TIMEOUT;
  case PCAP_ERROR_BREAK:
    finish_hash (source);
    return MTD_SOURCE_END;
  default: {
    const char *message = pcap_geterr (source->pcap);
    finish_hash (source);
    if (!source->is_live
        && (strstr (message, "truncated") != NULL || strstr (message, "premature") != NULL)) {
      g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_READ,
                   "the file ends in the middle of packet %" G_GUINT64_FORMAT " (%s)",
                   source->n_frames + 1, message);
      return MTD_SOURCE_TRUNCATED;
    }
    g_set_error (error, MTD_SOURCE_ERROR, MTD_SOURCE_ERROR_READ,
                 "reading failed after packet %" G_GUINT64_FORMAT ": %s", source->n_frames,
                 message);
    return MTD_SOURCE_FAILED;
  }
  }
}

void
mtd_source_stop (MtdSource *source)
{
  pcap_breakloop (source->pcap);
}

gint
mtd_source_link_type (const MtdSource *source)
{
  return pcap_datalink (source->pcap);
}

gint
mtd_source_snaplen (const MtdSource *source)
{
  return pcap_snapshot (source->pcap);
}

gint
mtd_source_file_link_type (const MtdSource *source)
{
  gint dlt = pcap_datalink (source->pcap);
  /* libpcap maps DLT_ to LINKTYPE_ values only inside its file writer: let it write a pcap file
   * header to memory and read the link type field back (offset 20, host byte order; the upper
   * bits hold the FCS length). */
  char *memory = NULL;
  size_t memory_len = 0;
  FILE *file = open_memstream (&memory, &memory_len);
  if (file == NULL)
    return dlt;
  pcap_dumper_t *dumper = pcap_dump_fopen (source->pcap, file);
  if (dumper == NULL) {
    fclose (file);
    free (memory);
    return dlt;
  }
  pcap_dump_close (dumper); /* closes file */
  gint linktype = dlt;
  if (memory_len >= 24) {
    guint32 field;
    memcpy (&field, memory + 20, sizeof field);
    linktype = (gint) (field & 0x03FFFFFF);
  }
  free (memory);
  return linktype;
}

const char *
mtd_source_link_type_name (gint link_type, char *buf, gsize buf_len)
{
  const char *name = pcap_datalink_val_to_name (link_type);
  if (name != NULL)
    return name;
  g_snprintf (buf, buf_len, "DLT_%d", link_type);
  return buf;
}

void
mtd_source_sha256 (MtdSource *source, char out_hex[65])
{
  if (source->is_live) {
    out_hex[0] = '\0';
    return;
  }
  finish_hash (source);
  memcpy (out_hex, source->sha256_hex, sizeof source->sha256_hex);
}

gboolean
mtd_source_live_stats (MtdSource *source, guint64 *n_received, guint64 *n_dropped)
{
  struct pcap_stat stats;
  if (!source->is_live || pcap_stats (source->pcap, &stats) != 0)
    return FALSE;
  *n_received = stats.ps_recv;
  *n_dropped = stats.ps_drop + stats.ps_ifdrop;
  return TRUE;
}

gboolean
mtd_source_position (MtdSource *source, guint64 *offset, guint64 *total)
{
  g_return_val_if_fail (source != NULL && offset != NULL && total != NULL, FALSE);
  if (!source->is_regular_file)
    return FALSE;
  /* libpcap reads the FILE* it was given; ftello counts what stdio has handed over, not what it
   * has buffered ahead. */
  FILE *file = pcap_file (source->pcap);
  struct stat info;
  if (file == NULL || fstat (fileno (file), &info) != 0)
    return FALSE;
  off_t position = ftello (file);
  if (position < 0)
    return FALSE;
  *offset = (guint64) position;
  *total = (guint64) MAX (info.st_size, position);
  return TRUE;
}
