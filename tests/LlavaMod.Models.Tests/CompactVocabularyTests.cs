using LlavaMod.Core;
using LlavaMod.Models.IO;
using LlavaMod.Models.Tests.Reference;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Models.Tests;

/// <summary>Training a vocabulary-subset model on compact [subset, hidden] tables must be the same
/// model as training the full tables (with no weight decay, rows outside the subset get no update
/// either way), and must save the same Hugging Face-shaped tensors.</summary>
[Collection(ReferenceCollection.Name)]
public class CompactVocabularyTests(ReferenceFixture reference) : IDisposable
{
    static readonly int[] SubsetIds = [2, 5, 9, 11, 17, 30, 42, 60];
    static readonly long[][] Rows = [[5, 9, 11, 17, 30], [42, 60, 2, 9, 5]];
    readonly string _temp = Directory.CreateTempSubdirectory("llavamod-compact-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("qwen_tied")]
    [InlineData("qwen_untied")]
    public void Training_steps_on_compact_tables_equal_training_the_full_tables(string fixture)
    {
        var subset = new VocabSubset(SubsetIds);
        using var full = Checkpoint.LoadQwen2(reference.Dir(fixture));
        using var compact = Checkpoint.LoadQwen2(reference.Dir(fixture));
        var before = full.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        compact.CompactTo(subset);
        Assert.Equal(SubsetIds.Length, compact.HeadWeight.shape[0]);

        var lossesFull = Train(full, subset, steps: 3);
        var lossesCompact = Train(compact, subset, steps: 3);
        for (int i = 0; i < 3; i++) Assert.Equal(lossesFull[i], lossesCompact[i], 5);

        var saved = compact.state_dict().ToDictionary(kv => kv.Key, kv => compact.ForSaving(kv.Key, kv.Value));
        var trained = full.state_dict();
        Assert.Equal(trained.Keys.Order(), saved.Keys.Order());
        foreach (var (name, value) in trained)
        {
            Assert.Equal(value.shape, saved[name].shape);
            TensorAssert.Close(value, saved[name], 1e-5);
        }
        // rows outside the subset are bit-identical to the loaded ones
        using var outside = torch.tensor(Enumerable.Range(0, (int)full.Config.VocabSize).Except(SubsetIds).Select(i => (long)i).ToArray());
        var embed = saved["model.embed_tokens.weight"];
        Assert.True((embed.index_select(0, outside) == before["model.embed_tokens.weight"].index_select(0, outside)).all().item<bool>());
    }

    [Fact]
    public void Compact_llava_model_gives_the_same_logits_and_saves_the_same_files()
    {
        using var model = Checkpoint.Load(reference.Dir("llava"));
        model.VocabSubset = new VocabSubset(SubsetIds);
        using var pixels = reference.Get("llava.pixel_values");
        var batch = new LlavaBatch { InputIds = [[5, LlavaBatch.ImageTokenIndex, 9, 11], [42, 60]], PixelValues = pixels[..1] };
        using var noGrad = torch.no_grad();
        using var expected = model.Forward(batch).Logits;
        string plain = Path.Combine(_temp, "plain"), compacted = Path.Combine(_temp, "compact");
        Checkpoint.Save(model, plain);

        model.LanguageModel.CompactTo(model.VocabSubset);
        using var actual = model.Forward(batch).Logits;
        TensorAssert.Close(expected, actual, 0);
        Checkpoint.Save(model, compacted);
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain, "model.safetensors")), File.ReadAllBytes(Path.Combine(compacted, "model.safetensors")));
    }

    [Fact]
    public void A_token_outside_the_subset_is_refused_with_its_id()
    {
        using var model = Checkpoint.LoadQwen2(reference.Dir("qwen_tied"));
        model.CompactTo(new VocabSubset(SubsetIds));
        using var ids = torch.tensor(new long[] { 5, 9, 13 }).view(1, 3);
        var error = Assert.Throws<LlavaModException>(() => model.Hidden(ids));
        Assert.Contains("token id 13", error.Message);
        Assert.Throws<LlavaModException>(() => model.Forward(torch.tensor(new long[] { 5 }).view(1, 1)));
    }

    static List<double> Train(Qwen2ForCausalLM model, VocabSubset subset, int steps)
    {
        model.train();
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: 0.05, beta1: 0.9, beta2: 0.98, weight_decay: 0);
        var losses = new List<double>();
        using var inputs = torch.tensor(Rows.SelectMany(r => r[..^1]).ToArray()).view(2, 4);
        using var targets = torch.tensor(subset.MapTargets(Rows.SelectMany(r => r[1..]).ToArray()));
        for (int s = 0; s < steps; s++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Forward(inputs, subset: subset);
            var loss = nn.functional.cross_entropy(logits.view(-1, subset.Count), targets);
            loss.backward();
            optimizer.step();
            optimizer.zero_grad();
            losses.Add(loss.item<float>());
        }
        return losses;
    }
}
