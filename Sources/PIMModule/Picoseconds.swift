/// Simulated time and durations: integer picoseconds. Never accumulated as floating point.
public typealias Picoseconds = Int64

public enum Time {
    public static let picosecondsPerSecond: Double = 1e12

    /// A duration in seconds, rounded to the nearest picosecond (one rounding per computed duration, so the
    /// error stays below 0.5 ps per operation and never accumulates).
    public static func picoseconds(seconds: Double) -> Picoseconds {
        precondition(seconds.isFinite && seconds >= 0, "durations are finite and non-negative")
        return Picoseconds((seconds * picosecondsPerSecond).rounded())
    }

    /// Time to move `bytes` at `bytesPerSecond`, rounded to the nearest picosecond.
    public static func transfer(bytes: Int64, bytesPerSecond: Double) -> Picoseconds {
        bytes <= 0 ? 0 : picoseconds(seconds: Double(bytes) / bytesPerSecond)
    }

    public static func seconds(_ ps: Picoseconds) -> Double { Double(ps) / picosecondsPerSecond }
}
