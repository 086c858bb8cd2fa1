/// The rank and size a parallel launcher gives a process through its environment (`srun`, `mpirun`,
/// any PMI launcher), for `lolpim rank`: rank 0 becomes the coordinator, rank r ≥ 1 worker r − 1.
public struct RankEnvironment: Sendable, Equatable {
    public var rank: Int
    /// Processes in the job, when the launcher says.
    public var size: Int?
    /// The variable the rank came from.
    public var variable: String

    /// Rank variables in the order they are looked for, each with its size variable.
    public static let known: [(rank: String, size: String)] = [
        ("SLURM_PROCID", "SLURM_NTASKS"), ("PMI_RANK", "PMI_SIZE"), ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMIX_RANK", "PMIX_SIZE"),
    ]

    /// Reads the rank from `environment`; `variable` names the one to use instead of the known ones.
    public static func detect(_ environment: [String: String], variable: String? = nil) throws -> RankEnvironment {
        let candidates = variable.map { [($0, "")] } ?? known
        guard let (rankName, sizeName) = candidates.first(where: { environment[$0.0] != nil }) else {
            let names = candidates.map(\.0).joined(separator: ", ")
            throw RuntimeError.refused(
                "no rank in the environment (looked for \(names)); start lolpim rank under srun, mpirun "
                    + "or another launcher that sets one, or name the variable with --rank-variable")
        }
        guard let rank = Int(environment[rankName]!), rank >= 0 else {
            throw RuntimeError.refused("\(rankName)=\(environment[rankName]!) is not a rank (an integer ≥ 0)")
        }
        var size: Int?
        if let text = environment[sizeName] {
            guard let n = Int(text), n > rank else {
                throw RuntimeError.refused("\(sizeName)=\(text) does not fit \(rankName)=\(rank)")
            }
            size = n
        }
        return RankEnvironment(rank: rank, size: size, variable: rankName)
    }

    /// Checks the job has one process per module plus the coordinator.
    public func check(workers: Int) throws {
        guard let size, size != workers + 1 else { return }
        throw RuntimeError.refused(
            "the job has \(size) processes, but the topology needs \(workers + 1): a coordinator and "
                + "\(workers) workers (one per module); start it with \(workers + 1) tasks")
    }
}
