/// One CENT device as its trace generator lays it out for a pipeline-parallel run: 32 channels of 16 banks,
/// rows of 1024 BF16 values read in bursts of 16 (`utils.py:21-27`), `--max-seq-len` 4096 (never passed by
/// `run_sim.py`, docs/CENT-CODE.md §4.6), and `ceil(L/D)` transformer blocks per device that run the same
/// command stream in lock-step, each on its own `C = 32 // blocks` channels (`run_sim.py:58-59`).
public struct CENTDevice: Sendable, Hashable {
    /// 32 on CENT's device; a module's own count in the `cent` rung.
    public var channels = 32
    public let banks = 16
    /// `DRAM_column`: BF16 values in a row.
    public let rowValues = 1024
    /// `burst_length`: BF16 values in one 32 B column access.
    public let burst = 16
    /// `max_seq_len`.
    public let maxSeqLen = 4096
    /// `--reuse-size 32` (`run_sim.py:76`): MAC accumulators a reuse-GB group may hold.
    public let reuseSize = 32
    /// `C`, `--channels-per-block`.
    public var channelsPerBlock: Int

    public init(channelsPerBlock: Int, channels: Int = 32) {
        precondition((1...channels).contains(channelsPerBlock), "channels per block must be 1…\(channels)")
        self.channels = channels
        self.channelsPerBlock = channelsPerBlock
    }

    /// The PP split of `model` over `devices`: `blocks_per_device = ceil(L/D)`, `C = 32 // blocks_per_device`
    /// (`run_sim.py:58-59`); nil where `run_sim.py:80-81` refuses it (C below the model's minimum).
    public init?(pipelineParallel model: CENTModel, devices: Int) {
        let blocks = CENTDevice.ceilDiv(model.layers, devices)
        let c = 32 / blocks
        guard c >= model.minimalChannelsPerBlock else { return nil }
        self.init(channelsPerBlock: c)
    }

    /// `total_banks = channels_per_block * num_banks` (`TransformerBlock.py:91`); in PP also
    /// `FC_total_banks`, the banks K tokens and weight rows are spread over (`Llama.py:603-606`).
    public var totalBanks: Int { channelsPerBlock * banks }
    /// `num_transformer_blocks_per_device = max(num_channels // channels_required, 1)` (`Llama.py:609`,
    /// `TransformerBlock.py:1142`): the lock-step blocks whose host accesses the `tb` loops replicate.
    public var blocksPerDevice: Int { max(channels / channelsPerBlock, 1) }
    /// `channel_lst`: channels 0 ..< `32 // C * C`, the PIM instructions' mask (`Llama.py:607-608`).
    public var blockChannels: Range<Int> { 0..<(channels / channelsPerBlock * channelsPerBlock) }

    /// `bank_index(index)` (`TransformerBlock.py:102-107`): a global bank index as (channel, bank),
    /// bank-fastest (the DIMM index, always 0 for a PP device's indices, is dropped).
    public func bankIndex(_ index: Int) -> (channel: Int, bank: Int) {
        let perDevice = banks * channels
        return ((index - index / perDevice * perDevice) / banks, index % banks)
    }

    /// Python's `a // b` (floor division, also for a negative `a`).
    public static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// `(a - 1) // b + 1`, the way CENT writes a ceiling everywhere (0 for a = 0, as Python gives).
    public static func ceilDiv(_ a: Int, _ b: Int) -> Int { floorDiv(a - 1, b) + 1 }
}
