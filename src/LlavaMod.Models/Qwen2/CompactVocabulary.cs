using LlavaMod.Core;
using LlavaMod.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// Training-time storage of a vocabulary-subset model: the embedding (and an untied lm_head)
/// hold only the subset's rows, so a step computes, clips and AdamW-updates a [subset, hidden]
/// table instead of Qwen's [151,936, hidden] one (about 3x a demo step's cost). Input ids are
/// mapped to subset rows on the way in. The full tables are kept aside and
/// <see cref="Expand"/> writes the trained rows back into them when the model is saved, so
/// checkpoints keep the Hugging Face shapes. Rows outside the subset are never read by a subset
/// model's softmax; as embeddings they keep their values.
/// </summary>
public sealed class CompactVocabulary : IDisposable
{
    readonly Tensor _rowOfToken;   // [vocab] int64: subset row of each token id, -1 outside the subset
    readonly Tensor _subsetIds;    // [subset] int64
    readonly Dictionary<string, Tensor> _fullTables = new();

    internal CompactVocabulary(VocabSubset subset, int vocabSize, Device device)
    {
        Subset = subset;
        var rows = Enumerable.Repeat(-1L, vocabSize).ToArray();
        for (int i = 0; i < subset.Count; i++) rows[subset.TokenIdAt(i)] = i;
        _rowOfToken = torch.tensor(rows, device: device);
        _subsetIds = torch.tensor(subset.TokenIds.Select(i => (long)i).ToArray(), device: device);
    }

    public VocabSubset Subset { get; }

    /// <summary>Keeps <paramref name="full"/> (a [vocab, hidden] table named <paramref name="name"/>) aside and returns its subset rows.</summary>
    internal Tensor Compact(string name, Tensor full)
    {
        using var noGrad = torch.no_grad();
        _fullTables[name] = full.detach().clone();
        return full.index_select(0, _subsetIds).detach().clone();
    }

    /// <summary>Subset rows [..] of token ids [..]; throws naming the first id outside the subset.</summary>
    public Tensor RowsOf(Tensor tokenIds)
    {
        using var scope = torch.NewDisposeScope();
        var rows = _rowOfToken.index_select(0, tokenIds.flatten()).view_as(tokenIds);
        if (rows.numel() > 0 && rows.min().item<long>() < 0)
        {
            long id = tokenIds.flatten().index_select(0, rows.flatten().lt(LongLivedScalars.IntZero).nonzero().flatten().narrow(0, 0, 1)).item<long>();
            throw new LlavaModException($"token id {id} is not in the model's vocabulary subset ({Subset.Count} tokens) that training keeps compact; rebuild the subset from this corpus (model init --vocab-subset-from)");
        }
        return rows.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The tensor to save under <paramref name="name"/>: a compacted table is expanded back to
    /// [vocab, hidden] with its trained subset rows; any other tensor is returned as is.
    /// </summary>
    public Tensor Expand(string name, Tensor value)
    {
        if (!_fullTables.TryGetValue(name, out var full)) return value;
        using var noGrad = torch.no_grad();
        // the rows are held by a local (disposed after the call) for the whole native call: a temporary passed straight
        // in may be finalized by the GC while index_copy reads it (a segfault in index_copy, seen once per few CI runs)
        using var rows = value.detach().to(full.dtype);
        return full.index_copy(0, _subsetIds, rows);
    }

    public void Dispose()
    {
        _rowOfToken.Dispose();
        _subsetIds.Dispose();
        foreach (var t in _fullTables.Values) t.Dispose();
    }
}
