import Foundation
import Workload

/// Writes safetensors files and HuggingFace checkpoint directories for tests, byte by byte as the format lays them
/// out (an 8-byte little-endian header length, the JSON header, the data).
public enum TinyCheckpoint {
    /// One tensor to write: its dtype ("BF16", "F16", "F32" or any other name, for bad files) and raw bytes.
    public struct Tensor {
        public var dtype: String
        public var shape: [Int]
        public var data: [UInt8]

        public init(dtype: String, shape: [Int], data: [UInt8]) {
            self.dtype = dtype
            self.shape = shape
            self.data = data
        }

        /// F32 values, little-endian.
        public static func f32(_ shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(
                dtype: "F32", shape: shape,
                data: values.flatMap { v in (0..<4).map { UInt8(v.bitPattern >> (8 * $0) & 0xFF) } })
        }

        /// BF16 values (the upper halves of `values`' F32 bit patterns: exact for values with 8 significant bits).
        public static func bf16(_ shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(
                dtype: "BF16", shape: shape,
                data: values.flatMap { v in
                    [UInt8(v.bitPattern >> 16 & 0xFF), UInt8(v.bitPattern >> 24)]
                })
        }

        /// A tensor of `shape` whose element i is `(i mod 7 − 3) / 8` (exact in BF16).
        public static func pattern(_ shape: [Int]) -> Tensor {
            bf16(shape, (0..<shape.reduce(1, *)).map { Float($0 % 7 - 3) / 8 })
        }
    }

    /// The bytes of a safetensors file holding `tensors` in order; `headerExtra` is added to the JSON header
    /// (e.g. metadata), and `offsets` overrides a tensor's data_offsets (for bad files).
    public static func file(_ tensors: [(String, Tensor)], offsets: [String: [Int]] = [:]) -> [UInt8] {
        var entries: [String] = [], data: [UInt8] = [], start = 0
        for (name, t) in tensors {
            let range = offsets[name] ?? [start, start + t.data.count]
            entries.append(
                "\"\(name)\": {\"dtype\": \"\(t.dtype)\", \"shape\": \(t.shape), \"data_offsets\": \(range)}")
            data += t.data
            start += t.data.count
        }
        let header = Array(("{\"__metadata__\": {\"format\": \"pt\"}, " + entries.joined(separator: ", ") + "}").utf8)
        let length = UInt64(header.count)
        return (0..<8).map { UInt8(length >> (8 * UInt64($0)) & 0xFF) } + header + data
    }

    /// A Llama- or Qwen2-style config.json of the given dimensions.
    public static func config(
        architecture: String = "LlamaForCausalLM", layers: Int = 2, hidden: Int = 16, heads: Int = 4, kvHeads: Int = 2,
        ffn: Int = 32, vocab: Int = 24, maxContext: Int = 64, ropeTheta: Double = 10_000, extra: String = ""
    ) -> String {
        """
        {"architectures": ["\(architecture)"], "hidden_size": \(hidden), "intermediate_size": \(ffn),
         "num_hidden_layers": \(layers), "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads),
         "vocab_size": \(vocab), "max_position_embeddings": \(maxContext), "rms_norm_eps": 1e-05,
         "rope_theta": \(ropeTheta), "tie_word_embeddings": false\(extra)}
        """
    }

    /// A checkpoint directory at `directory` for `model` (its config.json and every tensor `HFCheckpoint` expects,
    /// filled with `Tensor.pattern`), in `files` safetensors files (with an index when more than one), leaving out
    /// the tensors named in `omit`.
    public static func write(
        to directory: String, config: String, model: ModelConfig, files: Int = 1, omit: Set<String> = []
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try config.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        let tensors = HFCheckpoint.expectedTensors(model).filter { !omit.contains($0.0) }
        var map: [String] = []
        for f in 0..<files {
            let name = files == 1 ? "model.safetensors" : "model-\(f + 1)-of-\(files).safetensors"
            let part = tensors.enumerated().filter { $0.offset % files == f }.map {
                ($0.element.0, Tensor.pattern($0.element.1))
            }
            try Data(file(part)).write(to: URL(fileURLWithPath: directory + "/" + name))
            map += part.map { "\"\($0.0)\": \"\(name)\"" }
        }
        if files > 1 {
            let index = "{\"metadata\": {}, \"weight_map\": {" + map.joined(separator: ", ") + "}}"
            try index.write(toFile: directory + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        }
    }
}
