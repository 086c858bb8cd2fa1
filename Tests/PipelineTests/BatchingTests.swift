@testable import Cluster
import Foundation
import PIMModule
@testable import Pipeline
import TestSupport
import Testing
import Workload

@Suite("Batching policies and KV allocation")
struct BatchingTests {
    @Test(
        "every request finishes, memory is never over-committed, freed memory is reused",
        arguments: ["static", "continuous"], ["static", "dpa"])
    func policies(batching: String, allocation: String) throws {
        let yaml = batchingTopology(batching: batching, allocation: allocation)
        let plan = try PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "b.yaml"))
        let outcome = try SequentialRun(plan: plan).run()
        let s = outcome.simulated
        #expect(s.requests.finished == 40)
        #expect(s.generatedTokens == Int64(plan.generatedTokens))
        for allocated in outcome.allocatedHistory {
            for (k, bytes) in allocated.enumerated() { #expect(bytes <= plan.stages[k].memory.kvCapacityBytes) }
        }
        // More requests ran than ever fit at once: memory freed by finished requests was reused.
        #expect(s.requests.peakEffectiveBatch < 40)
        #expect(outcome.stages.allSatisfy { $0.peakRequests <= s.requests.peakEffectiveBatch })
        // Every module saw each request start and end once; the coordinator's mirrors saw the same events.
        for stage in outcome.stages {
            #expect(stage.allocationEvents["request_start"] == 40)
            #expect(stage.allocationEvents["request_end"] == 40)
        }
        for kind in AllocationEventKind.allCases {
            let workers = outcome.stages.reduce(Int64(0)) { $0 + ($1.allocationEvents[kind.rawValue] ?? 0) }
            #expect(s.allocation.events[kind.rawValue] == workers, "\(kind)")
        }
    }

    @Test("static batching admits only when the previous batch has finished")
    func staticRunsToCompletion() throws {
        let staticRun = try sequential(batchingTopology(batching: "static", allocation: "dpa"))
        #expect(staticRun.scheduler.admittedWhileRunning == 0)
        #expect(staticRun.scheduler.admitted == 40)
        let continuous = try sequential(batchingTopology(batching: "continuous", allocation: "dpa"))
        #expect(continuous.scheduler.admittedWhileRunning > 0)
    }

    @Test("DPA admits a larger batch than static allocation and decodes faster on the same workload")
    func dpaBeatsStatic() throws {
        // Long enough outputs that decoding, not sending the prompts' KV over the host links, bounds the run.
        let output = "{mean: 400, std: 50, min: 200, max: 600}"
        let staticRun = try sequential(batchingTopology(batching: "continuous", allocation: "static", output: output))
            .simulated
        let dpaRun = try sequential(batchingTopology(batching: "continuous", allocation: "dpa", output: output))
            .simulated
        #expect(dpaRun.requests.meanEffectiveBatch > 1.5 * staticRun.requests.meanEffectiveBatch)
        #expect(dpaRun.throughputTokensPerS > staticRun.throughputTokensPerS)
        // Static reserves T_max: most of what it holds is empty.
        #expect(staticRun.kv.meanAllocatedFraction > 2 * staticRun.kv.meanUsedFraction)
        #expect(dpaRun.allocation.events["new_chunk"]! > 0)
        #expect(staticRun.allocation.events["new_chunk"] == 0)
    }

    @Test("a sequential replay of the whole run is deterministic")
    func deterministic() throws {
        let yaml = batchingTopology(batching: "continuous", allocation: "dpa")
        let a = try RunResults.encoder.encode(sequential(yaml).simulated)
        let b = try RunResults.encoder.encode(sequential(yaml).simulated)
        #expect(a == b)
    }
}
