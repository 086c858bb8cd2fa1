import Foundation

/// A HuggingFace checkpoint directory: `config.json` and one or more `*.safetensors` files, listed by
/// `model.safetensors.index.json` when there is one (its `weight_map` names each tensor's file), else every
/// safetensors file of the directory. Opening one reads the headers only and checks that every tensor the
/// architecture needs is there with its shape (`expectedTensors`). docs/MODEL.md, "Models from checkpoints".
public struct HFCheckpoint: Sendable {
    public let directory: String
    public let model: ModelConfig
    public let files: [SafeTensorsFile]
    /// Each tensor's file, as an index into `files`.
    public let tensorFile: [String: Int]

    public init(directory: String, name: String? = nil) throws(ModelFileError) {
        self.directory = directory
        let dir = URL(fileURLWithPath: directory)
        let configPath = dir.appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw ModelFileError(file: directory, "no config.json: not a HuggingFace checkpoint directory")
        }
        model = try HFConfig.load(path: configPath, name: name ?? dir.lastPathComponent)
        let indexPath = dir.appendingPathComponent("model.safetensors.index.json").path
        var names: [String]
        var mapped: [String: String]?
        if FileManager.default.fileExists(atPath: indexPath) {
            guard let data = FileManager.default.contents(atPath: indexPath),
                let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any],
                let map = json["weight_map"] as? [String: String]
            else { throw ModelFileError(file: indexPath, item: "weight_map", "expected a mapping of tensor to file") }
            mapped = map
            names = Array(Set(map.values)).sorted()
        } else {
            let listing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            names = listing.filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        guard !names.isEmpty else {
            throw ModelFileError(file: directory, "no *.safetensors file (and no model.safetensors.index.json)")
        }
        var files: [SafeTensorsFile] = []
        var tensorFile: [String: Int] = [:]
        for name in names {
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw ModelFileError(file: indexPath, item: name, "a file of the checkpoint must lie in its directory")
            }
            let file = try SafeTensorsFile(path: dir.appendingPathComponent(name).path)
            for tensor in file.tensors.keys {
                if let earlier = tensorFile[tensor] {
                    throw ModelFileError(
                        file: file.path, item: tensor, "also in \(files[earlier].path): a tensor may be in one file")
                }
                tensorFile[tensor] = files.count
            }
            files.append(file)
        }
        if let mapped {
            for (tensor, name) in mapped.sorted(by: { $0.key < $1.key }) {
                guard let i = tensorFile[tensor], files[i].path.hasSuffix("/" + name) else {
                    throw ModelFileError(file: indexPath, item: tensor, "weight_map names \(name), which lacks it")
                }
            }
        }
        self.files = files
        self.tensorFile = tensorFile
        for (tensor, shape) in Self.expectedTensors(model) {
            guard let i = tensorFile[tensor] else {
                throw ModelFileError(file: directory, item: tensor, "missing from the checkpoint's safetensors files")
            }
            let found = files[i].tensors[tensor]!.shape
            guard found == shape else {
                throw ModelFileError(
                    file: files[i].path, item: tensor, "shape \(found); config.json's dimensions need \(shape)")
            }
        }
    }

    /// The tensors a decoder of `model`'s architecture reads, with their shapes (HuggingFace names, `[out, in]`
    /// for projections): the embedding, per layer the two norms, Q, K, V (with biases for Qwen2), O, gate, up and
    /// down, the final norm, and the LM head unless it is tied to the embedding.
    public static func expectedTensors(_ model: ModelConfig) -> [(String, [Int])] {
        let h = model.hidden, q = model.queryHeads * model.headDim, kv = model.kvHeads * model.headDim
        let bias = model.architecture?.qkvBias ?? false
        var out: [(String, [Int])] = [("model.embed_tokens.weight", [model.vocab, h])]
        for l in 0..<model.layers {
            let p = "model.layers.\(l)."
            out += [
                (p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h]),
                (p + "self_attn.q_proj.weight", [q, h]), (p + "self_attn.k_proj.weight", [kv, h]),
                (p + "self_attn.v_proj.weight", [kv, h]), (p + "self_attn.o_proj.weight", [h, q]),
                (p + "mlp.gate_proj.weight", [model.ffn, h]), (p + "mlp.up_proj.weight", [model.ffn, h]),
                (p + "mlp.down_proj.weight", [h, model.ffn]),
            ]
            if bias {
                out += [
                    (p + "self_attn.q_proj.bias", [q]), (p + "self_attn.k_proj.bias", [kv]),
                    (p + "self_attn.v_proj.bias", [kv]),
                ]
            }
        }
        out.append(("model.norm.weight", [h]))
        if !(model.architecture?.tiedEmbeddings ?? false) { out.append(("lm_head.weight", [model.vocab, h])) }
        return out
    }

    /// The values of `tensor` (or its `elements`), as Float.
    public func read(_ tensor: String, elements: Range<Int>? = nil) throws(ModelFileError) -> [Float] {
        guard let i = tensorFile[tensor] else {
            throw ModelFileError(file: directory, item: tensor, "no such tensor in the checkpoint")
        }
        return try files[i].read(tensor, elements: elements)
    }
}
