/* main.c: the mtlsdiag command line: options, wiring of the layers, exit codes.
 *
 * Exit status: 0 no client-certificate problem seen, 1 one was seen, 2 unusable input or usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mtd-chain.h"
#include "mtd-checks.h"
#include "mtd-diagnose.h"
#include "mtd-keylog.h"
#include "mtd-pcapng-secrets.h"
#include "mtd-pipeline.h"
#include "mtd-report.h"
#include "mtd-source.h"

enum {
  EXIT_NO_PROBLEM = 0,
  EXIT_PROBLEM = 1,
  EXIT_UNUSABLE = 2,
};

typedef struct {
  MtdReport *report;         /* owned */
  MtdChainer *chainer;       /* owned */
  GHashTable *hop_names;     /* borrowed: --hop */
  MtdPipeline *pipeline;     /* borrowed, NULL until started */
  MtdSummary *summary;       /* borrowed from the pipeline */
  FILE *live_out;            /* borrowed: where live lines go, NULL when not live */
  const MtdChecks *checks;   /* borrowed: --app, --expect-thumbprint, --ca */
  gboolean has_problem;
} RunContext;

/* Set from the signal handler; the capture loop checks it. */
static volatile sig_atomic_t is_stop_requested = 0;
static MtdSource *live_source = NULL;

static gint64
open_since (const char *ip, gboolean is_server, gpointer user_data)
{
  return mtd_pipeline_oldest_live_at (user_data, ip, is_server);
}

static void
on_connection (MtdConnection *connection, gpointer user_data)
{
  RunContext *context = user_data;
  g_autoptr (MtdConnection) owned = connection;
  mtd_checks_apply (context->checks, owned);
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (owned);
  gboolean has_problem = mtd_diagnosis_has_problem (diagnosis);
  context->has_problem |= has_problem;
  mtd_summary_add_connection (context->summary, owned, has_problem);
  mtd_report_connection (context->report, owned, diagnosis);
  g_autofree char *label = mtd_diagnosis_label (diagnosis);
  mtd_chainer_add_connection (context->chainer, owned, label);
  if (context->pipeline != NULL)
    mtd_chainer_settle (context->chainer, open_since, context->pipeline);
}

/* A request chain is final: diagnose it, count it and write it. */
static void
on_chain (const MtdChain *chain, gpointer user_data)
{
  RunContext *context = user_data;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_chain (chain);
  gboolean has_problem = mtd_diagnosis_has_problem (diagnosis);
  context->has_problem |= has_problem;
  context->summary->n_chains++;
  context->summary->n_chains_by_verdict[chain->verdict]++;
  context->summary->n_chains_with_problem += has_problem ? 1 : 0;
  mtd_report_chain (context->report, chain, diagnosis, context->hop_names);
}

static void
on_handshake (const MtdConnection *connection, gpointer user_data)
{
  RunContext *context = user_data;
  if (context->live_out == NULL)
    return;
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  mtd_report_live_line (context->live_out, connection, diagnosis);
  fflush (context->live_out);
}

static void
on_signal (int signal_number)
{
  (void) signal_number;
  is_stop_requested = 1;
  if (live_source != NULL)
    mtd_source_stop (live_source);
}

static void
print_error (const char *message)
{
  fprintf (stderr, "mtlsdiag: %s\n", message);
}

static void
print_warning (const char *path, const char *message)
{
  fprintf (stderr, "mtlsdiag: warning: %s: %s\n", path, message);
}

/* Common options of both commands. */
typedef struct {
  char *format_name;
  char *output_path;
  gint max_flows;
  gint idle_timeout_seconds;
  gboolean is_version;
  char **extra_cert_headers; /* --cert-header, NULL-terminated */
  char **hops;               /* --hop ADDRESS=NAME, NULL-terminated */
  char **keylog_paths;       /* --keylog FILE, NULL-terminated */
  char **app_addresses;      /* --app ADDRESS, NULL-terminated */
  char **expected_thumbprints; /* --expect-thumbprint HEX, NULL-terminated */
  char **ca_paths;           /* --ca FILE, NULL-terminated */
  MtdChecks *checks;         /* owned: built from the three above */
  MtdKeyLog *keylog;         /* owned: the secrets of --keylog and of the inputs' pcapng blocks */
  GPtrArray *keylog_warnings; /* char*, owned */
  gdouble chain_window_seconds;
  GHashTable *hop_names;     /* address (owned) -> name (owned), from hops */
  char *interface;  /* live only */
  char *filter;     /* live only */
} CommonOptions;

static void
common_options_clear (CommonOptions *common)
{
  g_free (common->format_name);
  g_free (common->output_path);
  g_free (common->interface);
  g_free (common->filter);
  g_strfreev (common->extra_cert_headers);
  g_strfreev (common->hops);
  g_strfreev (common->keylog_paths);
  g_strfreev (common->app_addresses);
  g_strfreev (common->expected_thumbprints);
  g_strfreev (common->ca_paths);
  mtd_checks_free (common->checks);
  mtd_keylog_free (common->keylog);
  if (common->keylog_warnings != NULL)
    g_ptr_array_unref (common->keylog_warnings);
  if (common->hop_names != NULL)
    g_hash_table_unref (common->hop_names);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CommonOptions, common_options_clear)

static const char *usage_summary =
    "Commands:\n"
    "  analyze [OPTIONS] FILE...   analyse pcap or pcapng files (\"-\" reads standard input)\n"
    "  live -i IFACE [OPTIONS]     analyse a live interface until interrupted\n"
    "\n"
    "Exit status: 0 no client-certificate problem seen, 1 a problem was seen,\n"
    "2 unusable input or usage error.\n"
    "Run \"mtlsdiag COMMAND --help\" for a command's options.";

static void
add_common_entries (GOptionContext *option_context, CommonOptions *common)
{
  GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &common->format_name,
      "Report format: text (default) or json", "FORMAT" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &common->output_path,
      "Write the report to FILE instead of standard output", "FILE" },
    { "max-flows", 0, 0, G_OPTION_ARG_INT, &common->max_flows,
      "Live flows kept at once; the idlest is evicted beyond this (default 200000)", "N" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &common->idle_timeout_seconds,
      "Seconds without packets after which a flow ends (default 300)", "SECONDS" },
    { "cert-header", 0, 0, G_OPTION_ARG_STRING_ARRAY, &common->extra_cert_headers,
      "Also treat request header NAME as a client-certificate forwarding header (repeatable)",
      "NAME" },
    { "keylog", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &common->keylog_paths,
      "Decrypt TLS with the secrets of an NSS key log (SSLKEYLOGFILE), repeatable; secrets in "
      "pcapng Decryption Secrets Blocks of the inputs are read too",
      "FILE" },
    { "hop", 0, 0, G_OPTION_ARG_STRING_ARRAY, &common->hops,
      "Name a host of the ingress chain; give every address it uses the same NAME, so a leg "
      "leaving one address continues one arriving at another (repeatable)",
      "ADDRESS=NAME" },
    { "app", 0, 0, G_OPTION_ARG_STRING_ARRAY, &common->app_addresses,
      "The application's address or network (CIDR): connections to it are inbound, "
      "connections it opens are outbound (repeatable)",
      "ADDRESS" },
    { "expect-thumbprint", 0, 0, G_OPTION_ARG_STRING_ARRAY, &common->expected_thumbprints,
      "SHA-1 thumbprint of a client certificate that should be presented; any other is a "
      "finding (repeatable)",
      "HEX" },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &common->ca_paths,
      "Validate each presented client chain against the CAs of this PEM bundle at the "
      "capture's time, as the application must (repeatable)",
      "FILE" },
    { "chain-window", 0, 0, G_OPTION_ARG_DOUBLE, &common->chain_window_seconds,
      "Clock difference tolerated between captures taken on different hosts when linking "
      "their legs into chains (default 2)",
      "SECONDS" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &common->is_version, "Print the version and exit",
      NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_option_context_add_main_entries (option_context, entries, NULL);
}

/* --hop ADDRESS=NAME: the address as the report prints it (inet_ntop's form) -> NAME. */
static gboolean
parse_hops (CommonOptions *common, GError **error)
{
  common->hop_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; common->hops != NULL && common->hops[i] != NULL; i++) {
    const char *option = common->hops[i];
    const char *equals = strchr (option, '=');
    if (equals == NULL || equals == option || equals[1] == '\0') {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--hop \"%s\": expected ADDRESS=NAME, for example 10.0.0.4=appgw", option);
      return FALSE;
    }
    g_autofree char *address = g_strndup (option, (gsize) (equals - option));
    guint8 bytes[16];
    char printable[INET6_ADDRSTRLEN];
    int family = strchr (address, ':') != NULL ? AF_INET6 : AF_INET;
    if (inet_pton (family, address, bytes) != 1
        || inet_ntop (family, bytes, printable, sizeof printable) == NULL) {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--hop \"%s\": \"%s\" is not an IPv4 or IPv6 address", option, address);
      return FALSE;
    }
    g_hash_table_replace (common->hop_names, g_strdup (printable), g_strdup (equals + 1));
  }
  return TRUE;
}

static gboolean
prepare_common (CommonOptions *common, MtdReportFormat *format,
                MtdPipelineOptions *pipeline_options, GError **error)
{
  if (!parse_hops (common, error))
    return FALSE;
  common->checks = mtd_checks_new ();
  for (guint i = 0; common->app_addresses != NULL && common->app_addresses[i] != NULL; i++)
    if (!mtd_checks_add_app (common->checks, common->app_addresses[i], error))
      return FALSE;
  for (guint i = 0; common->expected_thumbprints != NULL && common->expected_thumbprints[i] != NULL;
       i++)
    if (!mtd_checks_add_expected_thumbprint (common->checks, common->expected_thumbprints[i],
                                             error))
      return FALSE;
  for (guint i = 0; common->ca_paths != NULL && common->ca_paths[i] != NULL; i++)
    if (!mtd_checks_add_ca_file (common->checks, common->ca_paths[i], error))
      return FALSE;
  common->keylog = mtd_keylog_new ();
  common->keylog_warnings = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; common->keylog_paths != NULL && common->keylog_paths[i] != NULL; i++)
    if (!mtd_keylog_add_file (common->keylog, common->keylog_paths[i], common->keylog_warnings,
                              error))
      return FALSE;
  if (common->chain_window_seconds < 0 || common->chain_window_seconds > 3600) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--chain-window must be between 0 and 3600 seconds");
    return FALSE;
  }
  if (!mtd_report_parse_format (common->format_name != NULL ? common->format_name : "text",
                                format)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--format: unknown format \"%s\" (use text or json)", common->format_name);
    return FALSE;
  }
  mtd_pipeline_options_init_default (pipeline_options);
  pipeline_options->extra_cert_headers = (const char *const *) common->extra_cert_headers;
  pipeline_options->keylog = common->keylog;
  if (common->max_flows < 0 || common->idle_timeout_seconds < 0) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--max-flows and --idle-timeout must not be negative");
    return FALSE;
  }
  if (common->max_flows > 0)
    pipeline_options->flow_limits.max_flows = (guint) common->max_flows;
  if (common->idle_timeout_seconds > 0)
    pipeline_options->flow_limits.idle_timeout_usec
        = (gint64) common->idle_timeout_seconds * G_USEC_PER_SEC;
  return TRUE;
}

/* Decryption is attempted when the user gave key logs or the inputs carried secrets; their
 * warnings go to standard error now and into the first input's report entry later. */
static void
use_keylog_if_any (CommonOptions *common, MtdPipelineOptions *pipeline_options)
{
  gboolean has_keylog_option = common->keylog_paths != NULL && common->keylog_paths[0] != NULL;
  pipeline_options->keylog = has_keylog_option || mtd_keylog_n_secrets (common->keylog) > 0
                                 ? common->keylog
                                 : NULL;
  for (guint i = 0; i < common->keylog_warnings->len; i++)
    fprintf (stderr, "mtlsdiag: warning: %s\n",
             (const char *) g_ptr_array_index (common->keylog_warnings, i));
}

/* Hands the key log warnings to the first input's entry of the report. */
static void
attach_keylog_warnings (CommonOptions *common, MtdInputInfo *info)
{
  for (guint i = 0; i < common->keylog_warnings->len; i++)
    g_ptr_array_add (info->warnings,
                     g_strdup_printf ("key log: %s",
                                      (const char *) g_ptr_array_index (common->keylog_warnings,
                                                                        i)));
  g_ptr_array_set_size (common->keylog_warnings, 0);
}

/* Parses a command's options.  Returns -1 to go on, or the exit status to end with. */
static int
parse_command_line (GOptionContext *option_context, CommonOptions *common, int *argc,
                    char ***argv, MtdReportFormat *format, MtdPipelineOptions *pipeline_options,
                    MtdChainOptions *chain_options)
{
  add_common_entries (option_context, common);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (option_context, argc, argv, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  if (common->is_version) {
    printf ("mtlsdiag %s\n", MTD_VERSION);
    return EXIT_NO_PROBLEM;
  }
  if (!prepare_common (common, format, pipeline_options, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  mtd_chain_options_init_default (chain_options);
  chain_options->hop_names = common->hop_names;
  if (common->chain_window_seconds > 0)
    chain_options->window_usec = (gint64) (common->chain_window_seconds * G_USEC_PER_SEC);
  return -1;
}

static FILE *
open_output (const char *path, GError **error)
{
  if (path == NULL || g_strcmp0 (path, "-") == 0)
    return stdout;
  FILE *out = fopen (path, "w");
  if (out == NULL) {
    int saved_errno = errno;
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno), "%s: %s", path,
                 g_strerror (saved_errno));
  }
  return out;
}

/* The report and the pipeline of one run; NULL (error printed) when nDPI cannot start.
 * callbacks must outlive the pipeline. */
static MtdPipeline *
start_run (RunContext *context, MtdReportFormat format, FILE *out,
           const MtdPipelineOptions *pipeline_options, const MtdChainOptions *chain_options,
           const MtdPipelineCallbacks *callbacks)
{
  g_autoptr (GError) error = NULL;
  context->report = mtd_report_new (format, out, MTD_VERSION);
  context->chainer = mtd_chainer_new (chain_options, on_chain, context);
  context->hop_names = chain_options->hop_names;
  MtdPipeline *pipeline = mtd_pipeline_new (pipeline_options, callbacks, context, &error);
  if (pipeline == NULL) {
    print_error (error->message);
    g_clear_pointer (&context->report, mtd_report_free);
    g_clear_pointer (&context->chainer, mtd_chainer_free);
    return NULL;
  }
  context->summary = mtd_pipeline_summary (pipeline);
  context->pipeline = pipeline;
  return pipeline;
}

static int
finish_report (RunContext *context, MtdPipeline *pipeline, GPtrArray *inputs, FILE *out,
               gboolean has_unusable_input)
{
  g_autoptr (GError) error = NULL;
  /* Every connection has ended: the chains still held are final now. */
  mtd_chainer_finish (context->chainer);
  MtdSummary *summary = mtd_pipeline_summary (pipeline);
  summary->n_legs_not_chained = mtd_chainer_n_dropped (context->chainer);
  summary->peak_legs_held = mtd_chainer_peak_held (context->chainer);
  if (!mtd_report_finish (context->report, (const MtdInputInfo *const *) inputs->pdata,
                          inputs->len, mtd_pipeline_summary (pipeline), &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  if (out != stdout && fclose (out) != 0) {
    print_error ("the report could not be written completely");
    return EXIT_UNUSABLE;
  }
  fflush (stdout);
  if (has_unusable_input)
    return EXIT_UNUSABLE;
  return context->has_problem ? EXIT_PROBLEM : EXIT_NO_PROBLEM;
}

/* Reads every packet of one source into the pipeline; FALSE when the input was unusable. */
static gboolean
read_source (MtdPipeline *pipeline, MtdSource *source, MtdInputInfo *info, guint64 max_packets,
             gint64 deadline_usec, gboolean is_live)
{
  gboolean is_usable = TRUE;
  guint64 n_packets = 0;
  while (!is_stop_requested) {
    MtdPacket packet;
    g_autoptr (GError) error = NULL;
    MtdSourceStatus status = mtd_source_next (source, &packet, &error);
    if (status == MTD_SOURCE_PACKET) {
      mtd_pipeline_add_packet (pipeline, &packet);
      if (max_packets > 0 && ++n_packets >= max_packets)
        break;
    } else if (status == MTD_SOURCE_TIMEOUT) {
      mtd_pipeline_tick (pipeline, g_get_real_time ());
    } else if (status == MTD_SOURCE_END) {
      break;
    } else {
      /* Partial results are still worth reporting: say what happened and go on. */
      g_autofree char *message = g_strdup_printf ("%s; the packets before it are analysed",
                                                  error->message);
      print_warning (info->path, message);
      g_ptr_array_add (info->warnings, g_steal_pointer (&message));
      if (status == MTD_SOURCE_TRUNCATED)
        mtd_pipeline_mark_input_truncated (pipeline);
      if (status == MTD_SOURCE_FAILED && n_packets == 0)
        is_usable = FALSE;
      break;
    }
    if (is_live && deadline_usec > 0 && g_get_real_time () >= deadline_usec)
      break;
  }
  return is_usable;
}

static int
run_analyze (int argc, char **argv)
{
  g_auto (CommonOptions) common = { 0 };
  g_autoptr (GOptionContext) option_context = g_option_context_new ("FILE... - analyse captures");
  g_option_context_set_summary (option_context,
                                "Reconstructs each TCP connection's TLS handshake and reports "
                                "whether a client certificate\nwas requested and presented, "
                                "with the frames that prove it.");
  MtdReportFormat format;
  MtdPipelineOptions pipeline_options;
  MtdChainOptions chain_options;
  int early_status = parse_command_line (option_context, &common, &argc, &argv, &format,
                                         &pipeline_options, &chain_options);
  if (early_status >= 0)
    return early_status;
  g_autoptr (GError) error = NULL;
  if (argc < 2) {
    print_error ("analyze: no capture file given (try \"mtlsdiag analyze --help\")");
    return EXIT_UNUSABLE;
  }
  /* Open every input first: an unusable one is reported before any analysis starts. */
  g_autoptr (GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_source_free);
  gboolean has_open_failure = FALSE;
  for (int i = 1; i < argc; i++) {
    g_autoptr (GError) open_error = NULL;
    MtdSource *source = mtd_source_open_file (argv[i], &open_error);
    if (source == NULL) {
      print_error (open_error->message);
      has_open_failure = TRUE;
    }
    g_ptr_array_add (sources, source);
  }
  if (has_open_failure)
    return EXIT_UNUSABLE;
  /* Secrets carried in the inputs themselves (editcap --inject-secrets). */
  for (int i = 1; i < argc; i++) {
    if (g_strcmp0 (argv[i], "-") == 0)
      continue;
    g_autoptr (GError) secrets_error = NULL;
    guint n_blocks = 0;
    if (!mtd_pcapng_secrets_from_file (argv[i], common.keylog, &n_blocks,
                                       common.keylog_warnings, &secrets_error))
      g_ptr_array_add (common.keylog_warnings, g_strdup (secrets_error->message));
  }
  use_keylog_if_any (&common, &pipeline_options);

  FILE *out = open_output (common.output_path, &error);
  if (out == NULL) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  RunContext context = { 0 };
  context.checks = common.checks;
  /* One file: chains are written as they settle.  Several: a leg of one may continue in any
   * other, so chains wait for the end. */
  chain_options.is_streaming = sources->len == 1;
  /* No live lines here, so no handshake snapshots to build. */
  MtdPipelineCallbacks callbacks = { on_connection, NULL };
  g_autoptr (MtdPipeline) pipeline
      = start_run (&context, format, out, &pipeline_options, &chain_options, &callbacks);
  if (pipeline == NULL)
    return EXIT_UNUSABLE;
  g_autoptr (GPtrArray) inputs
      = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_input_info_free);
  gboolean has_unusable_input = FALSE;
  for (guint i = 0; i < sources->len; i++) {
    MtdSource *source = g_ptr_array_index (sources, i);
    MtdInputInfo *info = mtd_input_info_new (argv[i + 1]);
    g_ptr_array_add (inputs, info);
    if (i == 0)
      attach_keylog_warnings (&common, info);
    char buf[32];
    info->link_type = g_strdup (mtd_source_link_type_name (mtd_source_link_type (source), buf,
                                                           sizeof buf));
    mtd_pipeline_begin_input (pipeline, i, info);
    if (!read_source (pipeline, source, info, 0, 0, FALSE))
      has_unusable_input = TRUE;
    mtd_pipeline_end_input (pipeline);
    mtd_source_sha256 (source, info->sha256_hex);
  }
  int status = finish_report (&context, pipeline, inputs, out, has_unusable_input);
  g_clear_pointer (&pipeline, mtd_pipeline_free);
  mtd_report_free (context.report);
  mtd_chainer_free (context.chainer);
  return status;
}

static int
run_live (int argc, char **argv)
{
  g_auto (CommonOptions) common = { 0 };
  gint duration_seconds = 0;
  gint64 max_packets = 0;
  gint snaplen = 0;
  GOptionEntry entries[] = {
    { "interface", 'i', 0, G_OPTION_ARG_STRING, &common.interface, "Interface to capture on (required)",
      "IFACE" },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &common.filter, "BPF capture filter (default: tcp)",
      "BPF" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration_seconds, "Stop after SECONDS", "SECONDS" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &max_packets, "Stop after PACKETS packets", "PACKETS" },
    { "snaplen", 0, 0, G_OPTION_ARG_INT, &snaplen, "Bytes captured per packet (default 262144)",
      "BYTES" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) option_context = g_option_context_new ("- analyse a live interface");
  g_option_context_set_summary (option_context,
                                "Prints each connection's client-certificate facts as its "
                                "handshake completes or fails,\nand the full report on SIGINT, "
                                "SIGTERM, --duration or --count.");
  g_option_context_add_main_entries (option_context, entries, NULL);
  MtdReportFormat format;
  MtdPipelineOptions pipeline_options;
  MtdChainOptions chain_options;
  int early_status = parse_command_line (option_context, &common, &argc, &argv, &format,
                                         &pipeline_options, &chain_options);
  if (early_status >= 0)
    return early_status;
  g_autoptr (GError) error = NULL;
  const char *interface = common.interface;
  const char *filter = common.filter;
  if (interface == NULL || argc > 1 || duration_seconds < 0 || max_packets < 0) {
    print_error ("live: give an interface with -i IFACE (try \"mtlsdiag live --help\")");
    return EXIT_UNUSABLE;
  }
  g_autoptr (MtdSource) source = mtd_source_open_live (interface, filter != NULL ? filter : "tcp",
                                                       snaplen, &error);
  if (source == NULL) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  use_keylog_if_any (&common, &pipeline_options);
  FILE *out = open_output (common.output_path, &error);
  if (out == NULL) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  RunContext context = { 0 };
  context.checks = common.checks;
  chain_options.is_streaming = TRUE;
  /* Live lines must not break a JSON document on standard output. */
  context.live_out = (out == stdout && format == MTD_REPORT_JSON) ? stderr : stdout;
  MtdPipelineCallbacks callbacks = { on_connection, on_handshake };
  g_autoptr (MtdPipeline) pipeline
      = start_run (&context, format, out, &pipeline_options, &chain_options, &callbacks);
  if (pipeline == NULL)
    return EXIT_UNUSABLE;

  live_source = source;
  struct sigaction action;
  memset (&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);

  g_autoptr (GPtrArray) inputs
      = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_input_info_free);
  MtdInputInfo *info = mtd_input_info_new (interface);
  g_ptr_array_add (inputs, info);
  attach_keylog_warnings (&common, info);
  char buf[32];
  info->link_type = g_strdup (mtd_source_link_type_name (mtd_source_link_type (source), buf,
                                                         sizeof buf));
  gint64 deadline = duration_seconds > 0
                        ? g_get_real_time () + (gint64) duration_seconds * G_USEC_PER_SEC
                        : 0;
  mtd_pipeline_begin_input (pipeline, 0, info);
  read_source (pipeline, source, info, (guint64) max_packets, deadline, TRUE);
  live_source = NULL;
  guint64 n_received = 0, n_dropped = 0;
  if (mtd_source_live_stats (source, &n_received, &n_dropped) && n_dropped > 0)
    g_ptr_array_add (info->warnings,
                     g_strdup_printf ("the kernel dropped %" G_GUINT64_FORMAT " of %"
                                      G_GUINT64_FORMAT " packets",
                                      n_dropped, n_received));
  mtd_pipeline_end_input (pipeline);
  int status = finish_report (&context, pipeline, inputs, out, FALSE);
  g_clear_pointer (&pipeline, mtd_pipeline_free);
  mtd_report_free (context.report);
  mtd_chainer_free (context.chainer);
  return status;
}

int
main (int argc, char **argv)
{
  if (argc < 2 || g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0
      || g_strcmp0 (argv[1], "help") == 0) {
    FILE *out = argc < 2 ? stderr : stdout;
    fprintf (out, "Usage: mtlsdiag COMMAND [OPTIONS]\n\n%s\n", usage_summary);
    return argc < 2 ? EXIT_UNUSABLE : EXIT_NO_PROBLEM;
  }
  if (g_strcmp0 (argv[1], "--version") == 0) {
    printf ("mtlsdiag %s\n", MTD_VERSION);
    return EXIT_NO_PROBLEM;
  }
  /* Each command parses its own options with argv[0] as its name. */
  if (g_strcmp0 (argv[1], "analyze") == 0 || g_strcmp0 (argv[1], "analyse") == 0) {
    g_set_prgname ("mtlsdiag analyze");
    return run_analyze (argc - 1, argv + 1);
  }
  if (g_strcmp0 (argv[1], "live") == 0) {
    g_set_prgname ("mtlsdiag live");
    return run_live (argc - 1, argv + 1);
  }
  fprintf (stderr, "mtlsdiag: unknown command \"%s\" (try \"mtlsdiag --help\")\n", argv[1]);
  return EXIT_UNUSABLE;
}
