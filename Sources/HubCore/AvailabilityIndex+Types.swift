// The values AvailabilityIndex takes and returns. Nested so they cannot collide with the booking
// and space types of the rest of HubCore; outcomes are values, never thrown errors (STYLE §4).

extension AvailabilityIndex {
    /// How a resource admits overlapping reservations.
    public enum ResourceKind: Hashable, Sendable {
        /// One reservation at a time (event spaces). A new `[a, b)` conflicts with a held `[s, e)`
        /// when they come closer than `bufferSeconds`: `s < b + buffer && a < e + buffer`. The buffer
        /// is cleaning and changeover time; 0 lets bookings touch.
        case exclusive(bufferSeconds: Int64)
        /// Up to `seats` reservations may overlap at any instant (coworking plans). No buffers.
        case seated(seats: Int)
    }

    /// A reservation the index holds.
    public struct Reservation: Hashable, Sendable {
        public var id: String
        public var resourceID: String
        public var interval: Interval
        /// True from `reserve` until `confirm`: a hold awaiting payment. Tentative reservations
        /// block the slot exactly like confirmed ones; the flag is bookkeeping for the caller.
        public var isTentative: Bool

        public init(id: String, resourceID: String, interval: Interval, isTentative: Bool) {
            self.id = id
            self.resourceID = resourceID
            self.interval = interval
            self.isTentative = isTentative
        }
    }

    /// A held reservation standing in the way of a request.
    public struct Conflict: Hashable, Sendable {
        public var reservationID: String
        /// The reservation's own interval, without buffers.
        public var interval: Interval

        public init(reservationID: String, interval: Interval) {
            self.reservationID = reservationID
            self.interval = interval
        }
    }

    /// Whether an interval could be reserved on a resource now.
    public enum Fit: Hashable, Sendable {
        /// It fits. `seatsLeft` is, for a seat plan, how many seats would stay free over the whole
        /// interval once this reservation takes one (0 = it takes the last seat); nil for exclusive.
        case fits(seatsLeft: Int?)
        /// It does not fit. Exclusive: every reservation closer than the buffer, in start order.
        /// Seated: every reservation overlapping the interval, in start order; the seats left over
        /// the interval are 0 (by definition of the conflict).
        case conflict([Conflict])
        /// No resource has this id.
        case unknownResource
    }

    /// Outcome of `reserve`.
    public enum ReserveResult: Hashable, Sendable {
        /// Reserved (tentatively unless asked otherwise). `seatsLeft` as in `Fit.fits`.
        case reserved(seatsLeft: Int?)
        /// Nothing changed; see `Fit.conflict`.
        case conflict([Conflict])
        /// Nothing changed: no resource has this id.
        case unknownResource
        /// Nothing changed: a reservation with this id is already held (on any resource).
        case duplicateReservation
    }

    /// Outcome of `move`.
    public enum MoveResult: Hashable, Sendable {
        /// The reservation now holds the new interval. `seatsLeft` as in `Fit.fits`.
        case moved(seatsLeft: Int?)
        /// Nothing changed: the reservation keeps its old interval. See `Fit.conflict`; the
        /// reservation being moved never conflicts with itself.
        case conflict([Conflict])
        /// No reservation has this id.
        case unknownReservation
    }
}
