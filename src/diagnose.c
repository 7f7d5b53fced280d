/* diagnose.c: from one connection's facts to findings, each with a cause and a next check.
 *
 * Follows RFC 5246 §7.4.4 (CertificateRequest), §7.4.6 (the client's Certificate) and §7.2.2
 * (alerts), RFC 8446 §4.3.2, §4.4.2, §4.4.2.4, §4.6.2 and §6.2, RFC 9113 §3.3 (HTTP/2 with
 * prior knowledge), and App Service's documented client-certificate behaviour.
 *
 * Deterministic: the same facts give the same findings in the same order.  No I/O.
 */
#include <string.h>

#include "diagnose-private.h"

/* Acceptable CAs named in a finding before "and N more". */
#define MAX_CAS_NAMED 3

/* TLS alert descriptions the rules name (RFC 8446 §6, RFC 5246 §7.2). */
enum {
  ALERT_CLOSE_NOTIFY = 0,
  ALERT_UNEXPECTED_MESSAGE = 10,
  ALERT_HANDSHAKE_FAILURE = 40,
  ALERT_NO_CERTIFICATE = 41,
  ALERT_BAD_CERTIFICATE = 42,
  ALERT_UNSUPPORTED_CERTIFICATE = 43,
  ALERT_CERTIFICATE_REVOKED = 44,
  ALERT_CERTIFICATE_EXPIRED = 45,
  ALERT_CERTIFICATE_UNKNOWN = 46,
  ALERT_ILLEGAL_PARAMETER = 47,
  ALERT_UNKNOWN_CA = 48,
  ALERT_ACCESS_DENIED = 49,
  ALERT_DECODE_ERROR = 50,
  ALERT_DECRYPT_ERROR = 51,
  ALERT_PROTOCOL_VERSION = 70,
  ALERT_INSUFFICIENT_SECURITY = 71,
  ALERT_INTERNAL_ERROR = 80,
  ALERT_UNRECOGNIZED_NAME = 112,
  ALERT_CERTIFICATE_REQUIRED = 116,
  ALERT_NO_APPLICATION_PROTOCOL = 120,
};

/* RFC 8446 §6: AlertLevel */
enum {
  ALERT_LEVEL_WARNING = 1,
  ALERT_LEVEL_FATAL = 2,
};

static const char *const az_show_settings
    = "az webapp show --resource-group RG --name APP --query "
      "\"{clientCertEnabled:clientCertEnabled,clientCertMode:clientCertMode,"
      "clientCertExclusionPaths:clientCertExclusionPaths,httpsOnly:httpsOnly}\" --output json";

const char *
mtd_severity_name (MtdSeverity severity)
{
  switch (severity) {
  case MTD_SEVERITY_ERROR:
    return "error";
  case MTD_SEVERITY_WARNING:
    return "warning";
  case MTD_SEVERITY_INFO:
  default:
    return "info";
  }
}

void
mtd_finding_free (MtdFinding *finding)
{
  if (finding == NULL)
    return;
  g_free (finding->message);
  g_free (finding->cause);
  g_free (finding->next_check);
  g_free (finding);
}

/* Adds a finding; message, cause and next_check (the last two may be NULL) are taken over. */
MtdFinding *
mtd_diagnose_add_finding (GPtrArray *findings, const char *code, MtdSeverity severity, guint64 frame,
             char *message, char *cause, char *next_check)
{
  MtdFinding *finding = g_new0 (MtdFinding, 1);
  finding->code = code;
  finding->severity = severity;
  finding->frame = frame;
  finding->message = message;
  finding->cause = cause;
  finding->next_check = next_check;
  g_ptr_array_add (findings, finding);
  return finding;
}

void
mtd_finding_add_evidence (MtdFinding *finding, guint input_index, guint64 frame)
{
  if (frame == 0 || finding->n_evidence >= MTD_MAX_FINDING_EVIDENCE)
    return;
  for (guint i = 0; i < finding->n_evidence; i++)
    if (finding->evidence[i].input_index == input_index && finding->evidence[i].frame == frame)
      return;
  finding->evidence[finding->n_evidence].input_index = input_index;
  finding->evidence[finding->n_evidence].frame = frame;
  finding->n_evidence++;
  if (finding->frame == 0)
    finding->frame = frame;
}

/* ---- Words for facts ---------------------------------------------------------------------- */

static guint64
verdict_frame (const MtdVerdict *verdict)
{
  return verdict->n_frames > 0 ? verdict->frames[0] : 0;
}

static void
append_decimal (GString *text, guint64 value)
{
  char digits[24];
  gsize n_digits = 0;
  do {
    digits[sizeof digits - 1 - n_digits++] = (char) ('0' + value % 10);
    value /= 10;
  } while (value > 0);
  g_string_append_len (text, digits + sizeof digits - n_digits, (gssize) n_digits);
}

/* " (frame 6)", " (frames 6, 8, inferred from encrypted record sizes)" or "" */
static char *
frames_text (const MtdVerdict *verdict)
{
  guint n_frames = MIN (verdict->n_frames, MTD_MAX_EVIDENCE_FRAMES);
  const char *how = NULL;
  if (verdict->how == MTD_HOW_INFERRED)
    how = "inferred from encrypted record sizes";
  else if (verdict->how == MTD_HOW_DECRYPTED)
    how = "read after decryption";
  if (n_frames == 0 && how == NULL)
    return g_strdup ("");
  /* Built for almost every connection: plain appends, no printf format to parse. */
  g_autoptr (GString) text = g_string_sized_new (64);
  g_string_append (text, " (");
  if (n_frames > 0)
    g_string_append (text, n_frames == 1 ? "frame " : "frames ");
  for (guint i = 0; i < n_frames; i++) {
    if (i > 0)
      g_string_append (text, ", ");
    append_decimal (text, verdict->frames[i]);
  }
  if (how != NULL) {
    if (n_frames > 0)
      g_string_append (text, ", ");
    g_string_append (text, how);
  }
  g_string_append_c (text, ')');
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* "CN=Root A; CN=Root B; CN=Root C and 2 more", or NULL when the list is empty. */
static char *
acceptable_cas_text (const MtdTlsFacts *tls)
{
  if (tls->acceptable_cas == NULL || tls->acceptable_cas->len == 0)
    return NULL;
  g_autoptr (GString) text = g_string_sized_new (256);
  guint n_named = MIN (tls->acceptable_cas->len, MAX_CAS_NAMED);
  for (guint i = 0; i < n_named; i++) {
    const char *dn = g_ptr_array_index (tls->acceptable_cas, i);
    if (i > 0)
      g_string_append (text, "; ");
    if (dn != NULL)
      g_string_append (text, dn);
  }
  if (tls->acceptable_cas->len > n_named)
    g_string_append_printf (text, " and %u more", tls->acceptable_cas->len - n_named);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static gboolean
is_tls13 (const MtdTlsFacts *tls)
{
  return tls->version == 0x0304 || (tls->version & 0xFF00) == 0x7F00;
}

static const MtdCert *
client_leaf (const MtdTlsFacts *tls)
{
  if (tls->client_chain == NULL || tls->client_chain->len == 0)
    return NULL;
  return g_ptr_array_index (tls->client_chain, 0);
}

static char *
alert_name (guint8 description)
{
  char buf[32];
  return g_strdup (mtd_tls_alert_name (description, buf, sizeof buf));
}

/* The alert that ended the handshake, if one did: a fatal alert in clear (alerts in clear come
 * before the Finished messages, so they are part of the handshake), or an encrypted one while the
 * handshake was not complete (TLS 1.3 sends every alert after the ServerHello encrypted,
 * RFC 8446 §6).  close_notify is an orderly close, not a failure (RFC 8446 §6.1). */
static const MtdTlsAlert *
find_failure_alert (const MtdTlsFacts *tls)
{
  if (tls->alerts == NULL)
    return NULL;
  for (guint i = 0; i < tls->alerts->len; i++) {
    const MtdTlsAlert *alert = &g_array_index (tls->alerts, MtdTlsAlert, i);
    if (alert->is_encrypted) {
      if (!tls->is_handshake_complete)
        return alert;
    } else if (alert->level == ALERT_LEVEL_FATAL && alert->description != ALERT_CLOSE_NOTIFY) {
      return alert;
    }
  }
  return NULL;
}

/* "a fatal unknown_ca alert (frame 9)" or "an encrypted alert (frame 9), whose ..." */
static char *
alert_phrase (const MtdTlsAlert *alert)
{
  if (alert->is_encrypted)
    return g_strdup_printf ("an encrypted alert (frame %" G_GUINT64_FORMAT "), whose description "
                            "only a key log can show",
                            alert->frame);
  g_autofree char *name = alert_name (alert->description);
  return g_strdup_printf ("a %s %s alert (frame %" G_GUINT64_FORMAT ")",
                          alert->level == ALERT_LEVEL_FATAL ? "fatal" : "warning", name,
                          alert->frame);
}

/* ---- TLS rules ---------------------------------------------------------------------------- */

static void
diagnose_missing_certificate (GPtrArray *findings, const MtdConnection *connection,
                              const MtdTlsFacts *tls)
{
  gboolean is_outbound = connection->direction == MTD_DIRECTION_OUTBOUND;
  const MtdVerdict *requested = &tls->requested;
  const MtdVerdict *presented = &tls->presented;
  gboolean is_empty = presented->value == MTD_PRESENTED_EMPTY;
  g_autofree char *requested_frames = frames_text (requested);
  g_autofree char *presented_frames = frames_text (presented);
  g_autofree char *cas = acceptable_cas_text (tls);

  /* Sized for the whole texts, which otherwise grow through several reallocations. */
  g_autoptr (GString) message = g_string_sized_new (512);
  g_string_append_printf (message, "The server asked for a client certificate%s",
                          requested_frames);
  if (is_empty)
    g_string_append_printf (message,
                            " and the client answered with an empty certificate list%s.",
                            presented_frames);
  else
    g_string_append_printf (message, " and the client sent no Certificate message at all%s.",
                            presented_frames);
  if (tls->is_handshake_complete)
    g_string_append (message, " The server went on without one (a server that only asks, like "
                              "App Service's Optional mode), so the application gets no client "
                              "certificate.");

  /* Sentences joined at their exact length: one allocation the size of the text, rather than a
   * GString grown to the next power of two past it. */
  const char *outbound_sentence =
      is_outbound ? "The client is the application (--app), calling out: the server asked for "
                    "its certificate and it sent none, so the application did not load its "
                    "certificate. "
                  : "";
  const char *not_sent_sentence =
      !is_empty ? "A client must answer a CertificateRequest with a Certificate message, empty "
                  "when it has none (RFC 5246 §7.4.6); sending none at all means it has no "
                  "certificate configured for this connection, and servers may treat that "
                  "differently from an empty list. "
                : "";
  const char *cas_sentence;
  if (cas != NULL)
    cas_sentence = "The client has no certificate whose issuer is among the CAs the server named "
                   "as acceptable (";
  else if (is_tls13 (tls))
    cas_sentence = "The client has no certificate loaded, or none whose issuer matches the CAs "
                   "the server named (in TLS 1.3 that list is encrypted).";
  else
    cas_sentence = "The server named no acceptable CAs, so any certificate would have done: the "
                   "client has no certificate loaded at all.";
  char *cause = g_strconcat (
      outbound_sentence, not_sent_sentence, cas_sentence, cas != NULL ? cas : "",
      cas != NULL ? "), or no certificate loaded at all: clients choose a certificate by these "
                    "names (RFC 5246 §7.4.4, RFC 8446 §4.2.4)."
                  : "",
      " For an App Service app calling out: WEBSITE_LOAD_CERTIFICATES must name the "
      "certificate's thumbprint (or *); Linux apps read it from "
      "/var/ssl/private/<thumbprint>.p12, Windows apps from the current user's personal store "
      "(Cert:/CurrentUser/My); a wrong thumbprint, format, store or path, or no restart after the "
      "change, leaves the client without a certificate.",
      NULL);

  char *next = g_strdup_printf (
      "Compare the issuer of the client certificate (openssl x509 -noout -issuer -in "
      "client.pem) with %s, and check that the client really loads it and its private key. For "
      "App Service callers check the client's certificate configuration: az webapp config "
      "appsettings list --resource-group RG --name APP --query "
      "\"[?name=='WEBSITE_LOAD_CERTIFICATES']\", the file or store named by the thumbprint, then "
      "restart the app.",
      cas != NULL ? "the acceptable CAs above" : "the CAs the server accepts");
  const char *code = is_outbound ? "OUTBOUND_CERT_NOT_LOADED"
                    : is_empty  ? "CERT_REQUESTED_EMPTY"
                                : "CERT_REQUESTED_NOT_SENT";
  mtd_diagnose_add_finding (findings, code,
               MTD_SEVERITY_ERROR, verdict_frame (presented),
               g_string_free (g_steal_pointer (&message), FALSE), cause, next);
}

/* --expect-thumbprint: the certificate the client should present, by its SHA-1 thumbprint (what
 * the Azure portal and WEBSITE_LOAD_CERTIFICATES name). */
static void
diagnose_expected_thumbprint (GPtrArray *findings, const MtdConnection *connection,
                              const MtdCert *leaf, guint64 frame)
{
  if (!connection->has_expected_thumbprints)
    return;
  gboolean is_outbound = connection->direction == MTD_DIRECTION_OUTBOUND;
  if (connection->is_thumbprint_expected) {
    mtd_diagnose_add_finding (
        findings, "CLIENT_CERT_EXPECTED", MTD_SEVERITY_INFO, frame,
        g_strdup_printf ("The client presented the expected certificate (SHA-1 %s).",
                         leaf->sha1_hex),
        NULL, NULL);
    return;
  }
  mtd_diagnose_add_finding (
      findings, "CLIENT_CERT_UNEXPECTED", MTD_SEVERITY_ERROR, frame,
      g_strdup_printf ("The client presented a certificate with SHA-1 %s (subject %s), which is "
                       "not one of the --expect-thumbprint certificates.",
                       leaf->sha1_hex, leaf->subject != NULL ? leaf->subject : "(none)"),
      g_strdup (is_outbound
                    ? "The application loaded another certificate than the one the server "
                      "expects: an old one still loaded after a renewal, or the first of several "
                      "that WEBSITE_LOAD_CERTIFICATES (or *) makes available."
                    : "The caller uses another certificate than expected: renewed (a new "
                      "thumbprint), or another client altogether."),
      g_strdup ("Compare the thumbprints: openssl x509 -noout -fingerprint -sha1 -in client.pem; "
                "for App Service, az webapp config ssl list --resource-group RG and the "
                "WEBSITE_LOAD_CERTIFICATES setting; update the expected thumbprint where the "
                "server checks it after a renewal."));
}

/* --ca: the chain checked as the application must check it (App Service forwards whatever the
 * caller sent and validates nothing; RFC 5280 §6 path validation by OpenSSL). */
static void
diagnose_chain_check (GPtrArray *findings, const MtdConnection *connection, const MtdCert *leaf,
                      guint64 frame)
{
  if (connection->client_chain_check == MTD_CHAIN_TRUSTED) {
    mtd_diagnose_add_finding (
        findings, "CLIENT_CHAIN_TRUSTED", MTD_SEVERITY_INFO, frame,
        g_strdup_printf ("The client's chain (leaf SHA-1 %s) validates against the --ca bundle "
                         "at the time of the connection, for TLS client authentication.",
                         leaf->sha1_hex),
        NULL, NULL);
    return;
  }
  if (connection->client_chain_check != MTD_CHAIN_UNTRUSTED)
    return;
  const char *reason = connection->client_chain_error != NULL ? connection->client_chain_error
                                                              : "no reason given";
  mtd_diagnose_add_finding (
      findings, "CLIENT_CHAIN_UNTRUSTED", MTD_SEVERITY_ERROR, frame,
      g_strdup_printf ("The client's chain (leaf SHA-1 %s) does not validate against the --ca "
                       "bundle at the time of the connection: %s.",
                       leaf->sha1_hex, reason),
      g_strdup_printf (
          "%s  \"unable to "
                "get local issuer certificate\" means the issuing CA is not in the bundle or the "
                "client did not send its intermediate; \"certificate has expired\" names the "
                "expired link by its depth (0 is the client's own); \"unsupported certificate "
                "purpose\" means a certificate lacks clientAuth in its extended key usage.",
          connection->direction == MTD_DIRECTION_OUTBOUND
              ? "The server this application calls validates the chain against the CAs it "
                "trusts; if those are the --ca bundle, it rejects this certificate."
              : "App Service does not validate the client's chain: it forwards the certificate "
                "in X-ARR-ClientCert and the application must check it, as here."),
      g_strdup ("Reproduce with openssl verify -CAfile BUNDLE.pem -untrusted intermediates.pem "
                "-purpose sslclient -attime EPOCH client.pem, then fix the bundle the application "
                "trusts or the chain the client sends."));
}

static void
diagnose_presented (GPtrArray *findings, const MtdConnection *connection, const MtdTlsFacts *tls)
{
  const MtdVerdict *presented = &tls->presented;
  g_autofree char *frames = frames_text (presented);
  const MtdCert *leaf = client_leaf (tls);
  char *message;
  if (leaf != NULL) {
    guint n_chain = tls->client_chain->len;
    message = g_strdup_printf (
        "The client presented a certificate%s: subject %s, issuer %s, SHA-1 thumbprint %s "
        "(%u certificate%s in its chain).",
        frames, leaf->subject != NULL ? leaf->subject : "(none)",
        leaf->issuer != NULL ? leaf->issuer : "(none)", leaf->sha1_hex, n_chain,
        n_chain == 1 ? "" : "s");
  } else {
    message = g_strdup_printf ("The client presented a certificate%s; its subject and "
                               "thumbprint %s.",
                               frames, is_tls13 (tls) ? "are encrypted (TLS 1.3)"
                                                      : "are not in the capture");
  }
  mtd_diagnose_add_finding (findings, "CERT_PRESENTED", MTD_SEVERITY_INFO, verdict_frame (presented), message,
               NULL, NULL);
  if (leaf == NULL)
    return;
  diagnose_expected_thumbprint (findings, connection, leaf, verdict_frame (presented));
  diagnose_chain_check (findings, connection, leaf, verdict_frame (presented));

  gint64 capture_seconds = connection->start_usec / G_USEC_PER_SEC;
  MtdCertValidity validity = mtd_cert_validity_at (leaf, capture_seconds);
  if (validity == MTD_CERT_VALID)
    return;
  g_autofree char *capture_time = mtd_format_utc (capture_seconds);
  gboolean is_expired = validity == MTD_CERT_EXPIRED;
  g_autofree char *bound = mtd_format_utc (is_expired ? leaf->not_after : leaf->not_before);
  mtd_diagnose_add_finding (
      findings, is_expired ? "CLIENT_CERT_EXPIRED" : "CLIENT_CERT_NOT_YET_VALID",
      MTD_SEVERITY_WARNING, verdict_frame (presented),
      g_strdup_printf ("The client certificate (SHA-1 %s) %s %s; the connection started %s.",
                       leaf->sha1_hex, is_expired ? "expired on" : "is only valid from", bound,
                       capture_time),
      g_strdup (is_expired ? "A server that validates the certificate rejects it (usually with "
                             "a certificate_expired alert); App Service forwards it anyway and "
                             "leaves the check to the application."
                           : "The certificate is newer than the clock of the capture, or the "
                             "client's or server's clock is wrong; a validating server rejects "
                             "it."),
      g_strdup (is_expired ? "Renew the certificate and load the new one in the client (for App "
                             "Service callers the new thumbprint goes into "
                             "WEBSITE_LOAD_CERTIFICATES)."
                           : "Check the clocks of the client, the server and the capture host "
                             "(timedatectl), and the certificate's not_before."));
}

/* Why a server rejects a certificate it was given, and what to look at; RFC 8446 §6.2. */
static void
rejection_advice (guint8 description, const MtdConnection *connection, const MtdTlsFacts *tls,
                  char **cause, char **next)
{
  const MtdCert *leaf = client_leaf (tls);
  const char *issuer = leaf != NULL && leaf->issuer != NULL ? leaf->issuer : "its issuer";
  g_autofree char *cas = acceptable_cas_text (tls);
  switch (description) {
  case ALERT_UNKNOWN_CA:
    *cause = g_strdup_printf ("The server could not build a chain from the certificate to a CA "
                              "it trusts: %s is not in its trust store, or the client did not "
                              "send the intermediate certificate (%u certificate%s sent).",
                              issuer, tls->client_chain != NULL ? tls->client_chain->len : 0,
                              tls->client_chain != NULL && tls->client_chain->len == 1 ? "" : "s");
    if (cas != NULL)
      *next = g_strdup_printf ("Compare the client certificate's issuer with the acceptable CAs "
                               "the server named (%s), send the intermediate certificates with "
                               "the leaf, or add the issuing root to the server's trust store.",
                               cas);
    else
      *next = g_strdup ("Compare the client certificate's issuer with the CAs the server trusts, "
                        "send the intermediate certificates with the leaf, or add the issuing "
                        "root to the server's trust store.");
    return;
  case ALERT_CERTIFICATE_EXPIRED: {
    g_autofree char *capture_time = mtd_format_utc (connection->start_usec / G_USEC_PER_SEC);
    *cause = g_strdup ("The certificate, or one in its chain, is expired or not yet valid by "
                       "the server's clock.");
    if (leaf != NULL) {
      g_autofree char *not_before = mtd_format_utc (leaf->not_before);
      g_autofree char *not_after = mtd_format_utc (leaf->not_after);
      *next = g_strdup_printf ("Compare the leaf's validity (%s to %s) and the intermediates' "
                               "with the capture time (%s) and with the server's clock.",
                               not_before, not_after, capture_time);
    } else {
      *next = g_strdup_printf ("Compare the client certificate's not_before and not_after "
                               "(openssl x509 -noout -dates) with the capture time (%s) and "
                               "with the server's clock.",
                               capture_time);
    }
    return;
  }
  case ALERT_BAD_CERTIFICATE:
  case ALERT_DECRYPT_ERROR:
    *cause = g_strdup ("The server could not use the certificate: a corrupt encoding, a "
                       "signature that does not verify, or a CertificateVerify made with a "
                       "private key that does not belong to the certificate.");
    *next = g_strdup ("Check that the client's private key matches its certificate (compare "
                      "openssl x509 -noout -pubkey -in client.pem with openssl pkey -pubout -in "
                      "client.key) and that the chain is sent leaf first.");
    return;
  case ALERT_UNSUPPORTED_CERTIFICATE:
    *cause = g_strdup ("The server does not accept this kind of certificate: its key type or "
                       "size, or a key usage or extended key usage without clientAuth "
                       "(RFC 5280 §4.2.1.12).");
    *next = g_strdup ("openssl x509 -noout -ext keyUsage,extendedKeyUsage -in client.pem: the "
                      "extended key usage must include TLS Web Client Authentication.");
    return;
  case ALERT_CERTIFICATE_REVOKED:
    *cause = g_strdup ("The issuer revoked the certificate (CRL or OCSP).");
    *next = g_strdup ("Ask the issuing CA about the certificate's status and issue a new one.");
    return;
  case ALERT_ACCESS_DENIED:
    *cause = g_strdup ("The certificate is valid, but the server's access policy refuses this "
                       "identity.");
    *next = g_strdup ("Check the server's allow list (subject, SAN, issuer, thumbprint) for this "
                      "certificate.");
    return;
  case ALERT_CERTIFICATE_UNKNOWN:
  case ALERT_HANDSHAKE_FAILURE:
  default:
    *cause = g_strdup ("The server refused the certificate without naming a precise reason: "
                       "often a chain it cannot build, a name or policy check, or the extended "
                       "key usage.");
    *next = g_strdup ("Read the server's TLS log for this connection's time; check the "
                      "certificate's issuer against the acceptable CAs and its extended key "
                      "usage (clientAuth).");
    return;
  }
}

static void
diagnose_rejected (GPtrArray *findings, const MtdConnection *connection, const MtdTlsFacts *tls,
                   const MtdTlsAlert *alert)
{
  g_autofree char *frames = frames_text (&tls->presented);
  g_autofree char *phrase = alert_phrase (alert);
  char *message = g_strdup_printf ("The client presented a certificate%s and the server answered "
                                   "with %s, ending the handshake.",
                                   frames, phrase);
  char *cause = NULL;
  char *next = NULL;
  if (alert->is_encrypted) {
    cause = g_strdup ("In TLS 1.3 a server that rejects the client's certificate answers its "
                      "flight with an encrypted alert (RFC 8446 §4.4.2.4): bad_certificate, "
                      "unknown_ca, certificate_expired, unsupported_certificate or access_denied; "
                      "which one is encrypted.");
    next = g_strdup ("Read the server's TLS log for this connection's time, or open the capture "
                     "in Wireshark with a key log (SSLKEYLOGFILE) to see the alert; check the "
                     "certificate's issuer against the server's trusted CAs and its validity.");
  } else {
    rejection_advice (alert->description, connection, tls, &cause, &next);
  }
  mtd_diagnose_add_finding (findings, "CERT_REJECTED", MTD_SEVERITY_ERROR, alert->frame, message, cause,
               next);
}

/* Cause and next check of an alert that ended the handshake, when no presented certificate was
 * rejected. */
static void
handshake_alert_advice (const MtdTlsAlert *alert, const MtdTlsFacts *tls, char **cause,
                        char **next)
{
  gboolean is_without_certificate = tls->presented.value == MTD_PRESENTED_EMPTY
                                    || tls->presented.value == MTD_PRESENTED_NO;
  gboolean is_server = !alert->is_from_client;
  if (is_server && is_without_certificate
      && (alert->is_encrypted || alert->description == ALERT_HANDSHAKE_FAILURE
          || alert->description == ALERT_CERTIFICATE_REQUIRED)) {
    *cause = g_strdup ("The server requires a client certificate and ends the handshake when "
                       "none comes: with an empty Certificate it \"MAY at its discretion either "
                       "continue the handshake without client authentication, or respond with a "
                       "fatal handshake_failure alert\" (RFC 5246 §7.4.6); TLS 1.3 uses "
                       "certificate_required (RFC 8446 §4.4.2.4). On App Service this is "
                       "clientCertMode Required.");
    *next = g_strdup ("Give the client a certificate whose issuer is among the acceptable CAs "
                      "(see the finding about the missing certificate), or, if the application "
                      "does not need one on this path, make the server's mode Optional or add "
                      "an exclusion path.");
    return;
  }
  if (alert->is_encrypted) {
    *cause = g_strdup_printf ("The %s sent an encrypted alert before the handshake completed; "
                              "its description needs a key log.",
                              is_server ? "server" : "client");
    *next = g_strdup ("Read the TLS logs of both ends for this connection's time, or open the "
                      "capture in Wireshark with a key log (SSLKEYLOGFILE).");
    return;
  }
  if (!is_server) {
    switch (alert->description) {
    case ALERT_UNKNOWN_CA:
    case ALERT_BAD_CERTIFICATE:
    case ALERT_CERTIFICATE_EXPIRED:
    case ALERT_CERTIFICATE_UNKNOWN:
    case ALERT_CERTIFICATE_REVOKED:
    case ALERT_UNSUPPORTED_CERTIFICATE:
      *cause = g_strdup ("The client refused the server's certificate: for unknown_ca it does "
                         "not trust the server certificate's issuer, otherwise the certificate "
                         "is expired, revoked, malformed or for another name.");
      *next = g_strdup ("Check the server's chain (server_chain) against the client's trust "
                        "store: openssl s_client -connect HOST:443 -servername NAME -showcerts.");
      return;
    default:
      *cause = g_strdup ("The client ended the handshake: it did not accept something the "
                         "server sent (version, cipher suite, certificate or parameters).");
      *next = g_strdup ("Read the client's error for this connection's time; compare the "
                        "versions and cipher suites both ends allow.");
      return;
    }
  }
  switch (alert->description) {
  case ALERT_PROTOCOL_VERSION:
  case ALERT_INSUFFICIENT_SECURITY:
  case ALERT_HANDSHAKE_FAILURE:
    *cause = g_strdup ("The server found no acceptable protocol version, cipher suite or "
                       "signature algorithm in what the client offered, or it requires "
                       "something the client did not send (a client certificate included).");
    *next = g_strdup ("Compare the client's offered versions and cipher suites with the "
                      "server's minimum TLS version and cipher policy; read the server's TLS "
                      "log for this connection's time.");
    return;
  case ALERT_UNRECOGNIZED_NAME:
    *cause = g_strdup_printf ("The server has no certificate or site for the name the client "
                              "asked for (SNI %s).",
                              tls->sni != NULL ? tls->sni : "absent");
    *next = g_strdup ("Check the host name the client uses against the server's bindings and "
                      "custom domains.");
    return;
  case ALERT_NO_APPLICATION_PROTOCOL:
    *cause = g_strdup ("The server supports none of the application protocols (ALPN) the client "
                       "offered (RFC 7301 §3.2).");
    *next = g_strdup ("Compare the client's ALPN list with the protocols the server allows "
                      "(h2, http/1.1).");
    return;
  case ALERT_UNEXPECTED_MESSAGE:
  case ALERT_ILLEGAL_PARAMETER:
  case ALERT_DECODE_ERROR:
    *cause = g_strdup ("The server received a message it did not expect or could not decode: an "
                       "incompatible implementation, or a middlebox that changes the traffic.");
    *next = g_strdup ("Capture on both sides of any proxy or inspection device and compare; "
                      "try another client stack.");
    return;
  default:
    *cause = g_strdup ("The server ended the handshake with this alert.");
    *next = g_strdup ("Read the server's TLS log for this connection's time.");
    return;
  }
}

static void
diagnose_handshake_alert (GPtrArray *findings, const MtdTlsFacts *tls, const MtdTlsAlert *alert)
{
  g_autofree char *phrase = alert_phrase (alert);
  char *message = g_strdup_printf ("The %s ended the handshake with %s.",
                                   alert->is_from_client ? "client" : "server", phrase);
  char *cause = NULL;
  char *next = NULL;
  handshake_alert_advice (alert, tls, &cause, &next);
  mtd_diagnose_add_finding (findings, "HANDSHAKE_ALERT", MTD_SEVERITY_ERROR, alert->frame, message, cause,
               next);
}

static void
diagnose_not_requested (GPtrArray *findings, const MtdTlsFacts *tls)
{
  const MtdVerdict *requested = &tls->requested;
  g_autofree char *frames = frames_text (requested);
  g_autoptr (GString) message = g_string_new (NULL);
  g_string_append_printf (message, "The server did not ask for a client certificate%s.", frames);
  if (tls->is_resumed)
    g_string_append (message, " This was a resumed session: certificates are only exchanged in "
                              "the full handshake that created it.");
  if (tls->has_post_handshake_auth_offer || tls->has_renegotiation)
    g_string_append (message, " The server may still have asked later, inside encrypted records "
                              "(post-handshake authentication or renegotiation).");

  g_autoptr (GString) cause = g_string_new (
      "On App Service: clientCertEnabled is false; or clientCertMode is OptionalInteractiveUser "
      "or a clientCertExclusionPaths entry applies, and then the front end asks later through "
      "TLS renegotiation, once it knows the request path");
  gboolean is_h2 = g_strcmp0 (tls->alpn, "h2") == 0;
  if (is_tls13 (tls) || is_h2)
    g_string_append_printf (cause, ", which %s does not allow, so that request never comes and "
                                   "the application gets no certificate",
                            is_tls13 (tls) && is_h2 ? "neither TLS 1.3 nor HTTP/2"
                            : is_tls13 (tls)        ? "TLS 1.3"
                                                    : "HTTP/2");
  g_string_append (cause, ". Or something in front of the server (Application Gateway, Front "
                          "Door, a load balancer or proxy) ends TLS itself and the certificate "
                          "never reaches this hop.");
  mtd_diagnose_add_finding (findings, "CERT_NOT_REQUESTED", MTD_SEVERITY_INFO, verdict_frame (requested),
               g_string_free (g_steal_pointer (&message), FALSE),
               g_string_free (g_steal_pointer (&cause), FALSE),
               g_strdup_printf ("Check the site's settings: %s", az_show_settings));
}

static void
diagnose_unknown (GPtrArray *findings, const MtdTlsFacts *tls)
{
  const MtdVerdict *requested = &tls->requested;
  const MtdVerdict *presented = &tls->presented;
  const char *reason = NULL;
  char *message;
  if (requested->value == MTD_REQUESTED_UNKNOWN) {
    reason = requested->reason != NULL ? requested->reason : presented->reason;
    message = g_strdup_printf ("Whether the server asked for a client certificate cannot be told "
                               "from this capture: %s.",
                               reason != NULL ? reason : "the handshake is not all there");
  } else {
    g_autofree char *frames = frames_text (requested);
    reason = presented->reason;
    message = g_strdup_printf ("The server %s a client certificate%s, but what the client "
                               "answered cannot be told from this capture: %s.",
                               requested->value == MTD_REQUESTED_YES ? "asked for"
                                                                     : "did not ask for",
                               frames, reason != NULL ? reason : "its answer is missing");
  }
  mtd_diagnose_add_finding (findings, "CERT_UNKNOWN", MTD_SEVERITY_WARNING,
               verdict_frame (requested) != 0 ? verdict_frame (requested)
                                              : verdict_frame (presented),
               message,
               g_strdup ("The messages that decide it are missing from the capture or "
                         "encrypted."),
               g_strdup ("Capture the whole connection from its first packet (start the capture "
                         "before the client connects, tcpdump -s 0), and for TLS 1.3 or "
                         "renegotiation record a key log (SSLKEYLOGFILE) and open the capture in "
                         "Wireshark with it."));
}

static void
diagnose_inferred (GPtrArray *findings, const MtdTlsFacts *tls)
{
  const MtdVerdict *requested = &tls->requested;
  guint64 frame = verdict_frame (requested);
  g_autofree char *where = frame != 0 ? g_strdup_printf (" (frame %" G_GUINT64_FORMAT ")", frame)
                                      : g_strdup ("");
  const char *reason = requested->reason != NULL ? requested->reason : tls->presented.reason;
  mtd_diagnose_add_finding (findings, "TLS13_INFERRED", MTD_SEVERITY_INFO, frame,
               g_strdup_printf ("TLS 1.3 encrypts the CertificateRequest and the client's "
                                "Certificate (RFC 8446 §4.3.2, §4.4.2): these verdicts come from "
                                "the sizes of the client's encrypted records%s%s%s.",
                                where, reason != NULL ? ": " : "", reason != NULL ? reason : ""),
               NULL,
               g_strdup ("To see the messages themselves, open the capture in Wireshark with "
                         "the client's key log (SSLKEYLOGFILE)."));
}

/* What a key log did for the connection, and what only it can show: a certificate asked for
 * after the handshake (RFC 8446 §4.6.2), which HTTP/2 forbids (RFC 8740 §3). */
static void
diagnose_decryption (GPtrArray *findings, const MtdTlsFacts *tls)
{
  if (tls->decrypt_status == MTD_DECRYPT_FAILED)
    mtd_diagnose_add_finding (
        findings, "KEYS_DO_NOT_DECRYPT", MTD_SEVERITY_WARNING, tls->decrypt_failure_frame,
        g_strdup_printf ("The key log holds secrets for this connection's client random, but the "
                         "record in frame %" G_GUINT64_FORMAT " does not decrypt: its "
                         "authentication tag does not verify.",
                         tls->decrypt_failure_frame),
        g_strdup ("The secrets belong to another connection with the same client random (a key "
                  "log from another capture or machine), or records before this one are "
                  "missing from the capture."),
        g_strdup ("Use the key log written while this capture was taken (SSLKEYLOGFILE of the "
                  "client, or of the server), and capture the whole connection from its first "
                  "packet."));
  else if (tls->decrypt_status == MTD_DECRYPT_NO_KEYS)
    mtd_diagnose_add_finding (
        findings, "KEYS_MISSING", MTD_SEVERITY_INFO, tls->client_hello_frame,
        g_strdup_printf ("The key log has no secrets for this connection (ClientHello in frame "
                         "%" G_GUINT64_FORMAT "), so its encrypted records stay unread.",
                         tls->client_hello_frame),
        NULL,
        g_strdup ("Set SSLKEYLOGFILE in the process that made this connection and capture "
                  "again, or give that process's key log with --keylog."));
  else if (tls->decrypt_status == MTD_DECRYPT_UNSUPPORTED)
    mtd_diagnose_add_finding (
        findings, "KEYS_UNSUPPORTED_CIPHER", MTD_SEVERITY_INFO, tls->server_hello_frame,
        g_strdup ("The key log has secrets for this connection, but its cipher suite is not one "
                  "this build decrypts."),
        NULL, g_strdup ("Open the capture in Wireshark with the key log."));
}

/* "GET app.example.com/path (frame 4)" */
static void
append_request (GString *text, const MtdHttpExchange *exchange)
{
  g_string_append_printf (text, "%s %s%s (frame %" G_GUINT64_FORMAT ")",
                          exchange->method != NULL ? exchange->method : "?",
                          exchange->host != NULL ? exchange->host : "",
                          exchange->path != NULL ? exchange->path : "", exchange->request_frame);
}

/* A certificate asked for after the handshake, once the server knew the request: TLS 1.3
 * post-handshake authentication (RFC 8446 §4.6.2) or a TLS 1.2 renegotiation (RFC 5246
 * §7.4.1.1), both forbidden with HTTP/2 (RFC 8740 §3, RFC 7540 §9.2.1). */
static void
diagnose_late_auth (GPtrArray *findings, const MtdConnection *connection,
                    const MtdTlsFacts *tls, const MtdLateAuth *late)
{
  gboolean is_renegotiation = late->kind == MTD_LATE_AUTH_RENEGOTIATION;
  gboolean is_h2 = g_strcmp0 (tls->alpn, "h2") == 0;
  if (!is_h2 && late->requested.value != MTD_REQUESTED_YES)
    return;
  g_autoptr (GString) after = g_string_new (NULL);
  const MtdHttpExchange *trigger = mtd_connection_late_auth_trigger (connection, late);
  if (trigger != NULL) {
    g_string_append (after, ", right after the request ");
    append_request (after, trigger);
  }
  const char *how = late->how == MTD_HOW_INFERRED ? "inferred from encrypted record sizes"
                                                  : "read with the key log";
  static const char *const answers[] = {
    [MTD_PRESENTED_UNKNOWN] = "the client's answer is not known",
    [MTD_PRESENTED_NO] = "the client sent no certificate",
    [MTD_PRESENTED_EMPTY] = "the client answered with an empty certificate list",
    [MTD_PRESENTED_YES] = "the client sent its certificate",
  };
  gint answer = CLAMP (late->presented.value, MTD_PRESENTED_UNKNOWN, MTD_PRESENTED_YES);
  guint64 answer_frame = late->presented.n_frames > 0 ? late->presented.frames[0] : 0;
  g_autofree char *answer_where
      = answer_frame != 0 ? g_strdup_printf (" (frame %" G_GUINT64_FORMAT ")", answer_frame)
                          : g_strdup ("");
  const char *code = is_h2 ? (is_renegotiation ? "RENEGOTIATION_WITH_H2"
                                               : "POST_HANDSHAKE_AUTH_WITH_H2")
                           : (is_renegotiation ? "CERT_REQUESTED_IN_RENEGOTIATION"
                                               : "CERT_REQUESTED_POST_HANDSHAKE");
  MtdFinding *finding = mtd_diagnose_add_finding (
      findings, code, is_h2 ? MTD_SEVERITY_ERROR : MTD_SEVERITY_INFO, late->frame,
      g_strdup_printf ("The server %s from frame %" G_GUINT64_FORMAT "%s%s, %s; %s%s.",
                       is_renegotiation ? (late->requested.value == MTD_REQUESTED_YES
                                               ? "asked for a client certificate in a "
                                                 "renegotiation"
                                               : "renegotiated")
                                        : "asked for a client certificate after the handshake "
                                          "(post-handshake authentication)",
                       late->frame, after->str,
                       is_h2 ? " on a connection that negotiated HTTP/2" : "", how,
                       answers[answer], answer_where),
      g_strdup (is_h2 ? "HTTP/2 forbids renegotiation (RFC 7540 §9.2.1) and post-handshake "
                        "authentication (RFC 8740 §3): the request that needs the certificate "
                        "fails, or the connection is reset."
                      : "A server that learns only from the request path that it needs a "
                        "certificate asks late: App Service with exclusion paths or optional "
                        "certificates, IIS and Apache per-directory client certificates.  The "
                        "caller must be able to answer mid-connection; some clients (HTTP/2, "
                        ".NET on some platforms, Go) refuse renegotiation."),
      g_strdup (is_h2 ? "Offer only http/1.1 in ALPN to this server, or request the "
                        "certificate in the first handshake (no exclusion paths)."
                      : "Check which request triggered it: the exclusion paths "
                        "(clientCertExclusionPaths) and client certificate mode decide where "
                        "the certificate is asked; asking in the first handshake (mode "
                        "Required) avoids the late request."));
  if (trigger != NULL)
    mtd_finding_add_evidence (finding, connection->input_index, trigger->request_frame);
  mtd_finding_add_evidence (finding, connection->input_index, answer_frame);
}

/* A request read inside TLS and answered 403 on a connection that carried no certificate. */
static void
diagnose_forbidden (GPtrArray *findings, const MtdConnection *connection, const MtdTlsFacts *tls)
{
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    if (exchange->status != 403)
      continue;
    g_autoptr (GString) request = g_string_new (NULL);
    append_request (request, exchange);
    static const char *const sent[] = {
      [MTD_PRESENTED_UNKNOWN] = "whether the client sent a certificate is not known",
      [MTD_PRESENTED_NO] = "the client sent no certificate on this connection",
      [MTD_PRESENTED_EMPTY] = "the client answered the certificate request with an empty list",
      [MTD_PRESENTED_YES] = "",
    };
    gint presented = CLAMP (tls->presented.value, MTD_PRESENTED_UNKNOWN, MTD_PRESENTED_YES);
    guint64 presented_frame = tls->presented.n_frames > 0 ? tls->presented.frames[0] : 0;
    g_autofree char *where
        = presented_frame != 0 ? g_strdup_printf (" (frame %" G_GUINT64_FORMAT ")", presented_frame)
                               : g_strdup ("");
    MtdFinding *finding = mtd_diagnose_add_finding (
        findings, "FORBIDDEN_WITHOUT_CERT", MTD_SEVERITY_WARNING, exchange->request_frame,
        g_strdup_printf ("%s was answered 403 Forbidden (frame %" G_GUINT64_FORMAT "), and %s%s.",
                         request->str, exchange->status_frame, sent[presented], where),
        g_strdup ("The application (or a front end in Required mode) refuses requests that come "
                  "without a certificate: the 403 is the consequence of the missing "
                  "certificate, not a separate fault."),
        g_strdup ("Fix the missing certificate first (see the verdict above), then retest with "
                  "curl --cert client.pem --key client.key https://HOST/PATH -v."));
    mtd_finding_add_evidence (finding, connection->input_index, exchange->status_frame);
    mtd_finding_add_evidence (finding, connection->input_index, presented_frame);
    return;
  }
}

static void
diagnose_tls (GPtrArray *findings, const MtdConnection *connection, const MtdTlsFacts *tls)
{
  gint requested = tls->requested.value;
  gint presented = tls->presented.value;
  const MtdTlsAlert *alert = find_failure_alert (tls);
  gboolean is_alert_explained = FALSE;

  if (requested == MTD_REQUESTED_YES
      && (presented == MTD_PRESENTED_EMPTY || presented == MTD_PRESENTED_NO))
    diagnose_missing_certificate (findings, connection, tls);
  if (presented == MTD_PRESENTED_YES) {
    diagnose_presented (findings, connection, tls);
    guint64 presented_frame = verdict_frame (&tls->presented);
    if (alert != NULL && !alert->is_from_client && alert->frame >= presented_frame) {
      diagnose_rejected (findings, connection, tls, alert);
      is_alert_explained = TRUE;
    }
  }
  if (alert != NULL && !is_alert_explained)
    diagnose_handshake_alert (findings, tls, alert);
  if (requested == MTD_REQUESTED_NO)
    diagnose_not_requested (findings, tls);
  if ((requested == MTD_REQUESTED_UNKNOWN || presented == MTD_PRESENTED_UNKNOWN)
      && presented != MTD_PRESENTED_YES)
    diagnose_unknown (findings, tls);
  if (is_tls13 (tls) && tls->requested.how == MTD_HOW_INFERRED)
    diagnose_inferred (findings, tls);
  diagnose_decryption (findings, tls);
  for (guint i = 0; tls->late_auths != NULL && i < tls->late_auths->len; i++)
    diagnose_late_auth (findings, connection, tls,
                        &g_array_index (tls->late_auths, MtdLateAuth, i));
  if (connection->http != NULL && presented != MTD_PRESENTED_YES)
    diagnose_forbidden (findings, connection, tls);
}

/* ---- Plain HTTP --------------------------------------------------------------------------- */

static gboolean
is_redirect_to_https (const MtdHttpExchange *exchange)
{
  return exchange->status >= 300 && exchange->status <= 399 && exchange->location != NULL
         && g_ascii_strncasecmp (exchange->location, "https://", strlen ("https://")) == 0;
}

static gboolean
has_cert_header (const MtdConnection *connection, guint exchange_index)
{
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    if (entry->exchange_index == exchange_index)
      return TRUE;
  }
  return FALSE;
}

/* A request that a proxy sent on (it names the caller or the original request): the leg from a
 * front end that ended TLS to the application, not the caller's own plain-HTTP request. */
static gboolean
is_forwarded_request (const MtdHttpExchange *exchange)
{
  static const char *const names[] = { "X-Forwarded-For", "X-Forwarded-Host", "X-Original-URL",
                                       "X-ARR-LOG-ID" };
  for (guint i = 0; exchange->request_headers != NULL && i < exchange->request_headers->len;
       i++) {
    const MtdHttpHeader *header = g_ptr_array_index (exchange->request_headers, i);
    for (gsize j = 0; j < G_N_ELEMENTS (names); j++)
      if (g_ascii_strcasecmp (header->name, names[j]) == 0)
        return TRUE;
  }
  return FALSE;
}

/* A forwarding header on a plain-HTTP request: normal on the leg from a front end that ended
 * TLS to the application, spoofable when the caller set it itself. */
static void
diagnose_cert_headers (GPtrArray *findings, const MtdConnection *connection)
{
  for (guint i = 0; connection->cert_headers != NULL && i < connection->cert_headers->len; i++) {
    const MtdConnCertHeader *entry = g_ptr_array_index (connection->cert_headers, i);
    const MtdCertHeader *header = entry->header;
    const char *encoding = mtd_cert_encoding_name (header->encoding);
    if (!header->is_valid) {
      mtd_diagnose_add_finding (findings, "CERT_HEADER_MALFORMED", MTD_SEVERITY_WARNING, entry->frame,
                   g_strdup_printf ("The request in frame %" G_GUINT64_FORMAT " carries a %s "
                                    "header (%s) that does not hold a usable certificate: %s.",
                                    entry->frame, header->name, encoding,
                                    header->problem != NULL ? header->problem : "not decodable"),
                   g_strdup ("The hop that added the header wrote it wrongly (an encoding its "
                             "consumer does not expect, a cut value), or it is not a "
                             "certificate at all; an application that parses it fails or "
                             "rejects the caller."),
                   g_strdup ("Check how the front end fills the header (for nginx "
                             "$ssl_client_escaped_cert, for App Service X-ARR-ClientCert is "
                             "base64 DER) and how the application decodes it."));
      continue;
    }
    if (header->is_convention_mismatch)
      mtd_diagnose_add_finding (findings, "CERT_HEADER_WRONG_ENCODING", MTD_SEVERITY_WARNING, entry->frame,
                   g_strdup_printf ("The %s header in frame %" G_GUINT64_FORMAT " holds a "
                                    "certificate, but as %s: %s.",
                                    header->name, entry->frame, encoding,
                                    header->problem != NULL ? header->problem
                                                            : "not its usual encoding"),
                   g_strdup ("Code written for the header's usual encoding (for "
                             "X-ARR-ClientCert: base64 of the DER, no PEM markers) fails on "
                             "this value."),
                   g_strdup ("Decode the header the way its sender writes it, or fix the "
                             "rewrite rule that fills it."));
    if (header->cert != NULL)
      mtd_diagnose_add_finding (findings, "CERT_HEADER_FORWARDED", MTD_SEVERITY_INFO, entry->frame,
                   g_strdup_printf ("The request in frame %" G_GUINT64_FORMAT " carries a "
                                    "client certificate in %s (%s): %s, thumbprint %s.",
                                    entry->frame, header->name, encoding, header->cert->subject,
                                    header->cert->sha1_hex),
                   g_strdup ("A front end that ended the caller's TLS forwarded the "
                             "certificate over plain HTTP, as App Service's front end does to "
                             "the app; if this leg is the caller's own, the caller set the "
                             "header itself and an application that trusts it can be fooled."),
                   g_strdup ("Compare the thumbprint with the certificate presented on the "
                             "caller's TLS leg (analyse both captures together), and make sure "
                             "the application accepts the header only from its front end."));
  }
}

static void
diagnose_http (GPtrArray *findings, const MtdConnection *connection)
{
  const MtdHttpExchange *first_redirect = NULL;
  const MtdHttpExchange *first_plain = NULL;
  guint n_redirects = 0;
  guint n_plain = 0;
  for (guint i = 0; i < connection->http->len; i++) {
    const MtdHttpExchange *exchange = g_ptr_array_index (connection->http, i);
    if (is_redirect_to_https (exchange)) {
      if (n_redirects++ == 0)
        first_redirect = exchange;
    } else if (has_cert_header (connection, i) || is_forwarded_request (exchange)) {
      continue; /* a forwarded leg, judged by diagnose_cert_headers and the chain */
    } else if (n_plain++ == 0) {
      first_plain = exchange;
    }
  }
  if (first_plain != NULL) {
    g_autoptr (GString) message = g_string_new (NULL);
    g_string_append_printf (message, "The client sent %u request%s over plain HTTP", n_plain,
                            n_plain == 1 ? "" : "s");
    if (connection->n_http_dropped > 0)
      g_string_append_printf (message, " (and %u more not kept)", connection->n_http_dropped);
    g_string_append (message, ", the first ");
    append_request (message, first_plain);
    if (first_plain->status != 0)
      g_string_append_printf (message, ", answered with %d (frame %" G_GUINT64_FORMAT ").",
                              first_plain->status, first_plain->status_frame);
    else
      g_string_append (message, ", with no response in the capture.");
    mtd_diagnose_add_finding (findings, "PLAIN_HTTP", MTD_SEVERITY_ERROR, first_plain->request_frame,
                 g_string_free (g_steal_pointer (&message), FALSE),
                 g_strdup ("A request over plain HTTP never carries a client certificate: "
                           "certificates only travel inside TLS, so the application sees none "
                           "(on App Service the X-ARR-ClientCert header is absent)."),
                 g_strdup ("Make the caller use https://; on App Service turn httpsOnly on (az "
                           "webapp update --resource-group RG --name APP --https-only true) so "
                           "plain HTTP is redirected to HTTPS."));
  }
  if (first_redirect != NULL) {
    g_autoptr (GString) message = g_string_new ("The server answered the plain-HTTP request ");
    append_request (message, first_redirect);
    g_string_append_printf (message, " with %d to %s (frame %" G_GUINT64_FORMAT ")",
                            first_redirect->status, first_redirect->location,
                            first_redirect->status_frame);
    if (n_redirects > 1)
      g_string_append_printf (message, ", and %u more like it", n_redirects - 1);
    g_string_append (message, ": the behaviour of httpsOnly.");
    mtd_diagnose_add_finding (findings, "HTTP_REDIRECTED_TO_HTTPS", MTD_SEVERITY_INFO,
                 first_redirect->status_frame,
                 g_string_free (g_steal_pointer (&message), FALSE),
                 g_strdup ("The caller used http://; the server sends it to HTTPS, where a client "
                           "certificate can be asked for."),
                 g_strdup ("Make the caller use https:// directly: a client that does not follow "
                           "redirects, or turns a POST into a GET when it does, never reaches the "
                           "HTTPS endpoint with its request."));
  }
}

/* ---- Capture quality ---------------------------------------------------------------------- */

static void
diagnose_incomplete (GPtrArray *findings, const MtdConnection *connection)
{
  static const MtdAnomaly relevant[] = {
    MTD_ANOMALY_MIDSTREAM_START, MTD_ANOMALY_STREAM_GAP,    MTD_ANOMALY_SNAPLEN_TRUNCATED,
    MTD_ANOMALY_OOO_BUFFER_FULL, MTD_ANOMALY_TLS_LOST_SYNC,
  };
  g_autoptr (GString) reasons = g_string_new (NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (relevant); i++) {
    guint32 count = connection->anomalies.counts[relevant[i]];
    if (count == 0)
      continue;
    g_string_append_printf (reasons, "%s%s (%u time%s)", reasons->len > 0 ? "; " : "",
                            mtd_anomaly_description (relevant[i]), count, count == 1 ? "" : "s");
  }
  if (g_strcmp0 (connection->end_reason, "evicted") == 0)
    g_string_append_printf (reasons, "%sthe flow was evicted to make room for others "
                                     "(--max-flows)",
                            reasons->len > 0 ? "; " : "");
  else if (g_strcmp0 (connection->end_reason, "capture_end") == 0)
    g_string_append_printf (reasons, "%sthe capture ended before the connection closed",
                            reasons->len > 0 ? "; " : "");
  if (reasons->len == 0)
    g_string_append (reasons, "bytes of the connection are missing from the capture");
  mtd_diagnose_add_finding (findings, "INCOMPLETE", MTD_SEVERITY_WARNING, 0,
               g_strdup_printf ("Facts may be missing: %s.", reasons->str),
               g_strdup ("The capture does not hold the whole connection."),
               g_strdup ("Capture the whole connection: start before the client connects, with "
                         "no snaplen limit (tcpdump -s 0), where both directions pass."));
}

/* Moves findings into the result worst first, keeping the rules' order within a severity. */
GPtrArray *
mtd_diagnose_order (GPtrArray *findings, MtdSeverity *worst)
{
  GPtrArray *ordered = g_ptr_array_new_full (findings->len, (GDestroyNotify) mtd_finding_free);
  static const MtdSeverity order[] = {
    MTD_SEVERITY_ERROR,
    MTD_SEVERITY_WARNING,
    MTD_SEVERITY_INFO,
  };
  *worst = MTD_SEVERITY_INFO;
  for (gsize s = 0; s < G_N_ELEMENTS (order); s++)
    for (guint i = 0; i < findings->len; i++) {
      MtdFinding *finding = g_ptr_array_index (findings, i);
      if (finding->severity != order[s])
        continue;
      if (ordered->len == 0)
        *worst = finding->severity;
      g_ptr_array_add (ordered, finding);
    }
  return ordered;
}

MtdDiagnosis *
mtd_diagnose_connection (const MtdConnection *connection)
{
  g_return_val_if_fail (connection != NULL, NULL);
  /* Owns nothing: the findings move to the ordered array. */
  g_autoptr (GPtrArray) findings = g_ptr_array_new ();
  if (connection->tls != NULL)
    diagnose_tls (findings, connection, connection->tls);
  if (connection->http != NULL) {
    /* Requests read inside TLS with a key log are not plain HTTP. */
    if (connection->tls == NULL)
      diagnose_http (findings, connection);
    diagnose_cert_headers (findings, connection);
  }
  if (connection->is_h2_prior_knowledge)
    mtd_diagnose_add_finding (findings, "H2_PRIOR_KNOWLEDGE", MTD_SEVERITY_INFO, connection->first_frame,
                 g_strdup ("The client spoke HTTP/2 in clear with prior knowledge (RFC 9113 "
                           "§3.3)."),
                 g_strdup ("Cleartext HTTP/2 (h2c), like any plain-HTTP request, carries no "
                           "client certificate."),
                 g_strdup ("Make the caller use https:// (HTTP/2 over TLS)."));
  if (connection->is_incomplete)
    diagnose_incomplete (findings, connection);

  /* Every frame a connection's finding cites is in the connection's own input. */
  for (guint i = 0; i < findings->len; i++) {
    MtdFinding *finding = g_ptr_array_index (findings, i);
    guint64 frame = finding->frame;
    finding->frame = 0;
    mtd_finding_add_evidence (finding, connection->input_index, frame);
  }
  return mtd_diagnosis_new (findings);
}

MtdDiagnosis *
mtd_diagnosis_new (GPtrArray *findings)
{
  MtdDiagnosis *diagnosis = g_new0 (MtdDiagnosis, 1);
  diagnosis->findings = mtd_diagnose_order (findings, &diagnosis->worst);
  return diagnosis;
}

void
mtd_diagnosis_free (MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL)
    return;
  if (diagnosis->findings != NULL)
    g_ptr_array_unref (diagnosis->findings);
  g_free (diagnosis);
}

char *
mtd_diagnosis_label (const MtdDiagnosis *diagnosis)
{
  if (diagnosis == NULL || diagnosis->findings == NULL)
    return NULL;
  g_autoptr (GString) label = g_string_new (NULL);
  for (guint i = 0; i < diagnosis->findings->len; i++) {
    const MtdFinding *finding = g_ptr_array_index (diagnosis->findings, i);
    if (finding->severity == MTD_SEVERITY_INFO)
      continue;
    g_string_append_printf (label, "%s%s %s", label->len > 0 ? ", " : "",
                            mtd_severity_name (finding->severity), finding->code);
  }
  if (label->len == 0)
    return NULL;
  return g_string_free (g_steal_pointer (&label), FALSE);
}

gboolean
mtd_diagnosis_has_problem (const MtdDiagnosis *diagnosis)
{
  return diagnosis != NULL && diagnosis->findings != NULL && diagnosis->findings->len > 0
         && diagnosis->worst == MTD_SEVERITY_ERROR;
}
