/*! SpaceHub real-time client · served by the hub at /client/spacehub.js · docs/CLIENT.md */
const SpaceHub = (function () {
  'use strict';

  // The seed's WebSocketClient re-dispatches these three as window CustomEvents.
  const SEED_WINDOW_EVENTS = ['booking_updated', 'payment_verified', 'space_availability_changed'];
  // Types the hub publishes today. EventSource only delivers named events to listeners of that
  // name, so the SSE fallback listens for these plus every type passed to on().
  const KNOWN_TYPES = ['booking_updated', 'booking_hold_expired', 'payment_verified', 'payment_failed',
    'payment_refunded', 'payment_cancelled', 'payment_flagged', 'space_availability_changed', 'space_updated',
    'user_updated', 'settings_updated', 'resync_required'];
  const LOCAL_EVENTS = ['open', 'reconnecting', 'offline', 'state', 'snapshot', 'resync', 'welcome', 'ack',
    'error', 'auth_expired', 'auth_failed', 'closed', '*'];
  const SEEN_MAX = 2048;

  function defaultBase() {
    if (typeof location !== 'undefined' && /^https?:$/.test(location.protocol)) return location.origin;
    return 'http://127.0.0.1:8080';
  }

  class SpaceHub {
    /**
     * @param {object} [options]
     * @param {string} [options.url]  the hub's base URL (http or https); default: this page's origin
     * @param {string|function} [options.token]  access token, or a function returning one
     * @param {string} [options.client]  'dashboard', 'kiosk', … (counted in the hub's analytics)
     * @param {boolean} [options.defaultChannels=true]  keep what the hub subscribes a connection to
     * @param {string} [options.transport='auto']  'auto' | 'websocket' | 'sse'
     * @param {boolean|string[]} [options.windowEvents]  re-dispatch as window CustomEvents
     */
    constructor(options) {
      const o = Object.assign({
        url: defaultBase(), token: null, client: 'app', defaultChannels: true, transport: 'auto',
        wsPath: '/ws', ssePath: '/api/events/stream', snapshotPath: '/api/events/snapshot',
        backoff: { initialMs: 500, maxMs: 15000, factor: 2 }, wsFailuresBeforeSse: 3,
        heartbeatMs: 20000, staleMs: 45000, wsProbeMs: 30000, windowEvents: SEED_WINDOW_EVENTS, autoConnect: true,
      }, options || {});
      o.backoff = Object.assign({ initialMs: 500, maxMs: 15000, factor: 2 }, o.backoff || {});
      this.options = o;
      this.base = String(o.url).replace(/\/+$/, '').replace(/^ws(s?):/, 'http$1:');
      this._token = o.token;
      this._handlers = new Map();
      this._channels = new Map();   // name -> {seq, snapshot, date, days, explicit, synced}
      this._pending = new Map();    // request id -> {channel, kind}
      this._seen = new Set();
      this._seenOrder = [];
      this._nextId = 1;
      this._epoch = null;
      this._ws = null;
      this._es = null;
      this._timer = null;
      this._heartbeat = null;
      this._attempt = 0;
      this._wsFailures = 0;
      this._closed = false;
      this._opened = false;
      this.state = 'idle';            // idle | connecting | open | reconnecting | offline | closed
      this.transport = null;          // 'websocket' | 'sse'
      this.offlineSince = null;       // Date: when the hub was last reachable
      this.lastEventAt = null;        // Date of the last event or snapshot
      this.clockOffsetMs = 0;         // hub clock minus ours, measured by ping/pong
      this.user = null;
      this._onOnline = () => { if (this.state === 'offline' || this.state === 'reconnecting') this._reconnectNow(); };
      if (typeof window !== 'undefined' && window.addEventListener) window.addEventListener('online', this._onOnline);
      if (o.autoConnect) this.connect();
    }

    // MARK: Public API

    /** Opens the connection (done by the constructor unless autoConnect is false). */
    connect() {
      this._closed = false;
      if (this._ws || this._es || this._timer) return this;
      this._setState('connecting');
      this._open();
      return this;
    }

    /** Closes for good: no reconnect. */
    close() {
      this._closed = true;
      clearTimeout(this._timer); this._timer = null;
      this._stopHeartbeat();
      this._teardown();
      if (typeof window !== 'undefined' && window.removeEventListener) window.removeEventListener('online', this._onOnline);
      this._setState('closed');
      this._emit('closed', { code: 1000, reason: 'closed by the client' });
    }

    /** Alias for the seed's WebSocketClient.disconnect(). */
    disconnect() { this.close(); }

    /**
     * Subscribes to `channel`: 'availability', 'availability:<spaceId>', 'bookings:<userId>',
     * 'payments:<userId>', 'admin'. With {snapshot: true} the current state arrives first as a
     * 'snapshot' event (for availability: {date, days}); later reconnects resume from the last seq
     * and fetch a new snapshot only when the hub says the history is gone. Calling it again with
     * other options (another date) asks for a new snapshot.
     */
    subscribe(channel, opts) {
      const o = opts || {};
      const ch = this._channels.get(channel) || { seq: null, synced: false };
      ch.explicit = true;
      ch.snapshot = !!o.snapshot;
      ch.date = o.date || null;
      ch.days = o.days || 1;
      ch.needsSnapshot = ch.snapshot;
      this._channels.set(channel, ch);
      if (this._wsReady()) {
        this._sendSubscribe(channel, ch);
      } else if (this.transport === 'sse' && this.state === 'open') {
        this._restartSse();
      }
      return this;
    }

    unsubscribe(channel) {
      this._channels.delete(channel);
      if (this._wsReady()) this._send({ type: 'unsubscribe', channel, id: this._id() });
      else if (this.transport === 'sse' && this.state === 'open') this._restartSse();
      return this;
    }

    /** Channels the client follows, with the last seq seen on each. */
    channels() {
      const out = {};
      for (const [name, ch] of this._channels) out[name] = ch.seq;
      return out;
    }

    /**
     * on(type, handler): hub events ('booking_updated', 'space_availability_changed', …) get the
     * seed's {type, payload} plus channel, seq and ts; '*' gets every hub event. Connection
     * events: 'open', 'reconnecting', 'offline', 'state', 'snapshot', 'resync', 'auth_expired',
     * 'error'. Returns a function that removes the handler.
     */
    on(type, handler) {
      if (!this._handlers.has(type)) this._handlers.set(type, new Set());
      this._handlers.get(type).add(handler);
      if (this._es && LOCAL_EVENTS.indexOf(type) < 0 && KNOWN_TYPES.indexOf(type) < 0) this._listenSse(this._es, type);
      return () => this.off(type, handler);
    }

    off(type, handler) {
      const set = this._handlers.get(type);
      if (set) set.delete(handler);
      return this;
    }

    /** A new access token (after refresh or sign-in); applied at once on a live connection. */
    setToken(token) {
      this._token = token;
      if (this._wsReady()) {
        const id = this._id();
        if (token) {
          this._pending.set(id, { channel: null, kind: 'auth' });
          this._send({ type: 'auth', token: this._currentToken(), id });
        } else {
          this._reconnectNow();  // dropping to anonymous: a fresh connection sheds private channels
        }
      } else if (this._es) {
        this._restartSse();
      }
      return this;
    }

    /** Sends a raw message on the WebSocket (the seed's send()). */
    send(message) {
      if (this._wsReady()) this._send(message);
    }

    // MARK: Connecting

    _open() {
      this._timer = null;
      if (this._closed) return;
      const mode = this.options.transport;
      const sseAvailable = typeof EventSource !== 'undefined';
      const useSse = mode === 'sse' ||
        (mode === 'auto' && sseAvailable && this._wsFailures >= this.options.wsFailuresBeforeSse);
      if (useSse && sseAvailable) this._openSse(); else this._openWebSocket();
    }

    _wsURL() {
      const url = new URL(this.options.wsPath, this.base + '/');
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('client', this.options.client);
      const token = this._currentToken();
      if (token) url.searchParams.set('token', token);
      return url.toString();
    }

    _openWebSocket() {
      this.transport = 'websocket';
      let ws;
      try {
        ws = new WebSocket(this._wsURL());
      } catch (error) {
        this._wsFailures++;
        this._scheduleReconnect();
        return;
      }
      this._attachWebSocket(ws, false);
    }

    /** Makes `ws` the connection; `welcomed` when a probe already received the welcome. */
    _attachWebSocket(ws, welcomed) {
      this._ws = ws;
      ws.onmessage = (event) => {
        if (ws !== this._ws) return;
        this._pingSentAt = 0;
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.type === 'welcome') welcomed = true;
        this._handleMessage(message);
      };
      ws.onclose = (event) => {
        if (ws !== this._ws) return;
        this._ws = null;
        this._stopHeartbeat();
        this._pending.clear();
        if (this._closed) return;
        if (welcomed) this._wsFailures = 0; else this._wsFailures++;
        if (event.code === 4401 || event.code === 4403) {
          this._token = null;
          this._emit('auth_failed', { code: event.code, reason: event.reason });
        }
        this._scheduleReconnect();
      };
      ws.onerror = () => { /* onclose follows and decides */ };
    }

    /**
     * On the SSE fallback, try a WebSocket now and then in the background; once one is welcomed,
     * it takes over and resumes by seq. The hub having been down is the usual reason for the
     * fallback, and the stream should not stay on the lesser transport after it is back.
     */
    _scheduleProbe() {
      clearTimeout(this._probeTimer);
      this._probeTimer = null;
      if (this.options.transport !== 'auto' || typeof WebSocket === 'undefined' || this._closed) return;
      this._probeTimer = setTimeout(() => this._probe(), this.options.wsProbeMs);
    }

    _probe() {
      this._probeTimer = null;
      if (this._closed || this.transport !== 'sse' || !this._es) return;
      let ws;
      try { ws = new WebSocket(this._wsURL()); } catch (e) { this._scheduleProbe(); return; }
      this._probeWs = ws;
      ws.onmessage = (event) => {
        if (ws !== this._probeWs) return;
        this._probeWs = null;
        let message;
        try { message = JSON.parse(event.data); } catch (e) { message = {}; }
        if (message.type !== 'welcome' || this._closed || this.transport !== 'sse') {
          try { ws.close(); } catch (e) { /* ignore */ }
          this._scheduleProbe();
          return;
        }
        if (this._es) { this._es.close(); this._es = null; }
        this._sseGeneration = (this._sseGeneration || 0) + 1;
        this.transport = 'websocket';
        this._wsFailures = 0;
        this._attachWebSocket(ws, true);
        this._handleMessage(message);
      };
      ws.onclose = () => {
        if (ws !== this._probeWs) return;
        this._probeWs = null;
        this._scheduleProbe();
      };
    }

    _wsReady() {
      return !!this._ws && this._ws.readyState === 1 && this.state === 'open' && this.transport === 'websocket';
    }

    _teardown() {
      this._sseGeneration = (this._sseGeneration || 0) + 1;  // an SSE open in progress gives up
      clearTimeout(this._probeTimer);
      this._probeTimer = null;
      if (this._probeWs) {
        const probe = this._probeWs;
        this._probeWs = null;
        try { probe.close(); } catch (e) { /* ignore */ }
      }
      if (this._ws) {
        const ws = this._ws;
        this._ws = null;
        try { ws.close(1000); } catch (e) { /* already closed */ }
      }
      if (this._es) {
        this._es.close();
        this._es = null;
      }
      this._pending.clear();
    }

    _reconnectNow() {
      if (this._closed) return;
      clearTimeout(this._timer); this._timer = null;
      this._stopHeartbeat();
      this._teardown();
      this._attempt = 0;
      this._open();
    }

    /** Jittered exponential backoff: a random delay in [d/2, d], d doubling up to maxMs. */
    _delay(attempt) {
      const b = this.options.backoff;
      const d = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, Math.max(0, attempt - 1)));
      return Math.round(d / 2 + Math.random() * d / 2);
    }

    _scheduleReconnect() {
      if (this._closed || this._timer) return;
      if (!this.offlineSince) this.offlineSince = new Date();
      this._attempt++;
      const delayMs = this._delay(this._attempt);
      const next = (this.options.transport === 'sse' ||
        (this.options.transport === 'auto' && this._wsFailures >= this.options.wsFailuresBeforeSse &&
         typeof EventSource !== 'undefined')) ? 'sse' : 'websocket';
      // A connection that was up gets one quiet retry; a failed attempt means the hub is out of reach.
      const reachable = this._attempt === 1 && this._opened;
      this._setState(reachable ? 'reconnecting' : 'offline');
      this._emit('reconnecting', { attempt: this._attempt, delayMs, transport: next, since: this.offlineSince });
      if (!reachable) this._emit('offline', { since: this.offlineSince, attempt: this._attempt });
      this._timer = setTimeout(() => this._open(), delayMs);
    }

    _connected(info) {
      const downtimeMs = this.offlineSince ? Date.now() - this.offlineSince.getTime() : 0;
      const resumed = this._opened;
      this._opened = true;
      this._attempt = 0;
      this.offlineSince = null;
      this._setState('open');
      this._emit('open', Object.assign({ transport: this.transport, resumed, downtimeMs }, info || {}));
    }

    _setState(state) {
      if (this.state === state) return;
      this.state = state;
      this._emit('state', { state, transport: this.transport, since: this.offlineSince });
    }

    _currentToken() {
      const t = this._token;
      return typeof t === 'function' ? t() : t;
    }

    _id() { return 'c' + (this._nextId++); }

    _send(message) { this._ws.send(JSON.stringify(message)); }

    /** Pings carry their send time, so each pong measures the hub's clock against ours. */
    _ping() {
      this._send({ type: 'ping', id: 't' + Date.now() });
    }

    _pong(p) {
      const sent = typeof p.id === 'string' && p.id.charAt(0) === 't' ? Number(p.id.slice(1)) : NaN;
      if (!isFinite(sent) || typeof p.ts !== 'number') return;
      const received = Date.now();
      const rtt = received - sent;
      if (rtt < 0 || rtt > 10000) return;
      const offset = p.ts + rtt / 2 - received;
      // The first sample is taken as is; later ones move it gently (network jitter).
      this.clockOffsetMs = this._clockSamples ? Math.round(this.clockOffsetMs * 0.7 + offset * 0.3) : Math.round(offset);
      this._clockSamples = (this._clockSamples || 0) + 1;
    }

    /** The hub's idea of now, in ms since the epoch: Date.now() corrected by the measured offset. */
    now() {
      return Date.now() + this.clockOffsetMs;
    }

    /**
     * A ping goes out when none is outstanding; any message answers it. One left unanswered for
     * staleMs means the path is dead though TCP has not noticed. Judging by the outstanding ping
     * rather than by silence keeps a background tab, whose timers the browser slows to once a
     * minute, from taking its own quiet for a dead hub.
     */
    _startHeartbeat() {
      this._stopHeartbeat();
      this._pingSentAt = Date.now();
      this._ping();
      this._heartbeat = setInterval(() => {
        if (!this._ws) return;
        if (this._pingSentAt && Date.now() - this._pingSentAt > this.options.staleMs) {
          const ws = this._ws;
          this._ws = null;
          try { ws.close(); } catch (e) { /* ignore */ }
          this._stopHeartbeat();
          this._pending.clear();
          this._scheduleReconnect();
          return;
        }
        if (!this._pingSentAt && this._ws.readyState === 1) {
          this._pingSentAt = Date.now();
          this._ping();
        }
      }, this.options.heartbeatMs);
    }

    _stopHeartbeat() {
      clearInterval(this._heartbeat);
      this._heartbeat = null;
    }

    // MARK: WebSocket protocol

    _handleMessage(m) {
      switch (m.type) {
        case 'welcome': return this._welcome(m.payload || {});
        case 'ack': return this._ack(m.payload || {});
        case 'snapshot': return this._snapshot(m);
        case 'resync_required': return this._resyncRequired(m.payload || {});
        case 'pong': return this._pong(m.payload || {});
        case 'error': {
          const p = m.payload || {};
          if (p.id) this._pending.delete(p.id);
          if (p.channel && (p.code === 'forbidden_channel' || p.code === 'unknown_channel')) {
            this._channels.delete(p.channel);
          }
          return this._emit('error', p);
        }
        case 'auth_expired':
          this.user = null;
          return this._emit('auth_expired', m.payload || {});
        default:
          if (typeof m.seq === 'number') return this._event(m);
          return this._emit(m.type, m);
      }
    }

    _welcome(p) {
      const epochChanged = this._epoch !== null && p.epoch !== this._epoch;
      this._epoch = p.epoch;
      this.user = p.user || null;
      this._startHeartbeat();
      if (epochChanged) {
        this._forgetHistory();
        this._emit('resync', { channels: Array.from(this._channels.keys()), epoch: p.epoch, seq: p.seq });
      }
      this._sync(p.channels || [], p.seq);
      this._connected({ epoch: p.epoch, seq: p.seq, user: this.user });
      this._emit('welcome', p);
    }

    /** After (re)connecting or re-authenticating: resume what we had, subscribe what we lack. */
    _sync(serverChannels, seq) {
      for (const name of serverChannels) {
        if (!this._channels.has(name)) {
          if (!this.options.defaultChannels) {
            this._send({ type: 'unsubscribe', channel: name, id: this._id() });
            continue;
          }
          this._channels.set(name, { seq, synced: true, explicit: false, snapshot: false, days: 1, date: null });
        }
      }
      for (const [name, ch] of this._channels) {
        if (serverChannels.indexOf(name) >= 0 && ch.seq === seq && ch.synced && !ch.needsSnapshot) continue;
        if (ch.seq !== null && ch.seq !== undefined && !ch.needsSnapshot) {
          const id = this._id();
          ch.synced = false;
          this._pending.set(id, { channel: name, kind: 'resume' });
          this._send({ type: 'resume', channel: name, seq: ch.seq, epoch: this._epoch, id });
        } else {
          this._sendSubscribe(name, ch);
        }
      }
    }

    _sendSubscribe(name, ch) {
      const id = this._id();
      const message = { type: 'subscribe', channel: name, id };
      if (ch.snapshot) {
        message.snapshot = true;
        if (ch.date) message.date = ch.date;
        if (ch.days && ch.days > 1) message.days = ch.days;
      }
      ch.synced = false;
      ch.needsSnapshot = false;
      this._pending.set(id, { channel: name, kind: 'subscribe' });
      this._send(message);
    }

    _ack(p) {
      const pending = p.id ? this._pending.get(p.id) : null;
      if (pending) {
        this._pending.delete(p.id);
        if (pending.kind === 'auth') {
          this.user = p.user || null;
          this._sync(p.channels || [], null);
        } else {
          const ch = this._channels.get(pending.channel);
          if (ch && typeof p.seq === 'number') {
            ch.seq = Math.max(ch.seq || 0, p.seq);
            ch.synced = true;
          }
        }
      }
      this._emit('ack', p);
    }

    _snapshot(m) {
      const ch = this._channels.get(m.channel);
      if (ch) {
        ch.seq = m.seq;
        ch.synced = true;
      }
      this.lastEventAt = new Date();
      this._emit('snapshot', m);
    }

    _resyncRequired(p) {
      if (p.epoch && p.epoch !== this._epoch) {
        this._epoch = p.epoch;
        this._forgetHistory();
      }
      const names = p.channels && p.channels.length ? p.channels : Array.from(this._channels.keys());
      for (const [id, pending] of this._pending) if (names.indexOf(pending.channel) >= 0) this._pending.delete(id);
      for (const name of names) {
        const ch = this._channels.get(name);
        if (!ch) continue;
        if (this._wsReady()) {
          if (ch.snapshot) this._sendSubscribe(name, ch);
          else { ch.seq = typeof p.seq === 'number' ? p.seq : ch.seq; ch.synced = true; }
        } else {
          ch.needsSnapshot = ch.snapshot;
          if (!ch.snapshot) ch.seq = typeof p.seq === 'number' ? p.seq : null;
        }
      }
      // Events were missed for good: whatever the app fetched over REST is stale.
      this._emit('resync', { channels: names, epoch: this._epoch, seq: p.seq });
    }

    _forgetHistory() {
      this._seen.clear();
      this._seenOrder = [];
      for (const ch of this._channels.values()) {
        ch.seq = null;
        ch.synced = false;
        ch.needsSnapshot = ch.snapshot;
      }
    }

    /** A hub event: drop what this channel's snapshot or an earlier delivery covered, then dispatch. */
    _event(m) {
      const ch = this._channels.get(m.channel);
      if (ch && ch.seq !== null && ch.seq !== undefined && m.seq <= ch.seq) return;
      if (ch) ch.seq = m.seq;
      if (this._pending.size === 0) {
        // Steady state: the connection delivers every subscribed channel in seq order.
        for (const other of this._channels.values()) if (other.synced && (other.seq || 0) < m.seq) other.seq = m.seq;
      }
      if (this._seen.has(m.seq)) return;  // the same event, labelled with another channel
      this._seen.add(m.seq);
      this._seenOrder.push(m.seq);
      if (this._seenOrder.length > SEEN_MAX) this._seen.delete(this._seenOrder.shift());
      this.lastEventAt = m.ts ? new Date(m.ts) : new Date();
      this._emit(m.type, m);
      this._emit('*', m);
      const windowEvents = this.options.windowEvents;
      if (windowEvents && typeof window !== 'undefined' && typeof CustomEvent === 'function' &&
          (windowEvents === true || windowEvents.indexOf(m.type) >= 0)) {
        window.dispatchEvent(new CustomEvent(m.type, { detail: m.payload }));
      }
    }

    // MARK: Server-Sent Events fallback

    _authHeaders() {
      const token = this._currentToken();
      return token ? { Authorization: 'Bearer ' + token } : {};
    }

    async _fetchJSON(path, params) {
      const url = new URL(path, this.base + '/');
      for (const key of Object.keys(params || {})) if (params[key] !== null && params[key] !== undefined) url.searchParams.set(key, params[key]);
      const response = await fetch(url.toString(), { headers: this._authHeaders(), cache: 'no-store' });
      if (!response.ok) {
        const error = new Error('HTTP ' + response.status + ' for ' + path);
        error.status = response.status;
        throw error;
      }
      return response.json();
    }

    async _openSse() {
      this.transport = 'sse';
      const generation = (this._sseGeneration = (this._sseGeneration || 0) + 1);
      try {
        // Where the stream is, and whether it is still the history our seqs belong to.
        const head = await this._fetchJSON(this.options.snapshotPath, {});
        if (generation !== this._sseGeneration || this._closed) return;
        if (this._epoch !== null && head.epoch !== this._epoch) {
          this._epoch = head.epoch;
          this._forgetHistory();
          this._emit('resync', { channels: Array.from(this._channels.keys()), epoch: head.epoch, seq: head.seq });
        }
        this._epoch = head.epoch;
        if (!this.options.defaultChannels && this._channels.size === 0) return;
        for (const [name, ch] of this._channels) {
          if (ch.snapshot && (ch.seq === null || ch.seq === undefined || ch.needsSnapshot)) {
            const snap = await this._fetchJSON(this.options.snapshotPath,
              { channel: name, date: ch.date, days: ch.days > 1 ? ch.days : null });
            if (generation !== this._sseGeneration || this._closed) return;
            ch.needsSnapshot = false;
            this._snapshot(snap);
          } else if (ch.seq === null || ch.seq === undefined) {
            ch.seq = head.seq;
          }
          ch.synced = true;
        }
      } catch (error) {
        if (generation !== this._sseGeneration || this._closed) return;
        this._sseFailed();
        return;
      }
      const url = new URL(this.options.ssePath, this.base + '/');
      const names = Array.from(this._channels.keys());
      if (names.length) url.searchParams.set('channels', names.join(','));
      let since = null;
      for (const ch of this._channels.values()) if (ch.seq !== null && ch.seq !== undefined) since = since === null ? ch.seq : Math.min(since, ch.seq);
      if (since !== null) url.searchParams.set('since', String(since));
      const token = this._currentToken();
      if (token) url.searchParams.set('token', token);
      const es = new EventSource(url.toString());
      this._es = es;
      const types = new Set(KNOWN_TYPES);
      for (const type of this._handlers.keys()) if (LOCAL_EVENTS.indexOf(type) < 0) types.add(type);
      for (const type of types) this._listenSse(es, type);
      es.onopen = () => {
        if (es !== this._es) return;
        this._connected({ epoch: this._epoch });
        this._scheduleProbe();
      };
      es.onerror = () => {
        if (es !== this._es) return;
        // Take reconnection over from EventSource: our backoff, our offline state, our since=.
        es.close();
        this._es = null;
        this._sseFailed();
      };
    }

    _listenSse(es, type) {
      es.addEventListener(type, (event) => {
        if (es !== this._es) return;
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.type === 'resync_required') {
          this._resyncRequired(message.payload || {});
          this._restartSse();
          return;
        }
        if (typeof message.seq === 'number') this._event(message);
      });
    }

    _restartSse() {
      if (this._es) { this._es.close(); this._es = null; }
      this._openSse();
    }

    _sseFailed() {
      // Give the WebSocket one more chance next time: what failed may have been the network.
      this._wsFailures = Math.max(0, this.options.wsFailuresBeforeSse - 1);
      this._scheduleReconnect();
    }

    _emit(type, data) {
      const set = this._handlers.get(type);
      if (!set) return;
      for (const handler of Array.from(set)) {
        try { handler(data); } catch (error) { setTimeout(() => { throw error; }); }
      }
    }
  }

  SpaceHub.SEED_WINDOW_EVENTS = SEED_WINDOW_EVENTS;
  SpaceHub.version = '1.0.0';
  return SpaceHub;
})();
