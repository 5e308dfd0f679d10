namespace LlavaMod.Models;

/// <summary>
/// Parameter counts and memory estimates computed from a config alone (no weights allocated).
/// Active parameters per token count everything a token passes through: for MoE layers the
/// router and top_k of the num_experts experts.
/// </summary>
public sealed record ModelInfo(long VisionParameters, long ProjectorParameters, long LanguageParameters, long LanguageActiveParameters, long EmbeddingParameters)
{
    public long TotalParameters => VisionParameters + ProjectorParameters + LanguageParameters;
    public long ActiveParameters => VisionParameters + ProjectorParameters + LanguageActiveParameters;

    /// <summary>Trainable in the usual stages: everything but the frozen vision tower.</summary>
    public long TrainableParameters => ProjectorParameters + LanguageParameters;

    public long Fp32Bytes => TotalParameters * 4;
    public long Bf16Bytes => TotalParameters * 2;

    /// <summary>
    /// AdamW training state, activations excluded: fp32 weights, fp32 gradients and two fp32
    /// moments per trainable parameter (16 bytes), a bf16 compute copy of all weights (2 bytes)
    /// and the frozen tower's weights.
    /// </summary>
    public long AdamWTrainingBytes => TrainableParameters * 16 + TotalParameters * 2 + VisionParameters * 4;

    public static ModelInfo Of(LlavaConfig config)
    {
        var (llm, active, embeddings) = Language(config.Text);
        return new ModelInfo(Vision(config.Vision), Projector(config.ProjectorType, config.Vision.HiddenSize, config.Text.HiddenSize), llm, active, embeddings);
    }

    public static (long Total, long Active, long Embeddings) Language(Qwen2Config c)
    {
        long d = c.HiddenSize, kv = (long)c.NumKeyValueHeads * c.HeadDim, i = c.IntermediateSize, v = c.VocabSize;
        long attention = (d * d + d) + 2 * (d * kv + kv) + d * d;
        long mlp = 3 * d * i;
        long norms = 2 * d;
        var moeLayers = c.Moe?.LayerIndices(c.NumHiddenLayers).ToHashSet() ?? [];
        long total = 0, active = 0;
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
        {
            long common = attention + norms;
            if (moeLayers.Contains(layer))
            {
                long router = d * c.Moe!.NumExperts;
                total += common + router + c.Moe.NumExperts * mlp;
                active += common + router + c.Moe.TopK * mlp;
            }
            else
            {
                total += common + mlp;
                active += common + mlp;
            }
        }
        long embeddings = v * d * (c.TieWordEmbeddings ? 1 : 2);
        total += embeddings + d;
        active += embeddings + d;
        return (total, active, embeddings);
    }

    public static long Vision(ClipVisionConfig c)
    {
        long w = c.HiddenSize, i = c.IntermediateSize;
        long embeddings = (long)c.NumChannels * c.PatchSize * c.PatchSize * w + w + (c.NumPatches + 1L) * w;
        long layer = 4 * (w * w + w) + 2 * (2 * w) + (w * i + i) + (i * w + w);
        return embeddings + 2 * w + c.NumHiddenLayers * layer + 2 * w;
    }

    public static long Projector(string type, int visionWidth, int textWidth) => type switch
    {
        "linear" => (long)visionWidth * textWidth + textWidth,
        _ => (long)visionWidth * textWidth + textWidth + (long)textWidth * textWidth + textWidth,
    };

    /// <summary>Human-readable lines for the CLI.</summary>
    public IEnumerable<string> Describe()
    {
        yield return $"parameters           {Count(TotalParameters)} (vision {Count(VisionParameters)}, projector {Count(ProjectorParameters)}, language {Count(LanguageParameters)}, of which embeddings/head {Count(EmbeddingParameters)})";
        yield return $"active per token     {Count(ActiveParameters)} (language {Count(LanguageActiveParameters)})";
        yield return $"weights fp32         {Bytes(Fp32Bytes)}";
        yield return $"weights bf16         {Bytes(Bf16Bytes)}";
        yield return $"AdamW training       {Bytes(AdamWTrainingBytes)} (fp32 master + grads + 2 moments for {Count(TrainableParameters)} trainable, bf16 compute copy; activations not included)";
    }

    static string Count(long n) => n switch
    {
        >= 1_000_000_000 => $"{n / 1e9:F2} B",
        >= 1_000_000 => $"{n / 1e6:F2} M",
        >= 1_000 => $"{n / 1e3:F1} k",
        _ => n.ToString(),
    } + $" ({n:N0})";

    static string Bytes(long b) => b >= 1L << 30 ? $"{b / (double)(1L << 30):F2} GiB" : $"{b / (double)(1L << 20):F1} MiB";
}
