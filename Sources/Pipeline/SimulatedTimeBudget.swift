import Foundation
import PIMModule

/// Whether a run's simulated time fits lolpim's clock. Simulated time is integer picoseconds in 64 bits
/// (about 106 days); the run may span a quarter of that (`limitPs`, about 26.7 days) so that every sum the
/// pipeline forms stays representable.
///
/// At load time, a generous estimate of the run's span is formed: the last arrival, plus 64 times the time
/// to stream, at peak bandwidth, every byte the run moves (each decode round reads each stage's weights and
/// its batch's KV cache; every activation and collective crosses its link; every prompt's KV crosses the host
/// link). The factor 64 covers kernels far below peak. A run whose estimate exceeds the budget is refused with
/// the field that dominates it. While running, the coordinator also stops with an error (never a trap) if the
/// simulated clock passes the budget (`check`, `SimulatedTimeLimitExceeded`).
public struct SimulatedTimeBudget: Sendable {
    /// The budget, picoseconds.
    public static let limitPs: Picoseconds = Int64.max / 4

    /// The factor between the peak-bandwidth estimate and the span a run may really take.
    public static let slack: Double = 64

    /// The estimate's parts in seconds, each with the field a user would change to shrink it.
    public var parts: [(field: String, seconds: Double)]

    public var estimateSeconds: Double { parts.reduce(0) { $0 + $1.seconds } }

    public init(plan: PipelinePlan) {
        let t = plan.topology
        let w = t.workload
        let batch = Double(min(w.batchSize, max(1, plan.requests.count)))
        let rounds = (Double(plan.requests.count) / batch).rounded(.up)
        let longestOutput = Double(plan.requests.map(\.outputTokens).max() ?? 0)
        let longestTokens = Double(plan.requests.map(\.finalTokens).max() ?? 0)
        let module = t.cluster.module
        let internalBandwidth = min(
            module.npu?.bandwidth(channels: module.channels, tCKps: module.tCKps) ?? .infinity,
            module.peakInternalBandwidth)
        let stageBytes = plan.stages.map { s in
            Double(s.memory.weightBytes) + batch * longestTokens * Double(s.memory.kvBytesPerToken)
        }
        let decode = rounds * longestOutput * stageBytes.reduce(0, +) / internalBandwidth
        let activation = batch * Double(t.model.activationBytesPerRequest)
        let hops = Double(plan.stages.count + 1)
        let links =
            rounds * longestOutput * hops
            * (activation / t.links.module.bytesPerSecond
                + Time.seconds(
                    max(
                        t.links.module.latencyPs,
                        t.links.host.latencyPs)))
        let collectives =
            t.parallelism.tp > 1
            ? rounds * longestOutput * Double(t.model.layers) * 2
                * (activation / t.links.tp.bytesPerSecond + Time.seconds(t.links.tp.latencyPs)) : 0
        let prompts = plan.requests.reduce(0.0) { $0 + Double($1.promptTokens) }
        let prefill =
            w.prefillKVTransfer
            ? prompts * Double(plan.stages.map(\.memory.kvBytesPerToken).max() ?? 0) / t.links.host.bytesPerSecond : 0
        let host =
            rounds * longestOutput * Double(plan.stages.count)
            * Time.seconds(t.host.stepOverheadPs + t.host.perRequestPs * Int64(batch))
        let interventions =
            Double(plan.requests.count)
            * (2 + longestTokens
                * Double(
                    plan.stages.first?.memory
                        .kvBytesPerToken ?? 0) / Double(w.chunkBytes)) * Double(plan.workers)
            * Time.seconds(w.hostInterventionPs)
        let slack = Self.slack
        parts = [
            ("workload.arrival", Time.seconds(plan.requests.map(\.arrivalPs).max() ?? 0)),
            ("cluster.internal_bandwidth_gbps", slack * decode),
            ("links.module.bandwidth_gbps", slack * links),
            ("links.tp.bandwidth_gbps", slack * collectives),
            ("links.host.bandwidth_gbps", slack * prefill),
            ("host.step_overhead_ns", slack * host),
            ("workload.host_intervention_ns", slack * interventions),
        ]
    }

    /// The field that dominates the estimate and a sentence saying why the run is refused, or nil when the
    /// estimate fits the budget.
    public var problem: (field: String, message: String)? {
        let limit = Time.seconds(Self.limitPs)
        let total = estimateSeconds
        guard !(total <= limit), let worst = parts.max(by: { !($0.seconds >= $1.seconds) }) else { return nil }
        return (
            worst.field,
            "the run could span about \(Self.days(total)) of simulated time, more than the "
                + "\(Self.days(limit)) lolpim's clock allows (64-bit picoseconds); \(worst.field) contributes most. "
                + "Use fewer requests or output tokens, or faster links or modules"
        )
    }

    /// Throws when `now` has passed the budget: the run stops with this error, never a trap.
    public static func check(_ now: Picoseconds) throws(SimulatedTimeLimitExceeded) {
        guard now > limitPs else { return }
        throw SimulatedTimeLimitExceeded(
            description: "the simulated clock passed \(days(Time.seconds(now))) "
                + "(the most 64-bit picoseconds safely hold); use fewer requests or output tokens")
    }

    static func days(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "unbounded time" }
        return seconds >= 86_400 ? String(format: "%.3g days", seconds / 86_400) : String(format: "%.3g s", seconds)
    }
}

/// The simulated clock passed `SimulatedTimeBudget.limitPs`; the message says what to change.
public struct SimulatedTimeLimitExceeded: Error, CustomStringConvertible, Sendable {
    public let description: String
}
