/* mtd-report.h: report writers, the only place that formats output and escapes untrusted text.
 *
 * Owns MtdReport, a streaming writer: connections are written as they finish, so memory does not
 * grow with the capture, and the inputs and summary come last.  Formats: text for people, JSON
 * (schema_version 1, documented in docs/json-schema.md) for machines, and JSON Lines (the same
 * objects, one per line) for log pipelines, Markdown and HTML (one self-contained document, its
 * top written last from counters) for a support ticket.  Every string that came from
 * the wire (SNI, DNs, HTTP fields) is escaped here: control characters never reach a terminal.
 */
#pragma once

#include <stdio.h>

#include <glib.h>

#include "mtd-chain.h"
#include "mtd-conn.h"
#include "mtd-diagnose.h"

typedef enum {
  MTD_REPORT_TEXT,
  MTD_REPORT_JSON,
  MTD_REPORT_JSONL, /* one JSON object per line (docs/json-schema.md, "JSON Lines") */
  MTD_REPORT_MARKDOWN, /* one self-contained document for a support ticket (report-markdown.c) */
  MTD_REPORT_HTML,     /* the same as one HTML file: inline CSS and SVG only (report-html.c) */
} MtdReportFormat;

typedef struct _MtdReport MtdReport;

/* out is borrowed (stdout or an opened -o file).  The tool version is written in the header,
 * which waits for the first connection, chain or the finish, so that the setters below can come
 * first. */
MtdReport *mtd_report_new (MtdReportFormat format, FILE *out, const char *tool_version);
void mtd_report_free (MtdReport *report); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdReport, mtd_report_free)

gboolean mtd_report_parse_format (const char *name, MtdReportFormat *format);

/* The command line of the run (owned copy; NULL: none), shown in the Markdown and HTML reports'
 * environment section; the other formats ignore it.  Set before mtd_report_finish. */
void mtd_report_set_command_line (MtdReport *report, const char *command_line);

/* --redact: addresses become stable pseudonyms, certificate serials and SAN e-mail addresses are
 * dropped; MTD_REDACT_ALL drops subjects' and issuers' names too.  Set before anything is
 * written. */
typedef enum {
  MTD_REDACT_NONE,
  MTD_REDACT_DEFAULT,
  MTD_REDACT_ALL,
} MtdRedaction;

void mtd_report_set_redaction (MtdReport *report, MtdRedaction redaction);
/* The --redact option's value: NULL (no value) or "default" is MTD_REDACT_DEFAULT, "all"
 * MTD_REDACT_ALL; FALSE for anything else. */
gboolean mtd_report_parse_redaction (const char *value, MtdRedaction *redaction);

/* --summary-only: only the inputs and the summary (text: the Summary block; JSON: the document
 * without "connections" and "chains"; JSON Lines: the summary line).  Set before anything is
 * written. */
void mtd_report_set_summary_only (MtdReport *report, gboolean is_summary_only);

/* --color: severity and verdict words of the text report in ANSI colours (ECMA-48 SGR).  AUTO
 * colours when out is a terminal and NO_COLOR (https://no-color.org) is unset or empty; other
 * formats are never coloured. */
typedef enum {
  MTD_REPORT_COLOR_AUTO,
  MTD_REPORT_COLOR_ALWAYS,
  MTD_REPORT_COLOR_NEVER,
} MtdReportColor;

gboolean mtd_report_parse_color (const char *name, MtdReportColor *color);
void mtd_report_set_color (MtdReport *report, MtdReportColor color);

void mtd_report_connection (MtdReport *report, const MtdConnection *connection,
                            const MtdDiagnosis *diagnosis);
/* One request chain and its diagnosis (both borrowed, nothing is kept: the chain is written to
 * a spool file at once and copied into the report by mtd_report_finish, after the connections;
 * the text report orders chains worst first by spooling each severity apart).  hop_names
 * (borrowed, may be NULL) gives the --hop names of addresses. */
void mtd_report_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                       GHashTable *hop_names);
/* Writes the chains, inputs and summary and closes the document.  FALSE with error when writing failed
 * (disk full, closed pipe). */
gboolean mtd_report_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                            const MtdSummary *summary, GError **error);

/* One line for live mode: a connection's facts when its handshake completes or fails.  Written
 * to out, with report's redaction (the same pseudonyms as the report). */
void mtd_report_live_line (MtdReport *report, FILE *out, const MtdConnection *connection,
                           const MtdDiagnosis *diagnosis);
/* One line for live --findings-only: "TIME #ID CLIENT -> SERVER SEVERITY CODE: message", time_usec
 * being when the finding became known; to out, with report's redaction. */
void mtd_report_live_finding_line (MtdReport *report, FILE *out, const MtdConnection *connection,
                                   const MtdFinding *finding, gint64 time_usec);

/* Live --stats: the run's counters at one moment. */
typedef struct {
  gint64 time_usec;
  guint64 n_packets;
  guint n_live_flows;
  guint64 n_flows_evicted;
  guint64 n_flows_idle_closed;
  gboolean has_pcap_stats;  /* libpcap could give the two counts below */
  guint64 n_pcap_received;
  guint64 n_pcap_dropped;   /* by the kernel or the interface */
  guint64 n_connections;    /* reported so far */
  guint64 n_findings[3];    /* of the reported connections, by MtdSeverity */
  gboolean is_saving_flagged;
  guint64 n_saved_connections;
  guint64 n_saved_cut_short;
} MtdLiveStats;

/* One line of "key=value" counters for live --stats, e.g. "mtlsdiag: stats TIME packets=N ...". */
void mtd_report_live_stats_line (FILE *out, const MtdLiveStats *stats);

/* Reading a capture file: where the reader is, for the progress line on standard error. */
typedef struct {
  guint input_number;     /* 1-based */
  guint n_inputs;
  guint64 n_bytes_read;   /* file offset of the reader */
  guint64 n_bytes_total;  /* the file's size */
  guint64 n_packets;      /* of this input so far */
  guint64 n_flows;        /* TCP flows of the run so far, finished or open */
  gint64 elapsed_usec;    /* since this input was opened */
} MtdProgress;

/* The progress line, without line ending: "312.5 of 600.0 MB (52%), 1234567 packets, 4321 flows,
 * 512.3 MB/s, 0:01 left", with "input 2 of 3: " in front when there are several. */
void mtd_report_format_progress (const MtdProgress *progress, char *buf, gsize buf_len);
