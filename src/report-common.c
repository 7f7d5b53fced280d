/* report-common.c: the report writer object and what its text and JSON halves share: ISO 8601
 * times (RFC 3339 §5.6 profile, UTC) and decoding untrusted UTF-8 (RFC 3629). */
#include <errno.h>
#include <time.h>

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
  g_return_val_if_fail (format == MTD_REPORT_TEXT || format == MTD_REPORT_JSON, NULL);
  MtdReport *report = g_new0 (MtdReport, 1);
  report->format = format;
  report->out = out;
  report->tool_version = g_strdup (tool_version != NULL ? tool_version : "unknown");
  if (format == MTD_REPORT_JSON)
    mtd_report_json_begin (report);
  else
    mtd_report_text_begin (report);
  note_write_error (report);
  return report;
}

void
mtd_report_free (MtdReport *report)
{
  if (report == NULL)
    return;
  g_free (report->tool_version);
  for (guint i = 0; i < G_N_ELEMENTS (report->chain_spools); i++)
    mtd_spool_drain (report->chain_spools[i], NULL);
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
  return FALSE;
}

void
mtd_report_connection (MtdReport *report, const MtdConnection *connection,
                       const MtdDiagnosis *diagnosis)
{
  g_return_if_fail (report != NULL && connection != NULL);
  if (report->format == MTD_REPORT_JSON)
    mtd_report_json_connection (report, connection, diagnosis);
  else
    mtd_report_text_connection (report, connection, diagnosis);
  report->n_connections++;
  note_write_error (report);
}

MtdSpool *
mtd_spool_new (void)
{
  MtdSpool *spool = g_new0 (MtdSpool, 1);
  spool->file = tmpfile ();
  if (spool->file == NULL) {
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
  }
  g_free (spool);
  return is_ok;
}

void
mtd_report_chain (MtdReport *report, const MtdChain *chain, const MtdDiagnosis *diagnosis,
                  GHashTable *hop_names)
{
  g_return_if_fail (report != NULL && chain != NULL);
  if (report->format == MTD_REPORT_JSON)
    mtd_report_json_chain (report, chain, diagnosis, hop_names);
  else
    mtd_report_text_chain (report, chain, diagnosis, hop_names);
  report->n_chains++;
}

gboolean
mtd_report_finish (MtdReport *report, const MtdInputInfo *const *inputs, guint n_inputs,
                   const MtdSummary *summary, GError **error)
{
  g_return_val_if_fail (report != NULL && summary != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (report->format == MTD_REPORT_JSON) {
    mtd_report_json_chains (report);
    mtd_report_json_finish (report, inputs, n_inputs, summary);
  } else {
    mtd_report_text_chains (report);
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

static gboolean
format_utc (gint64 seconds, gint64 micros, gboolean has_micros, char *buf, gsize buf_len)
{
  g_return_val_if_fail (buf != NULL && buf_len > 0, FALSE);
  buf[0] = '\0';
  time_t as_time = (time_t) seconds;
  if ((gint64) as_time != seconds)
    return FALSE;
  struct tm tm;
  if (gmtime_r (&as_time, &tm) == NULL)
    return FALSE;
  gint year = tm.tm_year + 1900;
  /* ISO 8601 without the expanded-year form: four digits only. */
  if (year < 0 || year > 9999)
    return FALSE;
  if (has_micros)
    g_snprintf (buf, buf_len, "%04d-%02d-%02dT%02d:%02d:%02d.%06" G_GINT64_FORMAT "Z", year,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  else
    g_snprintf (buf, buf_len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
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

void
mtd_report_set_redaction (MtdReport *report, MtdRedaction redaction)
{
  report->redaction = redaction;
}

const char *
mtd_report_ip (MtdReport *report, const char *ip)
{
  return ip;
}

const char *
mtd_report_dn (MtdReport *report, const char *dn)
{
  return report->redaction == MTD_REDACT_ALL ? NULL : dn;
}

gboolean
mtd_report_shows_serials (const MtdReport *report)
{
  return report->redaction == MTD_REDACT_NONE;
}
