/// One CENT device as its trace generator lays it out: 32 channels of 16 banks, rows of 1024 BF16 values read in
/// bursts of 16 (`utils.py:21-27`), `--max-seq-len` 4096 (never passed by `run_sim.py`, docs/CENT-CODE.md §4.6).
/// In a pipeline-parallel run, `ceil(L/D)` transformer blocks per device run the same command stream in lock-step,
/// each on its own `C = 32 // blocks` channels (`run_sim.py:58-59`). In a tensor-parallel ("model parallel") run,
/// one block spans all 32 channels of each of its `FC_devices` devices, and the trace is device 0's share
/// (`run_sim.py:64-78`, `TransformerBlock.py:92-100`).
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
    /// `--FC-devices`: the devices one block's FC layers and K cache are spread over; 1 in a pipeline-parallel
    /// run (`FC_total_banks = total_banks`, `Llama.py:601-606`).
    public var fcDevices = 1

    public init(channelsPerBlock: Int, channels: Int = 32, fcDevices: Int = 1) {
        precondition((1...channels).contains(channelsPerBlock), "channels per block must be 1…\(channels)")
        precondition(fcDevices >= 1, "FC devices must be at least 1")
        self.channels = channels
        self.channelsPerBlock = channelsPerBlock
        self.fcDevices = fcDevices
    }

    /// The TP split over `fcDevices` devices (`run_sim.py:73-78`, `--model-parallel --FC-devices f` without
    /// `--channels-per-block`, so `C = num_channels`: `TransformerBlock.py:43-46`).
    public init(modelParallel fcDevices: Int, channels: Int = 32) {
        self.init(channelsPerBlock: channels, channels: channels, fcDevices: fcDevices)
    }

    /// The PP split of `model` over `devices`: `blocks_per_device = ceil(L/D)`, `C = 32 // blocks_per_device`
    /// (`run_sim.py:58-59`); nil where `run_sim.py:80-81` refuses it (C below the model's minimum).
    public init?(pipelineParallel model: CENTModel, devices: Int) {
        let blocks = CENTDevice.ceilDiv(model.layers, devices)
        let c = 32 / blocks
        guard c >= model.minimalChannelsPerBlock else { return nil }
        self.init(channelsPerBlock: c)
    }

    /// `total_banks = channels_per_block * num_banks` (`TransformerBlock.py:91`).
    public var totalBanks: Int { channelsPerBlock * banks }
    /// `FC_total_banks = total_banks * FC_devices` (`TransformerBlock.py:92-95`, `Llama.py:601-606`): the banks
    /// of all the block's devices that weight rows and K tokens are spread over.
    public var fcBanks: Int { totalBanks * fcDevices }
    /// `num_transformer_blocks_per_device = max(num_channels // channels_required, 1)` (`Llama.py:609`,
    /// `TransformerBlock.py:1142`): the lock-step blocks whose host accesses the `tb` loops replicate.
    public var blocksPerDevice: Int { max(channels / channelsPerBlock, 1) }
    /// `channel_lst`: channels 0 ..< `32 // C * C`, the PIM instructions' mask (`Llama.py:607-608`).
    public var blockChannels: Range<Int> { 0..<(channels / channelsPerBlock * channelsPerBlock) }

    /// `bank_index(index)` (`TransformerBlock.py:102-107`): a global bank index as (channel, bank),
    /// bank-fastest. The DIMM index (0 for a PP device's indices, the device for a TP block's) is dropped: the
    /// trace is one device's, and CENT writes K appends to the channel whatever device the token falls on.
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
