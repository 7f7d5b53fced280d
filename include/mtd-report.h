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

void mtd_report_connection (MtdReport *report, const MtdConnection *connection,
                            const MtdDiagnosis *diagnosis);
/* The run's request chains (MtdChain*) and their diagnoses (MtdDiagnosis*, diagnoses[i] is
 * chains[i]'s), written by mtd_report_finish: all three are borrowed until then.  The chainer
 * gives the names of --hop addresses. */
void mtd_report_set_chains (MtdReport *report, const GPtrArray *chains,
                            const GPtrArray *diagnoses, const MtdChainer *chainer);
/* Writes the chains, inputs and summary and closes the document.  FALSE with error when writing failed
 * (disk full, closed pipe). */
gboolean mtd_report_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                            const MtdSummary *summary, GError **error);

/* One line for live mode: a connection's facts when its handshake completes or fails. */
void mtd_report_live_line (FILE *out, const MtdConnection *connection,
                           const MtdDiagnosis *diagnosis);
