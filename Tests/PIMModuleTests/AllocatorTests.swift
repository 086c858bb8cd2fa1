import Testing
@testable import PIMModule
import Workload

@Suite("KV allocators: static and DPA")
struct AllocatorTests {
    let bytesPerToken: Int64 = 64 * 1024  // 4 layers of a 7B model
    let chunk: Int64 = 1 << 20

    /// Random admissions, growth and releases; every invariant checked after every step.
    @Test(
        "DPA: chunks never overlap, free chunks return, exact utilisation, one partial chunk a request, no over-commit",
        arguments: [1, 2, 3, 4, 5])
    func dpaProperties(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        var dpa = DPAAllocator(capacityBytes: 300 * chunk, bytesPerToken: bytesPerToken, chunkBytes: chunk)
        var live: [Int: (tokens: Int, final: Int)] = [:]
        var next = 0
        // The free chunks as a set: every new chunk must be the lowest free one, whatever was released before.
        var free = Set(Int32(0)..<300)
        func expectLowestFree(_ id: Int, from first: Int) {
            let handedOut = Array(dpa.tables[id]![first...])
            #expect(handedOut == Array(free.sorted().prefix(handedOut.count)), "not the lowest free chunks")
            free.subtract(handedOut)
        }
        // Picks a live request reproducibly (dictionary order is randomised per process).
        func pick() -> (Int, (tokens: Int, final: Int))? {
            let ids = live.keys.sorted()
            guard !ids.isEmpty else { return nil }
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            return (id, live[id]!)
        }
        for _ in 0..<3000 {
            switch rng.next() % 4 {
            case 0:
                let prompt = Int(rng.next() % 2000) + 1
                let final = prompt + Int(rng.next() % 1000)
                if dpa.canAdmit(prompt: prompt, finalTokens: final) {
                    let events = try dpa.admit(request: next, prompt: prompt, finalTokens: final)
                    #expect(events == [.requestStart])
                    #expect(dpa.tables[next]!.count == dpa.chunks(for: prompt))
                    expectLowestFree(next, from: 0)
                    live[next] = (prompt, final)
                    next += 1
                }
            case 1, 2:
                // Growing up to the final length never fails: admission reserved it.
                if let (id, r) = pick(), r.tokens < r.final {
                    let to = min(r.final, r.tokens + Int(rng.next() % 40) + 1)
                    let before = dpa.tables[id]!.count
                    _ = try dpa.grow(request: id, to: to)
                    expectLowestFree(id, from: before)
                    live[id]!.tokens = to
                }
            default:
                if let (id, _) = pick() {
                    free.formUnion(dpa.tables[id]!)
                    #expect(dpa.release(request: id) == [.requestEnd])
                    live.removeValue(forKey: id)
                }
            }
            let chunks = dpa.tables.values.flatMap { $0 }
            #expect(Set(chunks).count == chunks.count, "a chunk belongs to two requests")
            #expect(chunks.count + dpa.freeChunks == dpa.totalChunks, "chunks lost or duplicated")
            #expect(dpa.usedBytes == live.values.reduce(Int64(0)) { $0 + Int64($1.tokens) } * bytesPerToken)
            #expect(dpa.allocatedBytes == Int64(chunks.count) * chunk)
            #expect(dpa.allocatedBytes <= dpa.capacityBytes)
            for (id, r) in live {
                #expect(dpa.tables[id]!.count == dpa.chunks(for: r.tokens), "more than one partial chunk")
            }
            #expect(dpa.translationEntries == chunks.count)
        }
        for id in live.keys { _ = dpa.release(request: id) }
        #expect(dpa.freeChunks == dpa.totalChunks)
        #expect(dpa.allocatedBytes == 0)
    }

    @Test("static: each request reserves T_max; admission stops when the reservations fill the space")
    func staticReservations() throws {
        var s = StaticKVAllocator(
            capacityBytes: 10 * 32_768 * bytesPerToken + 5, bytesPerToken: bytesPerToken,
            maxContext: 32_768)
        for id in 0..<10 { _ = try s.admit(request: id, prompt: 1000, finalTokens: 1100) }
        #expect(!s.canAdmit(prompt: 10, finalTokens: 20))
        #expect(throws: AllocationError.self) { try s.admit(request: 99, prompt: 10, finalTokens: 20) }
        #expect(s.allocatedBytes == 10 * 32_768 * bytesPerToken)
        #expect(s.usedBytes == 10 * 1000 * bytesPerToken)
        #expect(s.release(request: 3) == [.requestEnd])
        #expect(s.canAdmit(prompt: 10, finalTokens: 20))
        #expect(!s.canAdmit(prompt: 10, finalTokens: 40_000))
    }

    @Test("DPA admits by actual lengths where static admits by T_max: a larger batch in the same memory")
    func dpaAdmitsMore() throws {
        let capacity: Int64 = 12 << 30
        var s = StaticKVAllocator(capacityBytes: capacity, bytesPerToken: bytesPerToken, maxContext: 32_768)
        var d = DPAAllocator(capacityBytes: capacity, bytesPerToken: bytesPerToken, chunkBytes: chunk)
        var staticCount = 0, dpaCount = 0
        while s.canAdmit(prompt: 14_000, finalTokens: 14_064) {
            _ = try s.admit(request: staticCount, prompt: 14_000, finalTokens: 14_064)
            staticCount += 1
        }
        while d.canAdmit(prompt: 14_000, finalTokens: 14_064) {
            _ = try d.admit(request: dpaCount, prompt: 14_000, finalTokens: 14_064)
            dpaCount += 1
        }
        #expect(staticCount == Int(capacity / (32_768 * bytesPerToken)))
        #expect(dpaCount == Int(capacity / chunk) / d.chunks(for: 14_064))
        #expect(dpaCount > 2 * staticCount)
    }

    @Test("DPA chunk edges and DRAM rows: a 1 MB chunk on a 32-channel module is exactly one row in every bank")
    func chunkAlignment() {
        #expect(ChunkLayout(module: .cent32, chunkBytes: 1 << 20).rowsPerBank == 1)
        #expect(ChunkLayout(module: .cent32, chunkBytes: 1 << 20).splitsRows == false)
        #expect(ChunkLayout(module: .aimx16, chunkBytes: 1 << 20).rowsPerBank == 2)
        #expect(ChunkLayout(module: .cent32, chunkBytes: 768 << 10).splitsRows == true)
        // A chunk that ends mid-row costs one extra ACT16 + PREA per channel at each such edge.
        let odd = ChunkLayout(module: .cent32, chunkBytes: 768 << 10)
        #expect(odd.extraRowActivations(chunks: 4) == 3)
        #expect(ChunkLayout(module: .cent32, chunkBytes: 1 << 20).extraRowActivations(chunks: 4) == 0)
    }
}

@Suite("DPA chunks in the command model")
struct ChunkTimingTests {
    @Test("aligned chunks cost nothing; chunk edges inside DRAM rows cost one row change per edge")
    func chunkEdges() {
        let op = DecodeOp(
            .attentionScore, .pim, flops: 0,
            shape: .attention(contexts: [32_000], queryHeads: 32, kvHeads: 32, headDim: 128))
        let contiguous = CommandCostModel(module: .cent32, scheduling: .dcs, mapping: TokenParallelMapping())
        let aligned = CommandCostModel(
            module: .cent32, scheduling: .dcs, mapping: TokenParallelMapping(),
            chunkLayout: ChunkLayout(module: .cent32, chunkBytes: 1 << 20))
        let odd = CommandCostModel(
            module: .cent32, scheduling: .dcs, mapping: TokenParallelMapping(),
            chunkLayout: ChunkLayout(module: .cent32, chunkBytes: 768 << 10))
        #expect(aligned.cost(of: op).latency == contiguous.cost(of: op).latency)
        // K of one layer: 32,000 × 32 × 128 × 2 B = 262,144,000 B = 334 chunks of 768 KiB, 333 edges; every
        // 4th edge (4 × 768 KiB = 3 MiB = 3 row groups of 1 MiB) falls on a row edge, the others inside rows.
        let layout = ChunkLayout(module: .cent32, chunkBytes: 768 << 10)
        let edges = Int64(layout.extraRowActivations(chunks: 334))
        #expect(edges == 333 - 333 / 4)
        let t = AiMTiming.gddr6AiM
        let stall = Int64(t.nRTP + t.nRP + t.nRCDRDMAC) * 500
        #expect(odd.cost(of: op).latency == contiguous.cost(of: op).latency + edges * stall)
    }
}
