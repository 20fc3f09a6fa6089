/*! SpaceHub · TypeScript declarations of the real-time client (/client/spacehub.js, .mjs) and of the
 * API's shapes. Served by the hub at /client/spacehub.d.ts; docs/CLIENT.md. The shapes are those of
 * /openapi.json (components/schemas), field for field.
 *
 * Use: save it next to your copy of the client, as `spacehub.d.mts` beside `spacehub.mjs`
 * (`import SpaceHub from './spacehub.mjs'`) or as `spacehub.d.ts` beside `spacehub.js`
 * (`import SpaceHub from './spacehub'`). The types alone: `import type { Booking } from './spacehub'`.
 */

// ---------------------------------------------------------------------------------------------
// Common

/** ISO 8601 instant with offset, e.g. `2026-11-27T10:00:00+01:00` or `2026-11-25T14:30:00Z`. */
export type Instant = string;
/** A local date, `YYYY-MM-DD`. */
export type LocalDate = string;
/** A local time, `HH:MM` (`24:00` only as an end). */
export type LocalTime = string;
/** An amount in major units of `currency` (the API's numbers are exact decimals). */
export type Amount = number;
export type CurrencyCode = 'NGN' | 'GHS' | 'ZAR' | 'USD' | 'KES';
export type SpaceType = 'coworking' | 'event';

/** A half-open range of time `[start, end)`. */
export interface Range {
  start: Instant;
  end: Instant;
}

/** Every failure: `{"error": {"code", "message", …details}}` (docs/API.md lists every code). */
export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    /** 422: the field that failed. */
    field?: string;
    /** 409 `booking_conflict`: what is in the way. */
    conflicts?: Range[];
    /** 429: seconds to wait. */
    retryAfter?: number;
    /** 422 `amount_mismatch`: the booking's price. */
    expected?: Amount;
    /** 422 `refund_exceeds_paid`. */
    refundable?: Amount;
    /** 410 `resync_required`. */
    epoch?: string;
    seq?: number;
    /** 409 `too_many_holds`. */
    holds?: number;
    holdsMax?: number;
    /** sync-event when no calendar was written. */
    results?: SyncResult[];
    [detail: string]: unknown;
  };
}

// ---------------------------------------------------------------------------------------------
// Accounts

export interface User {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  phone: string | null;
  emailVerified: boolean;
  status: 'active' | 'suspended';
  role: 'user';
  createdAt: Instant;
  updatedAt: Instant;
}

export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: 'admin' | 'super_admin';
  isActive: boolean;
  lastLogin: Instant | null;
  createdAt: Instant;
}

/** Login, register and refresh answers (`user` is null on a refresh). */
export interface AuthTokens {
  /** The access token (the seed's `ApiClient.login` reads `token`). */
  token: string;
  accessToken: string;
  refreshToken: string;
  /** Unix milliseconds. */
  expiresAt: number;
  tokenType: 'Bearer';
  user: User | AdminUser | null;
}

// ---------------------------------------------------------------------------------------------
// Spaces

export interface HoursWindow {
  open: LocalTime;
  close: LocalTime;
}

export interface OpeningHours {
  monday: HoursWindow | null;
  tuesday: HoursWindow | null;
  wednesday: HoursWindow | null;
  thursday: HoursWindow | null;
  friday: HoursWindow | null;
  saturday: HoursWindow | null;
  sunday: HoursWindow | null;
}

/** The seed's `CoworkingPlan` (its first seven fields), then ours. */
export interface CoworkingPlan {
  id: string;
  name: string;
  description: string;
  /** Per `duration` unit. */
  price: Amount;
  duration: 'hour' | 'day' | 'week' | 'month';
  features: string[];
  popular: boolean;
  type: 'coworking';
  currency: CurrencyCode;
  timeZone: string;
  openingHours: OpeningHours;
  minDurationMinutes: number;
  maxDurationMinutes: number;
  blackoutDates: LocalDate[];
  isActive: boolean;
  version: number;
  createdAt: Instant;
  updatedAt: Instant;
  seats: number;
}

/** The seed's `EventSpace` (its first eight fields), then ours. */
export interface EventSpace {
  id: string;
  name: string;
  description: string;
  capacity: number;
  /** Per hour, prorated to the minute. */
  price: Amount;
  features: string[];
  images: string[];
  /** Opening hours as text, e.g. `Mon–Fri 08:00–20:00`. */
  availability: string[];
  type: 'event';
  currency: CurrencyCode;
  timeZone: string;
  openingHours: OpeningHours;
  minDurationMinutes: number;
  maxDurationMinutes: number;
  blackoutDates: LocalDate[];
  isActive: boolean;
  version: number;
  createdAt: Instant;
  updatedAt: Instant;
  priceUnit: 'hour';
  bufferMinutes: number;
}

export type Space = CoworkingPlan | EventSpace;

// ---------------------------------------------------------------------------------------------
// Availability

export interface BusyRange extends Range {
  /** `held`: a pending booking's hold; `booked`: confirmed. */
  status: 'held' | 'booked';
}

export interface OccupancyStep extends Range {
  taken: number;
}

interface DayViewBase {
  spaceId: string;
  spaceName: string;
  date: LocalDate;
  timeZone: string;
  open: Range[];
  free: Range[];
}

export interface EventDayView extends DayViewBase {
  type: 'event';
  busy: BusyRange[];
}

export interface CoworkingDayView extends DayViewBase {
  type: 'coworking';
  /** Ranges where every seat is taken. */
  busy: Range[];
  seats: number;
  occupancy: OccupancyStep[];
  bookings: number;
}

/** One local day of one space: what a dashboard row or a kiosk draws. */
export type DayView = EventDayView | CoworkingDayView;

export interface GridSpace {
  spaceId: string;
  name: string;
  type: SpaceType;
  capacity: number;
  seats: number;
  timeZone: string;
  days: DayView[];
}

/** `GET /api/spaces/availability/grid` and the `availability` snapshot. */
export interface Grid {
  date: LocalDate;
  days: number;
  spaces: GridSpace[];
}

/** Whether a booking of a range would fit now (`POST /api/bookings/check-conflicts`). */
export interface Fit {
  available: boolean;
  conflicts: Range[];
  reason?: { code: string; message: string };
  requested?: Range;
  amount?: Amount;
  currency?: CurrencyCode;
  seatsLeft?: number;
}

export interface ConflictCheck extends Fit {
  hasConflicts: boolean;
}

// ---------------------------------------------------------------------------------------------
// Bookings

export type BookingStatus = 'pending' | 'confirmed' | 'completed' | 'cancelled' | 'expired';
export type BookingPaymentStatus = 'pending' | 'paid' | 'failed' | 'refunded';

/** The seed's `Booking` (its first nine fields, same types), then ours. */
export interface Booking {
  id: string;
  type: SpaceType;
  spaceName: string;
  date: LocalDate;
  time: LocalTime;
  duration: string;
  status: BookingStatus;
  amount: Amount;
  paymentStatus: BookingPaymentStatus;
  spaceId: string;
  userId: string;
  /** `HH:MM`, or `YYYY-MM-DD HH:MM` when it ends on another day. */
  endTime: string;
  startsAt: Instant;
  endsAt: Instant;
  timeZone: string;
  currency: CurrencyCode;
  holdExpiresAt: Instant | null;
  specialRequests: string | null;
  paymentReference: string | null;
  refundDue: boolean;
  cancelReason: string | null;
  createdAt: Instant;
  updatedAt: Instant;
  version: number;
}

/** `POST /api/bookings` (and `/api/users/bookings`, `check-conflicts`): give `endTime` or `duration`. */
export interface CreateBookingRequest {
  type: SpaceType;
  spaceId: string;
  date: LocalDate;
  startTime: LocalTime;
  endTime?: LocalTime | null;
  /** `8 hours`, `1 day`, `2 weeks` … */
  duration?: string | null;
  specialRequests?: string | null;
}

/** `GET /api/users/bookings`: the seed's `{bookings, total, page}` plus `limit` and `pages`. */
export interface BookingPage {
  bookings: Booking[];
  total: number;
  page: number;
  limit: number;
  pages: number;
}

// ---------------------------------------------------------------------------------------------
// Payments

export type PaymentStatus = 'pending' | 'successful' | 'failed' | 'cancelled' | 'refunded';

export interface Payment {
  id: string;
  bookingId: string;
  userId: string;
  amount: Amount;
  currency: CurrencyCode;
  paymentMethod: string;
  gateway: 'sandbox' | 'paystack';
  reference: string;
  status: PaymentStatus;
  refundedAmount: Amount;
  /** Whether the money counts toward the booking. */
  applied: boolean;
  authorizationUrl: string | null;
  flagged: string | null;
  verifiedAt: Instant | null;
  verifiedBy: string | null;
  createdAt: Instant;
  updatedAt: Instant;
}

export interface Refund {
  id: string;
  amount: Amount;
  status: 'pending' | 'processed' | 'failed';
  reason: string | null;
  gatewayReference: string | null;
  requestedBy: string | null;
  createdAt: Instant;
}

/** `POST /api/payments/initialize` (the seed's `PaymentInitRequest`). */
export interface PaymentInitRequest {
  bookingId: string;
  amount: Amount;
  currency?: CurrencyCode | null;
  paymentMethod?: 'card' | 'bank' | 'bank_transfer' | 'ussd' | 'qr' | 'mobile_money' | 'eft' | null;
}

/** The seed's `PaymentInitResponse`. */
export interface PaymentInitResponse {
  paymentId: string;
  reference: string;
  authorizationUrl: string | null;
  accessCode: string | null;
  amount: Amount;
  currency: CurrencyCode;
  status: PaymentStatus;
}

// ---------------------------------------------------------------------------------------------
// Calendar

export interface SyncResult {
  provider: 'google' | 'outlook';
  integrationId?: string;
  action?: 'created' | 'updated' | 'deleted' | 'unchanged' | 'failed';
  externalId?: string | null;
  status: 'ok' | 'error';
  error?: { code: string; message: string };
}

// ---------------------------------------------------------------------------------------------
// Real-time: event payloads

export interface Settings {
  siteName: string;
  contactEmail: string;
  paymentGateway: 'sandbox' | 'paystack';
  emailProvider: 'log' | 'smtp' | 'sendgrid';
  holdMinutes: number;
  refundNoticeHours: number;
  bookingHorizonDays: number;
  currency: CurrencyCode;
  timeZone: string;
}

export interface BookingHoldExpiredPayload {
  bookingId: string;
  spaceId: string;
  booking: Booking;
}

export interface PaymentVerifiedPayload {
  paymentId: string;
  bookingId: string;
  reference: string;
  status: PaymentStatus;
  amount: Amount;
  currency: CurrencyCode;
  payment: Payment;
  booking: Booking;
}

export interface PaymentFailedPayload {
  payment: Payment;
  bookingId: string;
}

export interface PaymentRefundedPayload {
  paymentId: string;
  bookingId: string;
  /** The refund's status. */
  status: 'pending' | 'processed' | 'failed';
  refundedAmount: Amount;
  currency: CurrencyCode;
  payment: Payment;
  /** This refund's amount, when the refund is new. */
  amount?: Amount;
}

export interface PaymentCancelledPayload {
  payment: Payment;
  bookingId: string;
  reason: string;
}

export interface PaymentFlaggedPayload {
  payment: Payment;
  reason: string;
}

/** One local day of one space, plus the whole range that changed. */
export type SpaceAvailabilityChangedPayload = DayView & {
  changed: Range;
  /** Coworking: seats free over `changed`. */
  seatsLeft?: number;
};

export interface UserUpdatedPayload extends User {
  suspendedReason: string | null;
}

/** Payload of each hub event type. */
export interface HubEventPayloads {
  booking_updated: Booking;
  booking_hold_expired: BookingHoldExpiredPayload;
  payment_verified: PaymentVerifiedPayload;
  payment_failed: PaymentFailedPayload;
  payment_refunded: PaymentRefundedPayload;
  payment_cancelled: PaymentCancelledPayload;
  payment_flagged: PaymentFlaggedPayload;
  space_availability_changed: SpaceAvailabilityChangedPayload;
  space_updated: Space;
  user_updated: UserUpdatedPayload;
  /** The settings that changed. */
  settings_updated: Partial<Settings>;
}

export type HubEventType = keyof HubEventPayloads;

/** An event as delivered: the seed's `{type, payload}` plus `channel`, `seq` and `ts` (Unix ms). */
export interface HubEventOf<T extends HubEventType> {
  type: T;
  payload: HubEventPayloads[T];
  channel: string;
  seq: number;
  ts: number;
}

/** Any hub event, narrowed by `type`. */
export type HubEvent = { [T in HubEventType]: HubEventOf<T> }[HubEventType];

// ---------------------------------------------------------------------------------------------
// Real-time: the WebSocket protocol

export type Channel = 'availability' | 'admin' | `availability:${string}` | `bookings:${string}` | `payments:${string}`;

/** `bookings:<userId>`: the member's bookings that hold time. */
export interface BookingsSnapshot {
  bookings: Booking[];
}

/** `availability:<spaceId>`. */
export interface SpaceSnapshot {
  date: LocalDate;
  space: Space;
  days: DayView[];
}

/** `payments:<userId>`: the member's latest payments, newest first. */
export interface PaymentsSnapshot {
  payments: Payment[];
}

/** `availability` and `admin`: the grid. */
export type SnapshotPayload = Grid | SpaceSnapshot | BookingsSnapshot | PaymentsSnapshot;

export interface SnapshotMessage {
  type: 'snapshot';
  channel: string;
  seq: number;
  payload: SnapshotPayload;
}

/** What the client sends: ping, auth, subscribe, unsubscribe, resume. */
export interface ClientMessage {
  type: 'ping' | 'auth' | 'subscribe' | 'unsubscribe' | 'resume';
  id?: string | number;
  token?: string;
  channel?: string;
  snapshot?: boolean;
  date?: LocalDate;
  days?: number;
  seq?: number;
  epoch?: string;
}

export interface HubUser {
  id: string;
  role: 'user' | 'admin' | 'super_admin';
}

export interface WelcomePayload {
  epoch: string;
  seq: number;
  channels: string[];
  user: HubUser | null;
}

export interface AckPayload {
  id?: string | number;
  channel?: string;
  seq?: number;
  epoch?: string;
  resumed?: number;
  channels?: string[];
  user?: HubUser;
}

export interface ErrorPayload {
  code: string;
  message: string;
  id?: string | number;
  channel?: string;
}

// ---------------------------------------------------------------------------------------------
// The client

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';
export type Transport = 'websocket' | 'sse';

export interface SpaceHubOptions {
  /** The hub's base URL, `http(s)://` or `ws(s)://`; default the page's origin. */
  url?: string;
  /** An access token, or a function returning the current one (called at each connect). */
  token?: string | null | (() => string | null | undefined);
  /** What this is (`dashboard`, `kiosk`, …), counted in the admin analytics. Default `app`. */
  client?: string;
  /** Keep the channels the hub subscribes a connection to (default true). */
  defaultChannels?: boolean;
  /** Default `auto`: WebSocket, Server-Sent Events when it keeps failing. */
  transport?: 'auto' | Transport;
  /** Dispatch events as `window` CustomEvents: the seed's three (default), every type, none, or a list. */
  windowEvents?: boolean | string[];
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  wsFailuresBeforeSse?: number;
  wsProbeMs?: number;
  heartbeatMs?: number;
  staleMs?: number;
  autoConnect?: boolean;
  wsPath?: string;
  ssePath?: string;
  snapshotPath?: string;
}

export interface SubscribeOptions {
  /** Send the channel's state first, as a `snapshot` event. */
  snapshot?: boolean;
  /** First local day of the snapshot (default today). */
  date?: LocalDate;
  /** Days, 1 to 14. */
  days?: number;
}

/** Data of the client's own connection events. */
export interface ConnectionEvents {
  open: {
    transport: Transport;
    resumed: boolean;
    downtimeMs: number;
    epoch?: string;
    seq?: number;
    user?: HubUser | null;
  };
  reconnecting: { attempt: number; delayMs: number; transport: Transport; since: Date | null };
  offline: { since: Date | null; attempt: number };
  state: { state: ConnectionState; transport: Transport | null; since: Date | null };
  snapshot: SnapshotMessage;
  resync: { channels: string[]; epoch: string | null; seq?: number };
  welcome: WelcomePayload;
  ack: AckPayload;
  error: ErrorPayload;
  auth_expired: { message?: string };
  auth_failed: { code: number; reason: string };
  session_ended: { type: 'session_ended'; payload: { code: string; message: string } };
  closed: { code: number; reason: string };
}

export declare class SpaceHub {
  constructor(options?: SpaceHubOptions);

  /** `connecting`, `open`, `reconnecting`, `offline`, `closed` (`idle` before the first connect). */
  readonly state: ConnectionState;
  readonly transport: Transport | null;
  /** While not open: when the hub was last reachable. */
  readonly offlineSince: Date | null;
  readonly lastEventAt: Date | null;
  /** The hub's clock minus ours, in ms, measured by ping/pong. */
  readonly clockOffsetMs: number;
  /** From the hub's welcome; null when anonymous. */
  readonly user: HubUser | null;
  /** The options with their defaults. */
  readonly options: Required<Omit<SpaceHubOptions, 'token'>> & Pick<SpaceHubOptions, 'token'>;
  /** The base URL, `http(s)://`. */
  readonly base: string;

  /** Opens the connection (the constructor does unless `autoConnect: false`). */
  connect(): this;
  /** Closes for good: no reconnect. */
  close(): void;
  /** The seed's `WebSocketClient.disconnect()`. */
  disconnect(): void;
  subscribe(channel: Channel, options?: SubscribeOptions): this;
  unsubscribe(channel: Channel): this;
  /** The channels followed, with the last seq seen on each. */
  channels(): Record<string, number | null>;

  /** A hub event of one type; returns a function that removes the handler. */
  on<T extends HubEventType>(type: T, handler: (event: HubEventOf<T>) => void): () => void;
  /** Every hub event. */
  on(type: '*', handler: (event: HubEvent) => void): () => void;
  /** One of the client's connection events. */
  on<K extends keyof ConnectionEvents>(type: K, handler: (data: ConnectionEvents[K]) => void): () => void;
  off(type: string, handler: (data: any) => void): this;

  /** A new access token (after a refresh or a sign-in); null reconnects anonymously. */
  setToken(token: string | null | (() => string | null | undefined)): this;
  /** A raw protocol message (the seed's `send()`). */
  send(message: ClientMessage | Record<string, unknown>): void;
  /** The hub's clock, ms since the epoch. */
  now(): number;

  /** `booking_updated`, `payment_verified`, `space_availability_changed`. */
  static readonly SEED_WINDOW_EVENTS: string[];
  static readonly version: string;
}

export default SpaceHub;
