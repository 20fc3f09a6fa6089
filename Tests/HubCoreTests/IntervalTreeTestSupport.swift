/// Calls `body` with every permutation of `elements` (Heap's algorithm, iterative): n! calls.
func forEachPermutation<Element>(of elements: [Element], _ body: ([Element]) throws -> Void) rethrows {
    var items = elements
    var counters = [Int](repeating: 0, count: items.count)
    try body(items)
    var level = 1
    while level < items.count {
        if counters[level] < level {
            items.swapAt(level % 2 == 0 ? 0 : counters[level], level)
            try body(items)
            counters[level] += 1
            level = 1
        } else {
            counters[level] = 0
            level += 1
        }
    }
}

/// Calls `body` with every subset of `elements` (2^n calls), each in the original order.
func forEachSubset<Element>(of elements: [Element], _ body: ([Element]) throws -> Void) rethrows {
    precondition(elements.count < 20, "2^\(elements.count) subsets is too many for a test")
    for mask in 0..<(1 << elements.count) {
        try body(elements.indices.filter { mask & (1 << $0) != 0 }.map { elements[$0] })
    }
}
