extension WebAssets {
    /// The room panel's stylesheet: the whole screen takes the status colour; type scales with
    /// the viewport so one page fits a 7-inch tablet and a 55-inch screen.
    static let kioskCSS = #"""
:root {
  --free: #0c8a5d; --busy: #c4303c; --held: #c77d00; --closed: #44505e; --loading: #1d2733;
  --ink: #ffffff; --soft: rgba(255,255,255,.78); --faint: rgba(255,255,255,.18);
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body.kiosk { font: 16px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif; color: var(--ink);
  background: var(--loading); transition: background-color .5s ease; overflow: hidden; cursor: none; }
body[data-status="free"] { background: var(--free); }
body[data-status="busy"] { background: var(--busy); }
body[data-status="held"] { background: var(--held);
  background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.05) 0 40px, transparent 40px 80px); }
body[data-status="closed"] { background: var(--closed); }
[hidden] { display: none !important; }

.panel { height: 100vh; display: grid; grid-template-rows: auto minmax(0, 1fr) auto auto auto; padding: 4vh 5vw 3vh; gap: 2.2vh; }

.top { display: flex; justify-content: space-between; align-items: flex-start; gap: 2rem; }
.room h1 { margin: 0; font-size: clamp(1.4rem, min(5vw, 8vh), 4.2rem); font-weight: 700; letter-spacing: -.01em; line-height: 1.05; }
.room p { margin: .6vh 0 0; font-size: clamp(.9rem, min(1.8vw, 3vh), 1.5rem); color: var(--soft); }
.clock { text-align: right; display: flex; flex-direction: column; align-items: flex-end; }
.clock span { font-size: clamp(1.4rem, min(5vw, 8vh), 4.2rem); font-weight: 300; font-variant-numeric: tabular-nums; line-height: 1.05; }
.clock small { font-size: clamp(.9rem, 1.6vw, 1.3rem); color: var(--soft); margin-top: .6vh; }

.now-state { display: flex; flex-direction: column; justify-content: center; }
.status-word { font-size: clamp(3rem, min(19vw, 27vh), 17rem); font-weight: 800; letter-spacing: .02em; line-height: .95; }
.until { font-size: clamp(1.1rem, min(3.8vw, 6vh), 3.2rem); font-weight: 600; margin-top: 1vh; }
.countdown { font-size: clamp(1rem, min(2.4vw, 4vh), 2rem); color: var(--soft); margin-top: .8vh; font-variant-numeric: tabular-nums; min-height: 1.3em; }

.next-up { display: flex; align-items: baseline; gap: 1.2rem; font-size: clamp(1rem, min(2.6vw, 4.5vh), 2.2rem);
  padding: 1.4vh 1.6vw; background: rgba(0,0,0,.16); border-radius: 14px; }
.caption { text-transform: uppercase; letter-spacing: .12em; font-size: .6em; color: var(--soft); font-weight: 700; }
#next { font-weight: 600; font-variant-numeric: tabular-nums; }

.timeline { position: relative; padding-top: 1.8rem; }
.ticks { position: absolute; top: 0; left: 0; right: 0; height: 1.6rem; }
.ticks span { position: absolute; transform: translateX(-50%); font-size: clamp(.7rem, 1.2vw, 1rem); color: var(--soft); font-variant-numeric: tabular-nums; }
.ticks span:first-child { transform: none; }
.ticks span:last-child { transform: translateX(-100%); }
.bar { position: relative; height: clamp(2.2rem, 7vh, 4.5rem); background: rgba(255,255,255,.92); border-radius: 12px; overflow: hidden;
  box-shadow: inset 0 0 0 1px rgba(0,0,0,.08); }
.bar .seg { position: absolute; top: 0; bottom: 0; display: flex; align-items: center; justify-content: flex-start;
  font-size: clamp(.65rem, 1.1vw, .95rem); font-weight: 600; overflow: hidden; white-space: nowrap; }
.bar .closed { background: #d6dbe1; background-image: repeating-linear-gradient(135deg, transparent 0 7px, rgba(0,0,0,.06) 7px 14px); }
.bar .block { top: 5px; bottom: 5px; border-radius: 7px; color: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.2); padding: 0 .4rem; text-overflow: ellipsis; }
.bar .block.booked { background: #c4303c; }
.bar .block.full { background: #8f1f2f; }
.bar .block.held { background: #e39a12; color: #2f1d00;
  background-image: repeating-linear-gradient(135deg, rgba(255,255,255,.3) 0 6px, transparent 6px 12px); }
.bar .past { background: rgba(15,23,42,.07); z-index: 2; pointer-events: none; }
.bar .now { position: absolute; top: -2px; bottom: -2px; width: 3px; background: #111827; border-radius: 2px; z-index: 3; }

.bottom { display: flex; align-items: center; gap: 1.5rem; font-size: clamp(.8rem, 1.3vw, 1.1rem); color: var(--soft); }
.conn { display: inline-flex; align-items: center; gap: .45rem; }
.conn .dot { width: .6rem; height: .6rem; border-radius: 50%; background: var(--soft); }
.conn[data-state="live"] .dot { background: #7dffbf; box-shadow: 0 0 0 3px rgba(125,255,191,.25); }
.conn[data-state="reconnecting"] .dot, .conn[data-state="connecting"] .dot { background: #ffd36b; }
.conn[data-state="offline"] .dot { background: #ff8a8a; }
.offline { background: rgba(0,0,0,.45); color: #fff; padding: .35rem .8rem; border-radius: 999px; font-weight: 600; }
.brand { margin-left: auto; font-weight: 700; letter-spacing: .04em; opacity: .8; }

@media (prefers-reduced-motion: reduce) { body.kiosk { transition: none; } }

"""#
}
