using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// A restriction of the output softmax to a recorded list of tokenizer ids (docs/demo.md, "The
/// vocabulary"): logits column i is token <see cref="TokenIds"/>[i]; all other tokens are
/// impossible. Stored beside the checkpoint as vocab_subset.json.
/// </summary>
public sealed class VocabSubset
{
    public const string FileName = "vocab_subset.json";
    readonly Dictionary<int, int> _indexOf;
    Tensor? _ids;

    public VocabSubset(IEnumerable<int> tokenIds)
    {
        TokenIds = tokenIds.ToArray();
        if (TokenIds.Count == 0) throw new LlavaModException("a vocabulary subset needs at least one token id");
        _indexOf = new Dictionary<int, int>(TokenIds.Count);
        for (int i = 0; i < TokenIds.Count; i++)
        {
            if (TokenIds[i] < 0) throw new LlavaModException($"vocabulary subset: token id {TokenIds[i]} is negative");
            if (!_indexOf.TryAdd(TokenIds[i], i)) throw new LlavaModException($"vocabulary subset: token id {TokenIds[i]} is listed twice");
        }
    }

    public IReadOnlyList<int> TokenIds { get; }
    public int Count => TokenIds.Count;

    /// <summary>Subset index of a tokenizer id, or -1 when the token is outside the subset.</summary>
    public int IndexOf(int tokenId) => _indexOf.TryGetValue(tokenId, out int i) ? i : -1;

    /// <summary>Tokenizer id of a subset index (logits column).</summary>
    public int TokenIdAt(int index) => TokenIds[index];

    /// <summary>The ids as an int64 tensor on <paramref name="device"/> (cached on the last device used).</summary>
    public Tensor IndexTensor(Device device)
    {
        if (_ids is null || _ids.device != device)
        {
            _ids?.Dispose();
            _ids = torch.tensor(TokenIds.Select(i => (long)i).ToArray(), device: device).DetachFromDisposeScope();
        }
        return _ids;
    }

    /// <summary>
    /// Maps target token ids to subset indices; <paramref name="ignoreIndex"/> stays as is. Throws
    /// when a target token is outside the subset (its loss could not be computed).
    /// </summary>
    public long[] MapTargets(ReadOnlySpan<long> targets, long ignoreIndex = LlavaBatch.IgnoreIndex)
    {
        var mapped = new long[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            if (targets[i] == ignoreIndex) { mapped[i] = ignoreIndex; continue; }
            int index = targets[i] is >= int.MinValue and <= int.MaxValue ? IndexOf((int)targets[i]) : -1;
            if (index < 0) throw new LlavaModException($"target token id {targets[i]} is not in the vocabulary subset ({Count} tokens); rebuild the subset from the corpus");
            mapped[i] = index;
        }
        return mapped;
    }

    /// <summary>Checks that every id fits a head of <paramref name="vocabSize"/> rows.</summary>
    public void Validate(int vocabSize, string source)
    {
        int max = TokenIds.Max();
        if (max >= vocabSize) throw LlavaModException.ForFile(source, $"vocabulary subset names token id {max}, but the model's vocab_size is {vocabSize}");
    }

    record Stored(int[] TokenIds);

    public static VocabSubset? LoadIfPresent(string folder)
    {
        string path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        var stored = Json.ReadFile<Stored>(path);
        if (stored.TokenIds is null) throw LlavaModException.ForFile(path, "missing token_ids");
        return new VocabSubset(stored.TokenIds);
    }

    public void Save(string folder) => Json.WriteFileAtomic(Path.Combine(folder, FileName), new Stored(TokenIds.ToArray()));
}
