import Foundation

/// Input context lengths (tokens) of an evaluation dataset, as mean / std / min / max (docs/REFERENCE.md §5.2).
/// Lengths are drawn from a normal distribution with that mean and std, truncated to [min, max].
public struct Dataset: Sendable, Hashable, Codable {
    public var name: String
    public var mean: Double
    public var std: Double
    public var min: Int
    public var max: Int

    public init(name: String, mean: Double, std: Double, min: Int, max: Int) {
        self.name = name
        self.mean = mean
        self.std = std
        self.min = min
        self.max = max
    }

    public static let presets: [String: Dataset] = [
        "qmsum": Dataset(name: "qmsum", mean: 13_966, std: 6_182, min: 2_651, max: 30_456),
        "musique": Dataset(name: "musique", mean: 16_362, std: 1_651, min: 6_820, max: 17_917),
        "multifieldqa": Dataset(name: "multifieldqa", mean: 60_780, std: 31_025, min: 20_333, max: 119_480),
        "loogle-sd": Dataset(name: "loogle-sd", mean: 50_693, std: 26_506, min: 13_347, max: 109_221),
    ]

    public static var presetNames: [String] { presets.keys.sorted() }

    /// `count` lengths drawn with `generator`: Box–Muller normal samples, rejected until inside [min, max],
    /// rounded to the nearest token. A draw that is rejected 1,000 times in a row (a range the distribution
    /// almost never reaches) is clamped into [min, max], so sampling always ends.
    public func sample(count: Int, using generator: inout SplitMix64) -> [Int] {
        var lengths: [Int] = []
        lengths.reserveCapacity(count)
        var rejected = 0
        while lengths.count < count {
            let u1 = 1.0 - generator.nextUnit()  // (0, 1]: log is finite
            let u2 = generator.nextUnit()
            let z = (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
            let value = (mean + std * z).rounded()
            if value >= Double(min) && value <= Double(max) {
                lengths.append(Int(value))
                rejected = 0
            } else if rejected >= 1000 {
                lengths.append(Swift.min(max, Swift.max(min, Int(value))))
                rejected = 0
            } else {
                rejected += 1
            }
        }
        return lengths
    }
}
