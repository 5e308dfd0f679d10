using LlavaMod.Data.Text;
using LlavaMod.Core;
using LlavaMod.Data.Shards;

namespace LlavaMod.Data.Text;

/// <summary>
/// One supervised token sequence as every model verb consumes it: ids (the image placeholder is
/// <see cref="ChatTemplate.ImagePlaceholderId"/>), labels (the id where the sequence is supervised,
/// else <see cref="IgnoredLabel"/>, which every loss skips) and the stored image bytes (already
/// validated and resized by the ETL). <paramref name="Id"/> is the source row's id.
/// </summary>
public sealed record SupervisedExample(string Key, long[] InputIds, long[] Labels, byte[]? ImageBytes, string? Id = null)
{
    /// <summary>The label of a token no loss trains on (PyTorch's <c>ignore_index</c>): prompt, image and padding tokens.</summary>
    public const long IgnoredLabel = -100;

    /// <summary>A shard row: labels are the ids where the shard's label mask is 1.</summary>
    public static SupervisedExample FromShardRow(ShardRow row)
    {
        var ids = new long[row.InputIds.Length];
        var labels = new long[row.InputIds.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = row.InputIds[i];
            labels[i] = row.LabelMask[i] == 1 ? row.InputIds[i] : IgnoredLabel;
        }
        return new SupervisedExample(row.Key, ids, labels, row.Image?.Bytes, row.Id);
    }

    /// <summary>A prompt followed by a response, supervised on the response only (preference pairs, judged claims).</summary>
    public static SupervisedExample PromptAndResponse(string key, IReadOnlyList<long> prompt, IReadOnlyList<long> response, byte[]? image)
    {
        var ids = new long[prompt.Count + response.Count];
        var labels = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = i < prompt.Count ? prompt[i] : response[i - prompt.Count];
            labels[i] = i < prompt.Count ? IgnoredLabel : ids[i];
        }
        return new SupervisedExample(key, ids, labels, image);
    }

    /// <summary>The ids up to the first supervised token: the prompt a model answers (generation, evaluation).</summary>
    public SupervisedExample PromptOnly()
    {
        int first = Array.FindIndex(Labels, l => l != IgnoredLabel);
        if (first < 0) throw new LlavaModException($"row {Key} has no supervised tokens: no prompt/answer boundary");
        return this with { InputIds = InputIds[..first], Labels = Enumerable.Repeat(IgnoredLabel, first).ToArray() };
    }

    public int SupervisedCount => Labels.Count(l => l != IgnoredLabel);
    public bool HasImage => InputIds.Contains(ChatTemplate.ImagePlaceholderId);
}
