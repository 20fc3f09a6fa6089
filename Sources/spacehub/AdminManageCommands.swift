import ArgumentParser
import Foundation
import HubCore
import HubCrypto
import HubServer
import HubStore

/// `spacehub admin list`: every administrator, with role, state and last sign-in.
struct AdminListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List administrator accounts.")

    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let (database, _, lock) = try CommandSupport.openMigrated(loaded, alongsideHub: true)
        defer { lock?.release() }
        let admins: [AdminUser]
        do {
            admins = try AdminTable.all(database)
        } catch {
            throw CommandSupport.fail("cannot read the administrators: \(error)")
        }
        print("email\trole\tstate\tlast sign-in\tname")
        for admin in admins {
            let last = admin.lastLogin.map { UTC.iso8601($0) } ?? "never"
            print("\(admin.email)\t\(admin.role.rawValue)\t\(admin.isActive ? "active" : "disabled")\t\(last)\t\(admin.name)")
        }
    }
}

/// `spacehub admin set-password --email E`: a new password (standard input or
/// `SPACEHUB_ADMIN_PASSWORD`); every session of the administrator ends.
struct AdminSetPasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-password",
        abstract: "Set an administrator's password and end their sessions.",
        discussion: """
            The password comes from \(AdminCreateCommand.passwordVariable), or is asked for (twice) on a terminal, or \
            is read from standard input. Refresh tokens are revoked at once; a running hub ends the access tokens \
            and live connections on its next SIGHUP (systemctl reload), else within auth.accessTokenTtl.
            """
    )

    @Option(help: "The administrator's email address.") var email: String
    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let email = Validation.normalizedEmail(self.email)
        let password = try AdminCreateCommand.readPassword(for: email)
        if let problem = Validation.passwordProblem(password) { throw CommandSupport.fail(problem) }
        let (database, _, lock) = try CommandSupport.openMigrated(loaded, alongsideHub: true)
        defer { lock?.release() }
        let admin = try CommandSupport.findAdmin(email, database)
        let hasher = PasswordHasher(cost: .init(logN: loaded.auth.passwordCostLog2, blockSize: 8, parallelism: 1))
        let now = Int64(Date().timeIntervalSince1970)
        do {
            let hash = try hasher.hash(password)
            try database.transaction { () throws(StoreError) in
                try AdminTable.updatePassword(admin.id, hash: hash, at: now, database)
                try TokenTable.revokeSubject(admin.id, at: now, database)
            }
        } catch {
            throw CommandSupport.fail("cannot set the password: \(error)")
        }
        print("password of \(email) changed; their sessions are revoked (reload a running hub to end them at once)")
    }
}

/// `spacehub admin disable --email E` (or `--enable`): an administrator who may no longer sign in.
struct AdminDisableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable an administrator (or enable one again with --enable) and end their sessions."
    )

    @Option(help: "The administrator's email address.") var email: String
    @Flag(help: "Enable the account again instead.") var enable = false
    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let email = Validation.normalizedEmail(self.email)
        let (database, _, lock) = try CommandSupport.openMigrated(loaded, alongsideHub: true)
        defer { lock?.release() }
        let admin = try CommandSupport.findAdmin(email, database)
        if !enable, admin.role == .superAdmin, admin.isActive {
            let others = ((try? AdminTable.all(database)) ?? []).filter { $0.role == .superAdmin && $0.isActive && $0.id != admin.id }
            guard !others.isEmpty else {
                throw CommandSupport.fail("\(email) is the last active super admin; create or enable another one first")
            }
        }
        let now = Int64(Date().timeIntervalSince1970)
        do {
            try database.transaction { () throws(StoreError) in
                try AdminTable.setActive(admin.id, enable, at: now, database)
                if !enable { try TokenTable.revokeSubject(admin.id, at: now, database) }
            }
        } catch {
            throw CommandSupport.fail("cannot change the administrator: \(error)")
        }
        print(enable ? "\(email) enabled" : "\(email) disabled; their sessions are revoked (reload a running hub to end them at once)")
    }
}
