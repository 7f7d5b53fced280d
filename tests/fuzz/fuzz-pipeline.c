/* fuzz-pipeline.c: libFuzzer harness for the whole analysis, from capture file bytes to reports.
 *
 * The input is a pcap or pcapng file.  It is written to a memory file (memfd_create) that
 * mtd_source_open_file opens by its /proc/self/fd path, so the real libpcap reading and hashing
 * code runs; then the packets go through the pipeline as src/main.c's read_source does, and each
 * finished connection is diagnosed and written by the report writers (JSON, text, and JSON Lines
 * with --redact=all, whose scrubbing of free text then meets hostile text too) and as a live
 * line; each flow's packets also pass through a small --save-flagged ring and the pcapng writer
 * (into /dev/null); at the end the connections are grouped into request chains (with a small leg cap and
 * one --hop name, so both paths run), diagnosed and written too.  The output goes to memory and is checked for what the report writers promise: valid
 * UTF-8 and no control characters from the wire (only newlines, and tabs in text).
 *
 * One pipeline serves the whole process, each input being one more capture file to it, as when
 * "mtlsdiag analyze" is given several files: starting nDPI costs far more than most inputs, and
 * a fresh pipeline per input would let the fuzzer run only a few inputs a second.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "mtd-chain.h"
#include "mtd-diagnose.h"
#include "mtd-packet-ring.h"
#include "mtd-pcapng-writer.h"
#include "mtd-pipeline.h"
#include "mtd-report.h"
#include "mtd-source.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef struct {
  MtdReport *json;     /* owned */
  MtdReport *text;     /* owned */
  MtdReport *jsonl;    /* owned: JSON Lines, --redact=all */
  FILE *live_out;      /* borrowed */
  MtdChainer *chainer; /* owned, one per input */
  GHashTable *hop_names; /* borrowed */
  MtdPipeline *pipeline; /* borrowed */
  MtdSummary *summary; /* borrowed from the pipeline */
} FuzzRun;

static gint64
open_since (const char *ip, gboolean is_server, gpointer user_data)
{
  return mtd_pipeline_oldest_live_at (user_data, ip, is_server);
}

static void
on_connection (MtdConnection *connection, gpointer user_data)
{
  FuzzRun *run = user_data;
  g_autoptr (MtdConnection) owned = connection;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (owned);
  mtd_summary_add_connection (run->summary, owned, mtd_diagnosis_has_problem (diagnosis));
  mtd_report_connection (run->json, owned, diagnosis);
  mtd_report_connection (run->text, owned, diagnosis);
  mtd_report_connection (run->jsonl, owned, diagnosis);
  mtd_report_live_line (run->jsonl, run->live_out, owned, diagnosis);
  g_autofree char *label = mtd_diagnosis_label (diagnosis);
  mtd_chainer_add_connection (run->chainer, owned, label);
  mtd_chainer_settle (run->chainer, open_since, run->pipeline);
}

static void
on_chain (const MtdChain *chain, gpointer user_data)
{
  FuzzRun *run = user_data;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_chain (chain);
  mtd_report_chain (run->json, chain, diagnosis, run->hop_names);
  mtd_report_chain (run->text, chain, diagnosis, run->hop_names);
  mtd_report_chain (run->jsonl, chain, diagnosis, run->hop_names);
}

/* live --save-flagged's hooks: every flow's packets go through a small ring (so that it drops
 * and wraps) and, when the flow ends, through the pcapng writer into /dev/null. */
#define FUZZ_RING_LEN 2048

static MtdPcapngWriter *saver = NULL;

static gpointer
on_flow_start (guint64 connection_id, gpointer user_data)
{
  return mtd_packet_ring_new (FUZZ_RING_LEN);
}

static void
on_flow_packet (gpointer flow_data, const MtdPacket *packet, gpointer user_data)
{
  mtd_packet_ring_add (flow_data, packet);
}

static void
on_flow_end (gpointer flow_data, guint64 connection_id, gpointer user_data)
{
  g_autoptr (MtdPacketRing) ring = flow_data;
  g_autoptr (GError) error = NULL;
  if (!mtd_pcapng_writer_add_ring (saver, ring, connection_id, &error))
    g_error ("writing to /dev/null failed: %s", error->message);
}

static void
on_handshake (MtdConnection *connection, gpointer user_data)
{
  FuzzRun *run = user_data;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  mtd_report_live_line (run->text, run->live_out, connection, diagnosis);
}

/* A report must be valid UTF-8 and carry no control character but newline (and tab). */
static void
check_output (const char *output, gsize len, gboolean may_have_tabs)
{
  g_assert (g_utf8_validate (output, (gssize) len, NULL));
  for (gsize i = 0; i < len; i++) {
    guchar c = (guchar) output[i];
    if (c == '\n' || (c == '\t' && may_have_tabs))
      continue;
    g_assert (c >= 0x20 && c != 0x7f);
  }
}

/* The memory file the input is written to, made once per process. */
static int
input_fd (void)
{
  static int fd = -1;
  if (fd < 0) {
    fd = memfd_create ("fuzz-pipeline-input", MFD_CLOEXEC);
    if (fd < 0) {
      perror ("memfd_create");
      abort ();
    }
  }
  return fd;
}

static void
write_input (int fd, const uint8_t *data, size_t size)
{
  if (ftruncate (fd, 0) != 0)
    abort ();
  size_t at = 0;
  while (at < size) {
    ssize_t n = pwrite (fd, data + at, size - at, (off_t) at);
    if (n <= 0)
      abort ();
    at += (size_t) n;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = input_fd ();
  write_input (fd, data, size);
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autoptr (GError) error = NULL;
  g_autoptr (MtdSource) source = mtd_source_open_file (path, MTD_SOURCE_HASH_SHA256, &error);
  if (source == NULL) {
    g_assert (error != NULL);
    return 0;
  }

  char *json_output = NULL, *text_output = NULL, *jsonl_output = NULL, *live_output = NULL;
  size_t json_len = 0, text_len = 0, jsonl_len = 0, live_len = 0;
  FILE *json_out = open_memstream (&json_output, &json_len);
  FILE *text_out = open_memstream (&text_output, &text_len);
  FILE *jsonl_out = open_memstream (&jsonl_output, &jsonl_len);
  FILE *live_out = open_memstream (&live_output, &live_len);
  g_assert (json_out != NULL && text_out != NULL && jsonl_out != NULL && live_out != NULL);

  static FuzzRun run;
  static MtdPipelineCallbacks callbacks = { .on_connection = on_connection,
                                            .on_handshake = on_handshake,
                                            .on_flow_start = on_flow_start,
                                            .on_flow_packet = on_flow_packet,
                                            .on_flow_end = on_flow_end };
  static MtdPipeline *pipeline = NULL;
  if (pipeline == NULL) {
    saver = mtd_pcapng_writer_open ("/dev/null", 1, 262144, "fuzz", "fuzz", &error);
    g_assert (saver != NULL);
    MtdPipelineOptions options;
    mtd_pipeline_options_init_default (&options);
    /* Small enough that eviction and the cache reset happen within one input. */
    options.flow_limits.max_flows = 8;
    options.max_http_exchanges = 4;
    options.max_cached_certs = 4;
    pipeline = mtd_pipeline_new (&options, &callbacks, &run, &error);
    g_assert (pipeline != NULL);
  }
  run.json = mtd_report_new (MTD_REPORT_JSON, json_out, "fuzz");
  run.text = mtd_report_new (MTD_REPORT_TEXT, text_out, "fuzz");
  run.jsonl = mtd_report_new (MTD_REPORT_JSONL, jsonl_out, "fuzz");
  mtd_report_set_redaction (run.jsonl, MTD_REDACT_ALL);
  run.live_out = live_out;
  run.summary = mtd_pipeline_summary (pipeline);
  static GHashTable *hop_names = NULL;
  static MtdChainOptions chain_options;
  if (hop_names == NULL) {
    /* Static keys and values: nothing to free. */
    hop_names = g_hash_table_new (g_str_hash, g_str_equal);
    g_hash_table_insert (hop_names, (gpointer) "10.0.0.4", (gpointer) "gateway");
    g_hash_table_insert (hop_names, (gpointer) "10.1.0.4", (gpointer) "gateway");
    mtd_chain_options_init_default (&chain_options);
    chain_options.max_legs = 16;
    chain_options.hop_names = hop_names;
    chain_options.is_streaming = TRUE;
    chain_options.settle_min_growth = 1;
  }
  run.chainer = mtd_chainer_new (&chain_options, on_chain, &run);
  run.hop_names = hop_names;
  run.pipeline = pipeline;

  g_autoptr (GPtrArray) inputs
      = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_input_info_free);
  MtdInputInfo *info = mtd_input_info_new ("fuzz.pcap");
  g_ptr_array_add (inputs, info);
  char buf[32];
  info->link_type = g_strdup (mtd_source_link_type_name (mtd_source_link_type (source), buf,
                                                         sizeof buf));
  /* Input 0 or 1: the text report names the input only from the second on. */
  mtd_pipeline_begin_input (pipeline, (guint) (size & 1), info);
  /* As src/main.c's read_source. */
  for (;;) {
    MtdPacket packet;
    g_autoptr (GError) read_error = NULL;
    MtdSourceStatus status = mtd_source_next (source, &packet, &read_error);
    if (status == MTD_SOURCE_PACKET) {
      mtd_pipeline_add_packet (pipeline, &packet);
      continue;
    }
    g_assert (status != MTD_SOURCE_TIMEOUT);
    if (status == MTD_SOURCE_END)
      break;
    g_assert (read_error != NULL);
    g_ptr_array_add (info->warnings, g_strdup_printf ("%s; the packets before it are analysed",
                                                      read_error->message));
    if (status == MTD_SOURCE_TRUNCATED)
      mtd_pipeline_mark_input_truncated (pipeline);
    break;
  }
  mtd_pipeline_end_input (pipeline);
  mtd_source_sha256 (source, info->sha256_hex);

  mtd_chainer_finish (run.chainer);
  g_autoptr (GError) json_error = NULL;
  g_autoptr (GError) text_error = NULL;
  g_assert (mtd_report_finish (run.json, (const MtdInputInfo *const *) inputs->pdata, inputs->len,
                               mtd_pipeline_summary (pipeline), &json_error));
  g_assert (mtd_report_finish (run.text, (const MtdInputInfo *const *) inputs->pdata, inputs->len,
                               mtd_pipeline_summary (pipeline), &text_error));
  g_autoptr (GError) jsonl_error = NULL;
  g_assert (mtd_report_finish (run.jsonl, (const MtdInputInfo *const *) inputs->pdata,
                               inputs->len, mtd_pipeline_summary (pipeline), &jsonl_error));
  g_clear_pointer (&run.json, mtd_report_free);
  g_clear_pointer (&run.text, mtd_report_free);
  g_clear_pointer (&run.jsonl, mtd_report_free);
  g_clear_pointer (&run.chainer, mtd_chainer_free);
  run.live_out = NULL;
  fclose (json_out);
  fclose (text_out);
  fclose (jsonl_out);
  fclose (live_out);
  check_output (json_output, json_len, FALSE);
  check_output (text_output, text_len, TRUE);
  check_output (jsonl_output, jsonl_len, FALSE);
  check_output (live_output, live_len, TRUE);
  free (json_output);
  free (text_output);
  free (jsonl_output);
  free (live_output);
  return 0;
}
