/* mtd-limits.h: the caps on what an input controls, by name (--limit NAME=N).
 *
 * Owns the table of named caps: each names one field of MtdPipelineOptions, its unit, the
 * range it may take and why it exists.  Every cap's default lives with the module that
 * enforces it (flow table, TLS parser, pipeline); this module only reads and sets them.
 * Hitting a cap is never an error: the module that enforces it records an anomaly on the
 * connection (or counts an eviction) and analysis goes on.
 */
#pragma once

#include <glib.h>

#include "mtd-pipeline.h"

/* Sets one cap from "NAME=N" (N a decimal count; "k" or "M" suffixes multiply by 1024 and
 * 1048576).  FALSE with *error naming the word and the reason for an unknown name, a value
 * that is not a number or is outside the cap's range. */
gboolean mtd_limits_set (MtdPipelineOptions *options, const char *assignment, GError **error);

/* One line per cap, "  NAME  default D (range): what it bounds", for --limit's help. */
char *mtd_limits_describe (void);
