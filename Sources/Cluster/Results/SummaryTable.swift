import Foundation
import PIMModule
import Pipeline

/// The human summary printed at the end of a run. Every figure carries its unit.
public enum SummaryTable {
    public static func render(_ r: RunResults, resultsPath: String?) -> String {
        let t = r.topology, s = r.simulated, w = r.wallclock
        var out: [String] = []
        out.append(
            "lolpim · \(t.name) · \(t.model) on \(t.modules) × \(t.modulePreset) "
                + "(\(t.channelsPerModule) channels) · \(t.fidelity) · \(t.requests) requests, "
                + "batch ≤ \(t.batchSize) in \(t.microBatches) micro-batches"
        )
        out.append(
            "context: \(t.context) · output tokens \(t.outputTokens) · arrival \(t.arrival) · "
                + "\(t.batching) batching · \(t.allocation) KV allocation · seed \(t.seed)")
        if !r.complete { out.append("INCOMPLETE RUN: \(r.error ?? "stopped early") — figures cover what finished") }
        out.append("")
        let lat = s.tokenLatency
        func share(_ joules: Double) -> Double { s.energy.totalJ > 0 ? joules / s.energy.totalJ * 100 : 0 }
        let rows: [(String, String)] = [
            ("throughput", String(format: "%.1f tokens/s", s.throughputTokensPerS)),
            ("generated", "\(s.generatedTokens) tokens in \(ms(s.makespanPs)) simulated"),
            (
                "token latency",
                "mean \(ms(lat.meanPs)) · p50 \(ms(lat.p50Ps)) · p99 \(ms(lat.p99Ps)) · max \(ms(lat.maxPs))"
            ),
            ("pipeline bubble", pct(s.pipelineBubbleFraction)),
            (
                "effective batch",
                String(
                    format: "mean %.2f · peak %d requests (%d admitted, %d finished, up to %d queued)",
                    s.requests.meanEffectiveBatch, s.requests.peakEffectiveBatch, s.requests.admitted,
                    s.requests.finished, s.requests.maxQueued)
            ),
            (
                "per request",
                "time per output token p50 \(ms(s.requests.timePerOutputToken.p50Ps)) · "
                    + "end-to-end decode p50 \(ms(s.requests.endToEndDecode.p50Ps)), "
                    + "p99 \(ms(s.requests.endToEndDecode.p99Ps))"
            ),
            (
                "KV capacity",
                "mean \(pct(s.kv.meanUsedFraction)) holding tokens, \(pct(s.kv.meanAllocatedFraction)) "
                    + "reserved (peaks \(pct(s.kv.peakUsedFraction)) / \(pct(s.kv.peakAllocatedFraction)))"
            ),
            (
                "allocation",
                "\(s.allocation.scheme): "
                    + AllocationEventKind.allCases.map { "\($0.rawValue) \(s.allocation.events[$0.rawValue] ?? 0)" }
                    .joined(separator: " · ") + " · host \(ms(s.allocation.hostInterventionPs))"
            ),
            ("memory used", "peak \(pct(s.capacity.usedFraction)) of \(Units.gib(s.capacity.totalBytes))"),
            ("host busy", ms(s.host.busyPs)),
            (
                "energy",
                String(
                    format: "%.3f J · %.2f mJ/token (MAC %.0f %%, I/O %.0f %%, activation %.0f %%, "
                        + "refresh %.0f %%, background %.0f %%, HUB %.0f %%)", s.energy.totalJ,
                    s.energyPerTokenJ * 1000, share(s.energy.macJ), share(s.energy.ioJ),
                    share(s.energy.activationJ), share(s.energy.refreshJ), share(s.energy.backgroundJ),
                    share(s.energy.hubJ))
            ),
        ]
        for (label, value) in rows + networkRows(s) {
            out.append("  " + label.padding(toLength: 17, withPad: " ", startingAt: 0) + value)
        }
        if !s.stages.isEmpty {
            out.append("")
            // With tensor parallelism a row is one module, "stage.member", with its collective wait.
            let tp = s.stages.contains { $0.tpMember > 0 }
            out.append(
                " stage  layers    busy ms  util %  in-link ms  out-link ms  DRAM BW %  MAC %  peak memory GiB (%)"
                    + (tp ? "  TP wait ms" : ""))
            for st in s.stages {
                let layers = "\(st.firstLayer)–\(st.firstLayer + st.layers - 1)\(st.lmHead ? "+H" : "")"
                let memory = String(
                    format: "%.2f (%.0f %%)",
                    Double(st.memory.weightBytes + st.memory.peakKvAllocatedBytes) / 1_073_741_824,
                    st.memory.peakUsedFraction * 100)
                let stage = tp ? "\(st.stage).\(st.tpMember)" : "\(st.stage)"
                var row = String(
                    format: " %@  %@ %8.3f  %6.1f  %10.4f  %11.4f  %9.1f  %5.1f  %@",
                    stage.leftPadding(5), layers.padding(toLength: 8, withPad: " ", startingAt: 0),
                    Time.seconds(st.busyPs) * 1000, st.utilisationFraction * 100,
                    Time.seconds(st.ingressBusyPs) * 1000, Time.seconds(st.egressBusyPs) * 1000,
                    st.internalBandwidthFraction * 100, st.macUtilisationFraction * 100, memory)
                if tp { row += String(format: "  %10.4f", Time.seconds(st.collectiveWaitPs) * 1000) }
                out.append(row)
            }
            let busiest = Dictionary(grouping: s.stages.flatMap { $0.opTimePs }, by: \.key)
                .mapValues { $0.reduce(0) { $0 + $1.value } }
            let total = Double(busiest.values.reduce(0, +))
            let shares = busiest.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(5)
                .map { "\($0.key) \(pct(Double($0.value) / max(total, 1)))" }
            out.append("  compute by op: " + shares.joined(separator: " · "))
        }
        out.append("")
        out.append(
            String(
                format: "wall clock: %.2f s (setup %.2f s) · %d workers over %@ · %lld messages · %@ · "
                    + "data message latency p50 %.0f µs, p99 %.0f µs",
                w.runSeconds, w.setupSeconds, w.workers, w.transport, w.messagesSent,
                bytes(w.bytesSent), w.dataMessageLatency.p50Us, w.dataMessageLatency.p99Us))
        let lookups = w.kernelStoreHits + w.kernelStoreMisses
        let answered =
            lookups == 0
            ? ""
            : String(format: " (%.0f %% answered)", Double(w.kernelStoreHits) / Double(lookups) * 100)
        out.append(
            String(
                format: "simulator speed: %.0f simulated tokens per wall second · %.0f stage visits "
                    + "per wall second · kernel store %lld hits, %lld misses", w.simulatedTokensPerWallSecond,
                w.stageVisitsPerWallSecond, w.kernelStoreHits, w.kernelStoreMisses) + answered)
        if let resultsPath { out.append("results: \(resultsPath)") }
        if r.complete { out += nextSteps(r, resultsPath: resultsPath) }
        return out.joined(separator: "\n")
    }

    /// Two lines on what to try next: what this run's figures point at, then the studies around it.
    static func nextSteps(_ r: RunResults, resultsPath: String?) -> [String] {
        let s = r.simulated, file = r.topology.file
        let utilisation = s.stages.map(\.utilisationFraction)
        let spread = (utilisation.max() ?? 0) - (utilisation.min() ?? 0)
        let first: String
        if s.pipelineBubbleFraction > 0.1 && spread > 0.1 {
            first =
                "the bubble (\(pct(s.pipelineBubbleFraction))) is mostly uneven stages ("
                + "\(pct(utilisation.min() ?? 0)) to \(pct(utilisation.max() ?? 0)) busy): see lolpim plan \(file)"
        } else if s.pipelineBubbleFraction > 0.1 {
            first =
                "the pipeline idles \(pct(s.pipelineBubbleFraction)): try more parallelism.micro_batches, or see "
                + "lolpim plan \(file)"
        } else if r.topology.allocation == "static" {
            first =
                "static allocation fills \(pct(s.kv.meanUsedFraction)) of the KV capacity: try "
                + "workload.allocation: dpa"
        } else {
            first = "lolpim report \(resultsPath ?? "results.json") draws this run; --trace FILE records a timeline"
        }
        return [
            "next: " + first,
            "next: lolpim compare \(file) (against CENT, NeuPIMs, GPUs) · lolpim sweep Sweeps/link-bandwidth.yaml",
        ]
    }

    /// With a network: the busiest link of each class, and where communication was exposed.
    static func networkRows(_ s: SimulatedResults) -> [(String, String)] {
        guard let n = s.network else { return [] }
        let classes = n.linkClasses.filter { $0.links > 0 }.map {
            "\($0.linkClass) \(pct($0.utilisationFraction)) (busiest \(pct($0.peakUtilisationFraction)))"
        }
        let worst = n.exposed.max { $0.totalPs < $1.totalPs }
        let exposed =
            worst.map {
                "mean \(pct(n.meanExposedFraction)) of the run; most on stage \($0.stage).\($0.member): "
                    + "\(ms($0.totalPs)), \(pct($0.stepFraction)) of its steps (\(ms($0.ingressPs)) waiting for "
                    + "activations, \(ms($0.collectivePs)) in collectives)"
            } ?? "none"
        return [
            ("links used", classes.joined(separator: " · ")),
            ("exposed comm", exposed),
            ("prompt KV wait", "\(ms(n.prefillWaitPs)) summed over micro-batch injections"),
        ]
    }

    static func ms(_ ps: Picoseconds) -> String { String(format: "%.3f ms", Time.seconds(ps) * 1000) }
    static func pct(_ fraction: Double) -> String { String(format: "%.1f %%", fraction * 100) }
    static func bytes(_ n: Int64) -> String {
        n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / 1_048_576) : String(format: "%.1f KiB", Double(n) / 1024)
    }
}

extension String {
    /// The string right-aligned in `width` characters.
    package func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
