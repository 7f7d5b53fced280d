/* mtd-diagnose.h: from a connection's facts to findings, each with a cause and a next check.
 *
 * Owns MtdFinding and MtdDiagnosis.  Deterministic, no I/O, no formatting beyond the finding's
 * own sentences: the report writers decide how they look.  The rules rest on RFC 5246 §7.4.4 and
 * §7.4.6, RFC 8446 §4.3.2, §4.4.2 and §4.6.2, and the App Service facts in DOMAIN.md.
 */
#pragma once

#include <glib.h>

#include "mtd-conn.h"

typedef enum {
  MTD_SEVERITY_INFO,
  MTD_SEVERITY_WARNING, /* something to look at; not a client-certificate failure by itself */
  MTD_SEVERITY_PROBLEM, /* a client-certificate problem: drives exit status 1 */
} MtdSeverity;

typedef struct {
  const char *code;     /* static, stable snake_case, e.g. "cert_requested_not_presented" */
  MtdSeverity severity;
  char *message;        /* owned: what happened, with frame numbers */
  char *cause;          /* owned: the likely cause */
  char *next_check;     /* owned: what to run or look at next */
  guint64 frame;        /* the frame that proves it, 0 when none */
} MtdFinding;

typedef struct {
  GPtrArray *findings;  /* MtdFinding*, owned, worst first */
  MtdSeverity worst;
} MtdDiagnosis;

const char *mtd_severity_name (MtdSeverity severity); /* "info", "warning", "problem" */

MtdDiagnosis *mtd_diagnose_connection (const MtdConnection *connection);
void mtd_diagnosis_free (MtdDiagnosis *diagnosis); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdDiagnosis, mtd_diagnosis_free)

/* TRUE when the diagnosis holds a client-certificate problem (exit status 1). */
gboolean mtd_diagnosis_has_problem (const MtdDiagnosis *diagnosis);
