import ArgumentParser
import Foundation
import HubServer

/// `spacehub config check`: reads the configuration as `serve` would, and prints every key's
/// effective value (secrets masked) or the first problem (exit 2, naming the key).
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.", subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration (file and environment) and print the effective values, secrets masked.",
        discussion: "Exits 0 when `serve` would accept it, 2 naming the key that is wrong."
    )

    @Option(help: "Path of the JSON configuration file (default: config/spacehub.json when present).")
    var config: String?

    func run() throws {
        let loaded = try CommandSupport.loadConfig(path: config)
        let values = ConfigLoader.effectiveValues(loaded)
        let width = values.map(\.path.count).max() ?? 0
        for entry in values {
            let padded = entry.path.padding(toLength: width, withPad: " ", startingAt: 0)
            print("\(padded)  \(entry.value)\(entry.env.map { "  ($\($0))" } ?? "")")
        }
        print("configuration is valid (mode \(loaded.mode.rawValue))")
    }
}
