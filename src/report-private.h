/* report-private.h: what the text and JSON report writers share: the writer object, the
 * per-format halves that report-common.c dispatches to, and helpers for times, versions and
 * untrusted UTF-8 (RFC 3629). */
#pragma once

#include "mtd-report.h"

/* A temporary file (or, when none can be made, memory) that report parts wait in. */
typedef struct {
  FILE *file;
  char *memory;       /* open_memstream's buffer when file is one */
  size_t memory_len;
  gboolean is_memory;
  char *buffer;       /* owned: the temporary file's stdio buffer, MTD_SPOOL_BUFFER_LEN bytes */
} MtdSpool;

/* A spool holds every chain of a capture: a large stdio buffer keeps it to one write(2) per
 * this many bytes rather than one per 4 KiB block. */
#define MTD_SPOOL_BUFFER_LEN (64 * 1024)

/* A new spool; NULL (errno set) when neither a temporary file nor memory can be had. */
MtdSpool *mtd_spool_new (void);
/* Appends the spool's content to out (NULL: drops it) and frees the spool.  FALSE when the
 * spool could not be written or read back.  NULL-safe (TRUE). */
gboolean mtd_spool_drain (MtdSpool *spool, FILE *out);
/* Which of three severity spools (errors, warnings, the rest) a connection or chain with this
 * diagnosis (may be NULL) waits in, so that the report lists the worst first. */
guint mtd_report_spool_index (const MtdDiagnosis *diagnosis);
/* spools[index]'s file, the spool made on first use; NULL (the write error noted in the report)
 * when none can be had. */
FILE *mtd_report_spool_file (MtdReport *report, MtdSpool **spools, guint index);

/* Unicode's bidirectional formatting characters (Unicode Standard Annex #9, section 2): shown
 * raw they reorder the text around them, so every writer escapes them in untrusted text. */
gboolean mtd_report_is_bidi_control (gunichar c);

/* Decimal digits by hand: numbers are most of a report's values, and printf's format parsing
 * cost more than everything else a writer does for them.  Writes value's digits at the end of
 * buf and returns where they start; *len is their count. */
#define MTD_REPORT_DECIMAL_LEN 24
const char *mtd_report_decimal (guint64 value, char buf[MTD_REPORT_DECIMAL_LEN], gsize *len);

struct _MtdReport {
  MtdReportFormat format;
  FILE *out;             /* borrowed */
  char *tool_version;    /* owned */
  guint64 n_connections; /* written so far; nothing else about them is kept */
  int write_errno;       /* the first write error seen, 0 while none */
  /* Chains wait in spool files until the connections are written (JSON: one spool; text: one
   * per severity, worst first).  NULL until the first chain. */
  MtdSpool *chain_spools[3];
  guint64 n_chains;          /* written to the spools */
  guint64 n_chains_hidden;   /* text: one-connection chains without a warning, not shown */
  MtdRedaction redaction;
  gboolean has_begun;        /* the header is written (at the first write, after the setters) */
  gboolean is_summary_only;
  gboolean is_color;         /* text only: ANSI colours for severity and verdict words */
  /* --redact: printable address (canonical form, owned) -> "host-N" (owned); NULL until the
   * first address.  Grows with the distinct addresses shown, not with the connections. */
  GHashTable *pseudonyms;
  /* --redact=all: the distinguished names of the connection or chain being written (const
   * char*, borrowed from it, longest first), which mtd_report_scrub removes from free text;
   * emptied after each. */
  GPtrArray *context_names;
  char *command_line;        /* owned, NULL when not set: shown by Markdown and HTML */
  /* Text: connections wait in spools by severity (errors, warnings, the rest; NULL until the
   * first) so that the report starts with its verdict and lists the worst first; and the
   * worst finding seen, for that verdict line (strings owned, already scrubbed for --redact). */
  MtdSpool *connection_spools[3];
  gboolean has_text_worst;
  gboolean is_text_worst_in_chain;
  MtdSeverity text_worst_severity;
  char *text_worst_code;
  char *text_worst_where;
  char *text_worst_message;
  /* Markdown and HTML: what the top of the document needs, gathered as connections and chains
   * pass (report-document.h); NULL for the other formats. */
  struct _MtdDocument *document;
};

/* "none", "default", "all": the JSON "redacted" member. */
const char *mtd_report_redaction_name (MtdRedaction redaction);

/* Free text as --redact lets it be shown: with any redaction, every IPv4 or IPv6 address in it
 * becomes its pseudonym and every e-mail address "[email]"; with MTD_REDACT_ALL the names of
 * context_names become "[redacted]".  Returns text itself when nothing changes (always without
 * redaction; *owned is then NULL), else a new string that is also stored in *owned for the
 * caller to free.  NULL stays NULL. */
const char *mtd_report_scrub (MtdReport *report, const char *text, char **owned);
/* Collect (MTD_REDACT_ALL only) the names of the certificates of a connection or a chain that
 * is about to be written; clear when it is written.  The dispatchers call these. */
void mtd_report_context_connection (MtdReport *report, const MtdConnection *connection);
void mtd_report_context_chain (MtdReport *report, const MtdChain *chain);
void mtd_report_context_clear (MtdReport *report);

/* Every writer prints addresses, names from certificates and serials through these, so that
 * --redact holds in every format.  The returned strings are borrowed from the report (or from
 * the argument) and stay valid until the report is freed. */
const char *mtd_report_ip (MtdReport *report, const char *ip);
/* A subject or issuer DN as it may be shown; NULL when it must not be (--redact=all). */
const char *mtd_report_dn (MtdReport *report, const char *dn);
/* Whether certificate serials and SAN e-mail addresses may be shown. */
gboolean mtd_report_shows_serials (const MtdReport *report);

void mtd_report_text_begin (MtdReport *report);
void mtd_report_text_connection (MtdReport *report, const MtdConnection *connection,
                                 const MtdDiagnosis *diagnosis);
void mtd_report_text_chain (MtdReport *report, const MtdChain *chain,
                            const MtdDiagnosis *diagnosis, GHashTable *hop_names);
void mtd_report_text_finish (MtdReport *report, const MtdInputInfo *const *inputs,
                             guint n_inputs, const MtdSummary *summary);

void mtd_report_json_begin (MtdReport *report);
void mtd_report_json_connection (MtdReport *report, const MtdConnection *connection,
                                 const MtdDiagnosis *diagnosis);
void mtd_report_json_chain (MtdReport *report, const MtdChain *chain,
                            const MtdDiagnosis *diagnosis, GHashTable *hop_names);
void mtd_report_json_chains (MtdReport *report);
void mtd_report_json_finish (MtdReport *report, const MtdInputInfo *const *inputs,
                             guint n_inputs, const MtdSummary *summary);

/* JSON Lines: each connection and chain is one line as it comes, the summary the last line. */
void mtd_report_jsonl_connection (MtdReport *report, const MtdConnection *connection,
                                  const MtdDiagnosis *diagnosis);
void mtd_report_jsonl_chain (MtdReport *report, const MtdChain *chain,
                             const MtdDiagnosis *diagnosis, GHashTable *hop_names);
void mtd_report_jsonl_finish (MtdReport *report, const MtdInputInfo *const *inputs,
                              guint n_inputs, const MtdSummary *summary);

/* Room for any time the helpers below write. */
#define MTD_REPORT_TIME_LEN 48

/* ISO 8601 UTC: "2026-11-28T12:00:00.123456Z" from microseconds, "2026-11-28T12:00:00Z" from
 * seconds since the epoch.  FALSE (buf empty) when the time cannot be represented. */
gboolean mtd_report_format_usec (gint64 usec, char *buf, gsize buf_len);
gboolean mtd_report_format_seconds (gint64 seconds, char *buf, gsize buf_len);

/* The TLS version whose slot in MtdSummary's n_by_version is index (mtd_summary_version_index). */
guint16 mtd_report_version_of_index (guint index);

/* Whether the first handshake completed: 1 yes, 0 no (an alert or the close ended it), -1 unknown
 * (not complete when the capture stopped holding the connection, and no alert says why). */
gint mtd_report_handshake_state (const MtdConnection *connection);

/* A certificate's validity when the connection started. */
MtdCertValidity mtd_report_cert_validity (const MtdCert *cert, const MtdConnection *connection);

/* Decodes the next character of untrusted text between *cursor and end and advances past it.
 * A byte that does not begin a valid UTF-8 sequence (RFC 3629 §3: no overlong forms, no
 * surrogates, nothing above U+10FFFF) gives MTD_REPORT_INVALID_CHAR, with the byte in
 * *invalid_byte, and the cursor moves one byte on. */
#define MTD_REPORT_INVALID_CHAR ((gunichar) -1)
gunichar mtd_report_next_char (const char **cursor, const char *end, guint8 *invalid_byte);
