import PIMModule

/// Turns what the host saw and what every stage reported into `SimulatedResults`. Pure.
public struct ResultsBuilder {
    public let plan: PipelinePlan

    public init(plan: PipelinePlan) { self.plan = plan }

    /// - Parameters:
    ///   - tokenLatencies: one sample per generated token (see `SimulatedResults.tokenLatency`).
    ///   - makespan: when the last token was sampled.
    ///   - stages: per-stage reports, any order; missing stages (an aborted run) are left out.
    public func simulated(makespan: Picoseconds, tokenLatencies: [Picoseconds], host: HostModel,
                          stages reports: [StageStats]) -> SimulatedResults {
        let stages = reports.sorted { $0.stage < $1.stage }
        let span = Double(max(makespan, 1))
        let module = plan.topology.cluster.module
        let peak = module.peakInternalBandwidth
        let energyModel = EnergyModel()
        let energies = stages.map {
            energyModel.breakdown(module: module, commands: $0.commands, hubFlops: $0.hubFlops, busyPs: $0.busyPs,
                                  elapsedPs: makespan)
        }
        let macCycles = Double(Int64(module.timing.nCCDL) * module.tCKps)
        let stageResults = zip(stages, energies).map { s, energy in
            StageResult(stage: s.stage, firstLayer: s.firstLayer, layers: s.layers, lmHead: s.includesLMHead,
                        microBatches: s.microBatches, busyPs: s.busyPs, idlePs: max(0, makespan - s.busyPs),
                        utilisationFraction: Double(s.busyPs) / span,
                        ingressBusyPs: s.ingress.busyPs, egressBusyPs: s.egress.busyPs, opTimePs: s.opTimePs,
                        dramBytesRead: s.bytesRead, dramBytesWritten: s.bytesWritten, flops: s.flops,
                        internalBandwidthFraction: Double(s.bytesRead) / (peak * Time.seconds(max(makespan, 1))),
                        macUtilisationFraction: Double(s.commands[.mac16]) * macCycles / (Double(module.channels) * span),
                        commands: s.commands.byName, energy: EnergyResult(energy),
                        memory: MemoryResult(capacityBytes: s.memory.capacityBytes, weightBytes: s.memory.weightBytes,
                                             kvBytes: s.memory.kvBytes, usedFraction: s.memory.usedFraction))
        }
        var links = [link("host->stage0", PortStats(host.egress), span)]
        for s in stages {
            let to = s.stage == plan.stages.count - 1 ? "host" : "stage\(s.stage + 1)"
            links.append(link("stage\(s.stage)->\(to)", s.egress, span))
        }
        let busy = stages.reduce(Int64(0)) { $0 + $1.busyPs }
        let bubble = stages.isEmpty ? 0 : 1 - Double(busy) / (Double(plan.stages.count) * span)
        let total = plan.stages.reduce(Int64(0)) { $0 + $1.memory.capacityBytes }
        let used = plan.stages.reduce(Int64(0)) { $0 + $1.memory.neededBytes }
        let tokens = Int64(tokenLatencies.count)
        let energy = energies.reduce(EnergyModel.Breakdown(), +)
        return SimulatedResults(
            makespanPs: makespan, generatedTokens: tokens,
            throughputTokensPerS: makespan > 0 ? Double(tokens) / Time.seconds(makespan) : 0,
            tokenLatency: LatencySummary(samples: tokenLatencies), pipelineBubbleFraction: bubble,
            stages: stageResults, links: links, host: HostResult(busyPs: host.busyPs),
            capacity: CapacityResult(totalBytes: total, usedBytes: used, usedFraction: Double(used) / Double(total)),
            energy: EnergyResult(energy), energyPerTokenJ: tokens > 0 ? energy.totalJ / Double(tokens) : 0)
    }

    private func link(_ name: String, _ port: PortStats, _ span: Double) -> LinkResult {
        LinkResult(name: name, bytes: port.bytes, messages: port.messages, busyPs: port.busyPs,
                   utilisationFraction: Double(port.busyPs) / span)
    }

    public func topologyInfo(file: String) -> TopologyInfo {
        let t = plan.topology
        return TopologyInfo(name: t.name, file: file, model: t.model.name, modules: t.cluster.modules,
                            modulePreset: t.cluster.module.preset, channelsPerModule: t.cluster.module.channels,
                            fidelity: t.fidelity.level.rawValue, batchSize: t.workload.batchSize,
                            microBatches: t.parallelism.microBatches, decodeSteps: t.workload.decodeSteps,
                            context: t.workload.context.label, seed: t.seed)
    }
}
