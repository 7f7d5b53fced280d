/* report-common.c: the report writer object and what its text and JSON halves share: ISO 8601
 * times (RFC 3339 §5.6 profile, UTC) and decoding untrusted UTF-8 (RFC 3629). */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "report-document.h"
#include "report-private.h"

/* Keeps the first write error: later writes to a failed stream may leave errno unrelated. */
static void
note_write_error (MtdReport *report)
{
  if (report->write_errno == 0 && ferror (report->out))
    report->write_errno = errno != 0 ? errno : EIO;
}

MtdReport *
mtd_report_new (MtdReportFormat format, FILE *out, const char *tool_version)
{
  g_return_val_if_fail (out != NULL, NULL);
  g_return_val_if_fail (format == MTD_REPORT_TEXT || format == MTD_REPORT_JSON
                            || format == MTD_REPORT_JSONL || format == MTD_REPORT_MARKDOWN
                            || format == MTD_REPORT_HTML,
                        NULL);
  MtdReport *report = g_new0 (MtdReport, 1);
  report->format = format;
  report->out = out;
  report->tool_version = g_strdup (tool_version != NULL ? tool_version : "unknown");
  if (format == MTD_REPORT_MARKDOWN || format == MTD_REPORT_HTML)
    report->document = mtd_document_new ();
  return report;
}

/* The header waits for the first write, so that it can say what the setters chose. */
static void
begin_if_needed (MtdReport *report)
{
  if (report->has_begun)
    return;
  report->has_begun = TRUE;
  if (report->format == MTD_REPORT_JSON)
    mtd_report_json_begin (report);
  else if (report->format == MTD_REPORT_TEXT)
    mtd_report_text_begin (report);
  /* JSON Lines has no header: its summary line, the last, says what the JSON header says.
   * Markdown and HTML write their top at the finish, when the verdict is known. */
  note_write_error (report);
}

void
mtd_report_set_summary_only (MtdReport *report, gboolean is_summary_only)
{
  g_return_if_fail (report != NULL && !report->has_begun);
  report->is_summary_only = is_summary_only;
}

gboolean
mtd_report_parse_color (const char *name, MtdReportColor *color)
{
  g_return_val_if_fail (color != NULL, FALSE);
  static const char *const names[] = { "auto", "always", "never" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++) {
    if (g_strcmp0 (name, names[i]) == 0) {
      *color = (MtdReportColor) i;
      return TRUE;
    }
  }
  return FALSE;
}

void
mtd_report_set_color (MtdReport *report, MtdReportColor color)
{
  g_return_if_fail (report != NULL);
  /* https://no-color.org: NO_COLOR set and not empty turns colour off, unless asked for. */
  const char *no_color = g_getenv ("NO_COLOR");
  gboolean is_terminal = isatty (fileno (report->out)) == 1;
  report->is_color = report->format == MTD_REPORT_TEXT
                     && (color == MTD_REPORT_COLOR_ALWAYS
                         || (color == MTD_REPORT_COLOR_AUTO && is_terminal
                             && (no_color == NULL || no_color[0] == '\0')));
}

void
mtd_report_free (MtdReport *report)
{
  if (report == NULL)
    return;
  g_free (report->tool_version);
  g_free (report->command_line);
  mtd_document_free (report->document);
  for (guint i = 0; i < G_N_ELEMENTS (report->chain_spools); i++)
    mtd_spool_drain (report->chain_spools[i], NULL);
  for (guint i = 0; i < G_N_ELEMENTS (report->connection_spools); i++)
    mtd_spool_drain (report->connection_spools[i], NULL);
  g_free (report->text_worst_code);
  g_free (report->text_worst_where);
  g_free (report->text_worst_message);
  if (report->pseudonyms != NULL)
    g_hash_table_unref (report->pseudonyms);
  if (report->context_names != NULL)
    g_ptr_array_unref (report->context_names);
  g_free (report);
}

gboolean
mtd_report_parse_format (const char *name, MtdReportFormat *format)
{
  g_return_val_if_fail (format != NULL, FALSE);
  if (g_strcmp0 (name, "text") == 0) {
    *format = MTD_REPORT_TEXT;
    return TRUE;
  }
  if (g_strcmp0 (name, "json") == 0) {
    *format = MTD_REPORT_JSON;
    return TRUE;
  }
  if (g_strcmp0 (name, "jsonl") == 0) {
    *format = MTD_REPORT_JSONL;
    return TRUE;
  }
  if (g_strcmp0 (name, "markdown") == 0) {
    *format = MTD_REPORT_MARKDOWN;
    return TRUE;
  }
  if (g_strcmp0 (name, "html") == 0) {
    *format = MTD_REPORT_HTML;
    return TRUE;
  }
  return FALSE;
}

void
mtd_report_set_command_line (MtdReport *report, const char *command_line)
{
  g_return_if_fail (report != NULL);
  g_free (report->command_line);
  report->command_line = g_strdup (command_line);
}

void
mtd_report_connection (MtdReport *report, const MtdConnection *connection,
                       const MtdDiagnosis *diagnosis)
{
  g_return_if_fail (report != NULL && connection != NULL);
  begin_if_needed (report);
  /* Markdown, HTML and text see every connection for their verdict, even with
   * --summary-only. */
  if (report->is_summary_only && report->document == NULL && report->format != MTD_REPORT_TEXT)
    return;
  mtd_report_context_connection (report, connection);
  if (report->document != NULL)
    mtd_report_document_connection (report, connection, diagnosis);
  else if (report->format == MTD_REPORT_JSON)
    mtd_report_json_connection (report, connection, diagnosis);
  else if (report->format == MTD_REPORT_JSONL)
    mtd_report_jsonl_connection (report, connection, diagnosis);
  else
    mtd_report_text_connection (report, connection, diagnosis);
  mtd_report_context_clear (report);
  report->n_connections++;
  note_write_error (report);
}

guint
mtd_report_spool_index (const MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL || diagnosis->findings == NULL || diagnosis->findings->len == 0)
    return 2;
  return diagnosis->worst == MTD_SEVERITY_ERROR     ? 0
         : diagnosis->worst == MTD_SEVERITY_WARNING ? 1
                                                    : 2;
}

FILE *
mtd_report_spool_file (MtdReport *report, MtdSpool **spools, guint index)
{
  if (spools[index] == NULL) {
    spools[index] = mtd_spool_new ();
    if (spools[index] == NULL) {
      report->write_errno = report->write_errno != 0 ? report->write_errno : errno;
      return NULL;
    }
  }
  return spools[index]->file;
}

const char *
mtd_report_decimal (guint64 value, char buf[MTD_REPORT_DECIMAL_LEN], gsize *len)
{
  gsize n_digits = 0;
  do {
    buf[MTD_REPORT_DECIMAL_LEN - 1 - n_digits++] = (char) ('0' + value % 10);
    value /= 10;
  } while (value > 0);
  *len = n_digits;
  return buf + MTD_REPORT_DECIMAL_LEN - n_digits;
}

gboolean
mtd_report_is_bidi_control (gunichar c)
{
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E)
         || (c >= 0x2066 && c <= 0x2069);
}

MtdSpool *
mtd_spool_new (void)
{
  MtdSpool *spool = g_new0 (MtdSpool, 1);
  spool->file = tmpfile ();
  if (spool->file != NULL) {
    spool->buffer = g_malloc (MTD_SPOOL_BUFFER_LEN);
    setvbuf (spool->file, spool->buffer, _IOFBF, MTD_SPOOL_BUFFER_LEN);
  } else {
    spool->file = open_memstream (&spool->memory, &spool->memory_len);
    spool->is_memory = TRUE;
  }
  if (spool->file == NULL) {
    g_free (spool);
    return NULL;
  }
  return spool;
}

gboolean
mtd_spool_drain (MtdSpool *spool, FILE *out)
{
  if (spool == NULL)
    return TRUE;
  gboolean is_ok = !ferror (spool->file);
  if (spool->is_memory) {
    is_ok &= fclose (spool->file) == 0;
    if (out != NULL && spool->memory_len > 0)
      fwrite (spool->memory, 1, spool->memory_len, out);
    free (spool->memory);
  } else {
    if (out != NULL) {
      is_ok &= fflush (spool->file) == 0 && fseek (spool->file, 0, SEEK_SET) == 0;
      char buffer[16 * 1024];
      size_t n;
      while (is_ok && (n = fread (buffer, 1, sizeof buffer, spool->file)) > 0)
        fwrite (buffer, 1, n, out);
      is_ok &= !ferror (spool->file);
    }
    fclose (spool->file);
    g_free (spool->buffer); /* only after fclose, which flushes from it */
  }
  g_free (spool);
  return is_ok;
}

void
mtd_report_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                  GHashTable *hop_names)
{
  g_return_if_fail (report != NULL && chain != NULL);
  begin_if_needed (report);
  if (report->is_summary_only && report->document == NULL && report->format != MTD_REPORT_TEXT)
    return;
  mtd_report_context_chain (report, chain);
  if (report->document != NULL)
    mtd_report_document_chain (report, chain, diagnosis, hop_names);
  else if (report->format == MTD_REPORT_JSON)
    mtd_report_json_chain (report, chain, diagnosis, hop_names);
  else if (report->format == MTD_REPORT_JSONL)
    mtd_report_jsonl_chain (report, chain, diagnosis, hop_names);
  else
    mtd_report_text_chain (report, chain, diagnosis, hop_names);
  mtd_report_context_clear (report);
  report->n_chains++;
  note_write_error (report);
}

gboolean
mtd_report_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                   const MtdSummary *summary, GError **error)
{
  g_return_val_if_fail (report != NULL && summary != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  begin_if_needed (report);
  if (report->format == MTD_REPORT_JSON) {
    if (!report->is_summary_only)
      mtd_report_json_chains (report);
    mtd_report_json_finish (report, inputs, n_inputs, summary);
  } else if (report->format == MTD_REPORT_JSONL) {
    mtd_report_jsonl_finish (report, inputs, n_inputs, summary);
  } else if (report->document != NULL) {
    mtd_report_document_finish (report, inputs, n_inputs, summary);
  } else {
    mtd_report_text_finish (report, inputs, n_inputs, summary);
  }
  note_write_error (report);
  /* stdio keeps the error flag in the stream; fflush reports what was still buffered. */
  errno = 0;
  int flush_status = fflush (report->out);
  int saved_errno = report->write_errno != 0 ? report->write_errno : errno;
  if (flush_status != 0 || ferror (report->out)) {
    if (saved_errno != 0)
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "the report could not be written: %s", g_strerror (saved_errno));
    else
      g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_IO,
                           "the report could not be written completely");
    return FALSE;
  }
  return TRUE;
}

/* Writes value as exactly n_digits decimal digits, zero-padded; value fits them. */
static char *
put_digits (char *p, gint64 value, guint n_digits)
{
  for (guint i = n_digits; i > 0; i--) {
    p[i - 1] = (char) ('0' + value % 10);
    value /= 10;
  }
  return p + n_digits;
}

/* The proleptic Gregorian calendar by arithmetic, not gmtime_r: glibc's takes the time zone lock
 * and printf parses its format for every timestamp of every connection.  Days are counted from
 * 0000-03-01, so each 400-year era (146097 days) ends with its leap day: the year of the era
 * from the day of the era, then the month from the day of that March-based year, whose months
 * repeat a 153-day pattern every five months. */
static gboolean
format_utc (gint64 seconds, gint64 micros, gboolean has_micros, char *buf, gsize buf_len)
{
  g_return_val_if_fail (buf != NULL && buf_len > 0, FALSE);
  buf[0] = '\0';
  /* Beyond ±2^50 seconds the year is out of range anyway; the bound keeps the sums below from
   * overflowing. */
  if (seconds < -(G_GINT64_CONSTANT (1) << 50) || seconds > (G_GINT64_CONSTANT (1) << 50))
    return FALSE;
  gint64 days = seconds / 86400;
  gint64 second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days--;
  }
  gint64 from_march = days + 719468; /* 1970-01-01 is day 719468 after 0000-03-01 */
  gint64 era = (from_march >= 0 ? from_march : from_march - 146096) / 146097;
  gint64 day_of_era = from_march - era * 146097;
  gint64 year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  gint64 day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  gint64 march_month = (5 * day_of_year + 2) / 153; /* 0 is March, 11 is February */
  gint64 day = day_of_year - (153 * march_month + 2) / 5 + 1;
  gint64 month = march_month < 10 ? march_month + 3 : march_month - 9;
  gint64 year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  /* ISO 8601 without the expanded-year form: four digits only. */
  if (year < 0 || year > 9999)
    return FALSE;

  char text[MTD_REPORT_TIME_LEN];
  char *p = put_digits (text, year, 4);
  *p++ = '-';
  p = put_digits (p, month, 2);
  *p++ = '-';
  p = put_digits (p, day, 2);
  *p++ = 'T';
  p = put_digits (p, second_of_day / 3600, 2);
  *p++ = ':';
  p = put_digits (p, second_of_day / 60 % 60, 2);
  *p++ = ':';
  p = put_digits (p, second_of_day % 60, 2);
  if (has_micros) {
    *p++ = '.';
    p = put_digits (p, micros, 6);
  }
  *p++ = 'Z';
  *p = '\0';
  g_strlcpy (buf, text, buf_len);
  return TRUE;
}

gboolean
mtd_report_format_usec (gint64 usec, char *buf, gsize buf_len)
{
  /* Floor division, so times before 1970 keep a non-negative fraction. */
  gint64 seconds = usec / G_USEC_PER_SEC;
  gint64 micros = usec % G_USEC_PER_SEC;
  if (micros < 0) {
    micros += G_USEC_PER_SEC;
    seconds--;
  }
  return format_utc (seconds, micros, TRUE, buf, buf_len);
}

gboolean
mtd_report_format_seconds (gint64 seconds, char *buf, gsize buf_len)
{
  return format_utc (seconds, 0, FALSE, buf, buf_len);
}

guint16
mtd_report_version_of_index (guint index)
{
  static const guint16 versions[] = { 0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304 };
  g_return_val_if_fail (index < G_N_ELEMENTS (versions), 0);
  return versions[index];
}

gint
mtd_report_handshake_state (const MtdConnection *connection)
{
  const MtdTlsFacts *tls = connection->tls;
  g_return_val_if_fail (tls != NULL, -1);
  if (tls->is_handshake_complete)
    return 1;
  if (tls->alerts != NULL && tls->alerts->len > 0)
    return 0;
  if (connection->is_incomplete || g_strcmp0 (connection->end_reason, "capture_end") == 0
      || g_strcmp0 (connection->end_reason, "evicted") == 0)
    return -1;
  return 0;
}

MtdCertValidity
mtd_report_cert_validity (const MtdCert *cert, const MtdConnection *connection)
{
  gint64 seconds = connection->start_usec / G_USEC_PER_SEC;
  if (connection->start_usec < 0 && connection->start_usec % G_USEC_PER_SEC != 0)
    seconds--;
  return mtd_cert_validity_at (cert, seconds);
}

gunichar
mtd_report_next_char (const char **cursor, const char *end, guint8 *invalid_byte)
{
  const char *p = *cursor;
  g_return_val_if_fail (p < end, MTD_REPORT_INVALID_CHAR);
  gssize max_len = MIN (end - p, 6);
  gunichar c = g_utf8_get_char_validated (p, max_len);
  /* -1 is an invalid sequence, -2 one cut short by the end of the text. */
  if (c == (gunichar) -1 || c == (gunichar) -2) {
    *invalid_byte = (guint8) *p;
    *cursor = p + 1;
    return MTD_REPORT_INVALID_CHAR;
  }
  *cursor = g_utf8_next_char (p);
  return c;
}
