/**
 * The skeleton of rxsim's self-contained pages (`sweep --html`, `plot --html`): the head with the
 * shared styles, the title and subtitle, the page's data as JSON, d3 and the page's script, all
 * inlined so the file opens with no request to anywhere.
 */

export interface D3Page {
  title: string;
  subtitle: string;
  /** Section headings name metrics (set in monospace) rather than say what a section shows. */
  monospaceHeadings: boolean;
  /** CSS rules of the page's own elements, one a line. */
  styles: string;
  /** The page's content between the subtitle and the scripts. */
  body: string;
  /** The id of the JSON data element the script reads, and the data. */
  dataId: string;
  data: unknown;
  /** The text of d3.min.js (the UMD build: defines `d3`). */
  d3Source: string;
  /** The page's script (it reads the data element and draws with d3). */
  script: string;
}

/** Text safe inside a <script> element. */
export function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** Text safe as HTML content or an attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function d3Page(page: D3Page): string {
  const h2Font = page.monospaceHeadings ? ' font-family: ui-monospace, monospace;' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(page.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px;${h2Font} }
.sub { color: #666; font-family: ui-monospace, monospace; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { border: 1px solid #ddd; border-radius: 4px; padding: 6px; }
${page.styles}
</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<div class="sub">${escapeHtml(page.subtitle)}</div>
${page.body}
<script id="${page.dataId}" type="application/json">${scriptSafe(JSON.stringify(page.data))}</script>
<script>${scriptSafe(page.d3Source)}</script>
<script>${page.script}</script>
</body>
</html>
`;
}
