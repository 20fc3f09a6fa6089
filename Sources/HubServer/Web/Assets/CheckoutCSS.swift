extension WebAssets {
    /// The sandbox checkout and payment result pages (`HTML.page`).
    static let checkoutCSS = #"""
:root { --ink: #17212b; --muted: #66758a; --line: #e3e8ee; --brand: #0b6e4f; --bg: #eef2f5; color-scheme: light; }
* { box-sizing: border-box; }
html, body { margin: 0; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; color: var(--ink);
  background: radial-gradient(1200px 600px at 50% -200px, #d9efe5, transparent), var(--bg); min-height: 100vh; }
.sheet { max-width: 27rem; margin: 3.5rem auto 2rem; background: #fff; border-radius: 16px; overflow: hidden;
  box-shadow: 0 18px 50px rgba(15, 27, 38, .14), 0 2px 6px rgba(15, 27, 38, .06); }
.sheet-head { display: flex; align-items: center; gap: .6rem; padding: 1rem 1.5rem; background: #0f1b26; color: #e9eef4; font-weight: 700; }
.logo { width: 1.05rem; height: 1.05rem; border-radius: 4px; background: linear-gradient(135deg, #19b37d 0 50%, #f5a524 50% 100%); }
.sandbox { margin-left: auto; font-size: .7rem; letter-spacing: .08em; text-transform: uppercase; background: #f5a524; color: #2f1d00;
  padding: .15rem .55rem; border-radius: 999px; }
.sheet-body { padding: 1.5rem 1.5rem 1.25rem; }
h1 { font-size: .85rem; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); margin: 0 0 .3rem; font-weight: 700; }
.amount { font-size: 2.4rem; font-weight: 800; letter-spacing: -.02em; margin: 0 0 1rem; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .45rem 1.2rem; margin: 0 0 1.2rem; padding: 1rem 0; border-top: 1px solid var(--line);
  border-bottom: 1px solid var(--line); font-size: .95rem; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
code { font: .85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef1f5; padding: .05rem .35rem; border-radius: 4px; }
.muted { color: var(--muted); }
form { margin: 0; }
button { width: 100%; padding: .9rem; border: 0; border-radius: 10px; font: inherit; font-size: 1.05rem; font-weight: 700; cursor: pointer;
  margin-top: .6rem; transition: filter .15s, transform .05s; }
button:hover { filter: brightness(1.06); } button:active { transform: translateY(1px); }
.pay { background: var(--brand); color: #fff; box-shadow: 0 6px 16px rgba(11, 110, 79, .28); }
.decline { background: #fff; color: #8f1d22; border: 1px solid #efc9cb; font-weight: 600; }
.note { color: var(--muted); font-size: .85rem; margin: 1rem 0 0; }
.result { text-align: center; padding: .5rem 0 .25rem; }
.result .icon { width: 3.6rem; height: 3.6rem; border-radius: 50%; display: inline-flex; align-items: center; justify-content: center;
  font-size: 1.9rem; font-weight: 800; color: #fff; background: var(--muted); margin-bottom: .6rem; }
.result.ok .icon { background: var(--brand); } .result.warn .icon { background: #c77d00; } .result.error .icon { background: #b3261e; }
h2 { font-size: 1.25rem; margin: .2rem 0 .6rem; }
.ok { color: var(--brand); } .warn { color: #a56500; } .error { color: #b3261e; }
.actions { display: flex; justify-content: center; gap: 1rem; margin-top: 1rem; font-size: .95rem; }
a { color: #1d4ed8; }
.sheet-foot { padding: .8rem 1.5rem; background: #f8fafb; border-top: 1px solid var(--line); color: var(--muted); font-size: .8rem; text-align: center; }

"""#
}
