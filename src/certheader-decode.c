/* certheader-decode.c: client-certificate forwarding header values to MtdCert facts.
 *
 * Follows RFC 4648 §4 (the base64 alphabet and its padding), RFC 7468 §2-§3 (PEM: text outside
 * the encapsulation boundaries is ignored, whitespace inside the body is allowed), RFC 3986 §2.1
 * (percent-encoding), RFC 8941 §4.2.7 (parsing a byte sequence), RFC 9440 §2.2 (Client-Cert),
 * RFC 9110 §5.5 (a field value has no leading or trailing whitespace) and Envoy's documented
 * x-forwarded-client-cert syntax.  Every byte of a value is read through MtdCursor; base64 is
 * decoded by GLib, the certificate by libcrypto (x509-cert.c).
 */
#include "mtd-certheader.h"

#include <stdarg.h>
#include <string.h>

#include "mtd-cursor.h"

#define ENCODING_BIT(encoding) (1u << (encoding))

/* A known header name and what its front end sends in it (DOMAIN.md, "Front ends that forward a
 * client certificate"). */
typedef struct {
  const char *name;
  const char *front_end;  /* NULL: several front ends use the name, each its own way */
  guint expected;         /* ENCODING_BIT mask of what the front end sends; 0 with no front end */
  const char *convention; /* the expected encoding in words, for the mismatch sentence */
} KnownHeader;

static const KnownHeader known_headers[] = {
  { "X-ARR-ClientCert", "App Service", ENCODING_BIT (MTD_CERT_ENCODING_BASE64_DER),
    "bare base64" },
  /* nginx setups send $ssl_client_escaped_cert, HAProxy setups base64 DER, under both names. */
  { "X-Client-Cert", NULL, 0, NULL },
  { "X-SSL-Client-Cert", NULL, 0, NULL },
  { "X-Forwarded-Client-Cert", "Envoy", ENCODING_BIT (MTD_CERT_ENCODING_XFCC),
    "an XFCC element list" },
  { "ssl-client-cert", "ingress-nginx", ENCODING_BIT (MTD_CERT_ENCODING_URL_PEM),
    "URL-encoded PEM" },
  /* Traefik 2.9.4 and later join the bodies with commas and escape nothing, so one certificate
   * is indistinguishable from base64 DER. */
  { "X-Forwarded-Tls-Client-Cert", "Traefik",
    ENCODING_BIT (MTD_CERT_ENCODING_BASE64_DER) | ENCODING_BIT (MTD_CERT_ENCODING_PEM_NO_MARKERS),
    "PEM bodies without markers" },
  { "X-Amzn-Mtls-Clientcert", "AWS ALB", ENCODING_BIT (MTD_CERT_ENCODING_URL_PEM),
    "URL-encoded PEM" },
  { "X-Amzn-Mtls-Clientcert-Leaf", "AWS ALB", ENCODING_BIT (MTD_CERT_ENCODING_URL_PEM),
    "URL-encoded PEM" },
  { "CloudFront-Viewer-Cert-Pem", "CloudFront", ENCODING_BIT (MTD_CERT_ENCODING_URL_PEM),
    "URL-encoded PEM" },
  { "Client-Cert", "RFC 9440", ENCODING_BIT (MTD_CERT_ENCODING_RFC9440),
    "an RFC 9440 byte sequence" },
};

/* RFC 7468 §2 boundaries.  A form encoder (application/x-www-form-urlencoded) writes the space
 * in them as '+', so the matcher also takes '+' there. */
#define PEM_BEGIN "-----BEGIN "
#define PEM_END "-----END "
#define PEM_DASHES "-----"
#define PEM_LABEL "CERTIFICATE"
#define PEM_MAX_LABEL_LEN 64

/* X.690 (DER) octets of a certificate's outer header. */
enum {
  DER_TAG_SEQUENCE = 0x30,    /* §8.9, universal 16, constructed */
  DER_LENGTH_LONG_FORM = 0x80, /* §8.1.3.5: the low seven bits count the length octets */
  DER_LENGTH_MAX_OCTETS = 4,  /* more would be a certificate of over 4 GiB */
};

/* Keys of an XFCC element that this module reads; others are skipped, as Envoy may add more. */
#define XFCC_KEYS "By, Hash, Cert, Chain, Subject, URI, DNS"

/* What decoding one piece of text yielded, before it lands in a header or an XFCC element. */
typedef struct {
  MtdCertEncoding encoding;
  gboolean is_valid;
  MtdCert *cert;   /* one reference owned */
  guint n_certs;   /* certificates examined, the leaf included */
  guint n_dropped; /* certificates or elements beyond their caps */
  char *problem;   /* owned; the first one */
} Decoded;

static void
decoded_clear (Decoded *decoded)
{
  g_clear_pointer (&decoded->cert, mtd_cert_unref);
  g_clear_pointer (&decoded->problem, g_free);
}

typedef enum {
  BASE64_OK,
  BASE64_NOT_BASE64, /* a byte outside the alphabet: the text is not base64 at all */
  BASE64_BROKEN,     /* base64, but cut short or padded wrongly */
} Base64Status;

/* Keeps the first problem only: later ones are usually consequences of it. */
static void note_problem (char **problem, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
note_problem (char **problem, const char *format, ...)
{
  va_list args;

  if (*problem != NULL)
    return;
  va_start (args, format);
  *problem = g_strdup_vprintf (format, args);
  va_end (args);
}

/* Marks the decode invalid, with its reason. */
static void fail (Decoded *decoded, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
fail (Decoded *decoded, const char *format, ...)
{
  va_list args;

  decoded->is_valid = FALSE;
  if (decoded->problem != NULL)
    return;
  va_start (args, format);
  decoded->problem = g_strdup_vprintf (format, args);
  va_end (args);
}

static gboolean
is_space (guint8 byte)
{
  return byte == ' ' || byte == '\t' || byte == '\r' || byte == '\n';
}

static gboolean
is_base64_char (guint8 byte)
{
  return g_ascii_isalnum (byte) || byte == '+' || byte == '/';
}

/* The characters of an XFCC key (and of what starts one, for sniffing). */
static gboolean
is_key_char (guint8 byte)
{
  return g_ascii_isalnum (byte) || byte == '-' || byte == '_';
}

/* TRUE when the cursor's next bytes are literal; with plus_is_space, '+' stands for a space. */
static gboolean
cursor_at (const MtdCursor *cursor, const char *literal, gboolean plus_is_space)
{
  for (gsize i = 0; literal[i] != '\0'; i++)
    {
      guint8 byte = 0;
      if (!mtd_cursor_peek_u8 (cursor, i, &byte))
        return FALSE;
      if (byte != (guint8) literal[i] && !(plus_is_space && literal[i] == ' ' && byte == '+'))
        return FALSE;
    }
  return TRUE;
}

/* Advances the cursor to the next occurrence of literal; FALSE, the cursor emptied, without
 * one.  Quadratic in the worst case, which the value cap keeps small. */
static gboolean
cursor_seek (MtdCursor *cursor, const char *literal, gboolean plus_is_space)
{
  while (!mtd_cursor_is_empty (cursor))
    {
      if (cursor_at (cursor, literal, plus_is_space))
        return TRUE;
      if (!mtd_cursor_skip (cursor, 1))
        return FALSE;
    }
  return FALSE;
}

/* Skips literal when the cursor is at it. */
static gboolean
cursor_eat (MtdCursor *cursor, const char *literal, gboolean plus_is_space)
{
  return cursor_at (cursor, literal, plus_is_space)
         && mtd_cursor_skip (cursor, strlen (literal));
}

static gboolean
cursor_contains (MtdCursor cursor, guint8 wanted)
{
  guint8 byte = 0;
  while (mtd_cursor_read_u8 (&cursor, &byte))
    if (byte == wanted)
      return TRUE;
  return FALSE;
}

static void
skip_spaces (MtdCursor *cursor)
{
  guint8 byte = 0;
  while (mtd_cursor_peek_u8 (cursor, 0, &byte) && is_space (byte))
    if (!mtd_cursor_skip (cursor, 1))
      return;
}

/* The cursor without leading and trailing whitespace (RFC 9110 §5.5: not part of the value). */
static MtdCursor
trim_spaces (MtdCursor cursor)
{
  MtdCursor trimmed = mtd_cursor_init (NULL, 0);
  guint8 byte = 0;

  skip_spaces (&cursor);
  gsize len = mtd_cursor_remaining (&cursor);
  while (len > 0 && mtd_cursor_peek_u8 (&cursor, len - 1, &byte) && is_space (byte))
    len--;
  if (!mtd_cursor_read_sub (&cursor, len, &trimmed))
    return mtd_cursor_init (NULL, 0);
  return trimmed;
}

/* The bytes from start up to (not including) where rest is now: rest must have been advanced
 * from a copy of start. */
static MtdCursor
cursor_span (MtdCursor start, const MtdCursor *rest)
{
  MtdCursor span = mtd_cursor_init (NULL, 0);
  gsize len = mtd_cursor_remaining (&start) - mtd_cursor_remaining (rest);
  if (!mtd_cursor_read_sub (&start, len, &span))
    return mtd_cursor_init (NULL, 0);
  return span;
}

/* Attacker-chosen bytes as a string for a sentence or a field: valid UTF-8, NUL and other bad
 * bytes turned into U+FFFD. */
static char *
cursor_to_utf8 (MtdCursor cursor, gsize max_len)
{
  gsize len = MIN (mtd_cursor_remaining (&cursor), max_len);
  if (len == 0)
    return g_strdup ("");
  return g_utf8_make_valid ((const char *) mtd_cursor_peek_bytes (&cursor), (gssize) len);
}

/* Decodes base64 (RFC 4648 §4) into *out.  Whitespace is skipped when allow_spaces (RFC 7468 §3
 * allows it in PEM bodies; RFC 8941 §4.2.7 says byte-sequence parsers "MUST fail on characters
 * outside the base64 alphabet and on line feeds").  Missing '=' padding is supplied, since
 * RFC 8941 §4.2.7 says parsers "SHOULD NOT fail when "=" padding is not present"; elsewhere a
 * value cut short shows up in the DER length check instead.  GLib's decoder silently skips bytes
 * outside the alphabet, so the alphabet is checked here first. */
static Base64Status
base64_decode (MtdCursor text, gboolean allow_spaces, GBytes **out, char **problem)
{
  g_autoptr (GString) clean = g_string_sized_new (mtd_cursor_remaining (&text) + 4);
  gsize n_padding = 0;
  guint8 byte = 0;

  *out = NULL;
  while (mtd_cursor_read_u8 (&text, &byte))
    {
      if (allow_spaces && is_space (byte))
        continue;
      if (byte == '=')
        {
          n_padding++;
          g_string_append_c (clean, '=');
          continue;
        }
      if (!is_base64_char (byte))
        {
          note_problem (problem, "not base64: it holds byte 0x%02X, outside the base64 alphabet",
                        byte);
          return BASE64_NOT_BASE64;
        }
      if (n_padding > 0)
        {
          note_problem (problem, "not base64: data after '=' padding");
          return BASE64_NOT_BASE64;
        }
      g_string_append_c (clean, (char) byte);
    }

  gsize n_data = clean->len - n_padding;
  if (n_data == 0)
    {
      note_problem (problem, "no base64 data");
      return BASE64_BROKEN;
    }
  if (n_padding > 2 || (n_padding > 0 && clean->len % 4 != 0))
    {
      note_problem (problem, "not base64: its '=' padding does not end a group of four");
      return BASE64_BROKEN;
    }
  if (n_data % 4 == 1)
    {
      note_problem (problem,
                    "truncated base64: %" G_GSIZE_FORMAT " characters do not make whole bytes",
                    n_data);
      return BASE64_BROKEN;
    }
  while (clean->len % 4 != 0)
    g_string_append_c (clean, '=');

  gint state = 0;
  guint save = 0;
  guint8 *bytes = g_malloc (clean->len / 4 * 3 + 3);
  gsize bytes_len = g_base64_decode_step (clean->str, clean->len, bytes, &state, &save);
  *out = g_bytes_new_take (bytes, bytes_len);
  return BASE64_OK;
}

/* Checks the outer SEQUENCE of a certificate (X.690 §8.1: tag, then length) against
 * the bytes there are, so that a value cut short says "truncated DER" rather than what libcrypto
 * makes of it. */
static gboolean
der_check_outer (GBytes *der, char **problem)
{
  gsize der_len = 0;
  const guint8 *der_bytes = g_bytes_get_data (der, &der_len);
  MtdCursor cursor = mtd_cursor_init (der_bytes, der_len);
  guint8 tag = 0;
  guint8 first = 0;
  guint64 content_len = 0;

  if (!mtd_cursor_read_u8 (&cursor, &tag))
    {
      note_problem (problem, "not DER: no bytes");
      return FALSE;
    }
  if (tag != DER_TAG_SEQUENCE)
    {
      note_problem (problem,
                    "not DER: a certificate starts with a SEQUENCE (0x%02X), this with 0x%02X",
                    DER_TAG_SEQUENCE, tag);
      return FALSE;
    }
  if (!mtd_cursor_read_u8 (&cursor, &first))
    {
      note_problem (problem, "truncated DER: it ends inside the certificate's length");
      return FALSE;
    }
  if (first < DER_LENGTH_LONG_FORM)
    content_len = first;
  else if (first == DER_LENGTH_LONG_FORM)
    {
      /* X.690 §10.1: "The definite form of length encoding shall be used." */
      note_problem (problem, "not DER: an indefinite length, which DER forbids");
      return FALSE;
    }
  else
    {
      guint n_len_bytes = first & ~DER_LENGTH_LONG_FORM;
      if (n_len_bytes > DER_LENGTH_MAX_OCTETS)
        {
          note_problem (problem, "not DER: a certificate length of %u bytes", n_len_bytes);
          return FALSE;
        }
      for (guint i = 0; i < n_len_bytes; i++)
        {
          guint8 byte = 0;
          if (!mtd_cursor_read_u8 (&cursor, &byte))
            {
              note_problem (problem, "truncated DER: it ends inside the certificate's length");
              return FALSE;
            }
          content_len = (content_len << 8) | byte;
        }
    }

  gsize header_len = der_len - mtd_cursor_remaining (&cursor);
  if (content_len > mtd_cursor_remaining (&cursor))
    {
      note_problem (problem,
                    "truncated DER: the certificate declares %" G_GUINT64_FORMAT
                    " bytes, the value holds %" G_GSIZE_FORMAT,
                    (guint64) header_len + content_len, der_len);
      return FALSE;
    }
  return TRUE;
}

static MtdCert *
cert_from_der (GBytes *der, MtdCertCache *cache, char **problem)
{
  g_autoptr (GError) error = NULL;
  gsize der_len = 0;
  const guint8 *der_bytes = g_bytes_get_data (der, &der_len);

  if (!der_check_outer (der, problem))
    return NULL;
  MtdCert *cert = cache != NULL ? mtd_cert_cache_get (cache, der_bytes, der_len, &error)
                                : mtd_cert_new_from_der (der_bytes, der_len, &error);
  if (cert == NULL)
    note_problem (problem, "%s", error->message);
  return cert;
}

/* One certificate's base64 text: the first of a value is parsed as the leaf, later ones (a
 * chain) are only checked to be whole DER values. */
static Base64Status
decode_one (MtdCursor text, gboolean allow_spaces, MtdCertCache *cache, Decoded *decoded)
{
  g_autoptr (GBytes) der = NULL;
  char *problem = NULL;

  Base64Status status = base64_decode (text, allow_spaces, &der, &problem);
  if (status == BASE64_OK)
    {
      if (decoded->n_certs == 0)
        decoded->cert = cert_from_der (der, cache, &problem);
      else
        der_check_outer (der, &problem);
    }
  decoded->n_certs++;
  if (problem != NULL)
    {
      if (decoded->n_certs > 1)
        fail (decoded, "certificate %u of the chain: %s", decoded->n_certs, problem);
      else
        fail (decoded, "%s", problem);
      g_free (problem);
    }
  return status;
}

/* Reads one PEM block, the cursor at its "-----BEGIN ", and hands back its body. */
static gboolean
pem_read_block (MtdCursor *text, MtdCursor *body, Decoded *decoded)
{
  if (!cursor_eat (text, PEM_BEGIN, TRUE))
    {
      fail (decoded, "PEM block without its BEGIN line");
      return FALSE;
    }
  MtdCursor label_start = *text;
  while (!cursor_at (text, PEM_DASHES, FALSE))
    {
      guint8 byte = 0;
      if (!mtd_cursor_read_u8 (text, &byte) || byte == '\n'
          || mtd_cursor_remaining (&label_start) - mtd_cursor_remaining (text) > PEM_MAX_LABEL_LEN)
        {
          fail (decoded, "PEM BEGIN line without its closing dashes");
          return FALSE;
        }
    }
  MtdCursor label = cursor_span (label_start, text);
  if (!cursor_eat (text, PEM_DASHES, FALSE))
    {
      fail (decoded, "PEM BEGIN line without its closing dashes");
      return FALSE;
    }
  /* Only certificates belong here; a private key would be a finding of its own. */
  if (!cursor_at (&label, PEM_LABEL, TRUE) || mtd_cursor_remaining (&label) != strlen (PEM_LABEL))
    {
      g_autofree char *label_text = cursor_to_utf8 (label, PEM_MAX_LABEL_LEN);
      fail (decoded, "a PEM block labelled \"%s\", not " PEM_LABEL, label_text);
      return FALSE;
    }

  MtdCursor body_start = *text;
  if (!cursor_seek (text, PEM_END, TRUE))
    {
      fail (decoded, "PEM block without its END line");
      return FALSE;
    }
  *body = cursor_span (body_start, text);
  if (!cursor_eat (text, PEM_END, TRUE) || !cursor_eat (text, PEM_LABEL PEM_DASHES, TRUE))
    {
      fail (decoded, "PEM block without a complete END line");
      return FALSE;
    }
  return TRUE;
}

/* PEM blocks (RFC 7468): text around them is ignored, as §2 asks of parsers. */
static void
decode_pem (MtdCursor text, MtdCertCache *cache, Decoded *decoded)
{
  while (cursor_seek (&text, PEM_BEGIN, TRUE))
    {
      if (decoded->n_certs >= MTD_CERTHEADER_MAX_CERTS)
        {
          decoded->n_dropped++;
          if (!mtd_cursor_skip (&text, 1))
            return;
          continue;
        }
      MtdCursor body = mtd_cursor_init (NULL, 0);
      if (!pem_read_block (&text, &body, decoded))
        return;
      decode_one (body, TRUE, cache, decoded);
      if (!decoded->is_valid)
        return;
    }
}

/* Base64 bodies without markers: one, or Traefik's comma-separated list. */
static void
decode_base64_list (MtdCursor text, gboolean was_percent_encoded, MtdCertCache *cache,
                    Decoded *decoded)
{
  gboolean is_list = cursor_contains (text, ',');

  decoded->encoding = was_percent_encoded || is_list ? MTD_CERT_ENCODING_PEM_NO_MARKERS
                                                     : MTD_CERT_ENCODING_BASE64_DER;
  for (;;)
    {
      MtdCursor start = text;
      guint8 byte = 0;
      while (mtd_cursor_peek_u8 (&text, 0, &byte) && byte != ',')
        if (!mtd_cursor_skip (&text, 1))
          break;
      MtdCursor item = trim_spaces (cursor_span (start, &text));
      gboolean has_more = mtd_cursor_read_u8 (&text, &byte);

      if (decoded->n_certs >= MTD_CERTHEADER_MAX_CERTS)
        decoded->n_dropped++;
      else if (mtd_cursor_is_empty (&item))
        fail (decoded, "an empty certificate in a comma-separated list");
      else if (decode_one (item, TRUE, cache, decoded) == BASE64_NOT_BASE64
               && decoded->n_certs == 1)
        decoded->encoding = MTD_CERT_ENCODING_UNKNOWN;
      if (!decoded->is_valid || !has_more)
        return;
    }
}

/* Percent-decoding (RFC 3986 §2.1).  '+' stays '+': nginx's $ssl_client_escaped_cert escapes
 * '+' as %2B, AWS ALB keeps '+', '=' and '/' literal, so a literal '+' is base64's.  Only a form
 * encoder writes a space as '+', and PEM has spaces only in its boundaries, where the PEM
 * matcher accepts '+'. */
static GByteArray *
percent_decode (MtdCursor text, char **problem)
{
  gsize len = mtd_cursor_remaining (&text);
  g_autoptr (GByteArray) out = g_byte_array_sized_new (len);

  for (;;)
    {
      gsize offset = len - mtd_cursor_remaining (&text);
      guint8 byte = 0;
      guint8 high = 0;
      guint8 low = 0;
      if (!mtd_cursor_read_u8 (&text, &byte))
        break;
      if (byte != '%')
        {
          g_byte_array_append (out, &byte, 1);
          continue;
        }
      if (!mtd_cursor_read_u8 (&text, &high) || !mtd_cursor_read_u8 (&text, &low)
          || !g_ascii_isxdigit (high) || !g_ascii_isxdigit (low))
        {
          note_problem (problem, "invalid percent-escape at offset %" G_GSIZE_FORMAT, offset);
          return NULL;
        }
      byte = (guint8) (g_ascii_xdigit_value (high) << 4 | g_ascii_xdigit_value (low));
      g_byte_array_append (out, &byte, 1);
    }
  return g_steal_pointer (&out);
}

/* Text that holds certificates without a structure around them: PEM or base64. */
static void
decode_text (MtdCursor text, gboolean was_percent_encoded, MtdCertCache *cache,
             Decoded *decoded)
{
  MtdCursor probe = text;

  if (cursor_seek (&probe, PEM_BEGIN, TRUE))
    {
      if (was_percent_encoded)
        decoded->encoding = MTD_CERT_ENCODING_URL_PEM;
      else if (cursor_contains (text, '\n'))
        decoded->encoding = MTD_CERT_ENCODING_PEM;
      else
        decoded->encoding = MTD_CERT_ENCODING_PEM_SPACES;
      decode_pem (text, cache, decoded);
      if (decoded->is_valid && decoded->n_certs == 0)
        fail (decoded, "PEM without a " PEM_LABEL " block");
      return;
    }

  probe = text;
  if (was_percent_encoded && cursor_seek (&probe, "%", FALSE))
    {
      guint8 high = 0;
      guint8 low = 0;
      if (mtd_cursor_peek_u8 (&probe, 1, &high) && mtd_cursor_peek_u8 (&probe, 2, &low)
          && g_ascii_isxdigit (high) && g_ascii_isxdigit (low))
        {
          fail (decoded, "percent-encoded twice");
          return;
        }
    }
  decode_base64_list (text, was_percent_encoded, cache, decoded);
}

/* Text that may be percent-encoded: a whole value, or an XFCC Cert or Chain field. */
static void
decode_maybe_escaped (MtdCursor text, MtdCertCache *cache, Decoded *decoded)
{
  if (!cursor_contains (text, '%'))
    {
      decode_text (text, FALSE, cache, decoded);
      return;
    }

  char *problem = NULL;
  g_autoptr (GByteArray) unescaped = percent_decode (text, &problem);
  if (unescaped == NULL)
    {
      MtdCursor probe = text;
      decoded->encoding = cursor_seek (&probe, "-----BEGIN", FALSE) ? MTD_CERT_ENCODING_URL_PEM
                                                                   : MTD_CERT_ENCODING_UNKNOWN;
      fail (decoded, "%s", problem);
      g_free (problem);
      return;
    }
  decode_text (mtd_cursor_init (unescaped->data, unescaped->len), TRUE, cache, decoded);
}

/* RFC 9440 §2.1: the DER in an RFC 8941 byte sequence, ":" base64 ":".  A list of them (as
 * Client-Cert-Chain holds) gives a leaf and a chain. */
static void
decode_rfc9440 (MtdCursor value, const char *name, MtdCertCache *cache, Decoded *decoded)
{
  decoded->encoding = MTD_CERT_ENCODING_RFC9440;
  for (;;)
    {
      guint8 byte = 0;
      if (!mtd_cursor_read_u8 (&value, &byte) || byte != ':')
        {
          fail (decoded, "not an RFC 9440 byte sequence: it does not start with ':'");
          return;
        }
      MtdCursor start = value;
      while (mtd_cursor_peek_u8 (&value, 0, &byte) && byte != ':')
        if (!mtd_cursor_skip (&value, 1))
          break;
      MtdCursor content = cursor_span (start, &value);
      if (!mtd_cursor_read_u8 (&value, &byte))
        {
          fail (decoded, "RFC 9440 byte sequence without its closing ':'");
          return;
        }

      if (decoded->n_certs >= MTD_CERTHEADER_MAX_CERTS)
        decoded->n_dropped++;
      else
        decode_one (content, FALSE, cache, decoded);
      if (!decoded->is_valid)
        return;

      skip_spaces (&value);
      if (mtd_cursor_is_empty (&value))
        break;
      if (!mtd_cursor_read_u8 (&value, &byte) || byte != ',')
        {
          fail (decoded, "text after an RFC 9440 byte sequence");
          return;
        }
      skip_spaces (&value);
    }

  /* RFC 9440 §2.2: Client-Cert "is a singleton header field value ..., which MUST NOT have a
   * list of values or occur multiple times in a request." */
  guint n_sequences = decoded->n_certs + decoded->n_dropped;
  if (n_sequences > 1 && g_ascii_strcasecmp (name, "Client-Cert") == 0)
    fail (decoded, "Client-Cert holds %u byte sequences; RFC 9440 §2.2 allows one", n_sequences);
}

static MtdXfccElement *
xfcc_element_new (void)
{
  MtdXfccElement *element = g_new0 (MtdXfccElement, 1);
  element->dns = g_ptr_array_new_with_free_func (g_free);
  element->cert_encoding = MTD_CERT_ENCODING_UNKNOWN;
  element->hash_check = MTD_XFCC_HASH_NOT_CHECKED;
  return element;
}

void
mtd_xfcc_element_free (MtdXfccElement *element)
{
  if (element == NULL)
    return;
  g_free (element->by);
  g_free (element->hash);
  g_free (element->subject);
  g_free (element->uri);
  g_clear_pointer (&element->dns, g_ptr_array_unref);
  g_clear_pointer (&element->cert, mtd_cert_unref);
  g_free (element);
}

/* An XFCC value: bare up to ';' or ',', or double-quoted with '\"' for a quote inside.  Quoting
 * starts only at the first byte, so a '"' inside a bare value cannot hide the fields after it.
 * A backslash escapes '"' and '\\'; before anything else it is kept. */
static gboolean
xfcc_read_value (MtdCursor *element, GByteArray *out, guint index, Decoded *decoded)
{
  guint8 byte = 0;

  g_byte_array_set_size (out, 0);
  if (!mtd_cursor_peek_u8 (element, 0, &byte) || byte != '"')
    {
      MtdCursor start = *element;
      while (mtd_cursor_peek_u8 (element, 0, &byte) && byte != ';' && byte != ',')
        if (!mtd_cursor_skip (element, 1))
          break;
      MtdCursor bare = trim_spaces (cursor_span (start, element));
      g_byte_array_append (out, mtd_cursor_peek_bytes (&bare), mtd_cursor_remaining (&bare));
      return TRUE;
    }

  if (!mtd_cursor_skip (element, 1))
    return FALSE;
  for (;;)
    {
      if (!mtd_cursor_read_u8 (element, &byte))
        {
          fail (decoded, "XFCC element %u: a quoted value without its closing quote", index);
          return FALSE;
        }
      if (byte == '"')
        break;
      if (byte == '\\')
        {
          guint8 escaped = 0;
          if (!mtd_cursor_read_u8 (element, &escaped))
            {
              fail (decoded, "XFCC element %u: a quoted value without its closing quote", index);
              return FALSE;
            }
          if (escaped != '"' && escaped != '\\')
            g_byte_array_append (out, &byte, 1);
          byte = escaped;
        }
      g_byte_array_append (out, &byte, 1);
    }
  skip_spaces (element);
  if (mtd_cursor_peek_u8 (element, 0, &byte) && byte != ';' && byte != ',')
    {
      fail (decoded, "XFCC element %u: text after a closing quote", index);
      return FALSE;
    }
  return TRUE;
}

static char *
bytes_to_utf8 (const GByteArray *bytes)
{
  if (bytes->len == 0)
    return g_strdup ("");
  return g_utf8_make_valid ((const char *) bytes->data, (gssize) bytes->len);
}

static gboolean
key_is (MtdCursor key, const char *name)
{
  return mtd_cursor_remaining (&key) == strlen (name)
         && g_ascii_strncasecmp ((const char *) mtd_cursor_peek_bytes (&key), name,
                                 strlen (name)) == 0;
}

/* Decodes an XFCC Cert or Chain field into the element. */
static void
xfcc_decode_cert_field (const GByteArray *text, gboolean is_chain, guint index,
                        MtdCertCache *cache, MtdXfccElement *element, Decoded *decoded)
{
  Decoded field = { MTD_CERT_ENCODING_UNKNOWN, TRUE, NULL, 0, 0, NULL };

  decode_maybe_escaped (mtd_cursor_init (text->data, text->len), cache, &field);
  if (!field.is_valid)
    fail (decoded, "XFCC element %u: %s: %s", index, is_chain ? "Chain" : "Cert",
          field.problem);
  if (is_chain)
    element->n_chain_certs = field.n_certs + field.n_dropped;
  /* Cert wins over the first certificate of Chain, whichever field comes first. */
  if (field.cert != NULL && (!is_chain || element->cert == NULL))
    {
      g_clear_pointer (&element->cert, mtd_cert_unref);
      element->cert = g_steal_pointer (&field.cert);
      element->cert_encoding = field.encoding;
    }
  else if (element->cert_encoding == MTD_CERT_ENCODING_UNKNOWN)
    element->cert_encoding = field.encoding;
  decoded_clear (&field);
}

static gboolean
is_sha256_hex (const char *text)
{
  gsize len = 0;
  for (; text[len] != '\0'; len++)
    if (!g_ascii_isxdigit (text[len]))
      return FALSE;
  return len == 64;
}

/* Envoy documents Hash as the SHA-256 of the client certificate, in hex. */
static void
xfcc_check_hash (MtdXfccElement *element, guint index, Decoded *decoded)
{
  if (element->hash == NULL || element->cert == NULL)
    return;
  if (!is_sha256_hex (element->hash))
    {
      element->hash_check = MTD_XFCC_HASH_DIFFERS;
      fail (decoded, "XFCC element %u: Hash is not a SHA-256 in hex", index);
      return;
    }
  if (g_ascii_strcasecmp (element->hash, element->cert->sha256_hex) == 0)
    {
      element->hash_check = MTD_XFCC_HASH_MATCHES;
      return;
    }
  element->hash_check = MTD_XFCC_HASH_DIFFERS;
  fail (decoded, "XFCC element %u: Hash does not match the SHA-256 of its certificate", index);
}

/* One XFCC element: ';'-separated key=value pairs, keys case-insensitive.  Stops at the ','
 * that ends it, or the end.  FALSE on a syntax error, after which nothing more can be trusted. */
static gboolean
xfcc_parse_element (MtdCursor *value, guint index, MtdCertCache *cache,
                    MtdXfccElement *element, Decoded *decoded)
{
  g_autoptr (GByteArray) field = g_byte_array_new ();
  gboolean has_field = FALSE;
  gboolean has_known_key = FALSE;
  gboolean has_cert = FALSE;
  gboolean has_chain = FALSE;
  guint8 byte = 0;

  for (;;)
    {
      skip_spaces (value);
      if (!mtd_cursor_peek_u8 (value, 0, &byte) || byte == ',')
        break;
      if (byte == ';')
        {
          if (!mtd_cursor_skip (value, 1))
            return FALSE;
          continue;
        }

      MtdCursor key_start = *value;
      while (mtd_cursor_peek_u8 (value, 0, &byte) && is_key_char (byte))
        if (!mtd_cursor_skip (value, 1))
          break;
      MtdCursor key = cursor_span (key_start, value);
      if (mtd_cursor_is_empty (&key))
        {
          fail (decoded, "XFCC element %u: a field without a name", index);
          return FALSE;
        }
      skip_spaces (value);
      if (!mtd_cursor_read_u8 (value, &byte) || byte != '=')
        {
          g_autofree char *key_text = cursor_to_utf8 (key, 32);
          fail (decoded, "XFCC element %u: field %s without '='", index, key_text);
          return FALSE;
        }
      skip_spaces (value);
      if (!xfcc_read_value (value, field, index, decoded))
        return FALSE;
      has_field = TRUE;

      gboolean is_known = TRUE;
      if (key_is (key, "By"))
        {
          if (element->by == NULL)
            element->by = bytes_to_utf8 (field);
        }
      else if (key_is (key, "Hash"))
        {
          /* Two would leave a reader free to pick the one that suits a forger. */
          if (element->hash != NULL)
            fail (decoded, "XFCC element %u: Hash appears twice", index);
          else
            element->hash = bytes_to_utf8 (field);
        }
      else if (key_is (key, "Cert"))
        {
          if (has_cert)
            fail (decoded, "XFCC element %u: Cert appears twice", index);
          else
            xfcc_decode_cert_field (field, FALSE, index, cache, element, decoded);
          has_cert = TRUE;
        }
      else if (key_is (key, "Chain"))
        {
          if (has_chain)
            fail (decoded, "XFCC element %u: Chain appears twice", index);
          else
            xfcc_decode_cert_field (field, TRUE, index, cache, element, decoded);
          has_chain = TRUE;
        }
      else if (key_is (key, "Subject"))
        {
          if (element->subject == NULL)
            element->subject = bytes_to_utf8 (field);
        }
      else if (key_is (key, "URI"))
        {
          if (element->uri == NULL)
            element->uri = bytes_to_utf8 (field);
        }
      else if (key_is (key, "DNS"))
        {
          if (element->dns->len < MTD_CERTHEADER_MAX_XFCC_DNS)
            g_ptr_array_add (element->dns, bytes_to_utf8 (field));
          else
            element->n_dns_dropped++;
        }
      else
        is_known = FALSE;
      has_known_key = has_known_key || is_known;
    }

  if (!has_field)
    fail (decoded, "XFCC element %u is empty", index);
  else if (!has_known_key)
    fail (decoded, "XFCC element %u has none of the fields " XFCC_KEYS, index);
  xfcc_check_hash (element, index, decoded);
  return TRUE;
}

/* Skips an element beyond the cap: up to the next ',' outside quotes. */
static void
xfcc_skip_element (MtdCursor *value)
{
  gboolean is_quoted = FALSE;
  guint8 byte = 0;

  while (mtd_cursor_peek_u8 (value, 0, &byte) && (is_quoted || byte != ','))
    {
      if (!mtd_cursor_skip (value, 1))
        return;
      if (byte == '\\' && is_quoted)
        {
          if (!mtd_cursor_skip (value, 1))
            return;
        }
      else if (byte == '"')
        is_quoted = !is_quoted;
    }
}

/* Envoy's x-forwarded-client-cert: ','-separated elements, one per proxy that appended one. */
static void
decode_xfcc (MtdCursor value, MtdCertCache *cache, MtdCertHeader *header, Decoded *decoded)
{
  decoded->encoding = MTD_CERT_ENCODING_XFCC;
  header->xfcc_elements = g_ptr_array_new_with_free_func ((GDestroyNotify) mtd_xfcc_element_free);

  for (guint index = 1;; index++)
    {
      guint8 byte = 0;
      if (header->xfcc_elements->len >= MTD_CERTHEADER_MAX_XFCC_ELEMENTS)
        {
          xfcc_skip_element (&value);
          decoded->n_dropped++;
        }
      else
        {
          MtdXfccElement *element = xfcc_element_new ();
          g_ptr_array_add (header->xfcc_elements, element);
          if (!xfcc_parse_element (&value, index, cache, element, decoded))
            break;
        }
      if (!mtd_cursor_read_u8 (&value, &byte))
        break;
    }

  for (guint i = 0; i < header->xfcc_elements->len; i++)
    {
      const MtdXfccElement *element = g_ptr_array_index (header->xfcc_elements, i);
      if (element->cert == NULL)
        continue;
      decoded->cert = mtd_cert_ref (element->cert);
      decoded->n_certs = MAX (element->n_chain_certs, 1);
      break;
    }
}

/* A value that starts with a key and '=' followed by something other than '=' (which would be
 * base64 padding) is XFCC: no other encoding here can start that way.  Except PEM with text
 * before it ("subject=..." as openssl prints it), which RFC 7468 §2 lets a parser skip: a PEM
 * boundary with a literal space cannot be in XFCC, whose Cert and Chain are URL-encoded. */
static gboolean
looks_like_xfcc (MtdCursor value)
{
  MtdCursor probe = value;
  guint8 byte = 0;
  gsize key_len = 0;

  while (mtd_cursor_read_u8 (&value, &byte) && is_key_char (byte))
    key_len++;
  return key_len > 0 && byte == '=' && mtd_cursor_peek_u8 (&value, 0, &byte) && byte != '='
         && !cursor_seek (&probe, PEM_BEGIN, FALSE);
}

static const KnownHeader *
find_known (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known_headers); i++)
    if (g_ascii_strcasecmp (name, known_headers[i].name) == 0)
      return &known_headers[i];
  return NULL;
}

static const char *
encoding_in_words (MtdCertEncoding encoding)
{
  switch (encoding)
    {
    case MTD_CERT_ENCODING_BASE64_DER:
      return "bare base64";
    case MTD_CERT_ENCODING_PEM:
    case MTD_CERT_ENCODING_PEM_SPACES:
      return "PEM";
    case MTD_CERT_ENCODING_URL_PEM:
      return "URL-encoded PEM";
    case MTD_CERT_ENCODING_PEM_NO_MARKERS:
      return "PEM bodies without markers";
    case MTD_CERT_ENCODING_XFCC:
      return "an XFCC element list";
    case MTD_CERT_ENCODING_RFC9440:
      return "an RFC 9440 byte sequence";
    case MTD_CERT_ENCODING_UNKNOWN:
    default:
      return "an unknown encoding";
    }
}

/* A recognised encoding other than the one the header's front end sends means another component
 * (or a client) wrote the value. */
static void
check_convention (MtdCertHeader *header)
{
  const KnownHeader *known = find_known (header->name);

  if (known == NULL || known->expected == 0 || header->encoding == MTD_CERT_ENCODING_UNKNOWN
      || (known->expected & ENCODING_BIT (header->encoding)) != 0)
    return;
  header->is_convention_mismatch = TRUE;
  note_problem (&header->problem, "%s in a header whose convention is %s (%s)",
                encoding_in_words (header->encoding), known->convention, known->front_end);
}

MtdCertHeader *
mtd_certheader_decode (const char *name, const guint8 *value, gsize value_len,
                       MtdCertCache *cache)
{
  Decoded decoded = { MTD_CERT_ENCODING_UNKNOWN, TRUE, NULL, 0, 0, NULL };

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (value != NULL || value_len == 0, NULL);

  MtdCertHeader *header = g_new0 (MtdCertHeader, 1);
  header->name = g_strdup (name);
  header->encoding = MTD_CERT_ENCODING_UNKNOWN;

  if (value_len > MTD_CERTHEADER_MAX_VALUE_LEN)
    {
      header->is_over_cap = TRUE;
      header->problem = g_strdup_printf ("a value of %" G_GSIZE_FORMAT " bytes, over the %d-byte "
                                         "cap: not decoded", value_len,
                                         MTD_CERTHEADER_MAX_VALUE_LEN);
      return header;
    }

  MtdCursor trimmed = trim_spaces (mtd_cursor_init (value, value_len));
  guint8 first = 0;
  if (!mtd_cursor_peek_u8 (&trimmed, 0, &first))
    fail (&decoded, "empty value");
  else if (looks_like_xfcc (trimmed))
    decode_xfcc (trimmed, cache, header, &decoded);
  else if (first == ':')
    decode_rfc9440 (trimmed, name, cache, &decoded);
  else
    decode_maybe_escaped (trimmed, cache, &decoded);

  if (decoded.n_dropped > 0)
    note_problem (&decoded.problem, "%u %s beyond the cap of %d, not examined", decoded.n_dropped,
                  decoded.encoding == MTD_CERT_ENCODING_XFCC ? "XFCC elements" : "certificates",
                  decoded.encoding == MTD_CERT_ENCODING_XFCC ? MTD_CERTHEADER_MAX_XFCC_ELEMENTS
                                                             : MTD_CERTHEADER_MAX_CERTS);

  header->encoding = decoded.encoding;
  header->is_valid = decoded.is_valid;
  header->cert = g_steal_pointer (&decoded.cert);
  header->n_chain_certs = decoded.n_certs > 0 ? decoded.n_certs - 1 : 0;
  header->n_dropped = decoded.n_dropped;
  header->problem = g_steal_pointer (&decoded.problem);
  check_convention (header);
  return header;
}

void
mtd_certheader_free (MtdCertHeader *header)
{
  if (header == NULL)
    return;
  g_free (header->name);
  g_clear_pointer (&header->cert, mtd_cert_unref);
  g_free (header->problem);
  g_clear_pointer (&header->xfcc_elements, g_ptr_array_unref);
  g_free (header);
}

const char *
mtd_cert_encoding_name (MtdCertEncoding encoding)
{
  switch (encoding)
    {
    case MTD_CERT_ENCODING_BASE64_DER:
      return "base64_der";
    case MTD_CERT_ENCODING_PEM:
      return "pem";
    case MTD_CERT_ENCODING_PEM_SPACES:
      return "pem_spaces";
    case MTD_CERT_ENCODING_URL_PEM:
      return "url_pem";
    case MTD_CERT_ENCODING_PEM_NO_MARKERS:
      return "pem_no_markers";
    case MTD_CERT_ENCODING_XFCC:
      return "xfcc";
    case MTD_CERT_ENCODING_RFC9440:
      return "rfc9440";
    case MTD_CERT_ENCODING_UNKNOWN:
    default:
      return "unknown";
    }
}

const char *const *
mtd_certheader_known_names (void)
{
  static const char *names[G_N_ELEMENTS (known_headers) + 1];
  static gsize is_filled = 0;

  if (g_once_init_enter (&is_filled))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (known_headers); i++)
        names[i] = known_headers[i].name;
      names[G_N_ELEMENTS (known_headers)] = NULL;
      g_once_init_leave (&is_filled, 1);
    }
  return names;
}

gboolean
mtd_certheader_is_cert_header (const char *name, const char *const *extra_names)
{
  g_return_val_if_fail (name != NULL, FALSE);

  if (find_known (name) != NULL)
    return TRUE;
  for (gsize i = 0; extra_names != NULL && extra_names[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, extra_names[i]) == 0)
      return TRUE;
  return FALSE;
}

const char *
mtd_certheader_front_end (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  const KnownHeader *known = find_known (name);
  return known != NULL ? known->front_end : NULL;
}
