import Foundation

/// A HuggingFace `config.json` read into lolpim's model: the dimensions (`ModelConfig`) and what else changes the
/// arithmetic (`ModelArchitecture`). Architectures: `LlamaForCausalLM`, `Qwen2ForCausalLM`, `MistralForCausalLM`.
/// RoPE comes from `rope_theta` and `rope_scaling` at the top level or, as transformers 5 writes it, from
/// `rope_parameters`; `head_dim` when given (else hidden / heads). docs/MODEL.md, "Models from checkpoints".
public enum HFConfig {
    /// The model `text` (the contents of `file`) describes, named `name`.
    public static func parse(_ text: String, file: String, name: String) throws(ModelFileError) -> ModelConfig {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any]
        else { throw ModelFileError(file: file, "not a JSON object (expected a HuggingFace config.json)") }
        let keys = Keys(json: json, file: file)
        guard let names = json["architectures"] as? [String], let first = names.first else {
            throw ModelFileError(file: file, item: "architectures", "missing (expected a list naming one architecture)")
        }
        guard let family = ModelArchitecture.Family(rawValue: first) else {
            throw ModelFileError(
                file: file, item: "architectures",
                "unsupported architecture '\(first)'; lolpim reads "
                    + ModelArchitecture.Family.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let hidden = try keys.int("hidden_size")
        let heads = try keys.int("num_attention_heads")
        let kvHeads = try keys.int("num_key_value_heads", default: heads)
        guard heads > 0, hidden % heads == 0 || json["head_dim"] != nil else {
            throw ModelFileError(
                file: file, item: "num_attention_heads", "\(heads) heads do not divide hidden_size \(hidden)")
        }
        let headDim = try keys.int("head_dim", default: hidden / heads)
        var model = ModelConfig(
            name: name, layers: try keys.int("num_hidden_layers"), hidden: hidden, queryHeads: heads,
            kvHeads: kvHeads, headDim: headDim, ffn: try keys.int("intermediate_size"),
            vocab: try keys.int("vocab_size"), maxContext: try keys.int("max_position_embeddings"))
        if let problem = model.problems.first { throw ModelFileError(file: file, problem) }
        var rope = try keys.double("rope_theta", default: 10_000)
        var scaling: RoPEScaling?
        if let parameters = json["rope_parameters"] {
            // transformers 5: one mapping with the theta, the type and the type's parameters.
            guard let p = parameters as? [String: Any] else {
                throw ModelFileError(file: file, item: "rope_parameters", "expected a mapping")
            }
            let inner = Keys(json: p, file: file, prefix: "rope_parameters.")
            rope = try inner.double("rope_theta", default: rope)
            scaling = try Self.scaling(inner, type: p["rope_type"] as? String)
        } else if let s = json["rope_scaling"], !(s is NSNull) {
            guard let p = s as? [String: Any] else {
                throw ModelFileError(file: file, item: "rope_scaling", "expected a mapping or null")
            }
            let inner = Keys(json: p, file: file, prefix: "rope_scaling.")
            scaling = try Self.scaling(inner, type: (p["rope_type"] ?? p["type"]) as? String)
        }
        let window =
            (json["use_sliding_window"] as? Bool ?? (family == .mistral)) ? json["sliding_window"] as? Int : nil
        model.architecture = ModelArchitecture(
            family: family, ropeTheta: rope, ropeScaling: scaling,
            rmsNormEps: try keys.double("rms_norm_eps", default: 1e-6),
            tiedEmbeddings: json["tie_word_embeddings"] as? Bool ?? false,
            qkvBias: family == .qwen2 || (json["attention_bias"] as? Bool ?? false),
            slidingWindow: window.flatMap { $0 < model.maxContext ? $0 : nil })
        return model
    }

    /// The largest `config.json` read.
    public static let maxFileBytes = 16 << 20

    /// Reads `file` (a `config.json`).
    public static func load(path file: String, name: String? = nil) throws(ModelFileError) -> ModelConfig {
        let text: String
        do {
            text = try InputFile.text(file, what: "model config", maxBytes: maxFileBytes)
        } catch {
            throw ModelFileError(error)
        }
        let url = URL(fileURLWithPath: file)
        return try parse(text, file: file, name: name ?? url.deletingLastPathComponent().lastPathComponent)
    }

    /// RoPE scaling of `type` (nil or "default": none).
    static func scaling(_ keys: Keys, type: String?) throws(ModelFileError) -> RoPEScaling? {
        guard let type, type != "default" else { return nil }
        return RoPEScaling(
            type: type, factor: try keys.double("factor", default: 1),
            lowFreqFactor: try keys.optionalDouble("low_freq_factor"),
            highFreqFactor: try keys.optionalDouble("high_freq_factor"),
            originalMaxPositionEmbeddings: try keys.optionalInt("original_max_position_embeddings"))
    }

    /// Typed reads of a JSON object's keys, with errors naming the file and the key.
    struct Keys {
        let json: [String: Any]
        let file: String
        var prefix = ""

        func int(_ key: String, default value: Int? = nil) throws(ModelFileError) -> Int {
            if let v = try optionalInt(key) { return v }
            guard let value else {
                throw ModelFileError(file: file, item: prefix + key, "missing (expected an integer)")
            }
            return value
        }

        func optionalInt(_ key: String) throws(ModelFileError) -> Int? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            if !Self.isBool(v), let n = Self.number(v), n >= 1, n <= 1e12, n == n.rounded() { return Int(n) }
            throw ModelFileError(file: file, item: prefix + key, "expected a positive integer, found \(v)")
        }

        /// Whether a JSON value is `true` or `false` (`is Bool` also holds for the numbers 0 and 1 on Linux, so
        /// the number's own type decides: "c" is a boolean's).
        static func isBool(_ v: Any) -> Bool {
            guard let n = v as? NSNumber else { return false }
            return String(cString: n.objCType) == "c"
        }

        /// A JSON number as a Double (JSONSerialization gives Int, Double or NSNumber by platform).
        static func number(_ v: Any) -> Double? {
            if let i = v as? Int { return Double(i) }
            if let d = v as? Double { return d }
            return (v as? NSNumber)?.doubleValue
        }

        func double(_ key: String, default value: Double) throws(ModelFileError) -> Double {
            try optionalDouble(key) ?? value
        }

        func optionalDouble(_ key: String) throws(ModelFileError) -> Double? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            guard !Self.isBool(v), let n = Self.number(v), n.isFinite, n > 0 else {
                throw ModelFileError(file: file, item: prefix + key, "expected a positive number, found \(v)")
            }
            return n
        }
    }
}
