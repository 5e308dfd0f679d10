namespace LlavaMod.Training.Stages;

/// <summary>What trains in each stage when the config names no patterns (docs/method.md §3; names are the checkpoint's tensor names).</summary>
public static class StageDefaults
{
    static readonly string[] LanguageModel = ["model.embed_tokens.*", "model.layers.*", "model.norm.*", "lm_head.*"];
    const string Projector = "model.mm_projector.*";

    public static IReadOnlyList<string> TrainablePatterns(StageKind stage, bool tiedHead) => stage switch
    {
        // The demo teacher is trained from scratch, so sft trains the LLM and the projector; LLaVA's
        // adaptor-init stage restricts it to the projector with trainable=["model.mm_projector.*"].
        StageKind.Sft or StageKind.Mimic => Llm(tiedHead).Append(Projector).ToList(),
        StageKind.D2s => ["model.layers.*.mlp.deepspeed_moe.*", Projector],
        StageKind.Pd => Llm(tiedHead).ToList(),
        StageKind.VisionPretrain => ["model.image_tower.*"],
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };

    static IEnumerable<string> Llm(bool tiedHead) => tiedHead ? LanguageModel.Where(p => p != "lm_head.*") : LanguageModel;
}
