import Cluster
import Foundation
import Pipeline
import Testing

/// The repository root, from this file's location.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

public let minimalTopology = """
    name: small
    seed: 3
    model: llm-7b-32k
    cluster:
      modules: 4
    parallelism:
      micro_batches: 3
    workload:
      batch_size: 6
      context: 2048
      decode_steps: 4
    """

public func parseError(_ yaml: String) -> TopologyError? {
    do {
        _ = try TopologyLoader.parse(yaml: yaml, file: "t.yaml")
        return nil
    } catch let error as TopologyError {
        return error
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

/// 4 workers, 3 micro-batches of 2 requests with QMSum prompt lengths (a GQA model, so the KV cache fits).
public let determinismTopology = """
    name: determinism
    seed: 5
    model: llm-7b-128k-gqa
    cluster:
      modules: 4
    parallelism:
      micro_batches: 3
    workload:
      batch_size: 6
      context: qmsum
      decode_steps: 8
    """

/// A run long enough (50,000 decode steps) to be interrupted on purpose.
public let longRunTopology = minimalTopology.replacingOccurrences(of: "llm-7b-32k", with: "llm-7b-128k-gqa")
    .replacingOccurrences(of: "decode_steps: 4", with: "decode_steps: 50000")

/// 4 modules of llm-7b-32k, 40 QMSum requests arriving as a Poisson stream, outputs of 20–60 tokens.
public func batchingTopology(
    batching: String, allocation: String, requests: Int = 40, batch: Int = 24,
    output: String = "{mean: 40, std: 10, min: 20, max: 60}"
) -> String {
    """
    name: batching
    seed: 9
    model: llm-7b-32k
    cluster: {modules: 4}
    parallelism: {micro_batches: 4}
    workload:
      batch_size: \(batch)
      requests: \(requests)
      context: qmsum
      output_tokens: \(output)
      arrival: {poisson_per_s: 400}
      batching: \(batching)
      allocation: \(allocation)
    """
}

public func sequential(_ yaml: String) throws -> SequentialRun.Outcome {
    try SequentialRun(plan: PipelinePlan(topology: TopologyLoader.parse(yaml: yaml, file: "b.yaml"))).run()
}

/// `modules` modules in one stage group (tp = modules, pp = 1) of LLM-7B GQA, one micro-batch of `batch`
/// requests of 1000 tokens, no host time.
public func tensorParallelTopology(modules: Int, tp: Int, batch: Int = 2, extra: String = "") -> String {
    """
    name: tp
    seed: 3
    model: llm-7b-128k-gqa
    cluster: {modules: \(modules)}
    links:
      host: {bandwidth_gbps: 32, latency_ns: 1000}
      module: {bandwidth_gbps: 16, latency_ns: 600}
      tp: {bandwidth_gbps: 8, latency_ns: 400}
    parallelism: {micro_batches: 1, tp: \(tp)}
    workload: {batch_size: \(batch), context: 1000, decode_steps: 1, host_intervention_ns: 0}
    host: {step_overhead_ns: 0, per_request_ns: 0}
    \(extra)
    """
}

/// An xPU+PIM (NeuPIMs-like) topology of LLM-7B on `modules` modules.
public func xpuTopology(modules: Int = 2, subBatches: Int = 2, batch: Int = 8) -> String {
    """
    name: xpu
    seed: 3
    model: llm-7b-32k
    cluster: {modules: \(modules), kind: xpu-pim, sub_batches: \(subBatches)}
    parallelism: {micro_batches: 1}
    workload: {batch_size: \(batch), context: 4000, decode_steps: 2, prefill_kv: resident}
    """
}
