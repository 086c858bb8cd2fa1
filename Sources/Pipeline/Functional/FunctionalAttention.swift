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
        // CENT's attention takes a pair's whole context at once (K over a block's banks, V one head per channel).
        var slices = [[(first: Int, tokens: Int)]](repeating: [(0, tokens)], count: kvHeads)
        if let mapping {
            slices = Array(repeating: [], count: kvHeads)
            for channel in mapping.assign(contexts: [tokens], kvHeads: kvHeads, channels: channels) {
                for s in channel where s.tokens > 0 { slices[s.head].append((s.firstToken, s.tokens)) }
            }
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
                if mapping == nil {
                    let o = centAttention(qh, keys: keys, values: values, scale: scale)
                    out.replaceSubrange((head * d)..<((head + 1) * d), with: o)
                    continue
                }
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

    /// CENT's split of one query head's attention between PIM and its near-memory units (`Yufeng98/CENT`
    /// `cent_simulation/Llama.py`, the softmax near lines 316–376 and 730–780; docs/MAPPING.md §13): QKᵀ in PIM,
    /// the scaling by 1/√d an element-wise multiply in PIM, the exponentials and their sum on the near-memory units
    /// (fp32 here), the normalisation by 1/sum an element-wise multiply in PIM, and SV in PIM with the normalised
    /// probabilities over the whole context (V one KV head per channel), its DRAM-row chunks added in fp32.
    func centAttention(_ q: [Float], keys: [[Float]], values: [[Float]], scale: Float) -> [Float] {
        let d = q.count, tokens = keys.count, s = arithmetic.stored
        let scaled = scores(q, keys: keys, slice: (0, tokens)).map { s(s($0) * s(scale)) }
        let top = scaled.max() ?? 0
        var sum: Float = 0
        let exps = scaled.map { x in
            let e = DecoderMath.exp(x - top)
            sum += e
            return e
        }
        let inverse = s(1 / sum)
        let probabilities = exps.map { s(s($0) * inverse) }
        return weightedValues(probabilities, values: values, slice: (0, tokens), headDim: d)
    }

    /// A channel's slice: QKᵀ (`scores`, scaled on the HUB), the partial softmax on the HUB, then SV
    /// (`weightedValues`) with the probabilities written to the global buffer.
    func partialSoftmax(
        _ q: [Float], keys: [[Float]], values: [[Float]], slice: (first: Int, tokens: Int), scale: Float
    ) -> PartialSoftmax {
        let scores = scores(q, keys: keys, slice: slice).map { $0 * scale }
        let top = scores.max() ?? 0
        var sum: Float = 0
        var probabilities = [Float](repeating: 0, count: scores.count)
        for (i, s) in scores.enumerated() {
            let e = DecoderMath.exp(s - top)
            sum += e
            probabilities[i] = arithmetic.stored(e)
        }
        let weighted = weightedValues(probabilities, values: values, slice: slice, headDim: q.count)
        return PartialSoftmax(max: top, sum: sum, weighted: weighted)
    }

    /// QKᵀ over a slice, unscaled: each token's K row against the query in the global buffer, one MAC run per
    /// DRAM-row chunk of the head, the chunks added on the HUB.
    func scores(_ q: [Float], keys: [[Float]], slice: (first: Int, tokens: Int)) -> [Float] {
        let d = q.count, rowElements = store.rowElements
        return (slice.first..<(slice.first + slice.tokens)).map { t in
            keys[t].withUnsafeBufferPointer { k in
                q.withUnsafeBufferPointer { x in
                    var s: Float = 0
                    for from in stride(from: 0, to: d, by: rowElements) {
                        let part = arithmetic.chunkDot(
                            k.baseAddress! + from, x.baseAddress! + from, count: min(rowElements, d - from))
                        s = from == 0 ? part : s + part
                    }
                    return s
                }
            }
        }
    }

    /// SV over a slice: the GEMV of V stored transposed (head_dim rows over the slice's tokens), `probabilities` in
    /// the global buffer, one MAC run per DRAM-row chunk of tokens, the chunks added on the HUB.
    func weightedValues(
        _ probabilities: [Float], values: [[Float]], slice: (first: Int, tokens: Int), headDim d: Int
    ) -> [Float] {
        let g = GEMVLowering(module: module, obufEntries: 1).geometry(
            AttentionPhase.value.slice(tokens: slice.tokens, group: 1, headDim: d))
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
        return weighted
    }
}
