import HubCore

/// Every space and plan, in memory on the loop thread. Loaded at start; admin changes replace
/// entries after their commit.
final class SpaceCatalog {
    private(set) var byID: [String: Space] = [:]
    private(set) var ordered: [String] = []

    init(_ spaces: [Space]) {
        for space in spaces { put(space) }
    }

    subscript(id: String) -> Space? { byID[id] }

    /// Adds or replaces a space. A new one takes its place in the order the store lists them
    /// (`SpaceTable.loadAll`: plans, then event spaces, each by creation), so every hub, and a hub
    /// after a restart, lists the catalogue alike.
    func put(_ space: Space) {
        if byID[space.id] == nil {
            let key = Self.orderKey(space)
            let position = ordered.firstIndex { byID[$0].map { Self.orderKey($0) > key } ?? false } ?? ordered.endIndex
            ordered.insert(space.id, at: position)
        }
        byID[space.id] = space
    }

    private static func orderKey(_ space: Space) -> (Int, Int64, String) {
        (space.kind == .coworking ? 0 : 1, space.createdAt, space.id)
    }

    /// Active spaces of `kind` (all kinds when nil), in creation order.
    func active(_ kind: SpaceKind? = nil) -> [Space] {
        ordered.compactMap { byID[$0] }.filter { $0.isActive && (kind == nil || $0.kind == kind) }
    }

    var all: [Space] { ordered.compactMap { byID[$0] } }
}

@available(*, unavailable) extension SpaceCatalog: Sendable {}
