import ArgumentParser
import HubServer

/// `spacehub demo`: seeds the demo spaces (and a super admin if there is none) into an empty
/// database. `serve` does the same on its first start in demo mode.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Seed demo coworking plans and event spaces into an empty database, then exit.",
        discussion: """
            Migrates the database named by store.path (SPACEHUB_DB) and, when it has no spaces yet, adds the demo \
            building: Hot Desk, Dedicated Desk, Private Office, two conference rooms, a training room and an event \
            hall, priced in NGN, with opening hours. When no admin exists it also creates a super admin and prints \
            its random password once. A database that already has spaces is left alone.
            """
    )

    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let (database, _, lock) = try CommandSupport.openMigrated(loaded)
        defer { lock?.release() }
        let result: (email: String, password: String, created: Bool)?
        do {
            result = try DemoSeed.run(database, config: loaded, now: WallClock.seconds())
        } catch {
            throw CommandSupport.fail("cannot seed the demo data: \(error)")
        }
        guard let result else {
            print("\(loaded.store.location) already has spaces; nothing seeded")
            return
        }
        print("seeded the demo spaces into \(loaded.store.location)")
        if result.created {
            print("Demo super admin created (shown once, store it now):\n  email:    \(result.email)\n  password: \(result.password)")
        }
    }
}
