import Foundation
import Testing
import Workload

/// `Sampling`: greedy is the top logit; top-k and top-p draw only from what they keep, in proportion to the
/// softmax, repeatably for a seed.
@Suite("Sampling the next token: greedy, top-k, top-p")
struct SamplingTests {
    let logits: [Float] = [0.5, 2.0, -1.0, 2.0, 1.0]

    func draws(_ s: Sampling, _ logits: [Float], count: Int = 4000) -> [Int] {
        var random = s.generator(request: 3)
        return (0..<count).map { _ in s.next(logits, using: &random) }
    }

    @Test("greedy takes the top logit, the lowest index among equals; k = 1 and a tiny p do the same")
    func greedy() {
        var random = Sampling.greedy.generator(request: 0)
        #expect(Sampling.greedy.next(logits, using: &random) == 1)
        #expect(Sampling.argmax(logits) == 1)
        #expect(Set(draws(Sampling(topK: 1, topP: nil, seed: 9), logits)) == [1])
        #expect(Set(draws(Sampling(topK: nil, topP: 1e-6, seed: 9), logits)) == [1])
    }

    @Test("draws follow the softmax of what is kept, and repeat for a seed")
    func distribution() {
        // exp(0) : exp(ln 3) = 1 : 3.
        let two: [Float] = [0, Float(log(3.0))]
        let picks = draws(Sampling(topK: 2, topP: nil, seed: 0), two, count: 20_000)
        let share = Double(picks.filter { $0 == 1 }.count) / Double(picks.count)
        #expect(abs(share - 0.75) < 0.02, "\(share)")
        let s = Sampling(topK: 3, topP: nil, seed: 42)
        #expect(draws(s, logits) == draws(s, logits))
        #expect(draws(s, logits) != draws(Sampling(topK: 3, topP: nil, seed: 43), logits))
        // Top-k 3 keeps 1, 3 (the two 2.0s) and 4 (1.0).
        #expect(Set(draws(s, logits)) == [1, 3, 4])
        // Probabilities of [2, 1, 0]: 0.665, 0.245, 0.090; top-p 0.8 keeps the first two, 0.6 the first alone.
        let three: [Float] = [2, 1, 0]
        #expect(Set(draws(Sampling(topK: nil, topP: 0.8, seed: 1), three)) == [0, 1])
        #expect(Set(draws(Sampling(topK: nil, topP: 0.6, seed: 1), three)) == [0])
    }

    @Test("settings out of range are named")
    func problems() {
        #expect(Sampling(topK: 0, topP: nil, seed: 0).problem?.contains("top-k") == true)
        #expect(Sampling(topK: nil, topP: 0, seed: 0).problem?.contains("top-p") == true)
        #expect(Sampling(topK: nil, topP: 1.5, seed: 0).problem?.contains("top-p") == true)
        #expect(Sampling(topK: 5, topP: 0.9, seed: 0).problem == nil)
    }
}
