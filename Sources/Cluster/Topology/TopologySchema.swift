/// Every key a topology file accepts, as dotted paths: what a sweep axis may name. The loader is the
/// authority; a test holds this list to the keys the loader accepts, section by section, and to
/// docs/TOPOLOGY.md.
public enum TopologySchema {
    public static let fields: Set<String> = [
        "name", "seed",
        "model", "model.preset", "model.checkpoint", "model.config", "model.name", "model.layers", "model.hidden",
        "model.query_heads", "model.kv_heads", "model.head_dim", "model.ffn", "model.vocab", "model.max_context",
        "cluster", "cluster.modules", "cluster.kind", "cluster.preset", "cluster.channels",
        "cluster.banks_per_channel", "cluster.tck_ps", "cluster.processor_tflops",
        "cluster.internal_bandwidth_gbps", "cluster.capacity_gib", "cluster.npu_tflops",
        "cluster.npu_bandwidth_gbps", "cluster.sub_batches",
        "links", "links.host", "links.host.bandwidth_gbps", "links.host.latency_ns",
        "links.module", "links.module.bandwidth_gbps", "links.module.latency_ns",
        "links.tp", "links.tp.bandwidth_gbps", "links.tp.latency_ns",
        "parallelism", "parallelism.micro_batches", "parallelism.tp", "parallelism.pp", "parallelism.collective",
        "parallelism.pipeline_stages", "parallelism.layers_per_stage",
        "workload", "workload.batch_size", "workload.requests", "workload.context", "workload.trace",
        "workload.decode_steps", "workload.output_tokens", "workload.output_tokens.mean",
        "workload.output_tokens.std", "workload.output_tokens.min", "workload.output_tokens.max",
        "workload.arrival", "workload.arrival.poisson_per_s", "workload.batching", "workload.allocation",
        "workload.max_context", "workload.chunk_kib", "workload.prefill_kv", "workload.host_intervention_ns",
        "fidelity", "fidelity.level", "fidelity.pim_efficiency", "fidelity.processor_efficiency",
        "fidelity.scheduling", "fidelity.partitioning", "fidelity.cent_mode", "fidelity.cent_score_moves",
        "fidelity.obuf_entries", "fidelity.functional", "fidelity.arithmetic",
        "host", "host.step_overhead_ns", "host.per_request_ns",
        "network", "network.nodes", "network.host_node", "network.fabric", "network.switch",
        "network.switch.port_gbps", "network.switch.host_port_gbps", "network.switch.uplink_gbps",
        "network.switch.latency_ns", "network.switch.capacity_gbps", "network.nic", "network.nic.bandwidth_gbit",
        "network.nic.latency_ns", "placement", "placement.stages",
    ]

    /// Why `field` cannot be a sweep axis, or nil when it names a topology key.
    public static func problem(with field: String) -> String? {
        let parts = field.split(separator: ".", omittingEmptySubsequences: false)
        if field.isEmpty || parts.contains(where: \.isEmpty) {
            return "'\(SafeText.clip(field, limit: 80))' is not a dotted topology field (an empty part)"
        }
        guard fields.contains(field) else {
            let parent = parts.dropLast().joined(separator: ".")
            let siblings = fields.filter { f in
                let child = f.dropFirst(parent.count + 1)
                return parent.isEmpty ? !f.contains(".") : f.hasPrefix(parent + ".") && !child.contains(".")
            }.sorted()
            let hint = siblings.isEmpty ? "" : "; expected one of: " + siblings.joined(separator: ", ")
            return "'\(SafeText.clip(field, limit: 80))' is not a topology field\(hint)"
        }
        return nil
    }
}
