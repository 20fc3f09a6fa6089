/// Namespace of the files the hub serves itself; one file per asset under `Web/Assets/`.
/// `{{/path}}` in a page is replaced by `/path?v=<hash>` when the hub starts (`WebRoutes`).
enum WebAssets {}

extension WebAssets {
    static let dashboardHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SpaceHub · Live availability</title>
<link rel="icon" href="{{/favicon.svg}}" type="image/svg+xml">
<link rel="stylesheet" href="{{/assets/app.css}}">
<script src="{{/client/spacehub.js}}" defer></script>
<script src="{{/assets/dashboard.js}}" defer></script>
</head>
<body class="dashboard">
<header class="topbar">
  <div class="brand"><span class="logo" aria-hidden="true"></span><span>SpaceHub</span><small>Live availability</small></div>
  <nav class="daypicker" aria-label="Day">
    <button type="button" id="prev-day" title="Previous day" aria-label="Previous day">&#8249;</button>
    <input type="date" id="day" aria-label="Date">
    <button type="button" id="next-day" title="Next day" aria-label="Next day">&#8250;</button>
    <button type="button" id="today" class="ghost">Today</button>
  </nav>
  <div class="status">
    <span id="conn" class="conn" data-state="connecting"><span class="dot"></span><span id="conn-text">Connecting…</span></span>
    <span id="last-update" class="muted">Waiting for data</span>
  </div>
  <div class="account">
    <span id="admin-name" class="muted" hidden></span>
    <button type="button" id="sign-in-toggle" class="ghost">Admin sign in</button>
    <button type="button" id="sign-out" class="ghost" hidden>Sign out</button>
  </div>
</header>

<form id="sign-in" class="signin" hidden>
  <h2>Admin sign in</h2>
  <p class="muted">Admins can open the booking behind any block.</p>
  <label>Email <input type="email" id="sign-in-email" autocomplete="username" required></label>
  <label>Password <input type="password" id="sign-in-password" autocomplete="current-password" required></label>
  <p id="sign-in-error" class="error" hidden></p>
  <div class="row-buttons"><button type="submit" class="primary">Sign in</button><button type="button" id="sign-in-cancel" class="ghost">Cancel</button></div>
</form>

<main>
  <section class="summary" id="summary" aria-live="polite"></section>
  <section class="grid-wrap">
    <div id="grid" class="grid" data-ready="false" role="table" aria-label="Availability by hour"></div>
  </section>
  <footer class="legend">
    <span><i class="sw free"></i>Free</span>
    <span><i class="sw held"></i>Held — awaiting payment</span>
    <span><i class="sw booked"></i>Booked</span>
    <span><i class="sw taken"></i>Seats taken (bar height: share of seats)</span>
    <span><i class="sw full"></i>Full (every seat taken)</span>
    <span><i class="sw open"></i>Open, no bookable gap (buffer or minimum length)</span>
    <span><i class="sw closed"></i>Closed</span>
    <span class="muted">Times are each space's local time · kiosk: <code>/kiosk/&lt;space id&gt;</code></span>
  </footer>
</main>

<aside id="detail" class="detail" hidden aria-live="polite">
  <button type="button" id="detail-close" class="close" aria-label="Close">&times;</button>
  <div id="detail-body"></div>
</aside>
</body>
</html>

"""#
}
