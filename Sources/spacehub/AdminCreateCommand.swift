import ArgumentParser
import Foundation
import HubCore
import HubCrypto
import HubServer
import HubStore

#if canImport(Glibc)
import Glibc
#endif

/// `spacehub admin create`: adds an administrator. The password never appears on the command
/// line (where `ps` and shell history would keep it): it comes from `SPACEHUB_ADMIN_PASSWORD`,
/// or from standard input (asked twice without echo on a terminal, else its first line).
struct AdminCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an administrator account.",
        discussion: """
            The password is read from the environment variable \(passwordVariable) when set, otherwise \
            from standard input: prompted twice without echo on a terminal, or the first line of piped \
            input. At least \(Validation.passwordBytesMin) characters. It is stored as a scrypt hash at the \
            configured cost (auth.passwordCostLog2). The database is migrated first if needed. \
            Exit code 2 for a bad configuration, 1 for invalid input or an existing email.
            """
    )

    static let passwordVariable = "SPACEHUB_ADMIN_PASSWORD"

    @Option(help: "The administrator's email address (their sign-in name).") var email: String
    @Option(help: "The administrator's display name.") var name: String
    @Option(help: "admin or super_admin.") var role: String = "admin"
    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let email = Validation.normalizedEmail(self.email)
        if let problem = Validation.emailProblem(email) { throw CommandSupport.fail("--email: \(problem)") }
        let name = self.name.trimmedWhitespace
        if let problem = Validation.nameProblem(name, field: "--name") { throw CommandSupport.fail(problem) }
        guard let role = AdminUser.Role(rawValue: self.role) else {
            let roles = AdminUser.Role.allCases.map(\.rawValue).joined(separator: ", ")
            throw CommandSupport.fail("--role must be one of \(roles)")
        }
        let password = try Self.readPassword(for: email)
        if let problem = Validation.passwordProblem(password) { throw CommandSupport.fail(problem) }

        let (database, _, lock) = try CommandSupport.openMigrated(loaded, alongsideHub: true)
        defer { lock?.release() }
        let hasher = PasswordHasher(cost: .init(logN: loaded.auth.passwordCostLog2, blockSize: 8, parallelism: 1))
        let hash: String
        do {
            hash = try hasher.hash(password)
        } catch {
            throw CommandSupport.fail("cannot hash the password: \(error)")
        }
        let now = Int64(Date().timeIntervalSince1970)
        let admin = AdminUser(id: SecureRandom.uuidV7(nowMs: now * 1000), email: email, passwordHash: hash, name: name,
                              role: role, createdAt: now, updatedAt: now)
        do {
            try AdminTable.insert(admin, database)
        } catch let error where error.isUniqueViolation {
            throw CommandSupport.fail("an administrator with email \(email) already exists")
        } catch {
            throw CommandSupport.fail("cannot create the administrator: \(error)")
        }
        print("created \(role.rawValue) \(email) (id \(admin.id))")
    }

    static func readPassword(for email: String) throws -> String {
        if let fromEnvironment = ProcessInfo.processInfo.environment[passwordVariable] { return fromEnvironment }
        if isatty(STDIN_FILENO) == 1 {
            let first = prompt("Password for \(email): ")
            guard prompt("Repeat the password: ") == first else { throw CommandSupport.fail("the passwords differ") }
            return first
        }
        guard let line = readLine(strippingNewline: true) else {
            throw CommandSupport.fail("no password: set \(passwordVariable) or pipe it on standard input")
        }
        return line
    }

    /// Reads a line from the terminal without echo.
    private static func prompt(_ text: String) -> String {
        guard let entered = getpass(text) else { return "" }
        return String(cString: entered)
    }
}
