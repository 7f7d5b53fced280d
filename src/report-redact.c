/* report-redact.c: --redact for every report format.
 *
 * Addresses become pseudonyms that are stable within one report ("host-1", "host-2", in the
 * order they are first written), certificate serials and SAN e-mail addresses are left out, and
 * with --redact=all the subjects and issuers too.  Free text (finding messages, reasons, HTTP
 * fields) is scrubbed as well: IPv4 addresses in dotted-decimal form (RFC 791 §3.2, as
 * inet_pton reads them: never a part of a longer dotted number), IPv6 addresses in any form of
 * RFC 4291 §2.2 (RFC 5952's canonical form is what the pseudonyms are keyed by, so one address
 * written two ways is one host), e-mail addresses (RFC 5322 §3.4.1 addr-spec, loosely), and with
 * --redact=all the distinguished names of the certificates the text is about.
 */
#include <arpa/inet.h>
#include <string.h>

#include "report-private.h"

#define NAME_REPLACEMENT "[redacted]"
#define EMAIL_REPLACEMENT "[email]"

void
mtd_report_set_redaction (MtdReport *report, MtdRedaction redaction)
{
  g_return_if_fail (report != NULL && !report->has_begun);
  report->redaction = redaction;
}

gboolean
mtd_report_parse_redaction (const char *value, MtdRedaction *redaction)
{
  g_return_val_if_fail (redaction != NULL, FALSE);
  if (value == NULL || g_strcmp0 (value, "default") == 0) {
    *redaction = MTD_REDACT_DEFAULT;
    return TRUE;
  }
  if (g_strcmp0 (value, "all") == 0) {
    *redaction = MTD_REDACT_ALL;
    return TRUE;
  }
  return FALSE;
}

const char *
mtd_report_redaction_name (MtdRedaction redaction)
{
  switch (redaction) {
  case MTD_REDACT_DEFAULT:
    return "default";
  case MTD_REDACT_ALL:
    return "all";
  case MTD_REDACT_NONE:
  default:
    return "none";
  }
}

/* The canonical printable form of an address (an IPv4-mapped IPv6 address as IPv4), into out;
 * FALSE when text is not an address. */
static gboolean
canonical_address (const char *text, char *out, gsize out_len)
{
  static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
  guint8 bytes[16];
  if (strchr (text, ':') == NULL)
    return inet_pton (AF_INET, text, bytes) == 1
           && inet_ntop (AF_INET, bytes, out, (socklen_t) out_len) != NULL;
  if (inet_pton (AF_INET6, text, bytes) != 1)
    return FALSE;
  if (memcmp (bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0)
    return inet_ntop (AF_INET, bytes + 12, out, (socklen_t) out_len) != NULL;
  return inet_ntop (AF_INET6, bytes, out, (socklen_t) out_len) != NULL;
}

const char *
mtd_report_ip (MtdReport *report, const char *ip)
{
  if (ip == NULL || report->redaction == MTD_REDACT_NONE)
    return ip;
  char canonical[INET6_ADDRSTRLEN];
  const char *key = canonical_address (ip, canonical, sizeof canonical) ? canonical : ip;
  if (report->pseudonyms == NULL)
    report->pseudonyms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *pseudonym = g_hash_table_lookup (report->pseudonyms, key);
  if (pseudonym == NULL) {
    char *name = g_strdup_printf ("host-%u", g_hash_table_size (report->pseudonyms) + 1);
    g_hash_table_insert (report->pseudonyms, g_strdup (key), name);
    pseudonym = name;
  }
  return pseudonym;
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

/* ---- Names of the connection or chain being written ---------------------------------------- */

static void
add_name (MtdReport *report, const char *name)
{
  if (name == NULL || name[0] == '\0')
    return;
  for (guint i = 0; i < report->context_names->len; i++)
    if (strcmp (g_ptr_array_index (report->context_names, i), name) == 0)
      return;
  g_ptr_array_add (report->context_names, (gpointer) name);
}

static void
add_cert_names (MtdReport *report, const MtdCert *cert)
{
  if (cert == NULL)
    return;
  add_name (report, cert->subject);
  add_name (report, cert->issuer);
}

static void
add_cert_list_names (MtdReport *report, const GPtrArray *certs)
{
  for (guint i = 0; certs != NULL && i < certs->len; i++)
    add_cert_names (report, g_ptr_array_index (certs, i));
}

static void
add_string_list_names (MtdReport *report, const GPtrArray *names)
{
  for (guint i = 0; names != NULL && i < names->len; i++)
    add_name (report, g_ptr_array_index (names, i));
}

/* Longest first, so that a name inside a longer one does not leave the rest of that one. */
static gint
compare_longer_first (gconstpointer a, gconstpointer b)
{
  gsize a_len = strlen (*(const char *const *) a);
  gsize b_len = strlen (*(const char *const *) b);
  return a_len > b_len ? -1 : a_len < b_len ? 1 : 0;
}

static gboolean
begin_context (MtdReport *report)
{
  if (report->redaction != MTD_REDACT_ALL)
    return FALSE;
  if (report->context_names == NULL)
    report->context_names = g_ptr_array_new ();
  g_ptr_array_set_size (report->context_names, 0);
  return TRUE;
}

void
mtd_report_context_connection (MtdReport *report, const MtdConnection *connection)
{
  if (!begin_context (report))
    return;
  const MtdTlsFacts *tls = connection->tls;
  if (tls != NULL) {
    add_cert_list_names (report, tls->client_chain);
    add_cert_list_names (report, tls->server_chain);
    add_string_list_names (report, tls->acceptable_cas);
  }
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    const MtdCertHeader *header = entry->header;
    add_cert_names (report, header->cert);
    for (guint j = 0; header->xfcc_elements != NULL && j < header->xfcc_elements->len; j++) {
      const MtdXfccElement *element = g_ptr_array_index (header->xfcc_elements, j);
      add_name (report, element->subject);
      add_cert_names (report, element->cert);
    }
  }
  g_ptr_array_sort (report->context_names, compare_longer_first);
}

static void
add_leg_names (MtdReport *report, const MtdLeg *leg)
{
  if (leg == NULL)
    return;
  add_name (report, leg->client_subject);
  add_name (report, leg->client_issuer);
  add_string_list_names (report, leg->acceptable_cas);
  for (guint i = 0; leg->requests != NULL && i < leg->requests->len; i++) {
    const MtdLegRequest *request = g_ptr_array_index (leg->requests, i);
    if (request->cert_header != NULL)
      add_name (report, request->cert_header->subject);
  }
}

void
mtd_report_context_chain (MtdReport *report, const MtdChain *chain)
{
  if (!begin_context (report))
    return;
  for (guint i = 0; i < chain->hops->len; i++)
    add_leg_names (report, g_array_index (chain->hops, MtdChainHop, i).leg);
  add_leg_names (report, chain->held_elsewhere);
  g_ptr_array_sort (report->context_names, compare_longer_first);
}

void
mtd_report_context_clear (MtdReport *report)
{
  if (report->context_names != NULL)
    g_ptr_array_set_size (report->context_names, 0);
}

/* ---- Scrubbing free text ------------------------------------------------------------------- */

/* Each pass returns a new string when it changed something, else NULL. */

static char *
replace_names (MtdReport *report, const char *text)
{
  if (report->context_names == NULL || report->context_names->len == 0)
    return NULL;
  GString *result = NULL;
  const char *p = text;
  const char *copied = text;
  while (*p != '\0') {
    gsize name_len = 0;
    for (guint i = 0; i < report->context_names->len && name_len == 0; i++) {
      const char *name = g_ptr_array_index (report->context_names, i);
      gsize len = strlen (name);
      if (strncmp (p, name, len) == 0)
        name_len = len;
    }
    if (name_len == 0) {
      p++;
      continue;
    }
    if (result == NULL)
      result = g_string_new (NULL);
    g_string_append_len (result, copied, p - copied);
    g_string_append (result, NAME_REPLACEMENT);
    p += name_len;
    copied = p;
  }
  if (result == NULL)
    return NULL;
  g_string_append (result, copied);
  return g_string_free (result, FALSE);
}

/* RFC 5322's atext without "/", "=", "?" and the braces, which join an address to what is
 * around it in paths, DNs and queries ("/users/alice@example.com", "emailAddress=..."). */
static gboolean
is_local_part_char (char c)
{
  return c != '\0' && (g_ascii_isalnum (c) || strchr ("!#$%&'*+^_`|~.-", c) != NULL);
}

static gboolean
is_domain_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == '-';
}

/* local@domain, each side at least one character: whatever looks like an address goes. */
static char *
replace_emails (const char *text)
{
  if (strchr (text, '@') == NULL)
    return NULL;
  GString *result = NULL;
  const char *copied = text;
  for (const char *at = strchr (text, '@'); at != NULL; at = strchr (at + 1, '@')) {
    const char *start = at;
    while (start > copied && is_local_part_char (start[-1]))
      start--;
    const char *end = at + 1;
    while (is_domain_char (*end))
      end++;
    while (end > at + 1 && end[-1] == '.')
      end--;
    if (start == at || end == at + 1)
      continue;
    if (result == NULL)
      result = g_string_new (NULL);
    g_string_append_len (result, copied, start - copied);
    g_string_append (result, EMAIL_REPLACEMENT);
    copied = end;
    at = end - 1;
  }
  if (result == NULL)
    return NULL;
  g_string_append (result, copied);
  return g_string_free (result, FALSE);
}

static gboolean
is_address_char (char c)
{
  return g_ascii_isxdigit (c) || c == ':' || c == '.';
}

static gboolean
is_word_char (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* Whether [start, end) is an address; its canonical form into canonical. */
static gboolean
span_is_address (const char *start, const char *end, char *canonical, gsize canonical_len)
{
  char buf[INET6_ADDRSTRLEN + 1];
  gsize len = (gsize) (end - start);
  if (len < 3 || len >= sizeof buf)
    return FALSE;
  memcpy (buf, start, len);
  buf[len] = '\0';
  return canonical_address (buf, canonical, canonical_len);
}

/* Appends text up to start, then the pseudonym of the address. */
static void
append_pseudonym (MtdReport *report, GString **result, const char **copied, const char *start,
                  const char *end, const char *canonical)
{
  if (*result == NULL)
    *result = g_string_new (NULL);
  g_string_append_len (*result, *copied, start - *copied);
  g_string_append (*result, mtd_report_ip (report, canonical));
  *copied = end;
}

/* A run of hex digits, colons and dots is looked at as a whole: one IPv6 address (perhaps with
 * a stray leading colon, as in "IP:::1", or a full stop after it), or else pieces between colons
 * that are each one IPv4 address ("10.0.0.5:51234").  A piece that is glued to a word ("v1.2.3.4"),
 * or a dotted number with more or fewer than four parts, is left alone. */
static char *
replace_addresses (MtdReport *report, const char *text)
{
  GString *result = NULL;
  const char *copied = text;
  const char *p = text;
  char canonical[INET6_ADDRSTRLEN];
  while (*p != '\0') {
    if (!is_address_char (*p)) {
      p++;
      continue;
    }
    const char *run_start = p;
    while (is_address_char (*p))
      p++;
    const char *run_end = p;
    gboolean is_glued_left = run_start > text && is_word_char (run_start[-1])
                             && g_ascii_isalnum (*run_start);
    gboolean is_glued_right = is_word_char (*run_end) && g_ascii_isalnum (run_end[-1]);
    if (memchr (run_start, ':', (gsize) (run_end - run_start)) != NULL && !is_glued_left
        && !is_glued_right) {
      const char *start = run_start;
      const char *end = run_end;
      while (end > start && (end[-1] == '.' || (end[-1] == ':' && end - start > 2
                                                && end[-2] != ':')))
        end--;
      if (span_is_address (start, end, canonical, sizeof canonical)
          || (*start == ':' && span_is_address (++start, end, canonical, sizeof canonical))) {
        append_pseudonym (report, &result, &copied, start, end, canonical);
        continue;
      }
    }
    for (const char *piece = run_start; piece < run_end;) {
      const char *piece_end = memchr (piece, ':', (gsize) (run_end - piece));
      if (piece_end == NULL)
        piece_end = run_end;
      gboolean is_glued = (piece == run_start && is_glued_left)
                          || (piece_end == run_end && is_glued_right);
      const char *start = piece;
      const char *end = piece_end;
      /* A full stop after an address is no part of it, nor is a dot before it: no number
       * precedes that dot (a run takes every digit and dot, and pieces start after a colon). */
      while (start < end && *start == '.')
        start++;
      while (end > start && end[-1] == '.')
        end--;
      if (!is_glued && span_is_address (start, end, canonical, sizeof canonical))
        append_pseudonym (report, &result, &copied, start, end, canonical);
      piece = piece_end < run_end ? piece_end + 1 : run_end;
    }
  }
  if (result == NULL)
    return NULL;
  g_string_append (result, copied);
  return g_string_free (result, FALSE);
}

/* Makes changed (when not NULL) the current text. */
static void
take (const char **current, char **owned, char *changed)
{
  if (changed == NULL)
    return;
  g_free (*owned);
  *owned = changed;
  *current = changed;
}

const char *
mtd_report_scrub (MtdReport *report, const char *text, char **owned)
{
  g_return_val_if_fail (owned != NULL, text);
  *owned = NULL;
  if (text == NULL || report->redaction == MTD_REDACT_NONE)
    return text;
  const char *current = text;
  /* Names first: a DN may hold an e-mail address (emailAddress=) or an address. */
  take (&current, owned, replace_names (report, current));
  take (&current, owned, replace_emails (current));
  take (&current, owned, replace_addresses (report, current));
  return current;
}
