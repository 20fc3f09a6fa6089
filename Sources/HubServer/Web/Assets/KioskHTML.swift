extension WebAssets {
    /// The room panel at `/kiosk/:spaceId`; the script reads the space id from the path.
    static let kioskHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>SpaceHub · Room panel</title>
<link rel="icon" href="{{/favicon.svg}}" type="image/svg+xml">
<link rel="stylesheet" href="{{/assets/kiosk.css}}">
<script src="{{/client/spacehub.js}}" defer></script>
<script src="{{/assets/kiosk.js}}" defer></script>
</head>
<body class="kiosk" data-status="loading" data-conn="connecting">
<div class="panel">
  <header class="top">
    <div class="room">
      <h1 id="room-name">Room panel</h1>
      <p id="room-meta"></p>
    </div>
    <div class="clock"><span id="clock">--:--</span><small id="today"></small></div>
  </header>

  <section class="now-state" aria-live="polite">
    <div id="status" class="status-word">…</div>
    <div id="until" class="until">Connecting to the hub</div>
    <div id="countdown" class="countdown"></div>
  </section>

  <section class="next-up">
    <span class="caption">Next</span>
    <span id="next">—</span>
  </section>

  <section class="timeline" aria-label="Today">
    <div id="ticks" class="ticks"></div>
    <div id="timeline" class="bar"></div>
  </section>

  <footer class="bottom">
    <span id="conn" class="conn"><span class="dot"></span><span id="conn-text">Connecting…</span></span>
    <span id="offline" class="offline" hidden></span>
    <span class="brand">SpaceHub</span>
  </footer>
</div>
</body>
</html>

"""#
}
