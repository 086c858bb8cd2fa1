import Foundation
import Testing
import Workload

/// The reference decoder against transformers' own logits on the tiny checkpoints (Tests/Fixtures, made by
/// make-tiny-models.py): under teacher forcing, every step's logits within a bound stated from the arithmetic, and
/// the top token transformers' greedy one wherever its top two logits are further apart than twice that bound.
@Suite("The reference decoder against transformers (tiny checkpoints)")
struct ReferenceDecoderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Golden: Decodable {
        struct Case: Decodable {
            var prompt: [Int]
            var continuation: [Int]
            var logits: [[Float]]
        }
        var cases: [Case]
    }

    /// Both compute in 32-bit floats from the same BF16 weights; only the order of the sums (dot products of up
    /// to 256 terms, softmax over up to 56 positions) and the last bit of exp, cos and sin differ. Logits here are
    /// at most about 15 in size, so a few hundred rounding errors of 2^-24 relative stay far below 1e-3.
    static let bound: Float = 1e-3

    @Test(
        "teacher-forced logits within 1e-3 of transformers', greedy tokens equal where the gap allows",
        arguments: ["tiny-llama-gqa", "tiny-qwen2"])
    func againstTransformers(name: String) throws {
        let directory = Self.fixtures + "/" + name
        let decoder = try ReferenceDecoder(checkpoint: HFCheckpoint(directory: directory))
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/golden.json"))
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        #expect(golden.cases.count == 3)
        var worst: Float = 0, compared = 0
        for c in golden.cases {
            let run = decoder.decode(prompt: c.prompt, steps: c.continuation.count, continuation: c.continuation)
            for (j, logits) in run.logits.enumerated() {
                let expected = c.logits[j]
                worst = max(worst, zip(logits, expected).map { abs($0 - $1) }.max()!)
                let sorted = expected.sorted(by: >)
                if sorted[0] - sorted[1] > 2 * Self.bound {
                    #expect(run.generated[j] == c.continuation[j], "\(name) step \(j)")
                    compared += 1
                }
            }
        }
        #expect(worst < Self.bound, "\(name): largest logit error \(worst)")
        #expect(compared > 40)
    }

    @Test("prompt files: arrays or prompt/continuation objects; bad lines named with the reason")
    func promptFiles() throws {
        let file = try PromptFile.parse(
            "[1, 2, 3]\n\n{\"prompt\": [4], \"continuation\": [5, 6]}\n", file: "p.jsonl", vocab: 10)
        #expect(file.requests == [.init(prompt: [1, 2, 3]), .init(prompt: [4], continuation: [5, 6])])
        for (text, words) in [
            ("[1, 10]", "line 1: prompt: token id 10 is not in 0 ..< 10"), ("[1]\n{\"prompt\": []}", "line 2: prompt"),
            ("{\"prompt\": [1], \"answer\": [2]}", "unknown keys"), ("[1, -1]", "token id -1"), ("nope", "not JSON"),
            ("", "no prompt"),
        ] {
            do {
                _ = try PromptFile.parse(text, file: "p.jsonl", vocab: 10)
                Issue.record("accepted \(text)")
            } catch {
                #expect(error.description.contains(words), "\(error)")
            }
        }
    }

    @Test("logit files: the .npy header NumPy reads (aligned to 64 bytes), and digests that tell one bit apart")
    func logitFiles() {
        let data = LogitFiles.npy([[1, 2, 3], [4, 5, 6]])
        let bytes = [UInt8](data)
        #expect(bytes.prefix(8) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0 && bytes.count == 10 + headerLength + 6 * 4)
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(
            header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") && header.hasSuffix("\n"))
        #expect(Array(bytes[(10 + headerLength)...].prefix(4)) == [0, 0, 0x80, 0x3F])  // 1.0
        #expect(LogitFiles.digest([1, 2]) == LogitFiles.digest([1, 2]))
        #expect(LogitFiles.digest([1, 2]) != LogitFiles.digest([1, Float(bitPattern: Float(2).bitPattern + 1)]))
        #expect(LogitFiles.digest([]).count == 16)
    }
}
