using LlavaMod.Data.Text;
using LlavaMod.Data.Images;

namespace LlavaMod.Training.Data;

/// <summary>
/// A preference pair as the pd stage keeps it: token ids of the prompt and both responses, the
/// teacher's reference log-probs and where the image is (its bytes are read when a batch needs them).
/// </summary>
public sealed record TrainingPair(long PairId, int[] PromptIds, int[] ChosenIds, int[] RejectedIds,
    double RefChosenLogp, double RefRejectedLogp, double Severity, PairImage? Image = null)
{
    /// <summary>Key of the chosen sequence in a batch (<see cref="Chosen"/>).</summary>
    public string ChosenKey => $"pair-{PairId}-chosen";

    /// <summary>Tokens of both sequences, prompt + chosen and prompt + rejected: what length grouping sorts by.</summary>
    public int Tokens => 2 * PromptIds.Length + ChosenIds.Length + RejectedIds.Length;

    /// <summary>Prompt + chosen, labels on the response only.</summary>
    public SupervisedExample Chosen(byte[]? image) => SupervisedExample.PromptAndResponse(ChosenKey, Longs(PromptIds), Longs(ChosenIds), image);

    /// <summary>Prompt + rejected, labels on the response only.</summary>
    public SupervisedExample Rejected(byte[]? image) => SupervisedExample.PromptAndResponse($"pair-{PairId}-rejected", Longs(PromptIds), Longs(RejectedIds), image);

    static long[] Longs(int[] ids) => Array.ConvertAll(ids, id => (long)id);
}

/// <summary>The pairs of a split and the image source their <see cref="TrainingPair.Image"/> locators read from (owns its scratch file: dispose it, or the <see cref="PairBatches"/> made of it).</summary>
public sealed record PairSet(IReadOnlyList<TrainingPair> Pairs, PairImages Images);
