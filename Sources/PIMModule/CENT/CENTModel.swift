import Workload

/// A model as CENT's trace generator sees it: the arguments `run_sim.py` passes to `function_sim.py`
/// (`--n_heads`, `--ffn_dim`, `--Llama` or `--Llama-GQA`, `run_sim.py:62-83`) and the tables in
/// `cent_simulation/utils.py:8-13` (CENT commit 8c79786), nothing else. docs/CENT-CODE.md, "Notation".
public struct CENTModel: Sendable, Hashable {
    /// CENT's name, e.g. "Llama2-70B" (the `Model` column of `simulation_results.csv`).
    public var name: String
    /// `n_heads` (`utils.py:8`).
    public var heads: Int
    /// `n_kv_heads`: `--n_kv_heads` (default 8, `utils.py:52`) with `--Llama-GQA`, else `n_heads`
    /// (`function_sim.py:17`).
    public var kvHeads: Int
    /// `ffn_size` (`utils.py:11`).
    public var ffn: Int
    /// `TransformerBlock_number` (`utils.py:12`).
    public var layers: Int
    /// `minimal_channel_per_block` (`utils.py:13`): `run_sim.py` refuses a PP split with fewer channels.
    public var minimalChannelsPerBlock: Int

    /// `head_dim = 128` (`function_sim.py:12`); a lolpim model's own head dimension in the `cent` rung.
    public var headDim = 128
    /// `dim = head_dim * n_heads` (`function_sim.py:13`; equals `embedding_size`, `utils.py:10`); a lolpim
    /// model's hidden size in the `cent` rung.
    public var dim: Int
    /// `vocab_size = 32000` (`TransformerBlock.py:35`), the embedding trace's vocabulary; a lolpim model's own
    /// in the `cent` rung.
    public var vocabulary = 32000
    /// `n_repeat = n_heads // n_kv_heads` (`TransformerBlock.py:62-66`).
    public var repeats: Int { heads / kvHeads }

    public init(name: String, heads: Int, kvHeads: Int, ffn: Int, layers: Int, minimalChannelsPerBlock: Int) {
        self.name = name
        self.heads = heads
        self.kvHeads = kvHeads
        self.ffn = ffn
        self.layers = layers
        self.minimalChannelsPerBlock = minimalChannelsPerBlock
        dim = headDim * heads
    }

    /// A lolpim model as CENT's trace generator would take it in the `cent` rung (docs/MAPPING.md §13): its
    /// heads, KV heads, head dimension, hidden size, FFN size and vocabulary. CENT's own table has no minimum of
    /// channels per block for it, so none is set.
    public init(_ m: ModelConfig) {
        self.init(
            name: m.name, heads: m.queryHeads, kvHeads: m.kvHeads, ffn: m.ffn, layers: m.layers,
            minimalChannelsPerBlock: 1)
        headDim = m.headDim
        dim = m.hidden
        vocabulary = m.vocab
    }

    /// Llama2-7B: `--Llama`, so every head is a KV head.
    public static let llama2_7B = CENTModel(
        name: "Llama2-7B", heads: 32, kvHeads: 32, ffn: 11008, layers: 32, minimalChannelsPerBlock: 5)
    /// Llama2-13B: `--Llama`.
    public static let llama2_13B = CENTModel(
        name: "Llama2-13B", heads: 40, kvHeads: 40, ffn: 13824, layers: 40, minimalChannelsPerBlock: 8)
    /// Llama2-70B: `--Llama-GQA` with the default 8 KV heads.
    public static let llama2_70B = CENTModel(
        name: "Llama2-70B", heads: 64, kvHeads: 8, ffn: 28672, layers: 80, minimalChannelsPerBlock: 6)

    public static let all = [llama2_7B, llama2_13B, llama2_70B]

    /// The model CENT calls `name`.
    public static func named(_ name: String) -> CENTModel? { all.first { $0.name == name } }
}
