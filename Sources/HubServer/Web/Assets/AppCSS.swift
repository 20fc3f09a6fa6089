extension WebAssets {
    /// The dashboard's stylesheet.
    static let appCSS = #"""
:root {
  --ink: #17212b; --muted: #66758a; --line: #e3e8ee; --bg: #f3f5f8; --panel: #ffffff;
  --brand: #0b6e4f; --brand-ink: #ffffff; --top: #0f1b26;
  --free: #d7f3e3; --free-edge: #9fdcba; --held: #f5a524; --booked: #e5484d; --full: #a8243a;
  --closed: #eceff3; --now: #2563eb;
  --label-w: 15rem; --row-h: 3.1rem;
  color-scheme: light;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; color: var(--ink); background: var(--bg); }
button, input { font: inherit; }
code { font: 0.85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef1f5; padding: 0 .3em; border-radius: 4px; }
.muted { color: var(--muted); }
.error { color: #b3261e; }
[hidden] { display: none !important; }

/* Top bar */
.topbar { display: flex; align-items: center; gap: 1.25rem; padding: .7rem 1.5rem; background: var(--top); color: #e9eef4;
  position: sticky; top: 0; z-index: 5; flex-wrap: wrap; }
.brand { display: flex; align-items: baseline; gap: .55rem; font-weight: 700; font-size: 1.15rem; letter-spacing: .01em; }
.brand small { font-weight: 500; font-size: .85rem; color: #9fb0c2; }
.logo { width: 1.1rem; height: 1.1rem; border-radius: 4px; align-self: center;
  background: linear-gradient(135deg, #19b37d 0 50%, #f5a524 50% 100%); }
.daypicker { display: flex; align-items: center; gap: .35rem; }
.daypicker input { background: #1c2b39; color: #e9eef4; border: 1px solid #2d4053; border-radius: 8px; padding: .3rem .5rem; color-scheme: dark; }
.daypicker button, .account button { background: #1c2b39; color: #e9eef4; border: 1px solid #2d4053; border-radius: 8px;
  padding: .3rem .7rem; cursor: pointer; }
.daypicker button:hover, .account button:hover { background: #26394b; }
.status { display: flex; align-items: center; gap: .9rem; margin-left: auto; font-size: .9rem; }
.status .muted { color: #9fb0c2; }
.conn { display: inline-flex; align-items: center; gap: .4rem; padding: .2rem .65rem; border-radius: 999px; background: #1c2b39; font-weight: 600; }
.conn .dot { width: .55rem; height: .55rem; border-radius: 50%; background: #9fb0c2; }
.conn[data-state="live"] .dot { background: #2fd08a; box-shadow: 0 0 0 3px rgba(47,208,138,.25); }
.conn[data-state="reconnecting"] .dot, .conn[data-state="connecting"] .dot { background: #f5a524; }
.conn[data-state="offline"] { background: #5c1f24; }
.conn[data-state="offline"] .dot { background: #ff6b6b; }
.account { display: flex; align-items: center; gap: .6rem; font-size: .9rem; }
.account .muted { color: #c7d3df; }

/* Sign-in box */
.signin { position: fixed; top: 4.2rem; right: 1.5rem; z-index: 6; width: 20rem; background: var(--panel); border-radius: 12px;
  padding: 1.1rem 1.2rem; box-shadow: 0 12px 40px rgba(15,27,38,.22); display: grid; gap: .6rem; }
.signin h2 { margin: 0; font-size: 1.05rem; }
.signin p { margin: 0; font-size: .9rem; }
.signin label { display: grid; gap: .2rem; font-size: .85rem; color: var(--muted); }
.signin input { border: 1px solid var(--line); border-radius: 8px; padding: .45rem .6rem; color: var(--ink); }
.row-buttons { display: flex; gap: .5rem; }
.primary { background: var(--brand); color: var(--brand-ink); border: 0; border-radius: 8px; padding: .5rem .9rem; cursor: pointer; font-weight: 600; }
.signin .ghost { background: transparent; border: 1px solid var(--line); border-radius: 8px; padding: .5rem .9rem; cursor: pointer; }

main { padding: 1.2rem 1.5rem 2rem; max-width: 1600px; margin: 0 auto; }

/* Summary */
.summary { display: flex; gap: .8rem; align-items: stretch; flex-wrap: wrap; margin-bottom: 1rem; }
.day-title { flex: 1 1 18rem; display: flex; flex-direction: column; justify-content: center; }
.day-title h1 { margin: 0; font-size: 1.45rem; }
.card { background: var(--panel); border-radius: 10px; padding: .55rem 1rem; min-width: 7.5rem; border: 1px solid var(--line);
  display: flex; flex-direction: column; }
.card strong { font-size: 1.45rem; line-height: 1.2; }
.card span { color: var(--muted); font-size: .8rem; }
.card.booked strong { color: var(--booked); } .card.held strong { color: #b97509; }
.card.free strong { color: var(--brand); } .card.busy strong { color: var(--full); }

/* Grid */
.grid-wrap { background: var(--panel); border-radius: 12px; border: 1px solid var(--line); overflow-x: auto; }
.grid { min-width: 62rem; }
.grid[data-ready="false"] { opacity: .55; transition: opacity .2s; }
.grid-head, .grid-row { display: grid; grid-template-columns: var(--label-w) 1fr; }
.grid-head { position: sticky; top: 0; background: var(--panel); border-bottom: 1px solid var(--line); z-index: 2; }
.corner { padding: .55rem 1rem; font-size: .8rem; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .05em; }
.hours { position: relative; height: 2.2rem; margin-right: 1rem; }
.hours span { position: absolute; top: .6rem; font-size: .74rem; color: var(--muted); padding-left: 4px; font-variant-numeric: tabular-nums;
  border-left: 1px solid var(--line); line-height: 1.6; }
.group { padding: .45rem 1rem; font-size: .75rem; font-weight: 700; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  background: #f8fafb; border-bottom: 1px solid var(--line); }
.grid-row { border-bottom: 1px solid var(--line); min-height: var(--row-h); transition: background-color .6s; }
.grid-row:last-child { border-bottom: 0; }
.grid-row.flash { background: #fff7e0; }
.label { padding: .45rem 1rem; display: flex; flex-direction: column; justify-content: center; min-width: 0; }
.label .name { font-weight: 600; color: var(--ink); text-decoration: none; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.label .name:hover { text-decoration: underline; }
.label small { color: var(--muted); font-size: .78rem; }
.label .occupancy { color: var(--ink); }
.track { position: relative; margin: .45rem 1rem .45rem 0; border-radius: 7px; overflow: hidden; background: #fff;
  background-image: repeating-linear-gradient(90deg, transparent 0, transparent calc(100% / var(--hours, 18) - 1px), var(--line) calc(100% / var(--hours, 18) - 1px), var(--line) calc(100% / var(--hours, 18)));
  outline: 1px solid var(--line); min-height: 2.1rem; }
.seg { position: absolute; top: 0; bottom: 0; }
.seg.closed { background: var(--closed); background-image: repeating-linear-gradient(135deg, transparent 0 6px, rgba(0,0,0,.035) 6px 12px); }
.seg.free { background: var(--free); top: 3px; bottom: 3px; border-radius: 5px; box-shadow: inset 0 0 0 1px var(--free-edge); }
.seg.taken { top: auto; bottom: 3px; background: var(--full); opacity: .5; }
.block { top: 3px; bottom: 3px; border-radius: 5px; color: #fff; font-size: .75rem; font-weight: 600; padding: 0 .45rem;
  display: flex; align-items: center; overflow: hidden; white-space: nowrap; cursor: pointer; z-index: 1;
  box-shadow: 0 1px 2px rgba(0,0,0,.15); }
.block span { overflow: hidden; text-overflow: ellipsis; }
.block.booked { background: var(--booked); }
.block.full { background: var(--full); }
.block.held { color: #3b2500; background: var(--held);
  background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.28) 0 6px, transparent 6px 12px); }
.block:hover, .block:focus { outline: 2px solid var(--ink); outline-offset: 1px; }
.block.selected { outline: 3px solid var(--now); outline-offset: 1px; }
.seg.past { background: rgba(255,255,255,.5); z-index: 2; pointer-events: none; }
.now { position: absolute; top: 0; bottom: 0; width: 2px; background: var(--now); z-index: 3; pointer-events: none; }
.now::before { content: ""; position: absolute; top: -3px; left: -3px; width: 8px; height: 8px; border-radius: 50%; background: var(--now); }

/* Legend */
.legend { display: flex; flex-wrap: wrap; gap: 1.2rem; margin-top: .9rem; font-size: .85rem; color: var(--ink); align-items: center; }
.legend .muted { margin-left: auto; }
.sw { display: inline-block; width: 1.1rem; height: .8rem; border-radius: 3px; margin-right: .4rem; vertical-align: -1px; }
.sw.free { background: var(--free); box-shadow: inset 0 0 0 1px var(--free-edge); }
.sw.held { background: var(--held); } .sw.booked { background: var(--booked); } .sw.full { background: var(--full); }
.sw.taken { background: linear-gradient(to top, var(--full) 55%, var(--free) 55%); opacity: .75; }
.sw.open { background: #fff; box-shadow: inset 0 0 0 1px var(--line); }
.sw.closed { background: var(--closed); box-shadow: inset 0 0 0 1px var(--line); }

/* Booking detail drawer */
.detail { position: fixed; right: 1.5rem; top: 4.6rem; width: 24rem; max-width: calc(100vw - 3rem); z-index: 6; background: var(--panel);
  border-radius: 12px; padding: 1.1rem 1.3rem; box-shadow: 0 12px 40px rgba(15,27,38,.22); }
.detail h2 { margin: 0 0 .3rem; font-size: 1.1rem; display: flex; align-items: center; gap: .5rem; }
.detail .close { position: absolute; top: .5rem; right: .7rem; border: 0; background: transparent; font-size: 1.5rem; cursor: pointer; color: var(--muted); }
.detail dl { display: grid; grid-template-columns: auto 1fr; gap: .3rem .9rem; margin: .7rem 0 0; font-size: .9rem; }
.detail dt { color: var(--muted); }
.detail dd { margin: 0; overflow-wrap: anywhere; }
.badge { font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; padding: .1rem .5rem; border-radius: 999px; background: #e9edf1; color: var(--ink); }
.badge.pending { background: #fde7bd; color: #7a4b00; } .badge.confirmed { background: #ffd9da; color: #8f1d22; }
.badge.completed { background: #e2e8f0; } .badge.cancelled, .badge.expired { background: #eef0f3; color: var(--muted); }
.booking-list { list-style: none; padding: 0; margin: .6rem 0 0; display: grid; gap: .3rem; }
.link { background: none; border: 0; padding: 0; color: #1d4ed8; cursor: pointer; text-align: left; }

@media (max-width: 720px) {
  :root { --label-w: 9rem; }
  .status { margin-left: 0; }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }

"""#
}
