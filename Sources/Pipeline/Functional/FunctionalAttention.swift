import PIMModule
import Workload

extension FunctionalStage {
    /// One channel's share of a query head's attention: its scores' max, the sum of their exponentials, and the
    /// exponentials' weighted sum of V (not yet divided by the sum).
    struct PartialSoftmax {
        var max: Float
        var sum: Float
        var weighted: [Float]
    }

    /// Attention of the member's query heads over `tokens` tokens of `request` in layer `l`, spread over the
    /// module's channels by the configured partitioning (`AttentionMapping.assign`): every channel that holds a
    /// slice of a (request, KV head) pair computes QKᵀ over its tokens in the MAC arithmetic, a partial softmax on
    /// the HUB, and SV over its tokens with the stored probabilities; the HUB merges the channels' partials
    /// (rescaling each by e^(its max − the overall max)) and divides by the merged sum. Head-first gives each pair
    /// one channel, so one partial and no merge; token-parallel gives it every channel's token range.
    func attention(
        _ q: [Float], request: Int, tokens: Int, layer l: Int, allocator: any KVAllocator
    ) throws -> [Float] {
        let d = model.headDim, group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        var slices = [[(first: Int, tokens: Int)]](repeating: [], count: kvHeads)
        for channel in mapping.assign(contexts: [tokens], kvHeads: kvHeads, channels: channels) {
            for s in channel where s.tokens > 0 { slices[s.head].append((s.firstToken, s.tokens)) }
        }
        let query = q.map(arithmetic.stored)
        var out = [Float](repeating: 0, count: heads * d)
        for g in 0..<kvHeads {
            let keys = try (0..<tokens).map { t in
                try kv.read(request: request, token: t, layer: l, kind: 0, head: g, allocator: allocator, store: store)
            }
            let values = try (0..<tokens).map { t in
                try kv.read(request: request, token: t, layer: l, kind: 1, head: g, allocator: allocator, store: store)
            }
            for head in (g * group)..<((g + 1) * group) {
                let qh = Array(query[(head * d)..<((head + 1) * d)])
                let partials = slices[g].map { slice in
                    partialSoftmax(qh, keys: keys, values: values, slice: slice, scale: scale)
                }
                let top = partials.map(\.max).max() ?? 0
                var sum: Float = 0
                var weighted = [Float](repeating: 0, count: d)
                for p in partials {
                    let w = DecoderMath.exp(p.max - top)
                    sum += w * p.sum
                    for i in 0..<d { weighted[i] += w * p.weighted[i] }
                }
                for i in 0..<d { out[head * d + i] = weighted[i] / sum }
            }
        }
        return out
    }

    /// A channel's slice: QKᵀ (each token's K row against the query in the global buffer, one MAC run per
    /// DRAM-row chunk of the head, scaled on the HUB), the partial softmax on the HUB, then SV as the GEMV of V
    /// stored transposed (head_dim rows over the slice's tokens, the probabilities written to the global buffer),
    /// its DRAM-row chunks added on the HUB.
    func partialSoftmax(
        _ q: [Float], keys: [[Float]], values: [[Float]], slice: (first: Int, tokens: Int), scale: Float
    ) -> PartialSoftmax {
        let d = q.count, rowElements = store.rowElements
        let range = slice.first..<(slice.first + slice.tokens)
        let scores: [Float] = range.map { t in
            keys[t].withUnsafeBufferPointer { k in
                q.withUnsafeBufferPointer { x in
                    var s: Float = 0
                    for from in stride(from: 0, to: d, by: rowElements) {
                        let part = arithmetic.chunkDot(
                            k.baseAddress! + from, x.baseAddress! + from, count: min(rowElements, d - from))
                        s = from == 0 ? part : s + part
                    }
                    return s * scale
                }
            }
        }
        let top = scores.max() ?? 0
        var sum: Float = 0
        var probabilities = [Float](repeating: 0, count: scores.count)
        for (i, s) in scores.enumerated() {
            let e = DecoderMath.exp(s - top)
            sum += e
            probabilities[i] = arithmetic.stored(e)
        }
        let g = GEMVLowering(module: module, obufEntries: 1).geometry(
            mapping.slice(.value, tokens: slice.tokens, group: 1, headDim: d))
        let chunk = g.chunkColumns * (module.columnBytes / 2)
        var weighted = [Float](repeating: 0, count: d)
        var column = [Float](repeating: 0, count: slice.tokens)
        for i in 0..<d {
            for t in 0..<slice.tokens { column[t] = values[slice.first + t][i] }
            column.withUnsafeBufferPointer { v in
                probabilities.withUnsafeBufferPointer { p in
                    var s: Float = 0
                    for from in stride(from: 0, to: slice.tokens, by: chunk) {
                        let part = arithmetic.chunkDot(
                            v.baseAddress! + from, p.baseAddress! + from, count: min(chunk, slice.tokens - from))
                        s = from == 0 ? part : s + part
                    }
                    weighted[i] = s
                }
            }
        }
        return PartialSoftmax(max: top, sum: sum, weighted: weighted)
    }
}
