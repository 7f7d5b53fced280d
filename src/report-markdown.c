/* report-markdown.c: the Markdown report for a support ticket (CommonMark 0.30 with GitHub's
 * tables), readable as plain text in a mail client too.
 *
 * Untrusted text can neither start markup nor break a line: the characters that CommonMark and
 * GitHub's tables give a meaning (§2.4 backslash escapes: \ ` * _ [ ] < | & ~) are escaped with
 * a backslash, and so are > # = and list markers where a text begins (the only place they open
 * a block); C0 and C1 control characters (ECMA-48 §5), line ends among them, and bytes that are
 * not UTF-8 (RFC 3629) are written as \xNN, bidirectional formatting characters (Unicode
 * UAX #9) as \u{NNNN}, and the backslash doubled, as the text report does.  Frame commands are
 * fenced code blocks (§4.5), whose only untrusted part, an input's path, is one
 * shell word without control characters.
 */
#include <string.h>

#include "report-document.h"


/* Writes text with every character that could be markup escaped: the inline ones everywhere,
 * and what opens a block (§4.1 thematic breaks, §4.2 and §4.3 headings, §5.1 block quotes,
 * §5.2 list items) when the text begins, since a text may begin a line. */
static void
put_escaped (FILE *out, const char *text)
{
  const char *p = text;
  const char *end = text + strlen (text);
  const char *digits = p;
  while (digits < end && g_ascii_isdigit (*digits) && digits - p < 9)
    digits++;
  gboolean is_marker_end = FALSE;
  if (p < end && (*p == '-' || *p == '+'))
    is_marker_end = p + 1 == end || p[1] == ' ' || p[1] == '\t';
  if (p < end && (*p == '#' || *p == '>' || *p == '=' || is_marker_end)) {
    fputc ('\\', out);
    fputc (*p++, out);
  } else if (digits > p && digits < end && (*digits == '.' || *digits == ')')
             && (digits + 1 == end || digits[1] == ' ' || digits[1] == '\t')) {
    fwrite (p, 1, (gsize) (digits - p), out);
    fputc ('\\', out);
    p = digits;
  }
  while (p < end) {
    const char *span = p;
    while (p < end && (guchar) *p >= 0x20 && (guchar) *p < 0x7F
           && strchr ("\\`*_[]<|&~", *p) == NULL)
      p++;
    if (p > span)
      fwrite (span, 1, (gsize) (p - span), out);
    if (p >= end)
      break;
    const char *start = p;
    guint8 invalid_byte = 0;
    gunichar c = mtd_report_next_char (&p, end, &invalid_byte);
    if (c == MTD_REPORT_INVALID_CHAR)
      fprintf (out, "\\\\x%02X", invalid_byte);
    else if (c < 0x20 || (c >= 0x7F && c < 0xA0))
      fprintf (out, "\\\\x%02X", (guint) c);
    else if (mtd_report_is_bidi_control (c))
      fprintf (out, "\\\\u{%04X}", (guint) c);
    else if (c == '\\')
      fputs ("\\\\\\\\", out); /* shown doubled, so that \xNN cannot be forged */
    else if (c < 0x80) {
      fputc ('\\', out);
      fputc ((int) c, out);
    } else
      fwrite (start, 1, (gsize) (p - start), out);
  }
}

static void
md_text (MtdReport *report, FILE *out, const char *text)
{
  put_escaped (out, text);
}

static void
md_untrusted (MtdReport *report, FILE *out, const char *text)
{
  if (text == NULL) {
    fputc ('-', out);
    return;
  }
  g_autofree char *owned = NULL;
  put_escaped (out, mtd_report_scrub (report, text, &owned));
}

/* Our identifiers in a code span (§6.1); anything that could end the span is written as text. */
static void
md_code (MtdReport *report, FILE *out, const char *text)
{
  gboolean is_plain = text[0] != '\0';
  for (const char *p = text; *p != '\0' && is_plain; p++)
    is_plain = (guchar) *p > 0x20 && (guchar) *p < 0x7F && *p != '`';
  if (!is_plain) {
    put_escaped (out, text);
    return;
  }
  fprintf (out, "`%s`", text);
}

static void
md_begin (MtdReport *report, FILE *out, const char *title)
{
}

static void
md_end (MtdReport *report, FILE *out)
{
  fprintf (out, "---\n\nWritten by mtlsdiag ");
  put_escaped (out, report->tool_version);
  fputs (".\n", out);
}

static void
md_section_begin (MtdReport *report, FILE *out, MtdDocSection section)
{
}

static void
md_section_end (MtdReport *report, FILE *out, MtdDocSection section)
{
}

static void
md_section_item_begin (MtdReport *report, FILE *out, const char *anchor, const char *class_name)
{
}

static void
md_section_item_end (MtdReport *report, FILE *out)
{
}

static void
md_heading_begin (MtdReport *report, FILE *out, guint level, const char *anchor,
                  const char *class_name)
{
  for (guint i = 0; i < CLAMP (level, 1, 6); i++)
    fputc ('#', out);
  fputc (' ', out);
}

static void
md_heading_end (MtdReport *report, FILE *out, guint level)
{
  fputs ("\n\n", out);
}

static void
md_block_begin (MtdReport *report, FILE *out, const char *class_name)
{
}

static void
md_block_end (MtdReport *report, FILE *out)
{
  fputs ("\n\n", out);
}

static void
md_strong_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("**", out);
}

static void
md_strong_end (MtdReport *report, FILE *out)
{
  fputs ("**", out);
}

/* A hard line break (§6.7), indented so that it stays inside a list item. */
static void
md_line_break (MtdReport *report, FILE *out)
{
  fputs ("  \n  ", out);
}

static void
md_list_begin (MtdReport *report, FILE *out, const char *class_name)
{
}

static void
md_list_end (MtdReport *report, FILE *out)
{
  fputc ('\n', out);
}

static void
md_item_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("- ", out);
}

static void
md_item_end (MtdReport *report, FILE *out)
{
  fputc ('\n', out);
}

static void
md_table_begin (MtdReport *report, FILE *out, const char *class_name,
                const char *const *headers, guint n_headers)
{
  fputc ('|', out);
  for (guint i = 0; i < n_headers; i++) {
    fputc (' ', out);
    put_escaped (out, headers[i]);
    fputs (" |", out);
  }
  fputs ("\n|", out);
  for (guint i = 0; i < n_headers; i++)
    fputs ("---|", out);
  fputc ('\n', out);
}

static void
md_table_end (MtdReport *report, FILE *out)
{
  fputc ('\n', out);
}

static void
md_row_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputc ('|', out);
}

static void
md_row_end (MtdReport *report, FILE *out)
{
  fputc ('\n', out);
}

static void
md_cell_begin (MtdReport *report, FILE *out, gboolean is_label)
{
  fputc (' ', out);
}

static void
md_cell_end (MtdReport *report, FILE *out, gboolean is_label)
{
  fputs (" |", out);
}

static void
md_commands_begin (MtdReport *report, FILE *out)
{
  fputs ("```sh\n", out);
}

static void
md_commands_end (MtdReport *report, FILE *out)
{
  fputs ("```\n\n", out);
}

/* Inside a fenced code block nothing is markup: the path only has to stay on its line. */
static void
md_input_path (MtdReport *report, FILE *out, const char *path)
{
  g_autofree char *owned = NULL;
  g_autofree char *word = mtd_document_shell_word (mtd_report_scrub (report, path, &owned));
  fputs (word, out);
}

static void
md_tree (MtdReport *report, FILE *out, const MtdDocTreeItem *items)
{
  guint n_questions = 0;
  for (guint node = 0; node < MTD_DOC_N_NODES; node++) {
    const MtdDocTreeItem *item = &items[node];
    for (guint i = 0; i < item->depth; i++)
      fputs ("  ", out);
    fputs ("- ", out);
    if (item->is_question) {
      fprintf (out, "**%u. ", ++n_questions);
      put_escaped (out, item->label);
      fputs ("**\n", out);
      continue;
    }
    if (item->is_taken)
      fputs ("→ **", out);
    put_escaped (out, item->label);
    if (item->is_taken)
      fputs ("**", out);
    fprintf (out, " (%" G_GUINT64_FORMAT " %s%s)", item->count, item->unit,
             item->count == 1 ? "" : "s");
    if (item->conclusion != NULL) {
      fputs (": ", out);
      if (item->is_taken)
        fputs ("_", out);
      put_escaped (out, item->conclusion);
      if (item->is_taken)
        fputs ("_", out);
    }
    fputc ('\n', out);
  }
  fputc ('\n', out);
}

/* The ladder is the table of steps that follows. */
static void
md_ladder (MtdReport *report, FILE *out, const MtdChain *chain, const GArray *steps,
           GHashTable *hop_names)
{
}

const MtdDocWriter mtd_markdown_writer = {
  .begin = md_begin,
  .end = md_end,
  .section_begin = md_section_begin,
  .section_end = md_section_end,
  .section_item_begin = md_section_item_begin,
  .section_item_end = md_section_item_end,
  .heading_begin = md_heading_begin,
  .heading_end = md_heading_end,
  .block_begin = md_block_begin,
  .block_end = md_block_end,
  .text = md_text,
  .untrusted = md_untrusted,
  .code = md_code,
  .strong_begin = md_strong_begin,
  .strong_end = md_strong_end,
  .line_break = md_line_break,
  .list_begin = md_list_begin,
  .list_end = md_list_end,
  .item_begin = md_item_begin,
  .item_end = md_item_end,
  .table_begin = md_table_begin,
  .table_end = md_table_end,
  .row_begin = md_row_begin,
  .row_end = md_row_end,
  .cell_begin = md_cell_begin,
  .cell_end = md_cell_end,
  .commands_begin = md_commands_begin,
  .command = mtd_document_put_tshark_line,
  .commands_end = md_commands_end,
  .input_path = md_input_path,
  .tree = md_tree,
  .ladder = md_ladder,
};
