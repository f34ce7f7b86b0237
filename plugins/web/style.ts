/**
 * The stylesheet of the relay's pages (docs and console), served as a file so that the pages'
 * Content-Security-Policy can forbid inline styles. Colours keep a contrast of at least 4.5:1;
 * every focusable element shows a visible focus ring.
 */
export const STYLESHEET = `
:root { color-scheme: light; --ink: #1a1d23; --muted: #4a5160; --line: #d5d9e0; --accent: #0b57d0;
  --accent-ink: #ffffff; --bg: #ffffff; --panel: #f5f7fa; --danger: #b3261e; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid #f0a500; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--accent); color: var(--accent-ink); padding: .5rem 1rem; }
.skip:focus { left: 0; }
header.top { border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .bar { max-width: 72rem; margin: 0 auto; padding: .75rem 1.25rem; display: flex; gap: 1rem; align-items: center; justify-content: space-between; flex-wrap: wrap; }
header.top .brand { font-weight: 700; color: var(--ink); text-decoration: none; font-size: 1.1rem; }
header.top nav a { margin-left: 1rem; }
main { max-width: 72rem; margin: 0 auto; padding: 1.25rem; }
h1 { font-size: 1.9rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.4rem; margin: 2rem 0 .75rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h3 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
p.lead { font-size: 1.1rem; color: var(--muted); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
pre { background: #10141a; color: #e8ecf2; padding: 1rem; border-radius: .4rem; overflow-x: auto; }
:not(pre) > code { background: var(--panel); border: 1px solid var(--line); border-radius: .25rem; padding: 0 .25rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; color: var(--muted); }
th, td { border-bottom: 1px solid var(--line); padding: .45rem .6rem; text-align: left; vertical-align: top; }
th { font-weight: 600; }
thead th { background: var(--panel); }
figure { margin: 1rem 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: .5rem; padding: 1rem 1.25rem; margin: 1rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 1rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; }
.card .label { color: var(--muted); font-size: .9rem; }
.card .value { font-size: 1.4rem; font-weight: 700; }
form.inline { display: inline; }
form.stack { display: grid; gap: .6rem; max-width: 32rem; }
form.row { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; }
.field { display: grid; gap: .2rem; }
label { font-weight: 600; }
.hint { color: var(--muted); font-size: .9rem; font-weight: 400; }
input, select { font: inherit; padding: .45rem .6rem; border: 1px solid #767f8f; border-radius: .3rem; background: #fff; color: var(--ink); min-width: 12rem; }
button { font: inherit; padding: .45rem .9rem; border-radius: .3rem; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-ink); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--danger); border-color: var(--danger); }
.notice { border-left: 4px solid var(--ok); background: #eaf4ec; padding: .75rem 1rem; margin: 1rem 0; }
.error { border-left: 4px solid var(--danger); background: #fbeaea; padding: .75rem 1rem; margin: 1rem 0; }
.secret { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.secret code { font-size: 1rem; word-break: break-all; }
.muted { color: var(--muted); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
svg.chart { width: 100%; max-width: 48rem; height: auto; display: block; }
svg.chart .bar { fill: var(--accent); }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
svg.chart text { fill: var(--muted); font-size: 11px; font-family: system-ui, sans-serif; }
`
