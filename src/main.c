/* main.c: the mtlsdiag command line: options, wiring of the layers, exit codes.
 *
 * Exit status: 0 no client-certificate problem seen, 1 one was seen, 2 unusable input or usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib.h>

#include "mtd-chain.h"
#include "mtd-checks.h"
#include "mtd-diagnose.h"
#include "mtd-keylog.h"
#include "mtd-limits.h"
#include "mtd-packet-ring.h"
#include "mtd-pcapng-secrets.h"
#include "mtd-pcapng-writer.h"
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
  /* Live mode only. */
  gboolean is_findings_only;  /* --findings-only: a line per warning or error instead */
  GHashTable *printed_codes;  /* --findings-only: connection id (guint64*, owned) -> the codes
                               * printed at its handshake ("\nCODE\n...", owned); the entry goes
                               * when the connection ends */
  guint64 n_findings[3];      /* of the delivered connections, by MtdSeverity */
  MtdPcapngWriter *saver;     /* borrowed: --save-flagged, NULL otherwise */
  gsize ring_len;             /* --save-ring-bytes */
  guint64 flagged_id;         /* the connection on_connection just delivered if it had a warning
                               * or error finding, else 0 (on_flow_end follows at once) */
  gboolean has_save_failed;
} RunContext;

/* Set from the signal handler; the capture loop checks it. */
static volatile sig_atomic_t is_stop_requested = 0;
static MtdSource *live_source = NULL;

static gint64
open_since (const char *ip, gboolean is_server, gpointer user_data)
{
  return mtd_pipeline_oldest_live_at (user_data, ip, is_server);
}

/* --findings-only: a line for each warning or error of diagnosis whose code is not in printed
 * ("\nCODE\n..." or NULL); the codes written are appended to written (may be NULL) in that form. */
static void
print_finding_lines (MtdReport *report, FILE *out, const MtdConnection *connection,
                     const MtdDiagnosis *diagnosis, const char *printed, GString *written)
{
  for (guint i = 0; diagnosis->findings != NULL && i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    if (finding->severity < MTD_SEVERITY_WARNING)
      continue;
    g_autofree char *marker = g_strdup_printf ("\n%s\n", finding->code);
    if (printed != NULL && strstr (printed, marker) != NULL)
      continue;
    mtd_report_live_finding_line (report, out, connection, finding, connection->end_usec);
    if (written != NULL)
      g_string_append (written, written->len == 0 ? marker : marker + 1);
  }
  fflush (out);
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
  gboolean is_flagged = FALSE;
  for (guint i = 0; diagnosis->findings != NULL && i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    context->n_findings[MIN (finding->severity, MTD_SEVERITY_ERROR)]++;
    is_flagged |= finding->severity >= MTD_SEVERITY_WARNING;
  }
  context->flagged_id = is_flagged ? owned->id : 0;
  if (context->is_findings_only && context->live_out != NULL) {
    /* The rest of the findings: those the handshake did not show. */
    print_finding_lines (context->report, context->live_out, owned, diagnosis,
                         g_hash_table_lookup (context->printed_codes, &owned->id), NULL);
    g_hash_table_remove (context->printed_codes, &owned->id);
  }
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
on_handshake (MtdConnection *connection, gpointer user_data)
{
  RunContext *context = user_data;
  if (context->live_out == NULL)
    return;
  /* The line must say what the report will: inbound or outbound, and the --expect-thumbprint
   * and --ca verdicts (OUTBOUND_CERT_NOT_LOADED, CLIENT_CHAIN_UNTRUSTED) as the handshake ends. */
  mtd_checks_apply (context->checks, connection);
  g_autoptr (MtdDiagnosis) diagnosis = mtd_diagnose_connection (connection);
  if (context->is_findings_only) {
    g_autoptr (GString) written = g_string_new (NULL);
    print_finding_lines (context->report, context->live_out, connection, diagnosis, NULL,
                         written);
    if (written->len > 0)
      g_hash_table_replace (context->printed_codes, g_memdup2 (&connection->id, sizeof (guint64)),
                            g_string_free (g_steal_pointer (&written), FALSE));
    return;
  }
  mtd_report_live_line (context->report, context->live_out, connection, diagnosis);
  fflush (context->live_out);
}

/* --save-flagged: each flow's packets wait in a ring of its own until its verdict is known. */
static gpointer
on_flow_start (guint64 connection_id, gpointer user_data)
{
  RunContext *context = user_data;
  return mtd_packet_ring_new (context->ring_len);
}

static void
on_flow_packet (gpointer flow_data, const MtdPacket *packet, gpointer user_data)
{
  mtd_packet_ring_add (flow_data, packet);
}

/* The flow's connection was just delivered: its packets are saved when on_connection flagged
 * it, and dropped otherwise. */
static void
on_flow_end (gpointer flow_data, guint64 connection_id, gpointer user_data)
{
  RunContext *context = user_data;
  g_autoptr (MtdPacketRing) ring = flow_data;
  if (connection_id != context->flagged_id || context->saver == NULL || context->has_save_failed)
    return;
  g_autoptr (GError) error = NULL;
  if (!mtd_pcapng_writer_add_ring (context->saver, ring, connection_id, &error)) {
    context->has_save_failed = TRUE;
    fprintf (stderr, "mtlsdiag: warning: --save-flagged: %s; no more connections are saved\n",
             error->message);
    return;
  }
  context->summary->n_saved_connections++;
  context->summary->n_saved_packets += mtd_packet_ring_n_packets (ring);
  if (mtd_packet_ring_n_dropped (ring) > 0)
    context->summary->n_saved_cut_short++;
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

/* -q: standard error gets errors only (the warnings are in the report too). */
static gboolean is_quiet = FALSE;

/* The whole command line, each word shell-quoted when it needs it: the Markdown and HTML
 * reports show it.  Set by main, borrowed. */
static const char *command_line_text = NULL;

static char *
join_command_line (int argc, char **argv)
{
  g_autoptr (GString) line = g_string_new (NULL);
  for (int i = 0; i < argc; i++) {
    const char *word = argv[i];
    gboolean is_plain = word[0] != '\0';
    for (const char *p = word; *p != '\0' && is_plain; p++)
      is_plain = g_ascii_isalnum (*p) || strchr ("-_./,:=@%+", *p) != NULL;
    g_autofree char *quoted = is_plain ? g_strdup (word) : g_shell_quote (word);
    g_string_append_printf (line, "%s%s", i > 0 ? " " : "", quoted);
  }
  return g_string_free (g_steal_pointer (&line), FALSE);
}

static void
print_warning (const char *path, const char *message)
{
  if (!is_quiet)
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
  char **limits;             /* --limit NAME=N, NULL-terminated */
  MtdChecks *checks;         /* owned: built from the three above */
  MtdKeyLog *keylog;         /* owned: the secrets of --keylog and of the inputs' pcapng blocks */
  GPtrArray *keylog_warnings; /* char*, owned */
  gdouble chain_window_seconds;
  gdouble chain_hold_seconds;  /* --chain-hold, 0: the default */
  gint chain_max_held;         /* --chain-max-held, 0: the default */
  GHashTable *hop_names;     /* address (owned) -> name (owned), from hops */
  char *interface;  /* live only */
  char *filter;     /* live only */
  gboolean is_quiet;         /* -q */
  gboolean is_summary_only;  /* --summary-only */
  char *color_name;          /* --color WHEN */
  MtdReportColor color;      /* from color_name */
  MtdRedaction redaction;    /* --redact[=all] */
} CommonOptions;

static void
common_options_clear (CommonOptions *common)
{
  g_free (common->format_name);
  g_free (common->color_name);
  g_free (common->output_path);
  g_free (common->interface);
  g_free (common->filter);
  g_strfreev (common->extra_cert_headers);
  g_strfreev (common->hops);
  g_strfreev (common->keylog_paths);
  g_strfreev (common->app_addresses);
  g_strfreev (common->expected_thumbprints);
  g_strfreev (common->ca_paths);
  g_strfreev (common->limits);
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

/* --redact's value, set by its callback (the main option group has no user data to carry it)
 * and copied into CommonOptions after parsing. */
static MtdRedaction redact_option = MTD_REDACT_NONE;

static gboolean
parse_redact_option (const char *option_name, const char *value, gpointer data, GError **error)
{
  if (!mtd_report_parse_redaction (value, &redact_option)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--redact=%s: unknown value (use --redact or --redact=all)", value);
    return FALSE;
  }
  return TRUE;
}

static void
add_common_entries (GOptionContext *option_context, CommonOptions *common)
{
  /* --help lists every cap with its default: what a hostile or huge capture is held to. */
  g_autofree char *caps = mtd_limits_describe ();
  g_autofree char *description = g_strdup_printf (
      "Caps (--limit NAME=N; reaching one is recorded on the connection and counted in the "
      "summary, and analysis goes on):\n%s",
      caps);
  g_option_context_set_description (option_context, description);
  GOptionEntry entries[] = {
    { "format", 0, 0, G_OPTION_ARG_STRING, &common->format_name,
      "Report format: text (default), json, jsonl (one JSON object per line), markdown or html "
      "(one self-contained report for a support ticket)",
      "FORMAT" },
    { "redact", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
      (gpointer) parse_redact_option,
      "Replace addresses with stable pseudonyms (host-N) and leave out certificate serials and "
      "e-mail addresses; --redact=all also leaves out subjects and issuers",
      "all" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &common->is_quiet,
      "Print nothing (errors excepted): only the exit status tells; -o FILE is still written",
      NULL },
    { "summary-only", 0, 0, G_OPTION_ARG_NONE, &common->is_summary_only,
      "Report only the inputs and the summary, not each connection and chain", NULL },
    { "color", 0, 0, G_OPTION_ARG_STRING, &common->color_name,
      "Colour severities and verdicts in the text report: auto (default: on a terminal, unless "
      "NO_COLOR is set), always or never",
      "WHEN" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &common->output_path,
      "Write the report to FILE instead of standard output", "FILE" },
    { "max-flows", 0, 0, G_OPTION_ARG_INT, &common->max_flows,
      "Live flows kept at once; the idlest is evicted beyond this (default 200000)", "N" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &common->idle_timeout_seconds,
      "Seconds without packets after which a flow ends (default 300)", "SECONDS" },
    { "limit", 0, 0, G_OPTION_ARG_STRING_ARRAY, &common->limits,
      "Change a cap on what the input controls (repeatable; the caps are listed below)",
      "NAME=N" },
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
    { "chain-hold", 0, 0, G_OPTION_ARG_DOUBLE, &common->chain_hold_seconds,
      "With one input, how long a finished connection waits for one still open that could "
      "join its chain (default 60)", "SECONDS" },
    { "chain-max-held", 0, 0, G_OPTION_ARG_INT, &common->chain_max_held,
      "Connections held at once for chaining; beyond, they are counted, not chained "
      "(default 200000)", "N" },
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
  if (common->chain_hold_seconds < 0 || common->chain_hold_seconds > 86400
      || common->chain_max_held < 0) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--chain-hold must be between 0 and 86400 seconds, --chain-max-held "
                         "must not be negative");
    return FALSE;
  }
  if (!mtd_report_parse_format (common->format_name != NULL ? common->format_name : "text",
                                format)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--format: unknown format \"%s\" (use text, json, jsonl, markdown or html)",
                 common->format_name);
    return FALSE;
  }
  if (!mtd_report_parse_color (common->color_name != NULL ? common->color_name : "auto",
                               &common->color)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--color: unknown value \"%s\" (use auto, always or never)", common->color_name);
    return FALSE;
  }
  common->redaction = redact_option;
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
  for (guint i = 0; common->limits != NULL && common->limits[i] != NULL; i++)
    if (!mtd_limits_set (pipeline_options, common->limits[i], error))
      return FALSE;
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
  for (guint i = 0; i < common->keylog_warnings->len && !is_quiet; i++)
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
  /* GOption gives an optional-argument option the next word when that does not start with "-",
   * so "--redact FILE" would take the capture as its value: a bare --redact says so itself. */
  for (int i = 1; i < *argc && g_strcmp0 ((*argv)[i], "--") != 0; i++)
    if (g_strcmp0 ((*argv)[i], "--redact") == 0)
      (*argv)[i] = (char *) "--redact=default";
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (option_context, argc, argv, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  if (common->is_version) {
    printf ("mtlsdiag %s\n", MTD_VERSION);
    return EXIT_NO_PROBLEM;
  }
  /* -q: the report goes nowhere unless -o names a file. */
  is_quiet = common->is_quiet;
  if (is_quiet && (common->output_path == NULL || g_strcmp0 (common->output_path, "-") == 0)) {
    g_free (common->output_path);
    common->output_path = g_strdup ("/dev/null");
  }
  if (!prepare_common (common, format, pipeline_options, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  mtd_chain_options_init_default (chain_options);
  chain_options->hop_names = common->hop_names;
  if (common->chain_window_seconds > 0)
    chain_options->window_usec = (gint64) (common->chain_window_seconds * G_USEC_PER_SEC);
  if (common->chain_hold_seconds > 0)
    chain_options->hold_usec = (gint64) (common->chain_hold_seconds * G_USEC_PER_SEC);
  if (common->chain_max_held > 0)
    chain_options->max_legs = (guint) common->chain_max_held;
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

/* --redact, --summary-only and --color, before the report writes anything. */
static void
configure_report (MtdReport *report, const CommonOptions *common)
{
  mtd_report_set_redaction (report, common->redaction);
  mtd_report_set_summary_only (report, common->is_summary_only);
  mtd_report_set_color (report, common->color);
  mtd_report_set_command_line (report, command_line_text);
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
  summary->n_legs_released = mtd_chainer_n_released (context->chainer);
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

/* Live mode's part of the read loop: the --stats line. */
typedef struct {
  RunContext *context;        /* borrowed */
  MtdSource *source;          /* borrowed */
  gint64 stats_interval_usec; /* 0: no stats */
  gint64 next_stats_usec;
} LiveLoop;

static void
print_stats (LiveLoop *live, MtdPipeline *pipeline, gint64 now_usec)
{
  const RunContext *context = live->context;
  const MtdSummary *summary = mtd_pipeline_summary (pipeline);
  MtdLiveStats stats = {
    .time_usec = now_usec,
    .n_packets = summary->n_packets,
    .n_live_flows = mtd_pipeline_n_live_flows (pipeline),
    .n_flows_evicted = summary->n_flows_evicted,
    .n_flows_idle_closed = summary->n_flows_idle_closed,
    .n_connections = summary->n_connections,
    .is_saving_flagged = summary->is_saving_flagged,
    .n_saved_connections = summary->n_saved_connections,
    .n_saved_cut_short = summary->n_saved_cut_short,
  };
  stats.has_pcap_stats = mtd_source_live_stats (live->source, &stats.n_pcap_received,
                                                &stats.n_pcap_dropped);
  memcpy (stats.n_findings, context->n_findings, sizeof stats.n_findings);
  mtd_report_live_stats_line (stderr, &stats);
  fflush (stderr);
}

/* analyze with standard error on a terminal: one progress line, redrawn in place. */
#define PROGRESS_CHECK_PACKETS 4096 /* the clock is read once per this many packets */
#define PROGRESS_INTERVAL_USEC (G_USEC_PER_SEC / 4)

typedef struct {
  MtdSource *source;      /* borrowed */
  guint input_number;     /* 1-based */
  guint n_inputs;
  gint64 start_usec;      /* monotonic clock, when reading began */
  gint64 next_draw_usec;  /* 0: draw at the first check */
  guint n_unchecked;      /* packets since the clock was last read */
  gboolean is_drawn;      /* a line is on the terminal */
} Progress;

static void
draw_progress (Progress *progress, MtdPipeline *pipeline, const MtdInputInfo *info)
{
  gint64 now_usec = g_get_monotonic_time ();
  if (now_usec < progress->next_draw_usec)
    return;
  progress->next_draw_usec = now_usec + PROGRESS_INTERVAL_USEC;
  MtdProgress state = {
    .input_number = progress->input_number,
    .n_inputs = progress->n_inputs,
    .n_packets = info->n_packets,
    .elapsed_usec = now_usec - progress->start_usec,
  };
  if (!mtd_source_position (progress->source, &state.n_bytes_read, &state.n_bytes_total))
    return;
  state.n_flows = mtd_pipeline_summary (pipeline)->n_connections
                  + mtd_pipeline_n_live_flows (pipeline);
  char line[256];
  mtd_report_format_progress (&state, line, sizeof line);
  /* A line longer than the terminal wraps, and "\r" would not go back to its start. */
  struct winsize size;
  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1
      && strlen (line) >= size.ws_col)
    line[size.ws_col - 1] = '\0';
  /* "\033[K" (ECMA-48 EL) erases what a longer line before left. */
  fprintf (stderr, "\r%s\033[K", line);
  fflush (stderr);
  progress->is_drawn = TRUE;
}

static void
clear_progress (Progress *progress)
{
  if (progress == NULL || !progress->is_drawn)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
  progress->is_drawn = FALSE;
}

/* Reads every packet of one source into the pipeline; FALSE when the input was unusable.  live
 * is NULL for files; progress is NULL unless analyze shows it. */
static gboolean
read_source (MtdPipeline *pipeline, MtdSource *source, MtdInputInfo *info, guint64 max_packets,
             gint64 deadline_usec, LiveLoop *live, Progress *progress)
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
      if (progress != NULL && ++progress->n_unchecked >= PROGRESS_CHECK_PACKETS) {
        progress->n_unchecked = 0;
        draw_progress (progress, pipeline, info);
      }
    } else if (status == MTD_SOURCE_TIMEOUT) {
      mtd_pipeline_tick (pipeline, g_get_real_time ());
    } else if (status == MTD_SOURCE_END) {
      break;
    } else {
      /* Partial results are still worth reporting: say what happened and go on. */
      g_autofree char *message = g_strdup_printf ("%s; the packets before it are analysed",
                                                  error->message);
      clear_progress (progress);
      print_warning (info->path, message);
      g_ptr_array_add (info->warnings, g_steal_pointer (&message));
      if (status == MTD_SOURCE_TRUNCATED)
        mtd_pipeline_mark_input_truncated (pipeline);
      if (status == MTD_SOURCE_FAILED && n_packets == 0)
        is_usable = FALSE;
      break;
    }
    if (live == NULL)
      continue;
    gint64 now_usec = g_get_real_time ();
    if (live->stats_interval_usec > 0 && now_usec >= live->next_stats_usec) {
      print_stats (live, pipeline, now_usec);
      live->next_stats_usec = now_usec + live->stats_interval_usec;
    }
    if (deadline_usec > 0 && now_usec >= deadline_usec)
      break;
  }
  clear_progress (progress);
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
  gboolean is_unhashed = FALSE;
  GOptionEntry analyze_entries[] = {
    { "no-hash", 0, 0, G_OPTION_ARG_NONE, &is_unhashed,
      "Do not compute each input's SHA-256 for the report (it runs beside the analysis on a "
      "second core, and at about 2 GB/s is what bounds the speed on large cached files)",
      NULL },
    { NULL },
  };
  g_option_context_add_main_entries (option_context, analyze_entries, NULL);
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
    MtdSource *source = mtd_source_open_file (
        argv[i], is_unhashed ? MTD_SOURCE_HASH_NONE : MTD_SOURCE_HASH_SHA256, &open_error);
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
  /* analyze writes its report in one go: a large buffer makes that one write(2) per 64 KiB rather
   * than per 4 KiB block.  (live keeps stdio's default, so its report file follows closely.) */
  static char output_buffer[64 * 1024];
  if (out != stdout)
    setvbuf (out, output_buffer, _IOFBF, sizeof output_buffer);
  RunContext context = { 0 };
  context.checks = common.checks;
  /* One file: chains are written as they settle.  Several: a leg of one may continue in any
   * other, so chains wait for the end. */
  chain_options.is_streaming = sources->len == 1;
  /* No live lines here, so no handshake snapshots to build. */
  MtdPipelineCallbacks callbacks = { .on_connection = on_connection };
  g_autoptr (MtdPipeline) pipeline
      = start_run (&context, format, out, &pipeline_options, &chain_options, &callbacks);
  if (pipeline == NULL)
    return EXIT_UNUSABLE;
  configure_report (context.report, &common);
  /* Progress on a terminal, unless the report goes to that terminal too and would be torn by
   * it. */
  gboolean shows_progress = !is_quiet && isatty (STDERR_FILENO) == 1
                            && (out != stdout || isatty (STDOUT_FILENO) != 1);
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
    Progress progress = {
      .source = source,
      .input_number = i + 1,
      .n_inputs = sources->len,
      .start_usec = g_get_monotonic_time (),
    };
    if (!read_source (pipeline, source, info, 0, 0, NULL, shows_progress ? &progress : NULL))
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

/* Default and bounds of --save-ring-bytes: a TLS handshake with a client chain fits in the
 * default many times over; memory for rings is at most --max-flows times this. */
#define DEFAULT_SAVE_RING_LEN (64 * 1024)
#define MIN_SAVE_RING_LEN 1024
#define MAX_SAVE_RING_LEN (256 * 1024 * 1024)

static gboolean
check_live_options (gint stats_seconds, const char *save_path, gint64 *save_ring_len,
                    GError **error)
{
  if (stats_seconds < 0) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--stats must not be negative");
    return FALSE;
  }
  if (*save_ring_len != 0 && save_path == NULL) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "--save-ring-bytes needs --save-flagged FILE");
    return FALSE;
  }
  if (*save_ring_len == 0)
    *save_ring_len = DEFAULT_SAVE_RING_LEN;
  if (*save_ring_len < MIN_SAVE_RING_LEN || *save_ring_len > MAX_SAVE_RING_LEN) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "--save-ring-bytes must be between %d and %d", MIN_SAVE_RING_LEN,
                 MAX_SAVE_RING_LEN);
    return FALSE;
  }
  return TRUE;
}

/* -Z USER: who to become once the interface and the output files are open. */
typedef struct {
  char *name; /* owned */
  uid_t uid;
  gid_t gid;
} DropTo;

static void
drop_to_clear (DropTo *drop_to)
{
  g_free (drop_to->name);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DropTo, drop_to_clear)

/* Checked before anything is opened: dropping privileges is only meaningful as root. */
static gboolean
find_user (const char *user_name, DropTo *drop_to, GError **error)
{
  if (geteuid () != 0) {
    g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "-Z needs root: it gives up root's privileges once the interface is "
                         "open");
    return FALSE;
  }
  errno = 0;
  const struct passwd *entry = getpwnam (user_name);
  if (entry == NULL) {
    int saved_errno = errno;
    if (saved_errno != 0 && saved_errno != ENOENT && saved_errno != ESRCH)
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "-Z: cannot look up user \"%s\": %s", user_name, g_strerror (saved_errno));
    else
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "-Z: unknown user \"%s\"",
                   user_name);
    return FALSE;
  }
  drop_to->name = g_strdup (entry->pw_name);
  drop_to->uid = entry->pw_uid;
  drop_to->gid = entry->pw_gid;
  return TRUE;
}

/* Becomes drop_to as tcpdump's -Z does: the user's supplementary groups, its group, then the
 * user (the group first, while the process may still change it).  Fails unless every step
 * worked and root cannot be regained. */
static gboolean
drop_privileges (const DropTo *drop_to, GError **error)
{
  const char *step = NULL;
  if (initgroups (drop_to->name, drop_to->gid) != 0)
    step = "set its supplementary groups";
  else if (setgid (drop_to->gid) != 0)
    step = "set its group";
  else if (setuid (drop_to->uid) != 0)
    step = "set its user id";
  if (step != NULL) {
    int saved_errno = errno;
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                 "-Z %s: cannot %s (%s); not going on as root", drop_to->name, step,
                 g_strerror (saved_errno));
    return FALSE;
  }
  if (drop_to->uid != 0
      && (setuid (0) == 0 || getuid () != drop_to->uid || geteuid () != drop_to->uid
          || getgid () != drop_to->gid || getegid () != drop_to->gid)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                 "-Z %s: root privileges were not given up completely; not going on",
                 drop_to->name);
    return FALSE;
  }
  return TRUE;
}

static int
run_live (int argc, char **argv)
{
  g_auto (CommonOptions) common = { 0 };
  gint duration_seconds = 0;
  gint64 max_packets = 0;
  gint snaplen = 0;
  gboolean is_findings_only = FALSE;
  gint stats_seconds = 0;
  g_autofree char *save_path = NULL;
  gint64 save_ring_len = 0;
  g_autofree char *user_name = NULL;
  GOptionEntry entries[] = {
    { "interface", 'i', 0, G_OPTION_ARG_STRING, &common.interface, "Interface to capture on (required)",
      "IFACE" },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &common.filter, "BPF capture filter (default: tcp)",
      "BPF" },
    { "duration", 0, 0, G_OPTION_ARG_INT, &duration_seconds, "Stop after SECONDS", "SECONDS" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &max_packets, "Stop after PACKETS packets", "PACKETS" },
    { "snaplen", 0, 0, G_OPTION_ARG_INT, &snaplen, "Bytes captured per packet (default 262144)",
      "BYTES" },
    { "findings-only", 0, 0, G_OPTION_ARG_NONE, &is_findings_only,
      "Print a line per warning or error finding (time, endpoints, severity, code, message) "
      "instead of a line per handshake",
      NULL },
    { "stats", 0, 0, G_OPTION_ARG_INT, &stats_seconds,
      "Print counters (packets, flows, kernel drops, connections, findings) to standard error "
      "every SECONDS",
      "SECONDS" },
    { "save-flagged", 0, 0, G_OPTION_ARG_FILENAME, &save_path,
      "Write the packets of every connection with a warning or error finding to FILE (pcapng)",
      "FILE" },
    { "save-ring-bytes", 0, 0, G_OPTION_ARG_INT64, &save_ring_len,
      "Packet bytes kept per flow for --save-flagged until its verdict is known; beyond this "
      "its first packets are dropped (default 65536)",
      "BYTES" },
    { "user", 'Z', 0, G_OPTION_ARG_STRING, &user_name,
      "After opening the interface and the output files, drop root privileges to USER",
      "USER" },
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
  if (!check_live_options (stats_seconds, save_path, &save_ring_len, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  g_auto (DropTo) drop_to = { 0 };
  if (user_name != NULL && !find_user (user_name, &drop_to, &error)) {
    print_error (error->message);
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
  g_autoptr (MtdPcapngWriter) saver = NULL;
  if (save_path != NULL) {
    g_autofree char *application = g_strdup_printf ("mtlsdiag %s", MTD_VERSION);
    saver = mtd_pcapng_writer_open (save_path, mtd_source_file_link_type (source),
                                    (guint32) mtd_source_snaplen (source), interface, application,
                                    &error);
    if (saver == NULL) {
      g_prefix_error (&error, "--save-flagged: ");
      print_error (error->message);
      return EXIT_UNUSABLE;
    }
  }
  /* Everything that needs root is open now. */
  if (user_name != NULL && !drop_privileges (&drop_to, &error)) {
    print_error (error->message);
    return EXIT_UNUSABLE;
  }
  RunContext context = { 0 };
  context.checks = common.checks;
  chain_options.is_streaming = TRUE;
  /* Live lines must not break a JSON document (or JSON Lines) on standard output; -q prints
   * none. */
  context.live_out = is_quiet                                   ? NULL
                     : (out == stdout && format != MTD_REPORT_TEXT) ? stderr
                                                                  : stdout;
  context.is_findings_only = is_findings_only;
  g_autoptr (GHashTable) printed_codes
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  context.printed_codes = printed_codes;
  context.saver = saver;
  context.ring_len = (gsize) save_ring_len;
  MtdPipelineCallbacks callbacks = { .on_connection = on_connection,
                                     .on_handshake = on_handshake };
  if (saver != NULL) {
    callbacks.on_flow_start = on_flow_start;
    callbacks.on_flow_packet = on_flow_packet;
    callbacks.on_flow_end = on_flow_end;
  }
  g_autoptr (MtdPipeline) pipeline
      = start_run (&context, format, out, &pipeline_options, &chain_options, &callbacks);
  if (pipeline == NULL)
    return EXIT_UNUSABLE;
  configure_report (context.report, &common);
  context.summary->is_saving_flagged = saver != NULL;

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
  LiveLoop live = {
    .context = &context,
    .source = source,
    .stats_interval_usec = is_quiet ? 0 : (gint64) stats_seconds * G_USEC_PER_SEC,
    .next_stats_usec = g_get_real_time () + (gint64) stats_seconds * G_USEC_PER_SEC,
  };
  read_source (pipeline, source, info, (guint64) max_packets, deadline, &live, NULL);
  live_source = NULL;
  guint64 n_received = 0, n_dropped = 0;
  if (mtd_source_live_stats (source, &n_received, &n_dropped) && n_dropped > 0)
    g_ptr_array_add (info->warnings,
                     g_strdup_printf ("the kernel dropped %" G_GUINT64_FORMAT " of %"
                                      G_GUINT64_FORMAT " packets",
                                      n_dropped, n_received));
  mtd_pipeline_end_input (pipeline);
  /* Every flow has ended, so every flagged connection is in the file now. */
  gboolean is_saved = !context.has_save_failed;
  context.saver = NULL;
  if (saver != NULL && !mtd_pcapng_writer_close (g_steal_pointer (&saver), &error)) {
    g_prefix_error (&error, "--save-flagged: ");
    print_error (error->message);
    is_saved = FALSE;
  }
  if (stats_seconds > 0 && !is_quiet)
    print_stats (&live, pipeline, g_get_real_time ());
  int status = finish_report (&context, pipeline, inputs, out, !is_saved);
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
  /* Joined before the options are parsed: parsing takes words out of argv. */
  g_autofree char *joined_command_line = join_command_line (argc, argv);
  command_line_text = joined_command_line;
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
