import HubCore
import HubCrypto
import HubHTTP
import HubStore

/// The ICS feeds: a member's secret-token feed of their bookings and a space's public busy times.
/// Reads run on the threadpool (`submit`).
extension CalendarSync {
    enum FeedResult: Sendable {
        case calendar([UInt8])
        case notFound
        case failed
    }

    /// Creates or replaces the member's secret feed token; the old URL stops working.
    func rotateFeed(userID: String, completion: @escaping (Result<String, APIError>) -> Void) {
        let token = SecureRandom.token()
        let hash = Self.feedHash(token)
        let now = clock.seconds
        storage.write({ db in try CalendarFeedTable.setTokenHash(userID: userID, hash: hash, at: now, db) }) { result in
            switch result {
            case .success(true): completion(.success(token))
            case .success(false): completion(.failure(.notFound("user")))
            case .failure: completion(.failure(.unavailable("store_unavailable", "could not save the feed; retry")))
            }
        }
    }

    func revokeFeed(userID: String, completion: @escaping (Result<Void, APIError>) -> Void) {
        let now = clock.seconds
        storage.write({ db in try CalendarFeedTable.setTokenHash(userID: userID, hash: nil, at: now, db) }) { result in
            switch result {
            case .success: completion(.success(()))
            case .failure: completion(.failure(.unavailable("store_unavailable", "could not revoke the feed; retry")))
            }
        }
    }

    static func feedHash(_ token: String) -> String { Hex.encode(SHA256.hash(Array(token.utf8))) }

    /// The ICS of the member whose feed token is `token` (not found when none is).
    func memberFeed(token: String, completion: @escaping (FeedResult) -> Void) {
        let hash = Self.feedHash(token)
        let reads = self.reads
        let past = pastSeconds
        let now = clock.seconds
        submit({ () -> FeedResult in
            do {
                return try reads.read { db -> FeedResult in
                    guard let user = try CalendarFeedTable.user(tokenHash: hash, db) else { return .notFound }
                    let bookings = try BookingTable.forUser(user.id, limit: Self.feedEventsMax, db)
                        .filter { $0.range.end >= now - past }
                        .sorted { ($0.range.start, $0.id) < ($1.range.start, $1.id) }
                    return .calendar(ICSFeed.calendar(name: "\(user.firstName)'s bookings", bookings: bookings, audience: .member))
                }
            } catch {
                return .failed
            }
        }, completion: completion)
    }

    /// A space's busy times, without member details.
    func spaceFeed(_ space: Space, completion: @escaping (FeedResult) -> Void) {
        let reads = self.reads
        let past = pastSeconds
        let spaceID = space.id
        let name = "\(space.name) bookings"
        let now = clock.seconds
        submit({ () -> FeedResult in
            do {
                return try reads.read { db -> FeedResult in
                    let bookings = try BookingTable.forSpace(spaceID, from: now - past, to: now + Self.spaceFeedFutureSeconds, db)
                        .prefix(Self.feedEventsMax)
                    return .calendar(ICSFeed.calendar(name: name, bookings: Array(bookings), audience: .publicBusy))
                }
            } catch {
                return .failed
            }
        }, completion: completion)
    }
}
