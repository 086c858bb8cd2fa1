import Foundation

/// Prompts for functional and reference runs, as JSON Lines (`--prompts FILE`): each line one request, either an
/// array of token ids, or an object with `prompt` (the ids) and `continuation` (ids to feed back instead of the
/// sampled tokens: teacher forcing). Blank lines are skipped. docs/CLI.md, "lolpim reference".
public struct PromptFile: Sendable, Equatable {
    public struct Request: Sendable, Equatable {
        public var prompt: [Int]
        public var continuation: [Int]?

        public init(prompt: [Int], continuation: [Int]? = nil) {
            self.prompt = prompt
            self.continuation = continuation
        }
    }

    public var requests: [Request]

    public init(requests: [Request]) { self.requests = requests }

    /// The largest prompt file read.
    public static let maxFileBytes = 256 << 20

    /// Reads the prompt file at `path`; every id must be below `vocab`.
    public static func read(_ path: String, vocab: Int) throws(ModelFileError) -> PromptFile {
        let text: String
        do {
            text = try InputFile.text(path, what: "prompt file", maxBytes: maxFileBytes)
        } catch {
            throw ModelFileError(error)
        }
        return try parse(text, file: path, vocab: vocab)
    }

    /// Reads `text` (the contents of `file`); every id must be below `vocab`.
    public static func parse(_ text: String, file: String, vocab: Int) throws(ModelFileError) -> PromptFile {
        var requests: [Request] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let where_ = "line \(n + 1)"
            guard let data = trimmed.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data)
            else { throw ModelFileError(file: file, item: where_, "not JSON") }
            func ids(_ value: Any?, _ what: String) throws(ModelFileError) -> [Int] {
                guard let list = value as? [Any], !list.isEmpty else {
                    throw ModelFileError(file: file, item: where_, "\(what): expected a non-empty array of token ids")
                }
                var out: [Int] = []
                for v in list {
                    guard let id = v as? Int, (0..<vocab).contains(id) else {
                        throw ModelFileError(
                            file: file, item: where_, "\(what): token id \(v) is not in 0 ..< \(vocab) (the vocabulary)"
                        )
                    }
                    out.append(id)
                }
                return out
            }
            if let object = object as? [String: Any] {
                let unknown = Set(object.keys).subtracting(["prompt", "continuation"])
                guard unknown.isEmpty else {
                    throw ModelFileError(
                        file: file, item: where_, "unknown keys \(unknown.sorted()); expected prompt and continuation")
                }
                let continuation = object["continuation"] == nil ? nil : try ids(object["continuation"], "continuation")
                requests.append(Request(prompt: try ids(object["prompt"], "prompt"), continuation: continuation))
            } else {
                requests.append(Request(prompt: try ids(object, "prompt")))
            }
        }
        guard !requests.isEmpty else { throw ModelFileError(file: file, "no prompt in the file") }
        return PromptFile(requests: requests)
    }
}
