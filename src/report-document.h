/* report-document.h: what the Markdown and HTML reports share: the runbook's decision tree, the
 * verdict and top findings gathered as connections and chains pass, the handshake messages a
 * ladder diagram draws, and the spools the sections wait in until the top can be written.
 *
 * A ticket report starts with its verdict, which is known only at the end; connections must not
 * stay in memory, so each one is written as it comes into a spool file of its severity (worst
 * first at the end) and only counters, one finding per code and the worst decision path are kept.
 * The handshake messages of each TLS connection (frames only, fixed-size) wait in a file indexed
 * by connection id until a chain that holds the connection draws its ladder.
 */
#pragma once

#include "report-private.h"

typedef struct _MtdDocument MtdDocument;

MtdDocument *mtd_document_new (void);
void mtd_document_free (MtdDocument *document); /* NULL-safe */

/* The dispatchers of report-common.c call these for MTD_REPORT_MARKDOWN and MTD_REPORT_HTML. */
void mtd_report_document_connection (MtdReport *report, const MtdConnection *connection,
                                     const MtdDiagnosis *diagnosis);
void mtd_report_document_chain (MtdReport *report, const MtdChain *chain,
                                const MtdDiagnosis *diagnosis, GHashTable *hop_names);
void mtd_report_document_finish (MtdReport *report, const MtdInputInfo *const *inputs,
                                 guint n_inputs, const MtdSummary *summary);

/* ---- The runbook's decision tree ---------------------------------------------------------- */

/* Every node, questions and their answers, in the order the tree is drawn (pre-order). */
typedef enum {
  MTD_DOC_Q_DIRECTION,
  MTD_DOC_A_INBOUND,
  MTD_DOC_A_OUTBOUND,
  MTD_DOC_A_DIRECTION_UNKNOWN,
  MTD_DOC_Q_TRANSPORT,
  MTD_DOC_A_PLAIN_HTTP,
  MTD_DOC_A_PLAIN_HTTP_REDIRECTED,
  MTD_DOC_A_FORWARDED_HTTP,
  MTD_DOC_A_TLS,
  MTD_DOC_Q_REQUESTED,
  MTD_DOC_A_REQUESTED_NO,
  MTD_DOC_A_REQUESTED_UNKNOWN,
  MTD_DOC_A_REQUESTED_LATE,
  MTD_DOC_A_REQUESTED_YES,
  MTD_DOC_Q_PRESENTED,
  MTD_DOC_A_PRESENTED_NOT_SENT,
  MTD_DOC_A_PRESENTED_EMPTY,
  MTD_DOC_A_PRESENTED_UNKNOWN,
  MTD_DOC_A_PRESENTED_YES,
  MTD_DOC_Q_ACCEPTED,
  MTD_DOC_A_REJECTED,
  MTD_DOC_A_ACCEPTED_UNKNOWN,
  MTD_DOC_A_ACCEPTED,
  MTD_DOC_Q_REACHED,
  MTD_DOC_A_DROPPED,
  MTD_DOC_A_HEADER_MISMATCH,
  MTD_DOC_A_REACHED_UNKNOWN,
  MTD_DOC_A_DELIVERED,
  MTD_DOC_N_NODES,
} MtdDocNode;

typedef struct {
  guint depth;            /* nesting: 0 for the first two questions */
  gboolean is_question;
  const char *label;      /* static, our words */
  const char *conclusion; /* static: what ending on this answer means; NULL when it goes on */
  const char *unit;       /* "connection" or "chain": what count counts (answers only) */
  gboolean is_taken;      /* on the path of the worst connection or chain */
  guint64 count;          /* connections (or chains) that took this answer */
} MtdDocTreeItem;

/* The whole tree, MTD_DOC_N_NODES items in drawing order (items[node] is node's). */
void mtd_document_tree (const MtdDocument *document, MtdDocTreeItem *items);

/* ---- Ladder diagrams ---------------------------------------------------------------------- */

/* What a ladder's arrow stands for, and what its step's count and detail hold. */
typedef enum {
  MTD_LADDER_CLIENT_HELLO,
  MTD_LADDER_SERVER_HELLO,
  MTD_LADDER_CERT_REQUEST,
  MTD_LADDER_CERTIFICATE,      /* count: certificates, 0 unknown; detail: MtdPresented */
  MTD_LADDER_NO_CERTIFICATE,   /* the client's flight without a Certificate message */
  MTD_LADDER_ALERT,            /* count: level; detail: description (unless is_encrypted) */
  MTD_LADDER_LATE_REQUEST,     /* detail: MtdLateAuthKind */
  MTD_LADDER_LATE_CERTIFICATE, /* as MTD_LADDER_CERTIFICATE */
  MTD_LADDER_HTTP_REQUEST,     /* request: the leg's */
  MTD_LADDER_HTTP_RESPONSE,    /* request: the leg's; count: its status */
} MtdLadderKind;

typedef struct {
  guint hop;                    /* 1-based */
  guint input_index;
  guint64 frame;
  MtdLadderKind kind;
  gboolean is_from_client;      /* of the hop: from its client to its server */
  gboolean is_problem;          /* drawn as a failure: an empty list, an alert, a 4xx */
  gboolean is_encrypted;        /* an alert read from its size only */
  MtdHow how;
  guint count;
  guint detail;
  const MtdLegRequest *request; /* borrowed from the chain, HTTP steps only */
} MtdLadderStep;

/* Our words for a step, without a request's method and path: "ClientHello",
 * "Certificate, empty list", "fatal alert unknown_ca", "403"; into buf, which is returned. */
const char *mtd_document_ladder_label (const MtdLadderStep *step, char *buf, gsize buf_len);

/* ---- Frames to open with tshark ----------------------------------------------------------- */

/* Writes input input_index's path, as the writer's input_path writes it.  Into a section's
 * spool it writes a stand-in, which becomes the path when the spool is copied into the report:
 * the paths are known only at the finish. */
void mtd_document_put_input_path (MtdReport *report, FILE *out, guint input_index);
/* "tshark -r FILE -Y frame.number==N\n", the line that opens a cited frame: inside a code block
 * in both formats, so the writers add no markup of their own. */
void mtd_document_put_tshark_line (MtdReport *report, FILE *out, guint input_index,
                                   guint64 frame);

/* A path as one shell word for a tshark command line: as it is when it holds only characters
 * safe in a shell, else quoted by g_shell_quote; control characters and bytes that are not
 * UTF-8 become '?'.  A new string. */
char *mtd_document_shell_word (const char *path);

/* ---- The writers -------------------------------------------------------------------------- */

typedef enum {
  MTD_DOC_SECTION_CHAINS,
  MTD_DOC_SECTION_CONNECTIONS,
  MTD_DOC_SECTION_ENVIRONMENT,
} MtdDocSection;

/* One format's primitives.  report-document.c writes every section's content through them, so
 * both formats say the same; each format draws the decision tree and the ladder its own way.
 * out is a spool (a connection's or a chain's section) or the report's stream.  text writes our
 * own words, untrusted any other text (through mtd_report_scrub, NULL as "-"), code an
 * identifier (finding codes, verdict values, thumbprints); all three escape what they write.
 * class_name (may be NULL) is a style hint: a severity name, "problem", "facts", ... */
typedef struct {
  void (*begin) (MtdReport *report, FILE *out, const char *title);
  void (*end) (MtdReport *report, FILE *out);
  void (*section_begin) (MtdReport *report, FILE *out, MtdDocSection section);
  void (*section_end) (MtdReport *report, FILE *out, MtdDocSection section);
  /* One connection's or chain's part of a section; anchor names it for links. */
  void (*section_item_begin) (MtdReport *report, FILE *out, const char *anchor,
                              const char *class_name);
  void (*section_item_end) (MtdReport *report, FILE *out);
  void (*heading_begin) (MtdReport *report, FILE *out, guint level, const char *anchor,
                         const char *class_name);
  void (*heading_end) (MtdReport *report, FILE *out, guint level);
  void (*block_begin) (MtdReport *report, FILE *out, const char *class_name);
  void (*block_end) (MtdReport *report, FILE *out);
  void (*text) (MtdReport *report, FILE *out, const char *text);
  void (*untrusted) (MtdReport *report, FILE *out, const char *text);
  void (*code) (MtdReport *report, FILE *out, const char *text);
  void (*strong_begin) (MtdReport *report, FILE *out, const char *class_name);
  void (*strong_end) (MtdReport *report, FILE *out);
  /* A new line inside a block or a list item. */
  void (*line_break) (MtdReport *report, FILE *out);
  void (*list_begin) (MtdReport *report, FILE *out, const char *class_name);
  void (*list_end) (MtdReport *report, FILE *out);
  void (*item_begin) (MtdReport *report, FILE *out, const char *class_name);
  void (*item_end) (MtdReport *report, FILE *out);
  void (*table_begin) (MtdReport *report, FILE *out, const char *class_name,
                       const char *const *headers, guint n_headers);
  void (*table_end) (MtdReport *report, FILE *out);
  void (*row_begin) (MtdReport *report, FILE *out, const char *class_name);
  void (*row_end) (MtdReport *report, FILE *out);
  void (*cell_begin) (MtdReport *report, FILE *out, gboolean is_label);
  void (*cell_end) (MtdReport *report, FILE *out, gboolean is_label);
  /* "tshark -r FILE -Y frame.number==N" lines; FILE through mtd_document_put_input_path. */
  void (*commands_begin) (MtdReport *report, FILE *out);
  void (*command) (MtdReport *report, FILE *out, guint input_index, guint64 frame);
  void (*commands_end) (MtdReport *report, FILE *out);
  /* An input's path inside a command (see mtd_document_put_input_path). */
  void (*input_path) (MtdReport *report, FILE *out, const char *path);
  /* The decision tree: MTD_DOC_N_NODES items from mtd_document_tree. */
  void (*tree) (MtdReport *report, FILE *out, const MtdDocTreeItem *items);
  /* A chain's ladder drawing before the table of its steps (may write nothing). */
  void (*ladder) (MtdReport *report, FILE *out, const MtdChain *chain, const GArray *steps,
                  GHashTable *hop_names);
} MtdDocWriter;

extern const MtdDocWriter mtd_markdown_writer;
extern const MtdDocWriter mtd_html_writer;
