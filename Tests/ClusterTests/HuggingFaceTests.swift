@testable import Cluster
import Foundation
import TestSupport
import Testing
import Workload

/// Models as people have them: HuggingFace `config.json`, safetensors files and checkpoint directories
/// (docs/MODEL.md, "Models from checkpoints"), and the topology keys that name them.
@Suite("Models from HuggingFace configs and checkpoints")
struct HuggingFaceTests {
    func error(_ body: () throws -> Void) -> ModelFileError? {
        do {
            try body()
            return nil
        } catch let e as ModelFileError {
            return e
        } catch {
            Issue.record("not a ModelFileError: \(error)")
            return nil
        }
    }

    @Test("config.json: Llama 3.1's as published, with its llama3 RoPE scaling")
    func llamaConfig() throws {
        let text = TinyCheckpoint.config(
            layers: 32, hidden: 4096, heads: 32, kvHeads: 8, ffn: 14336, vocab: 128_256, maxContext: 131_072,
            ropeTheta: 500_000,
            extra: """
                , "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}
                """)
        let model = try HFConfig.parse(text, file: "config.json", name: "llama-3.1-8b")
        let preset = try #require(ModelConfig.presets["llama-3.1-8b"])
        #expect(model == preset)
        #expect(model.headDim == 128 && model.groupSize == 4)
        #expect(model.architecture?.ropeScaling?.type == "llama3" && model.architecture?.ropeTheta == 500_000)
    }

    @Test("config.json: Qwen2 has QKV biases; Mistral's window; transformers 5's rope_parameters; head_dim")
    func otherConfigs() throws {
        let qwen = try HFConfig.parse(
            TinyCheckpoint.config(architecture: "Qwen2ForCausalLM", ropeTheta: 1_000_000),
            file: "c", name: "q")
        #expect(qwen.architecture?.qkvBias == true && qwen.architecture?.ropeTheta == 1_000_000)
        let mistral = try HFConfig.parse(
            TinyCheckpoint.config(architecture: "MistralForCausalLM", extra: ", \"sliding_window\": 32"),
            file: "c", name: "m")
        #expect(mistral.architecture?.slidingWindow == 32 && mistral.architecture?.qkvBias == false)
        let v5 = try HFConfig.parse(
            TinyCheckpoint.config(
                extra: """
                    , "head_dim": 8, "rope_parameters": {"rope_type": "yarn", "rope_theta": 250000.0, "factor": 4.0}
                    """), file: "c", name: "v5")
        #expect(v5.headDim == 8 && v5.architecture?.ropeTheta == 250_000)
        #expect(v5.architecture?.ropeScaling == RoPEScaling(type: "yarn", factor: 4))
        let one = try HFConfig.parse(TinyCheckpoint.config(kvHeads: 1), file: "c", name: "mqa")
        #expect(one.kvHeads == 1)
    }

    @Test("config.json: an unsupported architecture, a missing or bad key are named")
    func badConfigs() {
        let gpt = error {
            _ = try HFConfig.parse(TinyCheckpoint.config(architecture: "GPT2LMHeadModel"), file: "c", name: "g")
        }
        #expect(gpt?.item == "architectures" && gpt?.message.contains("GPT2LMHeadModel") == true)
        let missing = error {
            _ = try HFConfig.parse(#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 16}"#, file: "c", name: "x")
        }
        #expect(missing?.item == "num_attention_heads")
        let bad = error {
            _ = try HFConfig.parse(TinyCheckpoint.config(extra: ", \"vocab_size\": \"many\""), file: "c", name: "x")
        }
        #expect(bad?.item == "vocab_size" && bad?.description.hasPrefix("c: vocab_size: ") == true)
        #expect(error { _ = try HFConfig.parse("[1, 2]", file: "c", name: "x") } != nil)
        let flag = error {
            _ = try HFConfig.parse(TinyCheckpoint.config(extra: ", \"num_hidden_layers\": true"), file: "c", name: "x")
        }
        #expect(flag?.item == "num_hidden_layers")
    }

    @Test("safetensors: BF16, F16 and F32 read exactly, whole or by range, and the metadata kept")
    func readValues() throws {
        let dir = Harness.directory("safetensors")
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C]  // 1, -2, 2^-24, +inf
        let bytes = TinyCheckpoint.file([
            ("a", .bf16([2, 3], [1, -2, 0.5, 3.25, -0.125, 100])), ("b", .f32([4], [1e-7, -3.5, 7, 0])),
            ("c", TinyCheckpoint.Tensor(dtype: "F16", shape: [4], data: f16)),
        ])
        let path = dir + "/m.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.read("a") == [1, -2, 0.5, 3.25, -0.125, 100])
        #expect(try file.read("a", elements: 2..<4) == [0.5, 3.25])
        #expect(try file.read("b") == [1e-7, -3.5, 7, 0])
        #expect(try file.read("c") == [1, -2, 0x1p-24, .infinity])
        #expect(error { _ = try file.read("a", elements: 5..<7) } != nil)
        #expect(error { _ = try file.read("zz") }?.item == "zz")
    }

    @Test("safetensors: truncated, a header past the end, bad JSON, an unknown dtype, offsets outside or short")
    func badFiles() throws {
        let dir = Harness.directory("safetensors-bad")
        let good = TinyCheckpoint.file([("w", .f32([2], [1, 2]))])
        func check(_ bytes: [UInt8], _ name: String, mentions words: String, tensor: String? = nil) throws {
            let path = dir + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let e = error { _ = try SafeTensorsFile(path: path) }
            #expect(e?.file == path, "\(name)")
            #expect(e?.item == tensor, "\(name): \(String(describing: e))")
            #expect(e?.message.contains(words) == true, "\(name): \(String(describing: e))")
        }
        try check(Array(good.prefix(5)), "short", mentions: "truncated")
        try check(Array(good.prefix(good.count - 4)), "cut", mentions: "lie outside", tensor: "w")
        var long = good
        long[0] = 0xFF
        long[1] = 0xFF
        try check(long, "header", mentions: "header length")
        try check([2, 0, 0, 0, 0, 0, 0, 0, 0x5B, 0x5D], "json", mentions: "not a JSON object")
        try check(
            TinyCheckpoint.file([
                ("w", TinyCheckpoint.Tensor(dtype: "I64", shape: [1], data: Array(repeating: 0, count: 8)))
            ]), "dtype", mentions: "unsupported dtype I64", tensor: "w")
        try check(
            TinyCheckpoint.file([("w", .f32([2], [1, 2]))], offsets: ["w": [0, 12]]), "outside",
            mentions: "lie outside", tensor: "w")
        try check(TinyCheckpoint.file([("w", .f32([3], [1, 2]))]), "shape", mentions: "needs 12", tensor: "w")
        #expect(error { _ = try SafeTensorsFile(path: dir + "/none") }?.message == "no such safetensors file")
        // Read as every input is: a directory or a device is named, not opened.
        #expect(error { _ = try SafeTensorsFile(path: dir) }?.message.hasPrefix("is a directory") == true)
        #expect(
            error { _ = try SafeTensorsFile(path: "/dev/zero") }?.message.hasPrefix("is a character device") == true)
    }

    @Test("a checkpoint directory: one file or several with an index; a missing tensor, a wrong shape are named")
    func checkpoints() throws {
        let text = TinyCheckpoint.config(architecture: "Qwen2ForCausalLM")
        let model = try HFConfig.parse(text, file: "c", name: "tiny")
        #expect(HFCheckpoint.expectedTensors(model).count == 1 + 2 * 12 + 2)
        let one = Harness.directory("ckpt-one")
        try TinyCheckpoint.write(to: one, config: text, model: model)
        let single = try HFCheckpoint(directory: one)
        #expect(single.model.layers == 2 && single.files.count == 1 && single.model.architecture?.qkvBias == true)
        #expect(try single.read("model.layers.1.mlp.down_proj.weight", elements: 0..<3) == [-0.375, -0.25, -0.125])
        let split = Harness.directory("ckpt-split")
        try TinyCheckpoint.write(to: split, config: text, model: model, files: 3)
        #expect(try HFCheckpoint(directory: split).files.count == 3)
        let gap = Harness.directory("ckpt-gap")
        try TinyCheckpoint.write(to: gap, config: text, model: model, omit: ["model.layers.1.self_attn.k_proj.bias"])
        #expect(error { _ = try HFCheckpoint(directory: gap) }?.item == "model.layers.1.self_attn.k_proj.bias")
        // config.json's dimensions against the tensors: a config with a wider FFN than the tensors.
        let wrong = Harness.directory("ckpt-shape")
        try TinyCheckpoint.write(to: wrong, config: text, model: model)
        try TinyCheckpoint.config(architecture: "Qwen2ForCausalLM", ffn: 48).write(
            toFile: wrong + "/config.json", atomically: true, encoding: .utf8)
        let e = error { _ = try HFCheckpoint(directory: wrong) }
        #expect(e?.item == "model.layers.0.mlp.gate_proj.weight" && e?.message.contains("[48, 16]") == true)
        #expect(
            error { _ = try HFCheckpoint(directory: Harness.directory("ckpt-empty")) }?.message.contains("config.json")
                == true)
    }

    @Test(
        "topology: model.checkpoint and model.config, relative to the file; one source only; a checkpoint's shape fixed"
    )
    func topologyKeys() throws {
        let dir = Harness.directory("ckpt-topology")
        let text = TinyCheckpoint.config(
            layers: 4, hidden: 64, heads: 4, kvHeads: 2, ffn: 128, vocab: 32, maxContext: 4096)
        let model = try HFConfig.parse(text, file: "c", name: "tiny")
        try TinyCheckpoint.write(to: dir + "/tiny", config: text, model: model)
        let rest = "\ncluster: {modules: 2}\nworkload: {batch_size: 2, context: 100, decode_steps: 2}\n"
        let t = try TopologyLoader.load(
            path: Harness.topology("name: t\nmodel: {checkpoint: tiny, max_context: 2048}" + rest, in: dir))
        #expect(t.model.layers == 4 && t.model.hidden == 64 && t.model.maxContext == 2048 && t.model.name == "tiny")
        let c = try TopologyLoader.load(
            path: Harness.topology(
                "name: t\nmodel: {config: tiny/config.json, layers: 8}" + rest, in: dir, name: "c.yaml"))
        #expect(c.model.layers == 8 && c.model.architecture?.family == .llama)
        for (model, field, words) in [
            ("{checkpoint: tiny, layers: 8}", "model.layers", "only name and max_context"),
            ("{preset: llm-7b-32k, config: tiny/config.json}", "model.config", "give one of"),
            ("{checkpoint: nowhere}", "model.checkpoint", "no config.json"),
        ] {
            do {
                _ = try TopologyLoader.load(
                    path: Harness.topology("name: t\nmodel: \(model)" + rest, in: dir, name: "bad.yaml"))
                Issue.record("accepted \(model)")
            } catch let e as TopologyError {
                #expect(e.field == field && e.message.contains(words), "\(e)")
            }
        }
    }
}
