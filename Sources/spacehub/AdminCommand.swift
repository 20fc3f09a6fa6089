import ArgumentParser

/// `spacehub admin …`: administrator accounts, managed from the machine the hub runs on.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Manage administrator accounts.",
        subcommands: [AdminCreateCommand.self, AdminListCommand.self, AdminSetPasswordCommand.self, AdminDisableCommand.self]
    )
}
