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

    /// <summary>
    /// Splices image embeddings into the token embeddings and right-pads the rows. Every output
    /// position is one row of a lookup table (<see cref="BuildEmbeddingTable"/>): text tokens first, then
    /// the patches of every image, then a zero row for padding. Each batch row becomes the list of
    /// table rows it reads (<see cref="SpliceRow"/>), and one index_select builds the batch.
    /// </summary>
    public LlavaInputs Prepare(LlavaBatch batch, int? maxLength = null)
    {
        int rows = batch.InputIds.Count;
        if (rows == 0) throw new LlavaModException("empty batch");
        if (batch.Labels is not null && (batch.Labels.Count != rows || Enumerable.Range(0, rows).Any(r => batch.Labels[r].Length != batch.InputIds[r].Length)))
            throw new LlavaModException("labels must have one row per input row, each as long as its ids");
        using var scope = torch.NewDisposeScope();
        var table = BuildEmbeddingTable(batch);
        var spliced = Enumerable.Range(0, rows).Select(r => SpliceRow(batch, r, table, maxLength)).ToArray();

        int t = spliced.Max(s => s.TableRows.Count);
        var gather = new long[rows * t];
        var mask = new long[rows * t];
        var padded = new long[rows][];
        for (int r = 0; r < rows; r++)
        {
            var (tableRows, labels) = spliced[r];
            padded[r] = Enumerable.Repeat(LlavaBatch.IgnoreIndex, t).ToArray();
            for (int j = 0; j < t; j++)
            {
                bool real = j < tableRows.Count;
                gather[r * t + j] = real ? tableRows[j] : table.ZeroRow;
                mask[r * t + j] = real ? 1 : 0;
                if (real) padded[r][j] = labels[j];
            }
        }
        var device = table.Rows.device;
        var embeds = table.Rows.index_select(0, torch.tensor(gather, device: device)).view(rows, t, table.Rows.shape[1]); // (B, T, D)
        var attention = torch.tensor(mask, device: device).view(rows, t);                                                 // (B, T)
        return new LlavaInputs
        {
            Embeds = embeds.MoveToOuterDisposeScope(),
            AttentionMask = attention.MoveToOuterDisposeScope(),
            Labels = padded,
            Lengths = spliced.Select(s => s.TableRows.Count).ToArray(),
        };
    }

    /// <summary>
    /// The rows every input position is read from: <see cref="Rows"/> (B·L + I·P + 1, D) holds, in order,
    /// the embedding of token j of batch row r at r·L + j (L = the longest id row; placeholders and
    /// padding embed any valid id and are never read), patch p of image i at <see cref="ImageBase"/> + i·P + p,
    /// and zeros at <see cref="ZeroRow"/> for padding.
    /// </summary>
    sealed record EmbeddingTable(Tensor Rows, int IdsPerRow, long ImageBase, long Patches, long ZeroRow);

    EmbeddingTable BuildEmbeddingTable(LlavaBatch batch)
    {
        int rows = batch.InputIds.Count, images = batch.ImageCount;
        Tensor? imageEmbeds = null; // (I, P, D)
        long patches = 0;
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
        var textEmbeds = language_model.Model.Embed(torch.tensor(ids, device: device).view(rows, maxIds)).reshape(rows * maxIds, width); // (B·L, D)
        var parts = new List<Tensor> { textEmbeds };
        if (imageEmbeds is not null) parts.Add(imageEmbeds.reshape(images * patches, width).to(textEmbeds.dtype)); // (I·P, D)
        parts.Add(torch.zeros(1, width, dtype: textEmbeds.dtype, device: device));                                 // (1, D)
        var table = torch.cat(parts, dim: 0);
        return new EmbeddingTable(table, maxIds, (long)rows * maxIds, patches, table.shape[0] - 1);
    }

    /// <summary>Row <paramref name="r"/> as table rows and labels: each image placeholder expands to its image's P patches
    /// (labelled ignored), in placeholder order over the batch; cut to <paramref name="maxLength"/> when given.</summary>
    static (List<long> TableRows, List<long> Labels) SpliceRow(LlavaBatch batch, int r, EmbeddingTable table, int? maxLength)
    {
        int image = batch.InputIds.Take(r).Sum(ids => ids.Count(id => id == LlavaBatch.ImageTokenIndex)); // images of earlier rows
        var tableRows = new List<long>();
        var labels = new List<long>();
        for (int j = 0; j < batch.InputIds[r].Length; j++)
        {
            if (batch.InputIds[r][j] == LlavaBatch.ImageTokenIndex)
            {
                for (long p = 0; p < table.Patches; p++) { tableRows.Add(table.ImageBase + image * table.Patches + p); labels.Add(LlavaBatch.IgnoreIndex); }
                image++;
            }
            else
            {
                tableRows.Add((long)r * table.IdsPerRow + j);
                labels.Add(batch.Labels?[r][j] ?? LlavaBatch.IgnoreIndex);
            }
        }
        if (maxLength is int max && tableRows.Count > max) { tableRows.RemoveRange(max, tableRows.Count - max); labels.RemoveRange(max, labels.Count - max); }
        return (tableRows, labels);
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
                Logits = language_model.Logits(Hidden(inputs), VocabSubset).MoveToOuterDisposeScope(), // (B, T, V)
                AttentionMask = inputs.AttentionMask.MoveToOuterDisposeScope(),
            };
        }
        var selected = LossPositionHidden(batch, maxLength);
        return new LlavaOutput
        {
            Logits = language_model.Logits(selected.Hidden, VocabSubset).MoveToOuterDisposeScope(), // (N, V)
            Targets = selected.Targets.MoveToOuterDisposeScope(),
            Rows = selected.Rows,
            Positions = selected.Positions,
            AttentionMask = selected.AttentionMask.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>
    /// The training forward: the head's inputs at the N positions whose next token carries a label (hidden (N, D) and
    /// the head matrix (V, D), the vocabulary subset's rows when one is set), with those labels as column indices. Every
    /// training loss takes this and fuses the head with itself (<see cref="ChunkedHeadLoss"/>).
    /// </summary>
    public LossHead LossHead(LlavaBatch batch, int? maxLength = null)
    {
        var selected = LossPositionHidden(batch, maxLength);
        selected.AttentionMask.Dispose();
        // not inside a dispose scope of ours: the head matrix may be the parameter itself
        return new LossHead
        {
            Head = new HeadInputs(selected.Hidden, language_model.HeadMatrix(VocabSubset)),
            Targets = selected.Targets,
            Rows = selected.Rows,
            Positions = selected.Positions,
        };
    }

    /// <summary>Final hidden states [N, hidden] at the N positions whose next token carries a label, with those labels.</summary>
    public LossPositions LossPositionHidden(LlavaBatch batch, int? maxLength = null)
    {
        using var scope = torch.NewDisposeScope();
        var inputs = Prepare(batch, maxLength);
        var hidden = Hidden(inputs); // (B, T, D)
        long rows = hidden.shape[0], t = hidden.shape[1];
        var rowList = new List<long>(); var posList = new List<long>(); var targets = new List<long>();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j + 1 < t; j++)
                if (inputs.Labels[r][j + 1] != LlavaBatch.IgnoreIndex) { rowList.Add(r); posList.Add(j); targets.Add(inputs.Labels[r][j + 1]); }
        var flat = rowList.Select((r, i) => r * t + posList[i]).ToArray();
        var selected = hidden.reshape(rows * t, hidden.shape[2]).index_select(0, torch.tensor(flat, dtype: ScalarType.Int64, device: hidden.device)); // (N, D)
        long[] mapped = VocabSubset?.MapTargets(targets.ToArray()) ?? targets.ToArray();
        return new LossPositions(
            selected.MoveToOuterDisposeScope(),
            torch.tensor(mapped, dtype: ScalarType.Int64, device: hidden.device).MoveToOuterDisposeScope(),
            rowList.ToArray(), posList.ToArray(), inputs.AttentionMask.MoveToOuterDisposeScope());
    }
}

/// <summary>Hidden states [N, hidden] at loss positions, their targets [N], and where they came from.</summary>
public sealed record LossPositions(Tensor Hidden, Tensor Targets, long[] Rows, long[] Positions, Tensor AttentionMask);
