(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const spaceId = decodeURIComponent(location.pathname.split('/')[2] || '');
  const channel = 'availability:' + spaceId;
  const params = new URLSearchParams(location.search);

  const state = {
    space: null,            // the space as the API shows it
    days: new Map(),        // local date -> day view
    date: null,             // the local day the snapshot starts at
    requested: null,        // date asked for and not yet answered
    ready: false,
  };

  const hub = new SpaceHub({
    client: 'kiosk', defaultChannels: false, windowEvents: false, autoConnect: false,
    transport: ['websocket', 'sse', 'auto'].indexOf(params.get('transport')) >= 0 ? params.get('transport') : 'auto',
  });

  // MARK: Time in the space's zone

  function zone() {
    return (state.space && state.space.timeZone) || 'Africa/Lagos';
  }

  function partsIn(timeZone, date) {
    const parts = {};
    try {
      for (const p of new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(date)) parts[p.type] = p.value;
    } catch (e) {
      const iso = date.toISOString();
      return { date: iso.slice(0, 10), time: iso.slice(11, 16), seconds: iso.slice(11, 19) };
    }
    return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}`,
      seconds: `${parts.hour}:${parts.minute}:${parts.second}` };
  }

  const hhmm = (iso) => iso.slice(11, 16);
  const dayOf = (iso) => iso.slice(0, 10);

  function addDays(date, n) {
    const d = new Date(date + 'T12:00:00Z');
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  function duration(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    if (total < 60) return `${total} s`;
    const minutes = Math.ceil(total / 60);
    if (minutes < 60) return `${minutes} min`;
    const h = Math.floor(minutes / 60), m = minutes % 60;
    return m ? `${h} h ${String(m).padStart(2, '0')} min` : `${h} h`;
  }

  // MARK: What is happening now

  function ranges(key) {
    const out = [];
    for (const day of state.days.values()) {
      for (const r of day[key] || []) out.push({ start: r.start, end: r.end, s: Date.parse(r.start), e: Date.parse(r.end),
        status: state.space && state.space.type === 'coworking' && key === 'busy' ? 'full' : (r.status || 'booked') });
    }
    out.sort((a, b) => a.s - b.s || a.e - b.e);
    // Days overlap at midnight only through bookings that cross it: drop repeats.
    return out.filter((r, i) => i === 0 || r.s !== out[i - 1].s || r.e !== out[i - 1].e);
  }

  function describe(now) {
    const busy = ranges('busy');
    const open = ranges('open');
    const current = busy.find((b) => b.s <= now && now < b.e);
    const next = busy.find((b) => b.s > now);
    const window = open.find((o) => o.s <= now && now < o.e);
    if (current) {
      const word = current.status === 'held' ? 'HELD' : current.status === 'full' ? 'FULL' : 'BUSY';
      return {
        status: current.status === 'held' ? 'held' : 'busy', word,
        until: `${current.status === 'held' ? 'Held, awaiting payment' : current.status === 'full' ? 'Every seat taken' : 'In use'} until ${hhmm(current.end)}`,
        countdown: `ends in ${duration(current.e - now)}`, next,
      };
    }
    if (!window) {
      const opens = open.find((o) => o.s > now);
      return { status: 'closed', word: 'CLOSED', until: opens ? `Opens ${dayLabel(opens.start)}${hhmm(opens.start)}` : 'Closed today',
        countdown: opens ? `opens in ${duration(opens.s - now)}` : '', next };
    }
    const freeUntil = next && next.s < window.e ? next : null;
    const coworking = state.space && state.space.type === 'coworking';
    // A coworking plan's "next" is the next time every seat is taken.
    const wait = freeUntil ? `${coworking ? 'full' : 'next booking'} in ${duration(freeUntil.s - now)}` : '';
    return {
      status: 'free', word: 'FREE',
      until: freeUntil ? `Free until ${hhmm(freeUntil.start)}` : `Free until ${window.e - now > 86400000 ? 'further notice' : 'closing at ' + hhmm(window.end)}`,
      countdown: coworking ? [seatsFree(now), wait].filter(Boolean).join(' · ') : wait, next,
    };
  }

  /** Coworking: how many seats are free at `now`, from the days' occupancy. */
  function seatsFree(now) {
    let taken = 0;
    for (const day of state.days.values()) {
      for (const o of day.occupancy || []) {
        if (Date.parse(o.start) <= now && now < Date.parse(o.end)) taken = Math.max(taken, o.taken);
      }
    }
    const seats = state.space.seats;
    return `${Math.max(0, seats - taken)} of ${seats} seats free`;
  }

  function dayLabel(iso) {
    const today = partsIn(zone(), new Date(hub.now())).date;
    const day = dayOf(iso);
    if (day === today) return '';
    if (day === addDays(today, 1)) return 'tomorrow ';
    return day + ' ';
  }

  // MARK: Rendering

  function render() {
    const now = hub.now();  // the hub's clock: a kiosk whose own clock drifts still flips on time
    const local = partsIn(zone(), new Date(now));
    $('clock').textContent = local.time;
    if (!state.ready) return;
    const space = state.space;
    $('room-name').textContent = space.name;
    document.title = space.name + ' · SpaceHub';
    $('room-meta').textContent = space.type === 'coworking'
      ? `Coworking · ${space.seats} seats` + seatsToday(local.date)
      : `Event space · up to ${space.capacity} people`;
    $('today').textContent = new Date(local.date + 'T12:00:00Z').toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
    if (space.isActive === false) {
      show({ status: 'closed', word: 'CLOSED', until: 'Not in service', countdown: '', next: null });
    } else {
      show(describe(now));
    }
    renderTimeline(local, now);
  }

  function seatsToday(date) {
    const day = state.days.get(date);
    return day && typeof day.bookings === 'number' ? ` · ${day.bookings} booking${day.bookings === 1 ? '' : 's'} today` : '';
  }

  function show(d) {
    document.body.dataset.status = d.status;
    $('status').textContent = d.word;
    $('until').textContent = d.until;
    $('countdown').textContent = d.countdown;
    const next = d.next;
    $('next').textContent = next
      ? `${dayLabel(next.start)}${hhmm(next.start)}–${hhmm(next.end)} · ${next.status === 'held' ? 'Held' : next.status === 'full' ? 'Full' : 'Booked'}`
      : 'No more bookings today';
    $('next').dataset.start = next ? next.start : '';
  }

  function renderTimeline(local, now) {
    const day = state.days.get(local.date);
    const bar = $('timeline');
    if (!day) { bar.replaceChildren(); return; }
    const minutes = (iso) => dayOf(iso) < local.date ? 0 : dayOf(iso) > local.date ? 1440 : Number(iso.slice(11, 13)) * 60 + Number(iso.slice(14, 16));
    const nowMinutes = Number(local.time.slice(0, 2)) * 60 + Number(local.time.slice(3, 5)) + (now % 60000) / 60000;
    let from = 24 * 60, to = 0;
    for (const o of day.open || []) { from = Math.min(from, minutes(o.start)); to = Math.max(to, minutes(o.end)); }
    if (from >= to) { from = 6 * 60; to = 24 * 60; }
    // A room open round the clock shows the working day, stretched to what happens outside it.
    if (from < 6 * 60) {
      from = Math.min(6 * 60, nowMinutes, ...(day.busy || []).map((b) => minutes(b.start)));
    }
    from = Math.max(0, Math.floor(from / 60) * 60);
    to = Math.min(1440, Math.ceil(to / 60) * 60);
    const span = to - from;
    const pos = (m) => (Math.min(Math.max(m, from), to) - from) / span * 100;
    const seg = (cls, a, b, text) => {
      const el = document.createElement('div');
      el.className = 'seg ' + cls;
      el.style.left = pos(a) + '%';
      el.style.width = Math.max(0, pos(b) - pos(a)) + '%';
      if (text) el.textContent = text;
      return el;
    };
    const children = [];
    const opens = (day.open || []).map((o) => [minutes(o.start), minutes(o.end)]).sort((a, b) => a[0] - b[0]);
    let cursor = from;
    for (const [a, b] of opens) { if (a > cursor) children.push(seg('closed', cursor, a)); cursor = Math.max(cursor, b); }
    if (cursor < to) children.push(seg('closed', cursor, to));
    for (const b of day.busy || []) {
      const status = state.space.type === 'coworking' ? 'full' : (b.status || 'booked');
      const wide = (Math.min(minutes(b.end), to) - Math.max(minutes(b.start), from)) / span > 0.07;
      const el = seg('block ' + status, minutes(b.start), minutes(b.end), wide ? `${hhmm(b.start)}–${hhmm(b.end)}` : '');
      el.title = `${hhmm(b.start)}–${hhmm(b.end)}`;
      el.dataset.start = b.start;
      el.dataset.status = status;
      children.push(el);
    }
    if (nowMinutes > from) children.push(seg('past', from, Math.min(nowMinutes, to)));
    if (nowMinutes >= from && nowMinutes <= to) {
      const marker = document.createElement('div');
      marker.className = 'now';
      marker.style.left = pos(nowMinutes) + '%';
      children.push(marker);
    }
    bar.replaceChildren(...children);
    const step = span > 12 * 60 ? 180 : span > 6 * 60 ? 120 : 60;
    const ticks = [];
    for (let m = from; m <= to; m += step) {
      const t = document.createElement('span');
      t.style.left = pos(m) + '%';
      t.textContent = String(Math.floor(m / 60) % 24).padStart(2, '0') + ':00';
      ticks.push(t);
    }
    $('ticks').replaceChildren(...ticks);
  }

  function renderConnection() {
    const s = hub.state;
    document.body.dataset.conn = s === 'open' ? 'live' : s;
    document.body.dataset.transport = hub.transport || '';
    $('conn').dataset.state = s === 'open' ? 'live' : s;
    $('conn-text').textContent = s === 'open' ? (hub.transport === 'sse' ? 'Live (SSE)' : 'Live')
      : s === 'reconnecting' ? 'Reconnecting…' : s === 'offline' ? 'Offline' : s === 'closed' ? 'Closed' : 'Connecting…';
    const offline = $('offline');
    if (s === 'offline' && hub.offlineSince) {
      offline.textContent = `Offline since ${partsIn(zone(), hub.offlineSince).seconds} — showing the last known state`;
      offline.hidden = false;
    } else {
      offline.hidden = true;
    }
  }

  // MARK: Live data

  function ask(date) {
    state.requested = date || null;
    hub.subscribe(channel, date ? { snapshot: true, date, days: 2 } : { snapshot: true, days: 2 });
  }

  hub.on('snapshot', (m) => {
    if (m.channel !== channel) return;
    const p = m.payload;
    if (state.requested && p.date !== state.requested) return;  // an answer to an earlier request
    state.space = p.space;
    state.date = p.date;
    state.days = new Map((p.days || []).map((d) => [d.date, d]));
    state.ready = true;
    render();
  });

  hub.on('space_availability_changed', (m) => {
    const day = m.payload;
    if (day.spaceId !== spaceId) return;
    state.days.set(day.date, day);
    render();
  });

  hub.on('space_updated', (m) => {
    if (!m.payload || m.payload.id !== spaceId) return;
    state.space = m.payload;
    ask(state.date);  // opening hours or time zone may have changed
  });

  hub.on('state', renderConnection);

  setInterval(() => {
    // A new local day: the snapshot has to move with it.
    if (state.ready) {
      const today = partsIn(zone(), new Date(hub.now())).date;
      if (today !== state.date && today !== state.requested) ask(today);
    }
    render();
    if (hub.state === 'offline') renderConnection();
  }, 1000);

  ask(null);
  hub.connect();
  renderConnection();
  render();
})();
