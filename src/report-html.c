/* report-html.c: the HTML report for a support ticket: one self-contained file, inline CSS and
 * inline SVG only, nothing fetched (a Content-Security-Policy of default-src 'none' says so to
 * the browser too), no script.
 *
 * The markup is also well-formed XML (XML 1.0 §2.1), so that `xmllint --noout` can check it:
 * void elements are self-closed, only the five predefined entities are used (as character
 * references for the apostrophe), and every character written is an XML Char (§2.2).  Untrusted
 * text is escaped per the HTML Living Standard §13.3 serialisation rules (& < > " '); C0 and C1
 * control characters (ECMA-48 §5), the noncharacters U+FFFE and U+FFFF and bytes that are not
 * UTF-8 (RFC 3629) are shown as \xNN, bidirectional formatting characters (Unicode UAX #9) as
 * \u{NNNN}, and the backslash doubled, as the text report does.  The ladder diagrams are inline
 * SVG 1.1 (one lifeline per host, one arrow per message), with the same steps as a table after
 * each for mail clients that do not draw SVG.
 */
#include <string.h>

#include "report-document.h"

/* Characters of untrusted text kept in a ladder label; longer ones end with an ellipsis. */
#define LADDER_LABEL_CHARS 44

/* Ladder geometry, in SVG user units (CSS pixels); the frame column is wider when the chain's
 * hops come from several inputs and each frame says which. */
#define LADDER_FRAME_COLUMN 76
#define LADDER_FRAME_INPUT_COLUMN 124
#define LADDER_HOST_WIDTH 230
#define LADDER_TOP 56
#define LADDER_ROW 30


/* Writes at most max_chars characters of text (0: all), escaped for element content and
 * attribute values alike; "…" when it was cut. */
static void
put_escaped_max (FILE *out, const char *text, guint max_chars)
{
  const char *p = text;
  const char *end = text + strlen (text);
  guint n_chars = 0;
  while (p < end) {
    /* Most text is plain ASCII: one write for a run of it. */
    const char *span = p;
    while (p < end && (guchar) *p >= 0x20 && (guchar) *p < 0x7F
           && strchr ("&<>\"'\\", *p) == NULL && (max_chars == 0 || n_chars < max_chars)) {
      p++;
      n_chars++;
    }
    if (p > span)
      fwrite (span, 1, (gsize) (p - span), out);
    if (p >= end)
      break;
    if (max_chars > 0 && n_chars >= max_chars) {
      fputs ("…", out);
      return;
    }
    const char *start = p;
    guint8 invalid_byte = 0;
    gunichar c = mtd_report_next_char (&p, end, &invalid_byte);
    n_chars++;
    switch (c) {
    case '&':
      fputs ("&amp;", out);
      break;
    case '<':
      fputs ("&lt;", out);
      break;
    case '>':
      fputs ("&gt;", out);
      break;
    case '"':
      fputs ("&quot;", out);
      break;
    case '\'':
      fputs ("&#39;", out);
      break;
    case '\\':
      fputs ("\\\\", out);
      break;
    case MTD_REPORT_INVALID_CHAR:
      fprintf (out, "\\x%02X", invalid_byte);
      break;
    default:
      if (c < 0x20 || (c >= 0x7F && c < 0xA0))
        fprintf (out, "\\x%02X", (guint) c);
      else if (mtd_report_is_bidi_control (c) || c == 0xFFFE || c == 0xFFFF)
        fprintf (out, "\\u{%04X}", (guint) c);
      else
        fwrite (start, 1, (gsize) (p - start), out);
      break;
    }
  }
}

static void
put_escaped (FILE *out, const char *text)
{
  put_escaped_max (out, text, 0);
}

static void
html_text (MtdReport *report, FILE *out, const char *text)
{
  put_escaped (out, text);
}

static void
html_untrusted (MtdReport *report, FILE *out, const char *text)
{
  if (text == NULL) {
    fputc ('-', out);
    return;
  }
  g_autofree char *owned = NULL;
  put_escaped (out, mtd_report_scrub (report, text, &owned));
}

static void
html_code (MtdReport *report, FILE *out, const char *text)
{
  fputs ("<code>", out);
  put_escaped (out, text);
  fputs ("</code>", out);
}

/* A class attribute from one of our style hints (never from the wire). */
static void
put_class (FILE *out, const char *class_name)
{
  if (class_name == NULL)
    return;
  fputs (" class=\"", out);
  put_escaped (out, class_name);
  fputc ('"', out);
}

static const char style_sheet[]
    = ":root{color-scheme:light}"
      "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;"
      "background:#fff;max-width:82em;margin:0 auto;padding:1em 1.5em}"
      "h1{font-size:1.6em;margin:.2em 0 .6em}h2{font-size:1.3em;border-bottom:1px solid #d0d7de;"
      "padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.1em;margin:1.2em 0 .4em}"
      "h4{font-size:1em;margin:.9em 0 .3em}"
      "code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}"
      "pre.commands{background:#f6f8fa;border:1px solid #d0d7de;padding:.5em .8em;"
      "overflow-x:auto}"
      "table{border-collapse:collapse;margin:.4em 0 .8em}th,td{border:1px solid #d0d7de;"
      "padding:.25em .5em;text-align:left;vertical-align:top}thead th{background:#f6f8fa}"
      "tbody th{font-weight:600;white-space:nowrap;background:#fbfcfd}"
      "div.scroll{overflow-x:auto}"
      "tr.problem td{background:#fff1f0}"
      "p.error,li.error{border-left:4px solid #cf222e;padding-left:.6em}"
      "p.warning,li.warning{border-left:4px solid #bf8700;padding-left:.6em}"
      "p.info,li.info,p.none{border-left:4px solid #8c959f;padding-left:.6em}"
      "strong.error,strong.problem{color:#cf222e}strong.warning{color:#9a6700}"
      "strong.info{color:#57606a}"
      "p.redacted{background:#fff8c5;border:1px solid #d4a72c;padding:.4em .7em}"
      "p.cause{background:#f6f8fa;border:1px solid #d0d7de;padding:.5em .8em}"
      "ul.findings li{margin:.35em 0}"
      "article{border-top:1px solid #d0d7de;margin-top:1em}"
      "article.error>h3{color:#cf222e}article.warning>h3{color:#9a6700}"
      "ul.tree,ul.tree ul{list-style:none;padding-left:1.4em}ul.tree{padding-left:0}"
      "ul.tree li{margin:.15em 0;color:#57606a}"
      "ul.tree li.question{color:#1f2328;font-weight:600}"
      "ul.tree li.question li{font-weight:400}"
      "ul.tree li.taken>span.answer{background:#ddf4ff;border:1px solid #54aeff;"
      "border-radius:4px;padding:0 .3em;color:#0a3069;font-weight:600}"
      "ul.tree li.on-path>span.question{color:#0969da}"
      "ul.tree span.count{color:#57606a;font-size:.9em}"
      "ul.tree span.end{font-style:italic}"
      "svg.ladder{display:block;margin:.6em 0;max-width:100%;height:auto}"
      "svg.ladder text{font:12px system-ui,-apple-system,'Segoe UI',sans-serif;fill:#1f2328}"
      "svg.ladder text.host{font-weight:600}svg.ladder text.frame{fill:#57606a}"
      "svg.ladder line.life{stroke:#8c959f;stroke-dasharray:4 3}"
      "svg.ladder line.msg{stroke:#1f6feb;stroke-width:1.5}"
      "svg.ladder line.problem{stroke:#cf222e;stroke-width:2}"
      "svg.ladder text.problem{fill:#cf222e;font-weight:600}"
      "footer{margin-top:2em;color:#57606a;font-size:.9em}";

static void
html_begin (MtdReport *report, FILE *out, const char *title)
{
  fputs ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n", out);
  /* Nothing is fetched: no script, style only inline, images only inline data. */
  fputs ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\"/>\n",
         out);
  fputs ("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n", out);
  fputs ("<meta name=\"generator\" content=\"mtlsdiag ", out);
  put_escaped (out, report->tool_version);
  fputs ("\"/>\n<title>Client-certificate report", out);
  if (title != NULL) {
    fputs (": ", out);
    html_untrusted (report, out, title);
  }
  fprintf (out, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", style_sheet);
}

static void
html_end (MtdReport *report, FILE *out)
{
  fputs ("</main>\n<footer>Written by mtlsdiag ", out);
  put_escaped (out, report->tool_version);
  fputs (".</footer>\n</body>\n</html>\n", out);
}

static const char *
section_id (MtdDocSection section)
{
  switch (section) {
  case MTD_DOC_SECTION_CHAINS:
    return "chains-section";
  case MTD_DOC_SECTION_CONNECTIONS:
    return "connections-section";
  case MTD_DOC_SECTION_ENVIRONMENT:
  default:
    return "environment-section";
  }
}

static void
html_section_begin (MtdReport *report, FILE *out, MtdDocSection section)
{
  fprintf (out, "<section id=\"%s\">\n", section_id (section));
}

static void
html_section_end (MtdReport *report, FILE *out, MtdDocSection section)
{
  fputs ("</section>\n", out);
}

static void
html_section_item_begin (MtdReport *report, FILE *out, const char *anchor,
                         const char *class_name)
{
  fputs ("<article id=\"", out);
  put_escaped (out, anchor);
  fputc ('"', out);
  put_class (out, class_name);
  fputs (">\n", out);
}

static void
html_section_item_end (MtdReport *report, FILE *out)
{
  fputs ("</article>\n", out);
}

/* Items carry their anchor on their article; the top's headings on themselves. */
static void
html_heading_begin (MtdReport *report, FILE *out, guint level, const char *anchor,
                    const char *class_name)
{
  fprintf (out, "<h%u", CLAMP (level, 1, 6));
  if (anchor != NULL && level <= 2) {
    fputs (" id=\"", out);
    put_escaped (out, anchor);
    fputc ('"', out);
  }
  put_class (out, class_name);
  fputc ('>', out);
}

static void
html_heading_end (MtdReport *report, FILE *out, guint level)
{
  fprintf (out, "</h%u>\n", CLAMP (level, 1, 6));
}

static void
html_block_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("<p", out);
  put_class (out, class_name);
  fputc ('>', out);
}

static void
html_block_end (MtdReport *report, FILE *out)
{
  fputs ("</p>\n", out);
}

static void
html_strong_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("<strong", out);
  put_class (out, class_name);
  fputc ('>', out);
}

static void
html_strong_end (MtdReport *report, FILE *out)
{
  fputs ("</strong>", out);
}

static void
html_line_break (MtdReport *report, FILE *out)
{
  fputs ("<br/>", out);
}

static void
html_list_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("<ul", out);
  put_class (out, class_name);
  fputs (">\n", out);
}

static void
html_list_end (MtdReport *report, FILE *out)
{
  fputs ("</ul>\n", out);
}

static void
html_item_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("<li", out);
  put_class (out, class_name);
  fputc ('>', out);
}

static void
html_item_end (MtdReport *report, FILE *out)
{
  fputs ("</li>\n", out);
}

static void
html_table_begin (MtdReport *report, FILE *out, const char *class_name,
                  const char *const *headers, guint n_headers)
{
  fputs ("<div class=\"scroll\"><table", out);
  put_class (out, class_name);
  fputs ("><thead><tr>", out);
  for (guint i = 0; i < n_headers; i++) {
    fputs ("<th scope=\"col\">", out);
    put_escaped (out, headers[i]);
    fputs ("</th>", out);
  }
  fputs ("</tr></thead>\n<tbody>\n", out);
}

static void
html_table_end (MtdReport *report, FILE *out)
{
  fputs ("</tbody></table></div>\n", out);
}

static void
html_row_begin (MtdReport *report, FILE *out, const char *class_name)
{
  fputs ("<tr", out);
  put_class (out, class_name);
  fputc ('>', out);
}

static void
html_row_end (MtdReport *report, FILE *out)
{
  fputs ("</tr>\n", out);
}

static void
html_cell_begin (MtdReport *report, FILE *out, gboolean is_label)
{
  fputs (is_label ? "<th scope=\"row\">" : "<td>", out);
}

static void
html_cell_end (MtdReport *report, FILE *out, gboolean is_label)
{
  fputs (is_label ? "</th>" : "</td>", out);
}

static void
html_commands_begin (MtdReport *report, FILE *out)
{
  fputs ("<pre class=\"commands\"><code>", out);
}

static void
html_commands_end (MtdReport *report, FILE *out)
{
  fputs ("</code></pre>\n", out);
}

static void
html_input_path (MtdReport *report, FILE *out, const char *path)
{
  g_autofree char *owned = NULL;
  g_autofree char *word = mtd_document_shell_word (mtd_report_scrub (report, path, &owned));
  put_escaped (out, word);
}

/* Nested lists, one level per question; the worst's answers and questions carry the classes
 * "taken" and "on-path". */
static void
html_tree (MtdReport *report, FILE *out, const MtdDocTreeItem *items)
{
  fputs ("<ul class=\"tree\">\n", out);
  guint open_depth = 0;
  guint n_questions = 0;
  for (guint node = 0; node < MTD_DOC_N_NODES; node++) {
    const MtdDocTreeItem *item = &items[node];
    if (node > 0) {
      if (item->depth > open_depth) {
        /* The static tree goes one level deeper at a time, inside the item before. */
        fputs ("\n<ul>\n", out);
      } else {
        fputs ("</li>\n", out);
        for (; open_depth > item->depth; open_depth--)
          fputs ("</ul></li>\n", out);
      }
    }
    open_depth = item->depth;
    if (item->is_question) {
      fprintf (out, "<li class=\"question%s\"><span class=\"question\">%u. ",
               item->is_taken ? " on-path" : "", ++n_questions);
      put_escaped (out, item->label);
      fputs ("</span>", out);
      continue;
    }
    fprintf (out, "<li class=\"answer%s\">", item->is_taken ? " taken" : "");
    fputs (item->is_taken ? "→ <span class=\"answer\">" : "<span class=\"answer\">", out);
    put_escaped (out, item->label);
    fprintf (out, "</span> <span class=\"count\">(%" G_GUINT64_FORMAT " %s%s)</span>",
             item->count, item->unit, item->count == 1 ? "" : "s");
    if (item->conclusion != NULL) {
      fputs (" <span class=\"end\">", out);
      put_escaped (out, item->conclusion);
      fputs ("</span>", out);
    }
  }
  fputs ("</li>\n", out);
  for (; open_depth > 0; open_depth--)
    fputs ("</ul></li>\n", out);
  fputs ("</ul>\n", out);
}

static guint
host_x (guint left, guint host)
{
  return left + LADDER_HOST_WIDTH / 2 + host * LADDER_HOST_WIDTH;
}

/* A host's two header lines: its --hop name (or its place in the chain) and its address. */
static void
put_host_header (MtdReport *report, FILE *out, const MtdChain *chain, guint host, guint x,
                 GHashTable *hop_names)
{
  const MtdLeg *leg = g_array_index (chain->hops, MtdChainHop, host == 0 ? 0 : host - 1).leg;
  const MtdEndpoint *endpoint = host == 0 ? &leg->client : &leg->server;
  const char *name = hop_names != NULL ? g_hash_table_lookup (hop_names, endpoint->ip) : NULL;
  fprintf (out, "<text class=\"host\" x=\"%u\" y=\"18\" text-anchor=\"middle\">", x);
  if (name != NULL) {
    g_autofree char *owned = NULL;
    put_escaped_max (out, mtd_report_scrub (report, name, &owned), LADDER_LABEL_CHARS);
  } else if (host == 0) {
    fputs ("caller", out);
  } else if (host == chain->hops->len) {
    fputs (chain->hops->len == 1 ? "server" : "last hop's server", out);
  } else {
    fprintf (out, "hop %u's server", host);
  }
  fprintf (out, "</text><text x=\"%u\" y=\"34\" text-anchor=\"middle\">", x);
  const char *ip = mtd_report_ip (report, endpoint->ip);
  gboolean is_ipv6 = strchr (ip, ':') != NULL;
  fputs (is_ipv6 ? "[" : "", out);
  put_escaped_max (out, ip, LADDER_LABEL_CHARS);
  fprintf (out, "%s:%u", is_ipv6 ? "]" : "", endpoint->port);
  /* The next hop leaves from another address of the same host (--hop). */
  if (host > 0 && host < chain->hops->len) {
    const MtdLeg *next = g_array_index (chain->hops, MtdChainHop, host).leg;
    if (g_strcmp0 (next->client.ip, endpoint->ip) != 0) {
      fputs (" / ", out);
      put_escaped_max (out, mtd_report_ip (report, next->client.ip), LADDER_LABEL_CHARS);
    }
  }
  fputs ("</text>\n", out);
}

static void
put_step_text (MtdReport *report, FILE *out, const MtdLadderStep *step)
{
  char buf[96];
  const MtdLegRequest *request = step->request;
  if (request == NULL || (step->kind != MTD_LADDER_HTTP_REQUEST
                          && step->kind != MTD_LADDER_HTTP_RESPONSE)) {
    put_escaped (out, mtd_document_ladder_label (step, buf, sizeof buf));
    return;
  }
  if (step->kind == MTD_LADDER_HTTP_RESPONSE)
    fprintf (out, "%u to ", step->count);
  g_autofree char *method_owned = NULL;
  g_autofree char *path_owned = NULL;
  const char *method = mtd_report_scrub (report, request->method != NULL ? request->method : "-",
                                         &method_owned);
  const char *path = mtd_report_scrub (report, request->path != NULL ? request->path : "-",
                                       &path_owned);
  put_escaped_max (out, method, 12);
  fputc (' ', out);
  put_escaped_max (out, path, LADDER_LABEL_CHARS - 12);
  if (step->kind == MTD_LADDER_HTTP_REQUEST && request->cert_header != NULL) {
    g_autofree char *name_owned = NULL;
    fputs (" + ", out);
    put_escaped_max (out,
                     mtd_report_scrub (report, request->cert_header->name, &name_owned), 24);
  }
}

/* One vertical line per host, one arrow per step, the frame number on the left. */
static void
html_ladder (MtdReport *report, FILE *out, const MtdChain *chain, const GArray *steps,
             GHashTable *hop_names)
{
  if (steps->len == 0)
    return;
  gboolean is_one_input = TRUE;
  for (guint i = 1; i < steps->len; i++)
    is_one_input &= g_array_index (steps, MtdLadderStep, i).input_index
                    == g_array_index (steps, MtdLadderStep, 0).input_index;
  guint left = is_one_input ? LADDER_FRAME_COLUMN : LADDER_FRAME_INPUT_COLUMN;
  guint n_hosts = chain->hops->len + 1;
  guint width = host_x (left, n_hosts - 1) + LADDER_HOST_WIDTH / 2 + 10;
  guint height = LADDER_TOP + steps->len * LADDER_ROW + 10;
  fprintf (out,
           "<svg class=\"ladder\" role=\"img\" aria-label=\"Ladder diagram of chain %u\" "
           "width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n",
           chain->id, width, height, width, height);
  fprintf (out, "<title>Chain %u: the handshake messages and requests of each hop</title>\n",
           chain->id);
  fprintf (out,
           "<defs><marker id=\"arrow-%u\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
           "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
           "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f6feb\"/></marker>"
           "<marker id=\"arrow-problem-%u\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
           "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
           "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#cf222e\"/></marker></defs>\n",
           chain->id, chain->id);
  for (guint host = 0; host < n_hosts; host++) {
    guint x = host_x (left, host);
    put_host_header (report, out, chain, host, x, hop_names);
    fprintf (out, "<line class=\"life\" x1=\"%u\" y1=\"42\" x2=\"%u\" y2=\"%u\"/>\n", x, x,
             height - 4);
  }
  for (guint i = 0; i < steps->len; i++) {
    const MtdLadderStep *step = &g_array_index (steps, MtdLadderStep, i);
    guint from = step->is_from_client ? step->hop - 1 : step->hop;
    guint to = step->is_from_client ? step->hop : step->hop - 1;
    guint y = LADDER_TOP + i * LADDER_ROW + 12;
    const char *problem = step->is_problem ? " problem" : "";
    fprintf (out, "<text class=\"frame\" x=\"4\" y=\"%u\">", y + 4);
    if (!is_one_input)
      fprintf (out, "input %u, ", step->input_index + 1);
    fprintf (out, "frame %" G_GUINT64_FORMAT "</text>\n", step->frame);
    guint x_from = host_x (left, from);
    guint x_to = host_x (left, to);
    gint direction = to > from ? 1 : -1;
    fprintf (out,
             "<line class=\"msg%s\" x1=\"%u\" y1=\"%u\" x2=\"%d\" y2=\"%u\" "
             "marker-end=\"url(#arrow-%s%u)\"/>\n",
             problem, x_from, y, (gint) x_to - direction * 2, y,
             step->is_problem ? "problem-" : "", chain->id);
    fprintf (out, "<text class=\"label%s\" x=\"%u\" y=\"%u\" text-anchor=\"middle\">", problem,
             (x_from + x_to) / 2, y - 5);
    put_step_text (report, out, step);
    fputs ("</text>\n", out);
  }
  fputs ("</svg>\n", out);
}

const MtdDocWriter mtd_html_writer = {
  .begin = html_begin,
  .end = html_end,
  .section_begin = html_section_begin,
  .section_end = html_section_end,
  .section_item_begin = html_section_item_begin,
  .section_item_end = html_section_item_end,
  .heading_begin = html_heading_begin,
  .heading_end = html_heading_end,
  .block_begin = html_block_begin,
  .block_end = html_block_end,
  .text = html_text,
  .untrusted = html_untrusted,
  .code = html_code,
  .strong_begin = html_strong_begin,
  .strong_end = html_strong_end,
  .line_break = html_line_break,
  .list_begin = html_list_begin,
  .list_end = html_list_end,
  .item_begin = html_item_begin,
  .item_end = html_item_end,
  .table_begin = html_table_begin,
  .table_end = html_table_end,
  .row_begin = html_row_begin,
  .row_end = html_row_end,
  .cell_begin = html_cell_begin,
  .cell_end = html_cell_end,
  .commands_begin = html_commands_begin,
  .command = mtd_document_put_tshark_line,
  .commands_end = html_commands_end,
  .input_path = html_input_path,
  .tree = html_tree,
  .ladder = html_ladder,
};
