/* diagnose-private.h: what diagnose.c and diagnose-chain.c share: building findings. */
#pragma once

#include "mtd-diagnose.h"

void mtd_finding_free (MtdFinding *finding); /* NULL-safe */

/* Adds a finding to findings (MtdFinding*, owned by the caller's array) and returns it;
 * message, cause and next_check (the last two may be NULL) are taken over.  frame, when not 0,
 * becomes evidence in the connection's input (mtd_diagnose_connection) or is ignored. */
MtdFinding *mtd_diagnose_add_finding (GPtrArray *findings, const char *code, MtdSeverity severity,
                                      guint64 frame, char *message, char *cause,
                                      char *next_check);
/* Adds one evidence frame (0 is ignored, as are repeats and frames beyond the cap). */
void mtd_finding_add_evidence (MtdFinding *finding, guint input_index, guint64 frame);

/* Moves findings (an array that owns nothing) into the result, worst first, keeping the rules'
 * order within a severity. */
GPtrArray *mtd_diagnose_order (GPtrArray *findings, MtdSeverity *worst);
/* A diagnosis holding findings, ordered; the array itself stays the caller's. */
MtdDiagnosis *mtd_diagnosis_new (GPtrArray *findings);
