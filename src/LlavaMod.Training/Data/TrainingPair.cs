using LlavaMod.Models;
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
    public SupervisedExample Chosen(byte[]? image) => Sequence(ChosenKey, ChosenIds, image);

    /// <summary>Prompt + rejected, labels on the response only.</summary>
    public SupervisedExample Rejected(byte[]? image) => Sequence($"pair-{PairId}-rejected", RejectedIds, image);

    SupervisedExample Sequence(string key, int[] response, byte[]? image)
    {
        var ids = new long[PromptIds.Length + response.Length];
        var labels = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = i < PromptIds.Length ? PromptIds[i] : response[i - PromptIds.Length];
            labels[i] = i < PromptIds.Length ? LlavaBatch.IgnoreIndex : ids[i];
        }
        return new SupervisedExample(key, ids, labels, image);
    }
}

/// <summary>The pairs of a split and the image source their <see cref="TrainingPair.Image"/> locators read from (owns its scratch file: dispose it, or the <see cref="PairBatches"/> made of it).</summary>
public sealed record PairSet(IReadOnlyList<TrainingPair> Pairs, PairImages Images);
