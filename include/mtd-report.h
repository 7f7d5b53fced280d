/* mtd-report.h: report writers, the only place that formats output and escapes untrusted text.
 *
 * Owns MtdReport, a streaming writer: connections are written as they finish, so memory does not
 * grow with the capture, and the inputs and summary come last.  Formats: text for people, JSON
 * (schema_version 1, documented in docs/json-schema.md) for machines.  Every string that came from
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
} MtdReportFormat;

typedef struct _MtdReport MtdReport;

/* out is borrowed (stdout or an opened -o file).  The tool version is written in the header. */
MtdReport *mtd_report_new (MtdReportFormat format, FILE *out, const char *tool_version);
void mtd_report_free (MtdReport *report); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdReport, mtd_report_free)

gboolean mtd_report_parse_format (const char *name, MtdReportFormat *format);

/* --redact: addresses become stable pseudonyms, certificate serials and SAN e-mail addresses are
 * dropped; MTD_REDACT_ALL drops subjects' and issuers' names too.  Set before anything is
 * written. */
typedef enum {
  MTD_REDACT_NONE,
  MTD_REDACT_DEFAULT,
  MTD_REDACT_ALL,
} MtdRedaction;

void mtd_report_set_redaction (MtdReport *report, MtdRedaction redaction);

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

/* One line for live mode: a connection's facts when its handshake completes or fails. */
void mtd_report_live_line (FILE *out, const MtdConnection *connection,
                           const MtdDiagnosis *diagnosis);
