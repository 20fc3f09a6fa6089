(function () {
  'use strict';

  // Day views the hub publishes per change at most (BookingService.changedDaysMax; a Swift test
  // checks the two agree).
  const CHANGED_DAYS_MAX = 62;
  const DEFAULT_HOURS = [6, 24];
  let hourFirst = DEFAULT_HOURS[0];  // the hours the grid shows: [hourFirst, hourLast)
  let hourLast = DEFAULT_HOURS[1];
  const TOKEN_KEY = 'spacehub.adminToken';
  const REFRESH_KEY = 'spacehub.adminRefresh';
  const $ = (id) => document.getElementById(id);

  const state = {
    date: null,              // the local day shown (YYYY-MM-DD)
    spaces: [],              // grid entries in the hub's order
    days: new Map(),         // spaceId -> day view for `date`
    token: sessionStorage.getItem(TOKEN_KEY),
    admin: null,
    detail: null,            // the booking shown: {id, members}
    selected: null,          // the block it came from: {spaceId, start}
  };
  let hub = null;

  // MARK: Small DOM helpers (text only: nothing from the network becomes markup)

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const pad = (n) => String(n).padStart(2, '0');
  const clock = (d) => pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());

  /** Minutes after local midnight of `date` for an ISO time with offset, clamped to that day. */
  function minutesOn(iso, date) {
    const day = iso.slice(0, 10);
    if (day < date) return 0;
    if (day > date) return 1440;
    return Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
  }
  /** A range as people read it next to a day: times on that day, dates added when it leaves it. */
  function rangeLabel(startIso, endIso, date) {
    const at = (iso) => (iso.slice(0, 10) === date ? '' : iso.slice(0, 10) + ' ') + iso.slice(11, 16);
    return at(startIso) + '–' + at(endIso);
  }
  const clockOf = (minutes) => pad(Math.floor(minutes / 60)) + ':' + pad(minutes % 60);

  function addDays(date, n) {
    const d = new Date(date + 'T12:00:00Z');
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  /** The date and minute of day now in `timeZone`. */
  function zonedNow(timeZone) {
    try {
      const parts = {};
      for (const p of new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(hub ? hub.now() : Date.now()))) parts[p.type] = p.value;
      return { date: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
    } catch (e) {
      const d = new Date();
      return { date: d.toISOString().slice(0, 10), minutes: d.getHours() * 60 + d.getMinutes() };
    }
  }

  function hubZone() { return (state.spaces[0] && state.spaces[0].timeZone) || 'Africa/Lagos'; }

  // MARK: Geometry of a row

  /** From the earliest opening to the latest closing of the shown day's spaces, in whole hours. */
  function hoursOfDay() {
    let first = 24, last = 0;
    for (const day of state.days.values()) {
      if (day.date !== state.date) continue;
      for (const r of day.open || []) {
        const s = minutesOn(r.start, day.date), e = minutesOn(r.end, day.date);
        if (e <= s) continue;
        first = Math.min(first, Math.floor(s / 60));
        last = Math.max(last, Math.ceil(e / 60));
      }
    }
    return first < last ? [first, last] : DEFAULT_HOURS;
  }

  function pct(minutes) {
    const span = (hourLast - hourFirst) * 60;
    return (Math.min(Math.max(minutes - hourFirst * 60, 0), span) / span * 100);
  }

  function segment(cls, startMin, endMin, extra) {
    const left = pct(startMin);
    const width = pct(endMin) - left;
    if (width <= 0) return null;
    return h('div', Object.assign({ class: 'seg ' + cls, style: { left: left + '%', width: width + '%' } }, extra || {}));
  }

  /** Parts of [a, b) not covered by `ranges` (sorted minute pairs). */
  function gaps(a, b, ranges) {
    const out = [];
    let cursor = a;
    for (const [s, e] of ranges) {
      if (e <= cursor) continue;
      if (s > cursor) out.push([cursor, Math.min(s, b)]);
      cursor = Math.max(cursor, e);
      if (cursor >= b) break;
    }
    if (cursor < b) out.push([cursor, b]);
    return out.filter(([s, e]) => e > s);
  }

  // MARK: Rendering

  function renderAll() {
    const grid = $('grid');
    const rows = [];
    [hourFirst, hourLast] = hoursOfDay();
    grid.dataset.hours = pad(hourFirst) + '-' + pad(hourLast);
    grid.style.setProperty('--hours', String(hourLast - hourFirst));  // the tracks' hour lines
    rows.push(h('div', { class: 'grid-head', role: 'row' },
      h('div', { class: 'corner' }, 'Space'),
      h('div', { class: 'hours' }, Array.from({ length: hourLast - hourFirst }, (_, i) =>
        h('span', { style: { left: (i / (hourLast - hourFirst) * 100) + '%' } }, pad(hourFirst + i) + ':00')))));
    const groups = [['event', 'Event spaces'], ['coworking', 'Coworking']];
    for (const [type, title] of groups) {
      const members = state.spaces.filter((s) => s.type === type);
      if (!members.length) continue;
      rows.push(h('div', { class: 'group', role: 'row' }, title));
      for (const space of members) rows.push(renderRow(space));
    }
    grid.replaceChildren(...rows);
    grid.dataset.ready = 'true';
    grid.dataset.date = state.date;
    markSelected();
    renderSummary();
  }

  function markSelected() {
    const s = state.selected;
    if (!s) return;
    const el = document.querySelector(`.block[data-space="${CSS.escape(s.spaceId)}"][data-start="${CSS.escape(s.start)}"]`);
    if (el) el.classList.add('selected');
  }

  function renderRow(space) {
    const day = state.days.get(space.spaceId);
    const label = h('div', { class: 'label' },
      h('a', { class: 'name', href: '/kiosk/' + encodeURIComponent(space.spaceId), title: 'Open the kiosk panel' }, space.name),
      h('small', null, space.type === 'event' ? `Event space · ${space.capacity} people` : `Coworking · ${space.seats} seats`),
      day && space.type === 'coworking' ? h('small', { class: 'occupancy' }, `${day.bookings} booking${day.bookings === 1 ? '' : 's'}`) : null);
    const track = h('div', { class: 'track', dataset: { space: space.spaceId } });
    if (day) fillTrack(track, space, day);
    return h('div', { class: 'grid-row', role: 'row', dataset: { space: space.spaceId, type: space.type } }, label, track);
  }

  function fillTrack(track, space, day) {
    const date = day.date;
    const open = (day.open || []).map((r) => [minutesOn(r.start, date), minutesOn(r.end, date)]);
    for (const [s, e] of gaps(0, 1440, open)) track.append(segment('closed', s, e) || '');
    const busy = (day.busy || []).map((b) => ({ s: minutesOn(b.start, date), e: minutesOn(b.end, date), b }));
    const freeRanges = space.type === 'event'
      ? (day.free || []).map((r) => [minutesOn(r.start, date), minutesOn(r.end, date)])
      : open.flatMap(([s, e]) => gaps(s, e, busy.map((x) => [x.s, x.e])));
    for (const [s, e] of freeRanges) track.append(segment('free', s, e, { title: 'Free' }) || '');
    if (space.type === 'coworking') {
      // Seats taken through the day, as a bar whose height is the share of seats; full ranges are blocks.
      for (const o of day.occupancy || []) {
        if (o.taken >= space.seats) continue;
        const el = segment('taken', minutesOn(o.start, date), minutesOn(o.end, date), {
          dataset: { space: space.spaceId, taken: String(o.taken) },
          title: `${o.taken} of ${space.seats} seats taken ${rangeLabel(o.start, o.end, date)}` });
        if (!el) continue;
        el.style.height = `max(3px, calc((100% - 6px) * ${o.taken / space.seats}))`;
        track.append(el);
      }
    }
    for (const { s, e, b } of busy) {
      const status = space.type === 'event' ? (b.status || 'booked') : 'full';
      const text = status === 'held' ? 'Held' : status === 'full' ? 'Full' : 'Booked';
      const el = segment('block ' + status, s, e, {
        dataset: { space: space.spaceId, start: b.start, end: b.end, status },
        title: `${text} ${rangeLabel(b.start, b.end, date)}`, tabindex: '0', role: 'button',
        onclick: () => openDetail(space, b, status),
        onkeydown: (ev) => { if (ev.key === 'Enter') openDetail(space, b, status); },
      });
      if (!el) continue;
      const times = (b.start.slice(0, 10) < date ? '← ' : '') + clockOf(s) + '–' + clockOf(e) + (b.end.slice(0, 10) > date ? ' →' : '');
      el.append(h('span', null, pct(e) - pct(s) >= 15 ? `${times} · ${text}` : times));
      track.append(el);
    }
    const now = zonedNow(space.timeZone || day.timeZone);
    // What is over is washed out; the blue line is now.
    if (now.date > date) track.append(segment('past', 0, 1440) || '');
    if (now.date === date) {
      track.append(segment('past', 0, now.minutes) || '');
      if (now.minutes >= hourFirst * 60 && now.minutes <= hourLast * 60) track.append(h('div', { class: 'now', style: { left: pct(now.minutes) + '%' }, title: 'Now' }));
    }
  }

  function updateRow(spaceId) {
    const [first, last] = hoursOfDay();
    if (first !== hourFirst || last !== hourLast) return renderAll();  // the day's opening hours changed
    const space = state.spaces.find((s) => s.spaceId === spaceId);
    const old = document.querySelector(`.grid-row[data-space="${CSS.escape(spaceId)}"]`);
    if (!space || !old) return;
    const row = renderRow(space);
    row.classList.add('flash');
    old.replaceWith(row);
    markSelected();
    setTimeout(() => row.classList.remove('flash'), 1500);
    renderSummary();
  }

  function renderSummary() {
    let booked = 0, held = 0, freeNow = 0, busyNow = 0;
    for (const space of state.spaces) {
      const day = state.days.get(space.spaceId);
      if (!day) continue;
      const now = zonedNow(space.timeZone || day.timeZone);
      const isToday = now.date === day.date;
      for (const b of day.busy || []) {
        if (space.type === 'event') { if (b.status === 'held') held++; else booked++; }
        if (isToday && minutesOn(b.start, day.date) <= now.minutes && now.minutes < minutesOn(b.end, day.date)) busyNow++;
      }
      if (space.type === 'coworking') booked += day.bookings || 0;
      if (isToday) {
        const openNow = (day.open || []).some((r) => minutesOn(r.start, day.date) <= now.minutes && now.minutes < minutesOn(r.end, day.date));
        const taken = (day.busy || []).some((b) => minutesOn(b.start, day.date) <= now.minutes && now.minutes < minutesOn(b.end, day.date));
        if (openNow && !taken) freeNow++;
      }
    }
    const today = zonedNow(hubZone()).date === state.date;
    const card = (label, value, cls) => h('div', { class: 'card ' + (cls || '') }, h('strong', null, String(value)), h('span', null, label));
    $('summary').replaceChildren(...[
      h('div', { class: 'day-title' },
        h('h1', null, new Date(state.date + 'T12:00:00Z').toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })),
        h('span', { class: 'muted' }, today ? 'Today' : '')),
      card('Spaces', state.spaces.length),
      card('Bookings', booked, 'booked'),
      card('Held', held, 'held'),
      today ? card('Free right now', freeNow, 'free') : null,
      today ? card('In use right now', busyNow, 'busy') : null].filter(Boolean));
  }

  // MARK: Live data

  function requestDay(date) {
    state.date = date || state.date;
    const input = $('day');
    if (state.date) {
      input.value = state.date;
      const url = new URL(location.href);
      url.searchParams.set('date', state.date);
      history.replaceState(null, '', url);
    }
    $('grid').dataset.ready = 'false';
    hub.subscribe('availability', { snapshot: true, date: state.date });
  }

  function onSnapshot(message) {
    if (message.channel !== 'availability') return;
    const grid = message.payload;
    if (state.date && grid.date !== state.date) return;  // an answer to an earlier date
    state.date = grid.date;
    $('day').value = grid.date;
    state.spaces = grid.spaces || [];
    state.days = new Map(state.spaces.map((s) => [s.spaceId, (s.days || [])[0]]));
    renderAll();
    touched();
  }

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => hub.subscribe('availability', { snapshot: true, date: state.date }), 150);
  }

  function onAvailability(message) {
    const day = message.payload;
    touched();
    if (!state.spaces.some((s) => s.spaceId === day.spaceId)) return refreshSoon();
    if (day.date === state.date) {
      state.days.set(day.spaceId, day);
      updateRow(day.spaceId);
    } else if (day.changed && day.changed.end.slice(0, 10) >= state.date
               && addDays(day.changed.start.slice(0, 10), CHANGED_DAYS_MAX - 1) < state.date) {
      // The hub sends a change's first CHANGED_DAYS_MAX day views; one reaching further covers this day unsent.
      refreshSoon();
    }
  }

  function touched() {
    const when = hub.lastEventAt || new Date();
    $('last-update').textContent = 'Last update ' + clock(when);
  }

  function showConnection() {
    const conn = $('conn');
    const s = hub.state;
    conn.dataset.state = s === 'open' ? 'live' : s;
    conn.dataset.transport = hub.transport || '';
    let text = 'Connecting…';
    if (s === 'open') text = hub.transport === 'sse' ? 'Live (SSE)' : 'Live';
    else if (s === 'reconnecting') text = 'Reconnecting…';
    else if (s === 'offline') text = 'Offline since ' + clock(hub.offlineSince || new Date());
    else if (s === 'closed') text = 'Closed';
    $('conn-text').textContent = text;
  }

  // MARK: Admin

  async function api(path, options, retried) {
    const headers = Object.assign({ 'Content-Type': 'application/json' }, (options && options.headers) || {});
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    const response = await fetch(path, Object.assign({}, options, { headers }));
    if (response.status === 401 && state.token && !retried && await refreshToken()) return api(path, options, true);
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((body && body.error && body.error.message) || ('HTTP ' + response.status));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function refreshToken() {
    const refresh = sessionStorage.getItem(REFRESH_KEY);
    if (!refresh) { signedOut(); return false; }
    try {
      const r = await fetch('/api/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken: refresh }) });
      if (!r.ok) throw new Error('refresh refused');
      const body = await r.json();
      signedIn(body.token, body.refreshToken || refresh, body.user || state.admin);
      return true;
    } catch (e) {
      signedOut();
      return false;
    }
  }

  function signedIn(token, refresh, user) {
    state.token = token;
    state.admin = user;
    sessionStorage.setItem(TOKEN_KEY, token);
    if (refresh) sessionStorage.setItem(REFRESH_KEY, refresh);
    if (hub) hub.setToken(token);
    renderAccount();
  }

  function signedOut() {
    state.token = null;
    state.admin = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    if (hub) hub.setToken(null);
    closeDetail();
    renderAccount();
  }

  function renderAccount() {
    const admin = !!state.admin;
    document.body.classList.toggle('is-admin', admin);
    $('admin-name').hidden = !admin;
    $('admin-name').textContent = admin ? (state.admin.name || state.admin.email || 'Admin') : '';
    $('sign-in-toggle').hidden = admin;
    $('sign-out').hidden = !admin;
    if (admin) $('sign-in').hidden = true;
  }

  async function signIn(event) {
    event.preventDefault();
    const error = $('sign-in-error');
    error.hidden = true;
    try {
      const r = await fetch('/api/admin/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: $('sign-in-email').value, password: $('sign-in-password').value }) });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((body.error && body.error.message) || 'sign-in failed');
      $('sign-in-password').value = '';
      signedIn(body.token, body.refreshToken, body.user);
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  // MARK: Booking detail

  function closeDetail() {
    state.detail = null;
    state.selected = null;
    $('detail').hidden = true;
    document.querySelectorAll('.block.selected').forEach((el) => el.classList.remove('selected'));
  }

  function field(label, value, id) {
    if (value === null || value === undefined || value === '') return null;
    return [h('dt', null, label), h('dd', id ? { id } : null, String(value))];
  }

  async function openDetail(space, block, status) {
    document.querySelectorAll('.block.selected').forEach((el) => el.classList.remove('selected'));
    state.selected = { spaceId: space.spaceId, start: block.start };
    markSelected();
    const body = $('detail-body');
    $('detail').hidden = false;
    const summary = h('p', { class: 'muted' }, `${space.name} · ${rangeLabel(block.start, block.end, state.date)} · ${status}`);
    if (!state.admin) {
      state.detail = null;
      body.replaceChildren(h('h2', null, status === 'held' ? 'Held' : status === 'full' ? 'Full' : 'Booked'), summary,
        h('p', null, 'Sign in as an admin to see who booked it.'));
      return;
    }
    body.replaceChildren(h('h2', null, 'Booking'), summary, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const found = await api(`/api/admin/dashboard/bookings?date=${encodeURIComponent(state.date)}&spaceId=${encodeURIComponent(space.spaceId)}`);
      const s = Date.parse(block.start), e = Date.parse(block.end);
      const matches = found.bookings.filter((b) => Date.parse(b.startsAt) < e && s < Date.parse(b.endsAt));
      if (!matches.length) {
        body.replaceChildren(h('h2', null, 'Booking'), summary, h('p', null, 'That booking has just changed; the grid is up to date.'));
        return;
      }
      const members = new Map(matches.map((b) => [b.id, b.member]));
      if (matches.length === 1) return showBooking(matches[0].id, members);
      body.replaceChildren(h('h2', null, `${matches.length} bookings`), summary,
        h('ul', { class: 'booking-list' }, matches.map((b) => h('li', null,
          h('button', { type: 'button', class: 'link', onclick: () => showBooking(b.id, members) },
            `${rangeLabel(b.startsAt, b.endsAt, state.date)} · ${(b.member && b.member.name) || b.userId} · ${b.status}`)))));
    } catch (error) {
      body.replaceChildren(h('h2', null, 'Booking'), summary, h('p', { class: 'error' }, error.message));
    }
  }

  async function showBooking(id, members) {
    const booking = await api('/api/bookings/' + encodeURIComponent(id));
    state.detail = { id, members };
    renderBooking(booking, members.get(id));
  }

  function renderBooking(b, member) {
    $('detail-body').replaceChildren(
      h('h2', null, 'Booking ', h('span', { class: 'badge ' + b.status, id: 'detail-status' }, b.status)),
      h('dl', { id: 'booking-detail', dataset: { bookingId: b.id } },
        field('Space', b.spaceName),
        field('When', `${b.date} · ${b.time}–${b.endTime} (${b.timeZone})`),
        field('Duration', b.duration),
        field('Member', member ? `${member.name || ''} ${member.email ? '<' + member.email + '>' : ''}`.trim() : b.userId, 'detail-member'),
        field('Amount', `${b.currency} ${Number(b.amount).toLocaleString()}`),
        field('Payment', b.paymentStatus, 'detail-payment'),
        field('Reference', b.paymentReference),
        field('Hold expires', b.holdExpiresAt ? new Date(b.holdExpiresAt).toLocaleTimeString() : null),
        field('Requests', b.specialRequests),
        field('Cancel reason', b.cancelReason),
        field('Booking id', b.id, 'detail-id'),
        field('Created', new Date(b.createdAt).toLocaleString())));
  }

  function onBookingUpdated(message) {
    const b = message.payload;
    if (state.detail && state.detail.id === b.id) renderBooking(b, state.detail.members.get(b.id));
  }

  // MARK: Start

  async function start() {
    if (state.token) {
      try {
        const me = await fetch('/api/admin/auth/me', { headers: { Authorization: 'Bearer ' + state.token } });
        if (me.ok) {
          const body = await me.json();
          state.admin = body.user || body;
        } else if (!(await refreshToken())) {
          state.token = null;
        }
      } catch (e) { /* hub unreachable: keep the token, the client will retry */ }
    }
    renderAccount();
    const params = new URLSearchParams(location.search);
    state.date = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '') ? params.get('date') : null;
    hub = new SpaceHub({ client: 'dashboard', token: () => state.token, autoConnect: false });
    hub.on('snapshot', onSnapshot);
    hub.on('space_availability_changed', onAvailability);
    hub.on('space_updated', () => { touched(); refreshSoon(); });
    hub.on('booking_updated', onBookingUpdated);
    hub.on('state', showConnection);
    hub.on('auth_expired', () => refreshToken());
    hub.on('auth_failed', () => signedOut());
    requestDay(state.date);
    hub.connect();
    showConnection();

    $('day').addEventListener('change', (e) => { if (e.target.value) requestDay(e.target.value); });
    $('prev-day').addEventListener('click', () => requestDay(addDays(state.date, -1)));
    $('next-day').addEventListener('click', () => requestDay(addDays(state.date, 1)));
    $('today').addEventListener('click', () => requestDay(zonedNow(hubZone()).date));
    $('sign-in-toggle').addEventListener('click', () => { $('sign-in').hidden = !$('sign-in').hidden; if (!$('sign-in').hidden) $('sign-in-email').focus(); });
    $('sign-in-cancel').addEventListener('click', () => { $('sign-in').hidden = true; });
    $('sign-in').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', () => {
      if (state.token) fetch('/api/auth/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + state.token } }).catch(() => {});
      signedOut();
    });
    $('detail-close').addEventListener('click', closeDetail);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeDetail(); });
    // The now-line and "free right now" move with the clock.
    setInterval(() => { if (state.spaces.length && hub.state !== 'closed') renderAll(); showConnection(); }, 30000);
  }

  document.addEventListener('DOMContentLoaded', start);
})();
