/* mtd-diagnose.h: from a connection's facts to findings, each with a cause and a next check.
 *
 * Owns MtdFinding and MtdDiagnosis.  Deterministic, no I/O, no formatting beyond the finding's
 * own sentences: the report writers decide how they look.  The rules rest on RFC 5246 §7.4.4 and
 * §7.4.6, RFC 8446 §4.3.2, §4.4.2 and §4.6.2, and the App Service facts in DOMAIN.md.
 */
#pragma once

#include <glib.h>

#include "mtd-chain.h"
#include "mtd-conn.h"

typedef enum {
  MTD_SEVERITY_INFO,
  MTD_SEVERITY_WARNING, /* something to look at; not a client-certificate failure by itself */
  MTD_SEVERITY_ERROR, /* a client-certificate problem: drives exit status 1 */
} MtdSeverity;

/* A frame that proves a finding, in one of the run's inputs. */
typedef struct {
  guint input_index;
  guint64 frame;        /* 1-based, as Wireshark numbers the frames of that input */
} MtdEvidence;

#define MTD_MAX_FINDING_EVIDENCE 4

typedef struct {
  const char *code;     /* static, stable UPPER_SNAKE, e.g. "CERT_REQUESTED_EMPTY" */
  MtdSeverity severity;
  char *message;        /* owned: what happened, with frame numbers */
  char *cause;          /* owned: the runbook cause it points to */
  char *next_check;     /* owned: what to run or look at next */
  guint64 frame;        /* the first evidence frame, 0 when none */
  guint n_evidence;
  MtdEvidence evidence[MTD_MAX_FINDING_EVIDENCE];
} MtdFinding;

typedef struct {
  GPtrArray *findings;  /* MtdFinding*, owned, worst first */
  MtdSeverity worst;
} MtdDiagnosis;

const char *mtd_severity_name (MtdSeverity severity); /* "info", "warning", "error" */

MtdDiagnosis *mtd_diagnose_connection (const MtdConnection *connection);
/* The findings of a request chain as a whole (the connections in it have their own). */
MtdDiagnosis *mtd_diagnose_chain (const MtdChain *chain);
void mtd_diagnosis_free (MtdDiagnosis *diagnosis); /* NULL-safe */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtdDiagnosis, mtd_diagnosis_free)

/* "error CERT_REQUESTED_EMPTY, warning INCOMPLETE": the codes of the warnings and errors, worst
 * first, as a new string; NULL when there are none. */
char *mtd_diagnosis_label (const MtdDiagnosis *diagnosis);

/* TRUE when the diagnosis holds a client-certificate problem (exit status 1). */
gboolean mtd_diagnosis_has_problem (const MtdDiagnosis *diagnosis);
