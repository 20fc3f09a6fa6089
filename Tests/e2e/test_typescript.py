"""The TypeScript declarations the hub serves (`/client/spacehub.d.ts`) type a front end that uses the
client and the API's shapes: a consumer written as docs/CLIENT.md shows compiles with
`tsc --strict --noEmit` (Debian's node-typescript, installed by scripts/setup.sh), consumers with a
deliberate mistake do not, and the declared shapes have the fields /openapi.json gives them.
"""
import json
import os
import re
import shutil
import subprocess

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DECLARATIONS = os.path.join(ROOT, "Sources", "HubServer", "Web", "Files", "spacehub.d.ts")
DOCUMENT = os.path.join(ROOT, "Sources", "HubServer", "Web", "Files", "openapi.json")

CONSUMER = r"""
import SpaceHub from './spacehub';
import type {
  ApiErrorBody, AuthTokens, Booking, BookingPage, CoworkingPlan, CreateBookingRequest, DayView, EventSpace, HubEvent,
  PaymentInitRequest, PaymentInitResponse,
} from './spacehub';

// The seed's ApiClient, typed by the declarations.
class ApiClient {
  constructor(private baseURL: string, private token: string | null = null) {}

  private async request<T>(endpoint: string, options: RequestInit = {}): Promise<T> {
    const response = await fetch(`${this.baseURL}${endpoint}`, {
      ...options,
      headers: { 'Content-Type': 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
    });
    if (!response.ok) {
      const body = (await response.json()) as ApiErrorBody;
      throw new Error(`${response.status} ${body.error.code}: ${body.error.message}`);
    }
    return response.json() as Promise<T>;
  }

  async login(email: string, password: string): Promise<AuthTokens> {
    const tokens = await this.request<AuthTokens>('/auth/login',
                                                  { method: 'POST', body: JSON.stringify({ email, password }) });
    this.token = tokens.token;
    return tokens;
  }
  getBookings(): Promise<BookingPage> { return this.request<BookingPage>('/users/bookings?page=1&limit=10'); }
  createBooking(booking: CreateBookingRequest): Promise<Booking> {
    return this.request<Booking>('/users/bookings', { method: 'POST', body: JSON.stringify(booking) });
  }
  getCoworkingPlans(): Promise<CoworkingPlan[]> { return this.request<CoworkingPlan[]>('/coworking-plans'); }
  getEventSpaces(): Promise<EventSpace[]> { return this.request<EventSpace[]>('/event-spaces'); }
  initializePayment(data: PaymentInitRequest): Promise<PaymentInitResponse> {
    return this.request<PaymentInitResponse>('/payments/initialize', { method: 'POST', body: JSON.stringify(data) });
  }
}

export async function frontEnd(): Promise<void> {
  const api = new ApiClient('https://hub.example.com/api');
  const tokens = await api.login('ada@example.com', 'password123');
  const plans = await api.getCoworkingPlans();
  const seats: number = plans[0].seats;
  const booking = await api.createBooking({ type: 'event', spaceId: 'conference-room-a', date: '2030-01-07',
                                            startTime: '10:00', endTime: '12:00', specialRequests: 'Projector' });
  const pay = await api.initializePayment({ bookingId: booking.id, amount: booking.amount,
                                            currency: booking.currency });
  const page = await api.getBookings();
  console.log(tokens.expiresAt, seats, pay.authorizationUrl ?? '', page.bookings.length);

  // docs/CLIENT.md: the client, its events and its connection events.
  const hub = new SpaceHub({ url: 'wss://hub.example.com', token: () => tokens.accessToken, client: 'dashboard' });
  const offs = [
    hub.on('booking_updated', ({ payload }) => {
      const status: Booking['status'] = payload.status;
      console.log(payload.id, status, payload.startsAt);
    }),
    hub.on('booking_hold_expired', ({ payload }) => console.log(payload.bookingId, payload.booking.status)),
    hub.on('payment_verified', ({ payload, seq, ts }) => console.log(payload.reference, payload.booking.id, seq, ts)),
    hub.on('payment_refunded', ({ payload }) => console.log(payload.status, payload.amount ?? payload.refundedAmount)),
    hub.on('space_availability_changed', ({ payload }) => {
      const day: DayView = payload;
      if (day.type === 'coworking') console.log(day.seats, day.occupancy.map((step) => step.taken), payload.seatsLeft);
      else console.log(day.busy.map((range) => range.status), payload.changed.end);
    }),
    hub.on('space_updated', ({ payload }) => console.log(payload.type === 'event' ? payload.capacity : payload.seats)),
    hub.on('settings_updated', ({ payload }) => console.log(payload.holdMinutes ?? 15)),
    hub.on('*', (event: HubEvent) => {
      if (event.type === 'payment_failed') console.log(event.payload.payment.status);
    }),
    hub.on('snapshot', ({ channel, seq, payload }) => {
      console.log(channel, seq, 'spaces' in payload ? payload.spaces.length : 0);
    }),
    hub.on('state', ({ state }) => console.log(state === 'offline' ? 'offline since ' + hub.offlineSince : state)),
    hub.on('open', ({ transport, resumed, downtimeMs }) => console.log(transport, resumed, downtimeMs)),
    hub.on('resync', ({ channels }) => console.log(channels.join(','))),
    hub.on('auth_expired', () => hub.setToken(tokens.accessToken)),
    hub.on('auth_failed', ({ code }) => console.log(code === 4403 ? 'suspended' : 'signed out')),
    hub.on('error', ({ code, channel }) => console.log(code, channel)),
  ];
  hub.subscribe('availability', { snapshot: true, date: '2026-11-26', days: 2 })
    .subscribe('availability:conference-room-a');
  hub.send({ type: 'ping', id: 'p1' });
  const now: number = hub.now();
  const channels: Record<string, number | null> = hub.channels();
  console.log(now, channels, hub.state, hub.transport, hub.user?.role, SpaceHub.version, SpaceHub.SEED_WINDOW_EVENTS);
  offs.forEach((off) => off());
  hub.close();
}
"""

# Each must fail to compile, at the line marked, with the error named.
MISTAKES = {
    "a field the booking does not have": (
        "hub.on('booking_updated', ({ payload }) => console.log(payload.roomNumber)); // here", "TS2339"),
    "a payment event read as a booking": (
        "hub.on('payment_verified', ({ payload }) => console.log(payload.spaceName)); // here", "TS2339"),
    "a transport the client does not have": (
        "new SpaceHub({ transport: 'carrier-pigeon' }); // here", "TS2322"),
    "a booking without its space": (
        "const request: CreateBookingRequest = { type: 'event', date: '2030-01-07', startTime: '10:00' }; // here",
        "TS2741"),
    "an unknown channel": ("hub.subscribe('everything'); // here", "TS2345"),
}
MISTAKE_HEADER = """import SpaceHub from './spacehub';
import type { CreateBookingRequest } from './spacehub';
const hub = new SpaceHub();
"""


def tsc():
    path = shutil.which("tsc")
    assert path, "tsc not found: scripts/setup.sh installs Debian's node-typescript"
    return path


def compile_ts(directory, files, module="esnext", resolution="node"):
    command = [tsc(), "--strict", "--noEmit", "--target", "es2020", "--lib", "es2020,dom", "--module", module,
               "--moduleResolution", resolution] + files
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, timeout=120)


@pytest.fixture
def workdir(tmp_path):
    shutil.copy(DECLARATIONS, tmp_path / "spacehub.d.ts")
    return tmp_path


def test_the_hub_serves_the_declarations(hub):
    r = requests.get(hub.url + "/client/spacehub.d.ts", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/typescript")
    with open(DECLARATIONS, "rb") as handle:
        assert r.content == handle.read()
    again = requests.get(hub.url + "/client/spacehub.d.ts", headers={"If-None-Match": r.headers["etag"]}, timeout=30)
    assert again.status_code == 304


def test_a_front_end_written_as_the_docs_show_compiles(workdir):
    (workdir / "consumer.ts").write_text(CONSUMER)
    result = compile_ts(workdir, ["consumer.ts"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_es_module_copy_is_typed_as_spacehub_d_mts(workdir):
    """`import SpaceHub from './spacehub.mjs'` (docs/CLIENT.md) finds `spacehub.d.mts` (TypeScript maps
    .mjs to .d.mts), in an ES module."""
    shutil.copy(workdir / "spacehub.d.ts", workdir / "spacehub.d.mts")
    (workdir / "app.mts").write_text("import SpaceHub from './spacehub.mjs';\n"
                                     "const hub = new SpaceHub({ client: 'kiosk', defaultChannels: false });\n"
                                     "hub.on('space_updated', ({ payload }) => console.log(payload.name));\n")
    result = compile_ts(workdir, ["app.mts"], module="node16", resolution="node16")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_consumer_with_a_type_error_does_not_compile(workdir, mistake):
    line, code = MISTAKES[mistake]
    (workdir / "wrong.ts").write_text(MISTAKE_HEADER + line + "\n")
    result = compile_ts(workdir, ["wrong.ts"])
    assert result.returncode != 0, f"{mistake}: compiled"
    assert re.search(rf"wrong\.ts\(4,\d+\): error {code}", result.stdout), result.stdout


# The declared interfaces and the schemas they mirror: same fields, same optionality.
MIRRORS = {
    "Booking": "Booking", "CoworkingPlan": "CoworkingPlan", "EventSpace": "EventSpace", "Payment": "Payment",
    "Refund": "Refund", "User": "User", "AdminUser": "AdminUser", "AuthTokens": "AuthTokens",
    "PaymentInitResponse": "PaymentInit", "PaymentInitRequest": "PaymentInitRequest",
    "CreateBookingRequest": "BookingRequest", "BookingPage": "BookingPage", "Grid": "Grid", "GridSpace": "GridSpace",
    "Fit": "Fit", "OpeningHours": "OpeningHours", "HoursWindow": "HoursWindow", "Settings": "Settings",
    "SyncResult": "SyncResult", "BookingHoldExpiredPayload": "BookingHoldExpiredPayload",
    "PaymentVerifiedPayload": "PaymentVerifiedPayload", "PaymentFailedPayload": "PaymentFailedPayload",
    "PaymentRefundedPayload": "PaymentRefundedPayload", "PaymentCancelledPayload": "PaymentCancelledPayload",
    "PaymentFlaggedPayload": "PaymentFlaggedPayload", "BookingsSnapshot": "BookingsSnapshot",
    "PaymentsSnapshot": "PaymentsSnapshot", "SpaceSnapshot": "SpaceSnapshot",
}


def declared_interfaces():
    """{name: {field: optional}} of the `export interface` blocks (own fields, not inherited)."""
    with open(DECLARATIONS, encoding="utf-8") as handle:
        text = handle.read()
    out = {}
    for match in re.finditer(r"export interface (\w+)(?: extends [\w, ]+)? \{\n(.*?)\n\}", text, re.S):
        fields = {}
        depth = 0
        for line in match.group(2).splitlines():
            stripped = line.strip()
            if depth == 0:
                field = re.match(r"(\w+)(\??):", stripped)
                if field:
                    fields[field.group(1)] = field.group(2) == "?"
            depth += stripped.count("{") - stripped.count("}")
        out[match.group(1)] = fields
    return out


def test_the_declared_shapes_are_the_documented_ones():
    with open(DOCUMENT, encoding="utf-8") as handle:
        schemas = json.load(handle)["components"]["schemas"]
    declared = declared_interfaces()
    for interface, schema_name in MIRRORS.items():
        schema = schemas[schema_name]
        documented = {name: name not in schema.get("required", []) for name in schema["properties"]}
        assert declared[interface] == documented, f"{interface} vs components/schemas/{schema_name}"
    # Every event type the document defines has its payload declared, and no other.
    documented_events = {s["properties"]["type"]["const"] for name, s in schemas.items()
                         if name.endswith("Event") and "properties" in s and "const" in s["properties"]["type"]}
    assert set(declared["HubEventPayloads"]) == documented_events
