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

    func put(_ space: Space) {
        if byID[space.id] == nil { ordered.append(space.id) }
        byID[space.id] = space
    }

    /// Active spaces of `kind` (all kinds when nil), in creation order.
    func active(_ kind: SpaceKind? = nil) -> [Space] {
        ordered.compactMap { byID[$0] }.filter { $0.isActive && (kind == nil || $0.kind == kind) }
    }

    var all: [Space] { ordered.compactMap { byID[$0] } }
}

@available(*, unavailable) extension SpaceCatalog: Sendable {}
