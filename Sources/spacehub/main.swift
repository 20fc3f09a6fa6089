import ArgumentParser
import Foundation
import HubServer
import Logging

// Top-level code rather than `@main`: the subcommands live in files of their own, and a module
// with a main.swift cannot also use `@main`.
SpaceHubCommand.main()

struct SpaceHubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spacehub",
        abstract: "SpaceHub: a real-time WebSocket availability and booking hub.",
        version: Hub.version,
        subcommands: [Serve.self, MigrateCommand.self, AdminCommand.self, DemoCommand.self, ConfigCommand.self, BackupCommand.self,
                      RestoreCommand.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start the hub: REST API, WebSocket hub and dashboard on one port.",
        discussion: """
            Reads config/spacehub.json (or --config), then environment variables (HOST, PORT, SPACEHUB_DB, \
            JWT_SECRET, …; see config/README.md). On an empty database in demo mode it seeds demo spaces \
            and prints a generated admin password once. SIGINT/SIGTERM shut down gracefully.
            """
    )

    @Option(help: "Path of the JSON configuration file.") var config: String?
    @Option(help: "Address to listen on (overrides the file and HOST).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (overrides the file and PORT).") var port: Int?

    func run() throws {
        var loaded: Config
        do {
            loaded = try ConfigLoader.load(path: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("spacehub: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if let host { loaded.server.host = host }
        if let port { loaded.server.port = port }
        let output: LogOutput
        do {
            output = try LogOutput(path: loaded.log.file, level: Logger.Level(rawValue: loaded.log.level) ?? .info,
                                   format: LogFormat(rawValue: loaded.log.format) ?? .text)
        } catch {
            FileHandle.standardError.write(Data("spacehub: configuration error: log.file (LOG_FILE): \(error)\n".utf8))
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in output.handler(label: label) }
        let logger = Logger(label: "spacehub")
        let hub = Hub(config: loaded, logger: logger, logOutput: output)
        let path = config, host = self.host, port = self.port
        hub.reloadConfig = {
            var fresh = try ConfigLoader.load(path: path, environment: ProcessInfo.processInfo.environment)
            if let host { fresh.server.host = host }
            if let port { fresh.server.port = port }
            return fresh
        }
        do {
            try hub.start()
        } catch let error as ConfigError {
            // A refusal about the configuration (production mode's rails): exit 2, as for a bad key.
            FileHandle.standardError.write(Data("spacehub: \(error)\n".utf8))
            throw ExitCode(2)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        if let admin = hub.demoAdmin {
            // Printed once: the password is stored only as a hash.
            FileHandle.standardOutput.write(Data("""
                Demo super admin created (shown once, store it now):
                  email:    \(admin.email)
                  password: \(admin.password)

                """.utf8))
        }
        if let metrics = hub.metricsURL { FileHandle.standardOutput.write(Data("Metrics on \(metrics)\n".utf8)) }
        let url = hub.publicURL
        FileHandle.standardOutput.write(Data("SpaceHub listening on \(url)\n".utf8))
        hub.run()
        if hub.exitStatus != 0 { throw ExitCode(hub.exitStatus) }
    }
}
