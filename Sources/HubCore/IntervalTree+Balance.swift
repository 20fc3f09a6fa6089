// AVL insertion and deletion over the node array, with the max-end augmentation kept current.
//
// AVL rather than red-black: lookups dominate (every booking request checks before it inserts) and
// AVL trees are shallower (1.44 log2 n against 2 log2 n), and the recursive form below stays short.
// Every function that changes a node's children calls `update` on it before returning, bottom-up, so
// `height` and `maxEnd` are correct on every path the mutation touched and untouched elsewhere.

extension IntervalTree {
    // MARK: Node slots

    /// Takes a slot from the free list, or appends one, and fills it as a leaf.
    mutating func allocate(_ interval: Interval, id: Int) -> Int32 {
        let leaf = Node(
            start: interval.start, end: interval.end, maxEnd: interval.end, id: id,
            left: Self.none, right: Self.none, height: 1)
        if freeHead != Self.none {
            let index = freeHead
            freeHead = nodes[Int(index)].left
            nodes[Int(index)] = leaf
            return index
        }
        precondition(nodes.count < Self.countMax, "IntervalTree holds at most \(Self.countMax) intervals")
        nodes.append(leaf)
        return Int32(nodes.count - 1)
    }

    /// Returns a detached slot to the free list.
    mutating func free(_ index: Int32) {
        nodes[Int(index)].height = 0
        nodes[Int(index)].right = Self.none
        nodes[Int(index)].left = freeHead
        freeHead = index
    }

    // MARK: Augmentation and rotations

    @inline(__always)
    func height(_ index: Int32) -> Int8 {
        index == Self.none ? 0 : nodes[Int(index)].height
    }

    @inline(__always)
    func maxEnd(_ index: Int32) -> Int64 {
        index == Self.none ? .min : nodes[Int(index)].maxEnd
    }

    /// Recomputes `height` and `maxEnd` of `index` from its children, which must be current.
    @inline(__always)
    mutating func update(_ index: Int32) {
        let node = nodes[Int(index)]
        nodes[Int(index)].height = max(height(node.left), height(node.right)) + 1
        nodes[Int(index)].maxEnd = max(node.end, max(maxEnd(node.left), maxEnd(node.right)))
    }

    /// Left child becomes the subtree root; returns it.
    private mutating func rotateRight(_ index: Int32) -> Int32 {
        let pivot = nodes[Int(index)].left
        nodes[Int(index)].left = nodes[Int(pivot)].right
        nodes[Int(pivot)].right = index
        update(index)
        update(pivot)
        return pivot
    }

    /// Right child becomes the subtree root; returns it.
    private mutating func rotateLeft(_ index: Int32) -> Int32 {
        let pivot = nodes[Int(index)].right
        nodes[Int(index)].right = nodes[Int(pivot)].left
        nodes[Int(pivot)].left = index
        update(index)
        update(pivot)
        return pivot
    }

    /// Restores the AVL bound at `index`, whose subtrees are balanced and differ in height by at
    /// most two, and refreshes its augmentation; returns the subtree's new root.
    mutating func rebalance(_ index: Int32) -> Int32 {
        let left = nodes[Int(index)].left
        let right = nodes[Int(index)].right
        let balance = Int(height(left)) - Int(height(right))
        if balance > 1 {
            if height(nodes[Int(left)].left) < height(nodes[Int(left)].right) {
                nodes[Int(index)].left = rotateLeft(left)  // left-right case
            }
            return rotateRight(index)
        }
        if balance < -1 {
            if height(nodes[Int(right)].right) < height(nodes[Int(right)].left) {
                nodes[Int(index)].right = rotateRight(right)  // right-left case
            }
            return rotateLeft(index)
        }
        update(index)
        return index
    }

    // MARK: Insert and remove

    /// Links the leaf `new` into the subtree at `index`; returns the subtree's new root.
    mutating func insert(_ new: Int32, into index: Int32) -> Int32 {
        guard index != Self.none else { return new }
        let key = nodes[Int(new)]
        let node = nodes[Int(index)]
        if Self.precedes(key.start, key.id, node.start, node.id) {
            let child = insert(new, into: node.left)
            nodes[Int(index)].left = child
        } else {
            precondition(
                Self.precedes(node.start, node.id, key.start, key.id),
                "IntervalTree already holds start \(key.start) with id \(key.id)")
            let child = insert(new, into: node.right)
            nodes[Int(index)].right = child
        }
        return rebalance(index)
    }

    /// Unlinks and frees the node keyed `(start, id)` if its end is `end`; returns the subtree's new
    /// root and sets `removed`.
    mutating func remove(start: Int64, id: Int, end: Int64, from index: Int32, removed: inout Bool) -> Int32 {
        guard index != Self.none else { return Self.none }
        let node = nodes[Int(index)]
        if Self.precedes(start, id, node.start, node.id) {
            let child = remove(start: start, id: id, end: end, from: node.left, removed: &removed)
            guard removed else { return index }  // nothing changed below: skip the rebalance walk
            nodes[Int(index)].left = child
            return rebalance(index)
        }
        if Self.precedes(node.start, node.id, start, id) {
            let child = remove(start: start, id: id, end: end, from: node.right, removed: &removed)
            guard removed else { return index }
            nodes[Int(index)].right = child
            return rebalance(index)
        }
        guard node.end == end else { return index }  // same key, different interval: not ours
        removed = true
        let replacement: Int32
        if node.left == Self.none {
            replacement = node.right
        } else if node.right == Self.none {
            replacement = node.left
        } else {
            // Two children: the in-order successor (leftmost of the right subtree) takes this
            // node's place. Relinking it keeps every other node at its index.
            var successor = Self.none
            let right = detachMinimum(from: node.right, minimum: &successor)
            nodes[Int(successor)].left = node.left
            nodes[Int(successor)].right = right
            replacement = rebalance(successor)
        }
        free(index)
        return replacement
    }

    /// Unlinks the leftmost node of the subtree at `index` into `minimum`; returns the new root.
    private mutating func detachMinimum(from index: Int32, minimum: inout Int32) -> Int32 {
        let left = nodes[Int(index)].left
        guard left != Self.none else {
            minimum = index
            return nodes[Int(index)].right
        }
        let child = detachMinimum(from: left, minimum: &minimum)
        nodes[Int(index)].left = child
        return rebalance(index)
    }
}
