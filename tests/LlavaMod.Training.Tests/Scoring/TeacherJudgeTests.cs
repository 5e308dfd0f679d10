using LlavaMod.Data.Text;
using LlavaMod.Models.Runtime;
using LlavaMod.Models;
using LlavaMod.Preferences;
using LlavaMod.Teacher.Scoring;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Training.Tests.Scoring;

/// <summary>
/// The verdict rule on a tiny LLaVA model whose next-token logits are set by hand: attention and MLP
/// outputs are zeroed (so the last hidden state is the normalised embedding of the last prompt token),
/// every embedding row is all ones, the final norm keeps only dimension 0, and the (tied) rows of the
/// yes / no tokens carry ±<see cref="Margin"/> there. The logits after the question are then known
/// exactly: h0 for every token, ±Margin·h0 for yes/no, with h0 = 1/√(1 + eps).
/// </summary>
public class TeacherJudgeTests
{
    const double Margin = 6.0;
    const double Eps = 1e-6;
    static readonly QwenTokenizer Tokenizer = QwenTokenizer.Load(QwenTokenizer.BundledPath);

    public TeacherJudgeTests() => LlavaMod.Models.Runtime.TorchRuntime.EnsureLoaded();

    static int[] SingleTokenIds(string word) =>
        new[] { word, char.ToUpperInvariant(word[0]) + word[1..], " " + word, " " + char.ToUpperInvariant(word[0]) + word[1..] }
            .Select(Tokenizer.Encode).Where(e => e.Count == 1).Select(e => e[0]).Distinct().ToArray();

    static LlavaModel Model(bool yesWins)
    {
        var text = new Qwen2Config
        {
            VocabSize = Tokenizer.VocabularySize, HiddenSize = 16, IntermediateSize = 24, NumHiddenLayers = 1, NumAttentionHeads = 2,
            NumKeyValueHeads = 1, MaxPositionEmbeddings = 256, RopeTheta = 10000, RmsNormEps = Eps, TieWordEmbeddings = true,
        };
        var vision = new ClipVisionConfig { HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, ImageSize = 28, PatchSize = 14 };
        var model = new LlavaModel(new LlavaConfig(text, vision, "mlp2x_gelu", -2, "tiny-clip"));
        var g = new Generator(7);
        using var _ = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in parameters) p.copy_(randn(p.shape, generator: g).MulScalar(0.15));
        foreach (var (name, p) in parameters.Where(kv => kv.Key.StartsWith("language_model.") && (kv.Key.EndsWith("o_proj.weight") || kv.Key.EndsWith("down_proj.weight"))))
            p.zero_();
        var norm = parameters["language_model.model.norm.weight"];
        norm.zero_();
        norm[0].fill_(LongLivedScalars.DoubleOne);
        var embed = parameters["language_model.model.embed_tokens.weight"];
        embed.fill_(LongLivedScalars.DoubleOne);
        using var yesLogit = ((float)(yesWins ? Margin : -Margin)).ToScalar();
        using var noLogit = ((float)(yesWins ? -Margin : Margin)).ToScalar();
        foreach (int id in SingleTokenIds("yes")) embed[id, 0].fill_(yesLogit);
        foreach (int id in SingleTokenIds("no")) embed[id, 0].fill_(noLogit);
        model.eval();
        return model;
    }

    static byte[] Png()
    {
        using var image = new Image<Rgb24>(40, 30, new Rgb24(200, 30, 30));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }

    /// <summary>log of the summed softmax mass of <paramref name="count"/> columns at logit <paramref name="logit"/>
    /// among <paramref name="columns"/> columns, of which nYes are at +Margin·h0, nNo at −Margin·h0 (or swapped) and the rest at h0.</summary>
    static double ExpectedLogMass(double logit, int count, int columns, int nYes, int nNo, bool yesWins)
    {
        double h0 = 1 / Math.Sqrt(1 + Eps);
        double yes = (yesWins ? Margin : -Margin) * h0, no = -yes;
        double z = (columns - nYes - nNo) * Math.Exp(h0) + nYes * Math.Exp(yes) + nNo * Math.Exp(no);
        return Math.Log(count * Math.Exp(logit * h0)) - Math.Log(z);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Verdict_follows_the_larger_of_P_yes_and_P_no(bool yesWins)
    {
        using var model = Model(yesWins);
        var judge = new TeacherJudge(model, Tokenizer, ChatTemplateKind.Qwen, CPU);
        int[] yesIds = SingleTokenIds("yes"), noIds = SingleTokenIds("no");
        Assert.Equal(yesIds.Order(), judge.YesTokenIds.Order());
        Assert.Equal(noIds.Order(), judge.NoTokenIds.Order());

        var claims = new[] { "There is a red circle", "There is a blue square on the left", "The sky is green" };
        var judged = judge.Judge(claims, Png());
        Assert.Equal(claims, judged.Select(j => j.Claim));
        double sign = yesWins ? 1 : -1;
        foreach (var j in judged)
        {
            Assert.Equal(yesWins, j.Supported);
            Assert.Equal(ExpectedLogMass(sign * Margin, yesIds.Length, Tokenizer.VocabularySize, yesIds.Length, noIds.Length, yesWins), j.LogProbYes, 3);
            Assert.Equal(ExpectedLogMass(-sign * Margin, noIds.Length, Tokenizer.VocabularySize, yesIds.Length, noIds.Length, yesWins), j.LogProbNo, 3);
        }

        var scored = judge.Score("There is a red circle, a blue square and a green triangle. It is bright.", Png());
        Assert.Equal(4, scored.Claims.Count);
        Assert.Equal(yesWins ? 0 : -4, scored.Score);
        Assert.Equal(yesWins ? 1 : 5, scored.Severity);
        var verdicts = ClaimsJson.Parse(scored.ClaimsJson, "test");
        Assert.Equal(4, verdicts.Count);
        Assert.All(verdicts, v => Assert.Equal(yesWins, v.Supported));
        if (!yesWins) Assert.Equal(["blue", "square"], verdicts[1].HallucinatedWords!);
        else Assert.All(verdicts, v => Assert.Null(v.HallucinatedWords));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void With_a_vocabulary_subset_only_its_yes_no_spellings_count_and_columns_are_mapped(bool yesWins)
    {
        using var model = Model(yesWins);
        int yes = Tokenizer.Encode(" Yes").Single(), no = Tokenizer.Encode(" No").Single();
        model.VocabSubset = new VocabSubset([11, 22, no, 33, yes, 44, 55]);
        var judge = new TeacherJudge(model, Tokenizer, ChatTemplateKind.ChatMl, CPU);
        Assert.Equal([yes], judge.YesTokenIds);
        Assert.Equal([no], judge.NoTokenIds);

        var judged = judge.Judge(["There is a red circle", "There are two trees"], image: null);
        double sign = yesWins ? 1 : -1;
        Assert.All(judged, j =>
        {
            Assert.Equal(yesWins, j.Supported);
            Assert.Equal(ExpectedLogMass(sign * Margin, 1, 7, 1, 1, yesWins), j.LogProbYes, 4);
            Assert.Equal(ExpectedLogMass(-sign * Margin, 1, 7, 1, 1, yesWins), j.LogProbNo, 4);
        });
    }

    [Fact]
    public void A_subset_without_yes_or_no_is_refused()
    {
        using var model = Model(yesWins: true);
        model.VocabSubset = new VocabSubset([11, 22, Tokenizer.Encode(" Yes").Single()]);
        var e = Assert.Throws<LlavaMod.Core.LlavaModException>(() => new TeacherJudge(model, Tokenizer, ChatTemplateKind.Qwen, CPU));
        Assert.Contains("'no'", e.Message);
    }
}
