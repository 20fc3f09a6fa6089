import HubCore
import HubCrypto
import HubStore

/// The demo building: the seed's kind of coworking plans and event spaces, priced in naira,
/// plus a super admin with a random password that is printed once.
enum DemoData {
    struct Credentials {
        let email: String
        let password: String
    }

    static let adminEmail = "admin@spacehub.local"
    /// `meta` key set when the demo building was seeded into a database.
    static let seededMetaKey = "demo_seeded_at"

    /// Whether `db` holds the demo: seeded by a demo start or `spacehub demo`, or with the demo
    /// super admin account (databases seeded before the marker existed).
    static func isPresent(_ db: Database) throws -> Bool {
        if try MetaTable.get(seededMetaKey, db) != nil { return true }
        return try AdminTable.find(email: adminEmail, db)?.isActive == true
    }

    static func spaces(now: Int64, zone: Zone) -> [Space] {
        let weekdays = WeeklyHours.weekdays(open: 8 * 60, close: 20 * 60, saturday: .init(open: 9 * 60, close: 17 * 60))
        let extended = WeeklyHours(days: Array(repeating: WeeklyHours.Window(open: 7 * 60, close: 22 * 60), count: 6) + [nil])
        func naira(_ amount: Int64) -> Money { Money(minorUnits: amount * 100, currency: .ngn) }
        var spaces = [
            Space(id: "hot-desk", kind: .coworking, name: "Hot Desk",
                  description: "Any free desk in the open-plan floor, fast Wi-Fi and coffee included.", seats: 40,
                  price: naira(5000), priceUnit: .day, features: ["High-speed Wi-Fi", "Coffee & tea", "Shared printer", "Lockers"],
                  popular: true, hours: extended, zone: zone, minimumMinutes: 60, maximumMinutes: 24 * 60),
            Space(id: "dedicated-desk", kind: .coworking, name: "Dedicated Desk",
                  description: "Your own desk with a lockable drawer, bookable by the week.", seats: 20,
                  price: naira(30000), priceUnit: .week, features: ["Personal desk", "Lockable storage", "Mail handling", "24/7 access"],
                  hours: .always, zone: zone, minimumMinutes: 7 * 24 * 60, maximumMinutes: 8 * 7 * 24 * 60),
            Space(id: "private-office", kind: .coworking, name: "Private Office",
                  description: "A furnished office for teams of up to six, billed monthly.", seats: 6,
                  price: naira(350_000), priceUnit: .month, features: ["Private room", "Meeting room credits", "Branding", "24/7 access"],
                  hours: .always, zone: zone, minimumMinutes: 30 * 24 * 60, maximumMinutes: 12 * 30 * 24 * 60),
            Space(id: "conference-room-a", kind: .event, name: "Conference Room A",
                  description: "Twelve seats around one table, 75-inch screen and video conferencing.", capacity: 12,
                  price: naira(15000), features: ["75\" display", "Video conferencing", "Whiteboard"],
                  images: ["/static/rooms/conference-a.jpg"], hours: weekdays, zone: zone, minimumMinutes: 30,
                  maximumMinutes: 10 * 60, bufferMinutes: 15),
            Space(id: "conference-room-b", kind: .event, name: "Conference Room B",
                  description: "A quiet room for eight with a wall-mounted screen.", capacity: 8, price: naira(10000),
                  features: ["55\" display", "Whiteboard"], images: ["/static/rooms/conference-b.jpg"], hours: weekdays, zone: zone,
                  minimumMinutes: 30, maximumMinutes: 10 * 60, bufferMinutes: 15),
            Space(id: "training-room", kind: .event, name: "Training Room",
                  description: "Classroom layout for thirty with a projector and PA system.", capacity: 30,
                  price: naira(25000), features: ["Projector", "PA system", "Classroom seating"],
                  images: ["/static/rooms/training.jpg"], hours: weekdays, zone: zone, minimumMinutes: 60,
                  maximumMinutes: 10 * 60, bufferMinutes: 30),
            Space(id: "event-hall", kind: .event, name: "Event Hall",
                  description: "Hall for 200 guests: stage, lighting, sound and catering area.", capacity: 200,
                  price: naira(80000), features: ["Stage", "Lighting rig", "Sound system", "Catering area"],
                  images: ["/static/rooms/event-hall.jpg"], hours: extended, zone: zone, minimumMinutes: 120,
                  maximumMinutes: 14 * 60, bufferMinutes: 60),
        ]
        for index in spaces.indices {
            spaces[index].createdAt = now + Int64(index)
            spaces[index].updatedAt = now + Int64(index)
        }
        return spaces
    }

    /// Seeds an empty database. Returns the admin's credentials (to print once), or nil when
    /// the database already had spaces.
    static func seedIfEmpty(_ db: Database, hasher: PasswordHasher, zone: Zone, now: Int64) throws -> Credentials? {
        guard try SpaceTable.count(db) == 0 else { return nil }
        let password = SecureRandom.token(byteCount: 16)
        let hash = try hasher.hash(password)
        let createAdmin = try AdminTable.count(db) == 0
        try db.transaction { () throws(StoreError) in
            for space in spaces(now: now, zone: zone) { try SpaceTable.save(space, db) }
            // Production mode refuses a database that holds the demo (production.allowDemoData).
            try MetaTable.set(Self.seededMetaKey, String(now), db)
            if createAdmin {
                try AdminTable.insert(AdminUser(id: SecureRandom.uuidV7(nowMs: now * 1000), email: adminEmail, passwordHash: hash,
                                                name: "Demo Administrator", role: .superAdmin, createdAt: now, updatedAt: now), db)
            }
        }
        return createAdmin ? Credentials(email: adminEmail, password: password) : nil
    }
}

/// `spacehub demo`: seeds the demo building into the configured database.
public enum DemoSeed {
    /// Seeds the demo spaces (and a super admin when there is none) into an empty database.
    /// Returns the admin's credentials to print once, or nil when nothing was created.
    public static func run(_ database: Database, config: Config, now: Int64) throws -> (email: String, password: String, created: Bool)? {
        let hasher = PasswordHasher(cost: .init(logN: config.auth.passwordCostLog2, blockSize: 8, parallelism: 1))
        let zone = Zone(config.bookings.timeZone) ?? .lagos
        let hadSpaces = try SpaceTable.count(database) > 0
        let credentials = try DemoData.seedIfEmpty(database, hasher: hasher, zone: zone, now: now)
        if hadSpaces { return nil }
        return (credentials?.email ?? "", credentials?.password ?? "", credentials != nil)
    }
}
