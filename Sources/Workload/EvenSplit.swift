/// `total` items (layers, requests, tokens, rows, ranks) shared out over `parts` consecutive parts whose sizes
/// differ by at most one, the larger parts first: part i gets total / parts, plus one while i < total % parts.
public enum EvenSplit {
    /// The size of every part; empty when there are no parts.
    public static func sizes(_ total: Int, parts: Int) -> [Int] {
        guard parts > 0 else { return [] }
        return (0..<parts).map { share(total, parts: parts, index: $0) }
    }

    /// The size of part `index` (0 ..< parts; parts > 0).
    @inlinable
    public static func share(_ total: Int, parts: Int, index: Int) -> Int {
        total / parts + (index < total % parts ? 1 : 0)
    }
}
