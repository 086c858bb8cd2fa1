import PIMModule
import Workload

/// Turns what the host saw and what every stage reported into `SimulatedResults`. Pure.
public struct ResultsBuilder {
    public let plan: PipelinePlan

    public init(plan: PipelinePlan) { self.plan = plan }

    /// - Parameters:
    ///   - scheduler: what the batch scheduler saw (token latencies, requests, KV over time).
    ///   - makespan: when the last token was sampled.
    ///   - stages: per-module reports, any order; missing ones (an aborted run) are left out.
    public func simulated(
        makespan: Picoseconds, scheduler: SchedulerStats, host: HostModel,
        stages reports: [StageStats]
    ) -> SimulatedResults {
        let tokenLatencies = scheduler.tokenLatencies
        let stages = reports.sorted { $0.rank < $1.rank }
        let span = Double(max(makespan, 1))
        let module = plan.topology.cluster.module
        let peak = module.peakInternalBandwidth
        let energyModel = EnergyModel()
        let energies = stages.map {
            energyModel.breakdown(
                module: module, commands: $0.commands, hubFlops: $0.hubFlops, busyPs: $0.busyPs,
                elapsedPs: makespan)
        }
        let stageResults = zip(stages, energies).map { s, energy in
            stageResult(s, energy: energy, span: span, peak: peak, makespan: makespan)
        }
        return assemble(
            stages: stages, stageResults: stageResults, energies: energies, span: span, makespan: makespan,
            scheduler: scheduler, host: host, tokenLatencies: tokenLatencies)
    }

    private func stageResult(
        _ s: StageStats, energy: EnergyModel.Breakdown, span: Double, peak: Double,
        makespan: Picoseconds
    ) -> StageResult {
        let module = plan.topology.cluster.module
        let memory = MemoryResult(
            capacityBytes: s.memory.capacityBytes, weightBytes: s.memory.weightBytes,
            kvCapacityBytes: s.memory.kvCapacityBytes, peakKvAllocatedBytes: s.peakKvAllocatedBytes,
            peakKvUsedBytes: s.peakKvUsedBytes,
            peakUsedFraction: Double(s.memory.weightBytes + s.peakKvAllocatedBytes) / Double(s.memory.capacityBytes),
            peakRequests: s.peakRequests, peakTranslationEntries: s.peakTranslationEntries,
            allocationEvents: s.allocationEvents)
        return StageResult(
            stage: s.stage, rank: s.rank, tpMember: s.member, firstLayer: s.firstLayer, layers: s.layers,
            lmHead: s.includesLMHead,
            microBatches: s.microBatches, busyPs: s.busyPs, idlePs: max(0, makespan - s.busyPs),
            utilisationFraction: Double(s.busyPs) / span,
            ingressBusyPs: s.ingress.busyPs, egressBusyPs: s.egress.busyPs,
            tpBytesSent: s.tpEgress.bytes, tpBusyPs: s.tpEgress.busyPs, collectiveWaitPs: s.collectiveWaitPs,
            opTimePs: s.opTimePs,
            dramBytesRead: s.bytesRead, dramBytesWritten: s.bytesWritten, flops: s.flops,
            internalBandwidthFraction: Double(s.bytesRead) / (peak * Time.seconds(max(makespan, 1))),
            macUtilisationFraction: module.macUtilisation(mac16: s.commands[.mac16], timePs: span),
            commands: s.commands.byName, energy: EnergyResult(energy), memory: memory)
    }

    private func assemble(
        stages: [StageStats], stageResults: [StageResult], energies: [EnergyModel.Breakdown],
        span: Double, makespan: Picoseconds, scheduler: SchedulerStats, host: HostModel,
        tokenLatencies: [Picoseconds]
    ) -> SimulatedResults {
        // Without tensor parallelism a stage is its module ("stage2"); with it, member m is "stage2.m".
        let tp = plan.topology.parallelism.tp
        func name(_ stage: Int, _ member: Int) -> String { tp == 1 ? "stage\(stage)" : "stage\(stage).\(member)" }
        var links = [link("host->stage0", PortStats(host.egress), span)]
        for s in stages where s.egress.messages > 0 {
            let to = s.stage == plan.stages.count - 1 ? "host" : name(s.stage + 1, s.member)
            links.append(link("\(name(s.stage, s.member))->\(to)", s.egress, span))
        }
        for s in stages where s.tpEgress.messages > 0 {
            links.append(link("\(name(s.stage, s.member))->group", s.tpEgress, span))
        }
        let busy = stages.reduce(Int64(0)) { $0 + $1.busyPs }
        let bubble = stages.isEmpty ? 0 : 1 - Double(busy) / (Double(plan.workers) * span)
        let total = plan.stages.reduce(Int64(0)) { $0 + $1.memory.capacityBytes } * Int64(tp)
        let used =
            plan.stages.reduce(Int64(0)) { $0 + $1.memory.weightBytes } * Int64(tp)
            + stages.reduce(Int64(0)) { $0 + $1.peakKvAllocatedBytes }
        let tokens = Int64(tokenLatencies.count)
        let energy = energies.reduce(EnergyModel.Breakdown(), +)
        var results = SimulatedResults(
            makespanPs: makespan, generatedTokens: tokens,
            throughputTokensPerS: makespan > 0 ? Double(tokens) / Time.seconds(makespan) : 0,
            tokenLatency: LatencySummary(samples: tokenLatencies), pipelineBubbleFraction: bubble,
            stages: stageResults, links: links, host: HostResult(busyPs: host.busyPs),
            capacity: CapacityResult(totalBytes: total, usedBytes: used, usedFraction: Double(used) / Double(total)),
            energy: EnergyResult(energy), energyPerTokenJ: tokens > 0 ? energy.totalJ / Double(tokens) : 0,
            requests: requestsResult(scheduler, makespan: makespan), kv: kvResult(scheduler, makespan: makespan),
            allocation: allocationResult(scheduler, stages: stages),
            attention: attentionResult(stages, tokens: tokens),
            macUtilisationFraction: stageResults.isEmpty
                ? 0
                : stageResults.reduce(0) { $0 + $1.macUtilisationFraction } / Double(stageResults.count))
        results.network = networkResult(stages: stages, host: host, scheduler: scheduler, makespan: makespan)
        return results
    }

    /// Attention's time and energy over all modules: each module's attention commands and HUB flops, with its
    /// background and refresh over the time it spent in attention.
    private func attentionResult(_ stages: [StageStats], tokens: Int64) -> AttentionResult {
        let module = plan.topology.cluster.module
        let energyModel = EnergyModel()
        var time: Picoseconds = 0
        var energy = EnergyModel.Breakdown()
        for s in stages {
            let t = s.opTimePs.reduce(Int64(0)) { sum, entry in
                sum + (OpKind(rawValue: entry.key)?.isAttention == true ? entry.value : 0)
            }
            time += t
            energy =
                energy
                + energyModel.breakdown(
                    module: module, commands: s.attentionCommands,
                    hubFlops: s.attentionHubFlops, busyPs: t, elapsedPs: t)
        }
        let perToken = tokens > 0 && !stages.isEmpty ? Double(time) / Double(stages.count) / Double(tokens) : 0
        return AttentionResult(
            timePs: time, timePerTokenPs: perToken, energy: EnergyResult(energy),
            energyPerTokenJ: tokens > 0 ? energy.totalJ / Double(tokens) : 0,
            backgroundFraction: energy.totalJ > 0 ? energy.backgroundJ / energy.totalJ : 0)
    }

    /// Time-weighted mean of a step function sampled at `series` times, over [0, makespan].
    private func timeWeighted(_ series: [(time: Picoseconds, value: Double)], makespan: Picoseconds) -> Double {
        guard makespan > 0, !series.isEmpty else { return 0 }
        var sum = 0.0
        for (i, point) in series.enumerated() {
            let end = i + 1 < series.count ? series[i + 1].time : makespan
            sum += point.value * Double(max(0, min(end, makespan) - point.time))
        }
        return sum / Double(makespan)
    }

    private func requestsResult(_ s: SchedulerStats, makespan: Picoseconds) -> RequestsResult {
        RequestsResult(
            total: plan.requests.count, admitted: s.admitted, finished: s.finished, maxQueued: s.maxQueued,
            meanEffectiveBatch: timeWeighted(s.series.map { ($0.time, Double($0.active)) }, makespan: makespan),
            peakEffectiveBatch: s.series.map(\.active).max() ?? 0,
            endToEndDecode: LatencySummary(samples: s.endToEnd),
            timePerOutputToken: LatencySummary(samples: s.timePerOutputToken))
    }

    private func kvResult(_ s: SchedulerStats, makespan: Picoseconds) -> KVResult {
        let stride = max(1, (s.series.count + 255) / 256)
        let thinned = s.series.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
        return KVResult(
            meanUsedFraction: timeWeighted(s.series.map { ($0.time, $0.used) }, makespan: makespan),
            meanAllocatedFraction: timeWeighted(s.series.map { ($0.time, $0.allocated) }, makespan: makespan),
            peakUsedFraction: s.series.map(\.used).max() ?? 0,
            peakAllocatedFraction: s.series.map(\.allocated).max() ?? 0,
            prefillTransferBytes: s.kvTransferBytes,
            series: thinned.map { [Double($0.time), Double($0.active), $0.used, $0.allocated] })
    }

    private func allocationResult(_ s: SchedulerStats, stages: [StageStats]) -> AllocationResult {
        let w = plan.topology.workload
        let events = Dictionary(
            uniqueKeysWithValues: AllocationEventKind.allCases.map { ($0.rawValue, s.events[$0] ?? 0) })
        return AllocationResult(
            scheme: w.allocation.rawValue, chunkBytes: w.chunkBytes, events: events,
            hostInterventionPs: events.values.reduce(0, +) * w.hostInterventionPs,
            peakTranslationEntries: stages.map(\.peakTranslationEntries).max() ?? 0)
    }

    private func link(_ name: String, _ port: PortStats, _ span: Double) -> LinkResult {
        LinkResult(
            name: name, bytes: port.bytes, messages: port.messages, busyPs: port.busyPs,
            utilisationFraction: Double(port.busyPs) / span)
    }
}
