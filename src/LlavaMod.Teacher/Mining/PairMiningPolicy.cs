namespace LlavaMod.Teacher.Mining;

/// <summary>A scored sampled response of one prompt, as the mining policy sees it.</summary>
public sealed record ScoredResponse(int Index, string Text, double Score, int TokenCount);

/// <summary>A mined pair: indexes into the prompt's responses.</summary>
public sealed record CandidatePair(int Chosen, int Rejected, double Gap);

/// <summary>
/// How chosen/rejected pairs are made from the scored samples of one prompt (RLAIF-V /
/// distilabel practice, docs/method.md §6):
/// - <see cref="PairingMode.BestWorst"/>: chosen among the best-scored responses, rejected among
///   the worst-scored (more than one pair only when scores tie at the extremes);
/// - <see cref="PairingMode.AllAboveGap"/>: every (better, worse) pair whose score gap ≥ MinGap,
///   largest gaps first.
/// Pairs need a gap ≥ <see cref="MinGap"/>; identical texts are never paired; at most
/// <see cref="MaxPairsPerPrompt"/> pairs, each response used once as chosen and once as rejected.
/// Length balancing: among candidates with the same gap, the pair whose two lengths are closest is
/// preferred, so the preference signal is not "shorter wins" (RLAIF-V). Ties in score are broken
/// by response index, so mining is deterministic.
/// </summary>
public sealed record PairMiningPolicy
{
    public enum PairingMode { BestWorst, AllAboveGap }

    public PairingMode Mode { get; init; } = PairingMode.BestWorst;
    public double MinGap { get; init; } = 1.0;
    public int MaxPairsPerPrompt { get; init; } = 2;
    public bool BalanceLengths { get; init; } = true;

    public IReadOnlyList<CandidatePair> Mine(IReadOnlyList<ScoredResponse> responses)
    {
        // One representative per distinct text: identical responses are never paired.
        var distinct = responses.GroupBy(r => r.Text.Trim()).Select(g => g.OrderBy(r => r.Index).First()).ToList();
        var candidates = new List<CandidatePair>();
        foreach (var better in distinct)
            foreach (var worse in distinct)
                if (better.Score - worse.Score >= MinGap)
                    candidates.Add(new CandidatePair(better.Index, worse.Index, better.Score - worse.Score));
        if (candidates.Count == 0) return [];

        var byIndex = responses.ToDictionary(r => r.Index);
        double LengthDifference(CandidatePair p) => BalanceLengths ? Math.Abs(byIndex[p.Chosen].TokenCount - byIndex[p.Rejected].TokenCount) : 0;

        if (Mode == PairingMode.BestWorst)
        {
            // Chosen among the best-scored responses, rejected among the worst-scored.
            double best = distinct.Max(r => r.Score), worst = distinct.Min(r => r.Score);
            candidates.RemoveAll(p => byIndex[p.Chosen].Score != best || byIndex[p.Rejected].Score != worst);
        }
        var ordered = candidates
            .OrderByDescending(p => p.Gap)
            .ThenBy(LengthDifference)
            .ThenBy(p => p.Chosen).ThenBy(p => p.Rejected);

        var pairs = new List<CandidatePair>();
        var usedChosen = new HashSet<int>();
        var usedRejected = new HashSet<int>();
        foreach (var pair in ordered)
        {
            if (pairs.Count >= MaxPairsPerPrompt) break;
            if (usedChosen.Contains(pair.Chosen) || usedRejected.Contains(pair.Rejected)) continue;
            pairs.Add(pair);
            usedChosen.Add(pair.Chosen);
            usedRejected.Add(pair.Rejected);
        }
        return pairs;
    }
}
