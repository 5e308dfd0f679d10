using LlavaMod.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models;

/// <summary>
/// LLaVA: CLIP vision tower → projector → Qwen2 causal LM. Each -200 placeholder in a row's ids
/// is replaced by the projected patch features of the next image (LLaVA's
/// prepare_inputs_labels_for_multimodal), rows are right-padded, and logits are computed either
/// everywhere or only where the next token carries a label. Child modules: "language_model",
/// "vision_tower", "mm_projector"; <see cref="Checkpoint"/> maps them to LLaVA-MoD's names.
/// </summary>
public sealed class LlavaModel : nn.Module
{
    readonly Qwen2ForCausalLM language_model;
    readonly ClipVisionTower vision_tower;
    readonly Projector mm_projector;

    public LlavaModel(LlavaConfig config, FeedForwardFactory? moeFactory = null)
        : this(config, new Qwen2ForCausalLM(config.Text, moeFactory), new ClipVisionTower(config.Vision, config.VisionSelectLayer),
               new Projector(config.ProjectorType, config.Vision.HiddenSize, config.Text.HiddenSize)) { }

    public LlavaModel(LlavaConfig config, Qwen2ForCausalLM languageModel, ClipVisionTower visionTower, Projector projector) : base(nameof(LlavaModel))
    {
        Config = config;
        language_model = languageModel;
        vision_tower = visionTower;
        mm_projector = projector;
        register_module("language_model", language_model);
        register_module("vision_tower", vision_tower);
        register_module("mm_projector", mm_projector);
    }

    public LlavaConfig Config { get; private set; }

    /// <summary>Folder the model was loaded or assembled from (tokenizer files are copied from there on save).</summary>
    public string? SourceFolder { get; set; }
    public Qwen2ForCausalLM LanguageModel => language_model;
    public ClipVisionTower VisionTower => vision_tower;
    public Projector Projector => mm_projector;

    /// <summary>Softmax restricted to these token ids when set (saved as vocab_subset.json).</summary>
    public VocabSubset? VocabSubset { get; set; }

    /// <summary>Run the vision tower without gradients (LLaVA-MoD keeps it frozen in every stage).</summary>
    public bool FreezeVisionTower { get; set; } = true;

    /// <summary>Records the MoE block after upcycling (see <see cref="Qwen2ForCausalLM.SetMoeConfig"/>).</summary>
    public void SetMoeConfig(MoeConfig? moe)
    {
        language_model.SetMoeConfig(moe);
        Config = Config with { Text = language_model.Config };
    }

    /// <summary>Projected image embeddings [N, patches, hidden] from pixel values or cached tower features.</summary>
    public Tensor ImageEmbeddings(Tensor? pixelValues, Tensor? towerFeatures)
    {
        using var scope = torch.NewDisposeScope();
        Tensor features;
        if (towerFeatures is not null) features = towerFeatures;
        else if (pixelValues is not null)
        {
            using (FreezeVisionTower ? torch.no_grad() : null) features = vision_tower.Features(pixelValues);
        }
        else throw new LlavaModException("the batch has image placeholders but neither pixel values nor image features");
        var dtype = language_model.HeadWeight.dtype;
        return mm_projector.forward(features.to(mm_projector.parameters().First().dtype)).to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Splices image embeddings into the token embeddings and right-pads the rows.</summary>
    public LlavaInputs Prepare(LlavaBatch batch, int? maxLength = null)
    {
        int rows = batch.InputIds.Count;
        if (rows == 0) throw new LlavaModException("empty batch");
        if (batch.Labels is not null && (batch.Labels.Count != rows || Enumerable.Range(0, rows).Any(r => batch.Labels[r].Length != batch.InputIds[r].Length)))
            throw new LlavaModException("labels must have one row per input row, each as long as its ids");
        int images = batch.ImageCount;
        long patches = 0;
        using var scope = torch.NewDisposeScope();
        Tensor? imageEmbeds = null;
        if (images > 0)
        {
            imageEmbeds = ImageEmbeddings(batch.PixelValues, batch.ImageFeatures);
            if (imageEmbeds.shape[0] != images)
                throw new LlavaModException($"the batch has {images} image placeholders but {imageEmbeds.shape[0]} images");
            patches = imageEmbeds.shape[1];
        }
        var embedTokens = language_model.Model.EmbedTokens;
        var device = embedTokens.weight!.device;
        int width = language_model.Config.HiddenSize;
        int maxIds = batch.InputIds.Max(r => r.Length);
        var ids = new long[rows * maxIds];
        Array.Fill(ids, language_model.Model.AnyTokenId); // padding (and image placeholders below): any id the table holds
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < batch.InputIds[r].Length; j++)
            {
                long id = batch.InputIds[r][j];
                if (id != LlavaBatch.ImageTokenIndex && (id < 0 || id >= language_model.Config.VocabSize))
                    throw new LlavaModException($"row {r}, position {j}: token id {id} is outside the vocabulary (0..{language_model.Config.VocabSize - 1})");
                ids[r * maxIds + j] = id == LlavaBatch.ImageTokenIndex ? language_model.Model.AnyTokenId : id;
            }
        var textEmbeds = language_model.Model.Embed(torch.tensor(ids, device: device).view(rows, maxIds)).reshape(rows * maxIds, width);
        var parts = new List<Tensor> { textEmbeds };
        if (imageEmbeds is not null) parts.Add(imageEmbeds.reshape(images * patches, width).to(textEmbeds.dtype));
        parts.Add(torch.zeros(1, width, dtype: textEmbeds.dtype, device: device));
        var table = torch.cat(parts, dim: 0);
        long imageBase = (long)rows * maxIds, zeroRow = table.shape[0] - 1;

        var sources = new List<long>[rows];
        var labels = new List<long>[rows];
        int image = 0;
        for (int r = 0; r < rows; r++)
        {
            sources[r] = new List<long>(); labels[r] = new List<long>();
            for (int j = 0; j < batch.InputIds[r].Length; j++)
            {
                if (batch.InputIds[r][j] == LlavaBatch.ImageTokenIndex)
                {
                    for (long p = 0; p < patches; p++) { sources[r].Add(imageBase + image * patches + p); labels[r].Add(LlavaBatch.IgnoreIndex); }
                    image++;
                }
                else
                {
                    sources[r].Add((long)r * maxIds + j);
                    labels[r].Add(batch.Labels?[r][j] ?? LlavaBatch.IgnoreIndex);
                }
            }
            if (maxLength is int max && sources[r].Count > max) { sources[r].RemoveRange(max, sources[r].Count - max); labels[r].RemoveRange(max, labels[r].Count - max); }
        }
        int t = sources.Max(s => s.Count);
        var gather = new long[rows * t];
        var mask = new long[rows * t];
        var padded = new long[rows][];
        for (int r = 0; r < rows; r++)
        {
            padded[r] = Enumerable.Repeat(LlavaBatch.IgnoreIndex, t).ToArray();
            for (int j = 0; j < t; j++)
            {
                bool real = j < sources[r].Count;
                gather[r * t + j] = real ? sources[r][j] : zeroRow;
                mask[r * t + j] = real ? 1 : 0;
                if (real) padded[r][j] = labels[r][j];
            }
        }
        var embeds = table.index_select(0, torch.tensor(gather, device: device)).view(rows, t, width);
        var attention = torch.tensor(mask, device: device).view(rows, t);
        return new LlavaInputs
        {
            Embeds = embeds.MoveToOuterDisposeScope(),
            AttentionMask = attention.MoveToOuterDisposeScope(),
            Labels = padded,
            Lengths = sources.Select(s => s.Count).ToArray(),
        };
    }

    /// <summary>Final hidden states [B, T, hidden] of prepared inputs (a cache, when given, is filled).</summary>
    public Tensor Hidden(LlavaInputs inputs, KvCache? cache = null) =>
        language_model.Model.Forward(inputs.Embeds, inputs.AttentionMask, null, cache);

    /// <summary>
    /// Full forward. With <paramref name="lossPositionsOnly"/>, the head runs only at positions t
    /// whose next label (t+1) is not ignored, and the output carries those labels as targets
    /// (subset indices when <see cref="VocabSubset"/> is set).
    /// </summary>
    public LlavaOutput Forward(LlavaBatch batch, bool lossPositionsOnly = false, int? maxLength = null)
    {
        using var scope = torch.NewDisposeScope();
        if (!lossPositionsOnly)
        {
            var inputs = Prepare(batch, maxLength);
            return new LlavaOutput
            {
                Logits = language_model.Logits(Hidden(inputs), VocabSubset).MoveToOuterDisposeScope(),
                AttentionMask = inputs.AttentionMask.MoveToOuterDisposeScope(),
            };
        }
        var selected = LossPositionHidden(batch, maxLength);
        return new LlavaOutput
        {
            Logits = language_model.Logits(selected.Hidden, VocabSubset).MoveToOuterDisposeScope(),
            Targets = selected.Targets.MoveToOuterDisposeScope(),
            Rows = selected.Rows,
            Positions = selected.Positions,
            AttentionMask = selected.AttentionMask.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>Final hidden states [N, hidden] at the N positions whose next token carries a label, with those labels.</summary>
    public LossPositions LossPositionHidden(LlavaBatch batch, int? maxLength = null)
    {
        using var scope = torch.NewDisposeScope();
        var inputs = Prepare(batch, maxLength);
        var hidden = Hidden(inputs);
        long rows = hidden.shape[0], t = hidden.shape[1];
        var rowList = new List<long>(); var posList = new List<long>(); var targets = new List<long>();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j + 1 < t; j++)
                if (inputs.Labels[r][j + 1] != LlavaBatch.IgnoreIndex) { rowList.Add(r); posList.Add(j); targets.Add(inputs.Labels[r][j + 1]); }
        var flat = rowList.Select((r, i) => r * t + posList[i]).ToArray();
        var selected = hidden.reshape(rows * t, hidden.shape[2]).index_select(0, torch.tensor(flat, dtype: ScalarType.Int64, device: hidden.device));
        long[] mapped = VocabSubset?.MapTargets(targets.ToArray()) ?? targets.ToArray();
        return new LossPositions(
            selected.MoveToOuterDisposeScope(),
            torch.tensor(mapped, dtype: ScalarType.Int64, device: hidden.device).MoveToOuterDisposeScope(),
            rowList.ToArray(), posList.ToArray(), inputs.AttentionMask.MoveToOuterDisposeScope());
    }
}

/// <summary>Hidden states [N, hidden] at loss positions, their targets [N], and where they came from.</summary>
public sealed record LossPositions(Tensor Hidden, Tensor Targets, long[] Rows, long[] Positions, Tensor AttentionMask);
