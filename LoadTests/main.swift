import ArgumentParser

/// `spacehub-load`: load scenarios and benchmarks for SpaceHub, one subcommand each. Keep this
/// file a list; each scenario lives in its own file with its thresholds.
struct SpaceHubLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spacehub-load",
        abstract: "Load scenarios and benchmarks for SpaceHub.",
        subcommands: [
            IndexBenchmark.self, RebuildBenchmark.self, WebSocketEcho.self, WriterBenchmark.self, HammerBenchmark.self,
            Fanout.self, IdleConnections.self,
        ]
    )
}

SpaceHubLoad.main()
