/* test-packet-ring.c: unit tests of the per-flow packet ring (mtd-packet-ring.h) and the pcapng
 * writer (mtd-pcapng-writer.h).
 *
 * The ring is checked against a model (a queue of the packets that fit, oldest dropped first)
 * for packets of random sizes, so that records wrap around the end of the buffer in every
 * position.  The pcapng files are read back through libpcap (mtd_source_open_file), which must
 * see the same packets, times and link type; the comments are looked for in the file's bytes
 * (libpcap does not return them) as draft-ietf-opsawg-pcapng §3.5 lays options out.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "mtd-packet-ring.h"
#include "mtd-pcapng-writer.h"
#include "mtd-source.h"

/* A packet of the model: its bytes are a pattern of its frame number, so any mix-up shows. */
typedef struct {
  guint64 frame;
  guint32 caplen;
  guint32 wire_len;
  gint64 ts_usec;
} ModelPacket;

static gint64
packet_time (guint64 frame)
{
  return G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC + (gint64) frame * 1000;
}

static void
fill_bytes (guint8 *bytes, guint32 caplen, guint64 frame)
{
  for (guint32 i = 0; i < caplen; i++)
    bytes[i] = (guint8) (frame * 31 + i);
}

static void
add_packet (MtdPacketRing *ring, guint64 frame, guint32 caplen, guint32 wire_len)
{
  g_autofree guint8 *bytes = g_malloc (MAX (caplen, 1));
  fill_bytes (bytes, caplen, frame);
  MtdPacket packet = {
    .frame_number = frame,
    .ts_usec = packet_time (frame),
    .caplen = caplen,
    .wire_len = wire_len,
    .link_type = 1,
    .bytes = bytes,
  };
  mtd_packet_ring_add (ring, &packet);
}

/* The ring holds exactly the model's packets, oldest first, with their bytes. */
static void
assert_ring_equals (const MtdPacketRing *ring, GArray *model)
{
  g_assert_cmpuint (mtd_packet_ring_n_packets (ring), ==, model->len);
  MtdPacketRingIter iter;
  MtdRingPacket packet;
  mtd_packet_ring_iter_init (ring, &iter);
  for (guint i = 0; i < model->len; i++) {
    const ModelPacket *want = &g_array_index (model, ModelPacket, i);
    g_assert_true (mtd_packet_ring_iter_next (ring, &iter, &packet));
    g_assert_cmpuint (packet.frame_number, ==, want->frame);
    g_assert_cmpuint (packet.caplen, ==, want->caplen);
    g_assert_cmpuint (packet.wire_len, ==, want->wire_len);
    g_assert_cmpint (packet.ts_usec, ==, packet_time (want->frame));
    g_assert_cmpuint (packet.bytes_len[0] + packet.bytes_len[1], ==, want->caplen);
    g_autofree guint8 *expected = g_malloc (MAX (want->caplen, 1));
    fill_bytes (expected, want->caplen, want->frame);
    if (packet.bytes_len[0] > 0)
      g_assert_cmpmem (packet.bytes[0], packet.bytes_len[0], expected, packet.bytes_len[0]);
    if (packet.bytes_len[1] > 0)
      g_assert_cmpmem (packet.bytes[1], packet.bytes_len[1], expected + packet.bytes_len[0],
                       packet.bytes_len[1]);
  }
  g_assert_false (mtd_packet_ring_iter_next (ring, &iter, &packet));
}

static void
test_ring_drops_oldest (void)
{
  /* Ten records of 24 + 100 bytes hold 1240 bytes: 8 fit in 1000. */
  g_autoptr (MtdPacketRing) ring = mtd_packet_ring_new (1000);
  g_autoptr (GArray) model = g_array_new (FALSE, FALSE, sizeof (ModelPacket));
  for (guint64 frame = 1; frame <= 10; frame++)
    add_packet (ring, frame, 100, 1500);
  for (guint64 frame = 3; frame <= 10; frame++) {
    ModelPacket packet = { frame, 100, 1500, 0 };
    g_array_append_val (model, packet);
  }
  assert_ring_equals (ring, model);
  g_assert_cmpuint (mtd_packet_ring_n_dropped (ring), ==, 2);
}

static void
test_ring_oversized_packet (void)
{
  g_autoptr (MtdPacketRing) ring = mtd_packet_ring_new (200);
  add_packet (ring, 1, 50, 50);
  add_packet (ring, 2, 50, 50);
  g_assert_cmpuint (mtd_packet_ring_n_packets (ring), ==, 2);
  /* 24 + 177 > 200: nothing can hold it, so the ring is emptied and it is lost too. */
  add_packet (ring, 3, 177, 177);
  g_assert_cmpuint (mtd_packet_ring_n_packets (ring), ==, 0);
  g_assert_cmpuint (mtd_packet_ring_n_dropped (ring), ==, 3);
  /* Exactly full is fine. */
  add_packet (ring, 4, 176, 176);
  g_assert_cmpuint (mtd_packet_ring_n_packets (ring), ==, 1);
  add_packet (ring, 5, 0, 60);
  g_assert_cmpuint (mtd_packet_ring_n_packets (ring), ==, 1);
  g_assert_cmpuint (mtd_packet_ring_n_dropped (ring), ==, 4);
}

/* Random sizes against the model, so that headers and bytes wrap at every offset. */
static void
test_ring_random_against_model (void)
{
  const gsize capacities[] = { 1024, 1500, 4099, 65536 };
  for (gsize c = 0; c < G_N_ELEMENTS (capacities); c++) {
    GRand *rand = g_rand_new_with_seed (7 + (guint32) c);
    gsize capacity = capacities[c];
    g_autoptr (MtdPacketRing) ring = mtd_packet_ring_new (capacity);
    g_autoptr (GArray) model = g_array_new (FALSE, FALSE, sizeof (ModelPacket));
    gsize model_len = 0;
    guint64 n_dropped = 0;
    for (guint64 frame = 1; frame <= 3000; frame++) {
      guint32 caplen = (guint32) g_rand_int_range (rand, 0, (gint32) (capacity / 3));
      if (g_rand_int_range (rand, 0, 50) == 0)
        caplen = (guint32) capacity; /* now and then one that cannot fit */
      add_packet (ring, frame, caplen, caplen + 4);
      gsize record_len = MTD_PACKET_RING_RECORD_OVERHEAD + caplen;
      if (record_len > capacity) {
        n_dropped += model->len + 1;
        g_array_set_size (model, 0);
        model_len = 0;
      } else {
        while (model_len + record_len > capacity) {
          const ModelPacket *oldest = &g_array_index (model, ModelPacket, 0);
          model_len -= MTD_PACKET_RING_RECORD_OVERHEAD + oldest->caplen;
          g_array_remove_index (model, 0);
          n_dropped++;
        }
        ModelPacket packet = { frame, caplen, caplen + 4, 0 };
        g_array_append_val (model, packet);
        model_len += record_len;
      }
      assert_ring_equals (ring, model);
      g_assert_cmpuint (mtd_packet_ring_n_dropped (ring), ==, n_dropped);
    }
    g_rand_free (rand);
  }
}

/* ---- pcapng ---------------------------------------------------------------------------------- */

static char *
temp_path (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("mtd-pcapng-XXXXXX", &error);
  g_assert_no_error (error);
  return g_build_filename (dir, name, NULL);
}

static void
remove_temp (const char *path)
{
  g_remove (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_rmdir (dir);
}

static gboolean
contains (const guint8 *haystack, gsize haystack_len, const char *needle)
{
  gsize needle_len = strlen (needle);
  for (gsize i = 0; i + needle_len <= haystack_len; i++)
    if (memcmp (haystack + i, needle, needle_len) == 0)
      return TRUE;
  return FALSE;
}

static void
test_pcapng_round_trip (void)
{
  g_autofree char *path = temp_path ("saved.pcapng");
  g_autoptr (GError) error = NULL;
  /* Two connections: one whole, one whose ring dropped its first packets (records wrap). */
  g_autoptr (MtdPacketRing) whole = mtd_packet_ring_new (4096);
  add_packet (whole, 3, 60, 60);
  add_packet (whole, 5, 1001, 1514); /* cut by a snaplen: caplen < wire_len; 1001 pads to 1004 */
  add_packet (whole, 9, 0, 54);
  g_autoptr (MtdPacketRing) cut = mtd_packet_ring_new (1024);
  for (guint64 frame = 20; frame < 30; frame++)
    add_packet (cut, frame, 150 + (guint32) frame, 150 + (guint32) frame);
  g_assert_cmpuint (mtd_packet_ring_n_dropped (cut), >, 0);

  MtdPcapngWriter *writer = mtd_pcapng_writer_open (path, 1, 262144, "lo", "mtlsdiag test",
                                                    &error);
  g_assert_no_error (error);
  g_assert_true (mtd_pcapng_writer_add_ring (writer, whole, 7, &error));
  g_assert_no_error (error);
  g_assert_true (mtd_pcapng_writer_add_ring (writer, cut, 8, &error));
  g_assert_no_error (error);
  guint64 n_written = mtd_pcapng_writer_n_packets (writer);
  g_assert_cmpuint (n_written, ==, 3 + mtd_packet_ring_n_packets (cut));
  g_assert_true (mtd_pcapng_writer_close (writer, &error));
  g_assert_no_error (error);

  /* libpcap reads it back: the same packets in the same order. */
  g_autoptr (MtdSource) source = mtd_source_open_file (path, MTD_SOURCE_HASH_SHA256, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mtd_source_link_type (source), ==, 1);
  g_assert_cmpint (mtd_source_snaplen (source), ==, 262144);
  g_autoptr (GArray) expected = g_array_new (FALSE, FALSE, sizeof (ModelPacket));
  const ModelPacket whole_packets[] = { { 3, 60, 60, 0 }, { 5, 1001, 1514, 0 }, { 9, 0, 54, 0 } };
  g_array_append_vals (expected, whole_packets, G_N_ELEMENTS (whole_packets));
  guint64 first_cut_frame = 30 - mtd_packet_ring_n_packets (cut);
  for (guint64 frame = first_cut_frame; frame < 30; frame++) {
    ModelPacket packet = { frame, 150 + (guint32) frame, 150 + (guint32) frame, 0 };
    g_array_append_val (expected, packet);
  }
  for (guint i = 0; i < expected->len; i++) {
    const ModelPacket *want = &g_array_index (expected, ModelPacket, i);
    MtdPacket packet;
    g_assert_cmpint (mtd_source_next (source, &packet, &error), ==, MTD_SOURCE_PACKET);
    g_assert_cmpuint (packet.caplen, ==, want->caplen);
    g_assert_cmpuint (packet.wire_len, ==, want->wire_len);
    g_assert_cmpint (packet.ts_usec, ==, packet_time (want->frame));
    g_autofree guint8 *bytes = g_malloc (MAX (want->caplen, 1));
    fill_bytes (bytes, want->caplen, want->frame);
    if (want->caplen > 0)
      g_assert_cmpmem (packet.bytes, packet.caplen, bytes, want->caplen);
  }
  MtdPacket packet;
  g_assert_cmpint (mtd_source_next (source, &packet, &error), ==, MTD_SOURCE_END);
  g_assert_no_error (error);

  /* The comments, and the block structure: every block's two lengths agree and are multiples
   * of 4 (§3.1). */
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &contents_len, &error));
  const guint8 *bytes = (const guint8 *) contents;
  g_assert_true (contains (bytes, contents_len, "mtlsdiag connection 7, frame 3"));
  g_assert_true (contains (bytes, contents_len, "mtlsdiag connection 7, frame 9"));
  g_autofree char *cut_comment = g_strdup_printf (
      "mtlsdiag connection 8, frame %" G_GUINT64_FORMAT " (its first %" G_GUINT64_FORMAT
      " packets did not fit in --save-ring-bytes)",
      first_cut_frame, mtd_packet_ring_n_dropped (cut));
  g_assert_true (contains (bytes, contents_len, cut_comment));
  g_assert_true (contains (bytes, contents_len, "mtlsdiag test"));
  gsize offset = 0;
  guint n_blocks = 0;
  while (offset < contents_len) {
    guint32 type, total_len, trailer_len;
    g_assert_cmpuint (offset + 12, <=, contents_len);
    memcpy (&type, bytes + offset, 4);
    memcpy (&total_len, bytes + offset + 4, 4);
    g_assert_cmpuint (total_len % 4, ==, 0);
    g_assert_cmpuint (offset + total_len, <=, contents_len);
    memcpy (&trailer_len, bytes + offset + total_len - 4, 4);
    g_assert_cmpuint (trailer_len, ==, total_len);
    if (n_blocks == 0)
      g_assert_cmphex (type, ==, 0x0A0D0D0A);
    else if (n_blocks == 1)
      g_assert_cmphex (type, ==, 0x00000001);
    else
      g_assert_cmphex (type, ==, 0x00000006);
    offset += total_len;
    n_blocks++;
  }
  g_assert_cmpuint (n_blocks, ==, 2 + n_written);
  g_clear_pointer (&source, mtd_source_free);
  remove_temp (path);
}

static void
test_pcapng_open_fails (void)
{
  g_autoptr (GError) error = NULL;
  MtdPcapngWriter *writer = mtd_pcapng_writer_open ("/nonexistent-mtlsdiag-dir/x.pcapng", 1,
                                                    65535, NULL, "mtlsdiag", &error);
  g_assert_null (writer);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent-mtlsdiag-dir/x.pcapng"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/packet-ring/drops-oldest", test_ring_drops_oldest);
  g_test_add_func ("/packet-ring/oversized-packet", test_ring_oversized_packet);
  g_test_add_func ("/packet-ring/random-against-model", test_ring_random_against_model);
  g_test_add_func ("/pcapng-writer/round-trip", test_pcapng_round_trip);
  g_test_add_func ("/pcapng-writer/open-fails", test_pcapng_open_fails);
  return g_test_run ();
}
