/// The figures the LoL-PIM paper publishes (arXiv 2412.20166: the abstract of v1, the text of v3, which is
/// titled "PIMphony"), each with where it is stated. `lolpim paper` marks them on its charts and sets its own
/// values beside them; none of them is an input to the model (docs/VALIDATION.md §6).
public struct PublishedFigure: Sendable {
    /// What is compared, in words.
    public var claim: String
    /// The published value or range (low == high for a single value); fractions for utilisations.
    public var low: Double
    public var high: Double
    /// "up to" figures are maxima over the paper's configurations, not a value for each one.
    public var isMaximum: Bool
    public var source: String
}

public enum PublishedFigures {
    public static let overMultiGPU = PublishedFigure(
        claim: "LoL-PIM over multi-GPU, throughput", low: 8.54, high: 8.54, isMaximum: true,
        source: "arXiv 2412.20166 v1, abstract")
    public static let overGPUPIM = PublishedFigure(
        claim: "LoL-PIM over GPU-PIM (AttAcc), throughput", low: 16.0, high: 16.0, isMaximum: true,
        source: "arXiv 2412.20166 v1, abstract")
    public static let overCENTNonGQA = PublishedFigure(
        claim: "LoL-PIM over CENT, LLM-7B/72B-32K on LongBench (PIM-only)", low: 2.1, high: 4.5, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let overCENTGQA = PublishedFigure(
        claim: "LoL-PIM over CENT, GQA models (PIM-only)", low: 11.3, high: 11.3, isMaximum: true,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let overNeuPIMs = PublishedFigure(
        claim: "LoL-PIM over NeuPIMs (xPU+PIM)", low: 8.4, high: 8.4, isMaximum: true,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let attentionSpeedup = PublishedFigure(
        claim: "attention time, CENT-like over LoL-PIM", low: 19, high: 19, isMaximum: true,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let kvStatic = PublishedFigure(
        claim: "KV capacity utilisation with static allocation", low: 0.310, high: 0.405, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let kvDPA = PublishedFigure(
        claim: "KV capacity utilisation with DPA (mean over datasets)", low: 0.756, high: 0.756, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let dcsOverPingPong = PublishedFigure(
        claim: "MAC utilisation, DCS over ping-pong buffering", low: 1.4, high: 1.4, isMaximum: true,
        source: "arXiv 2412.20166 v3 (PIMphony), evaluation")
    public static let millionOverCENT = PublishedFigure(
        claim: "LoL-PIM over CENT at 1M-token contexts on 512 GB", low: 46.6, high: 46.6, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), scalability")
    public static let millionOverNeuPIMs = PublishedFigure(
        claim: "LoL-PIM over NeuPIMs at 1M-token contexts on 512 GB", low: 5.0, high: 5.0, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), scalability")
    public static let millionCENTUtilisation = PublishedFigure(
        claim: "CENT's utilisation at 1M-token contexts", low: 0.02, high: 0.02, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), scalability")
    public static let shortOverCENT = PublishedFigure(
        claim: "LoL-PIM over CENT at 256-token contexts", low: 2.1, high: 2.1, isMaximum: false,
        source: "arXiv 2412.20166 v3 (PIMphony), scalability")
}
