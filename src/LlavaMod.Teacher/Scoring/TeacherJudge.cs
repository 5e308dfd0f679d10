using LlavaMod.Core;
using LlavaMod.Data.Text;
using LlavaMod.Models;
using LlavaMod.Preferences;
using TorchSharp;
using static TorchSharp.torch;

namespace LlavaMod.Teacher.Scoring;

/// <summary>The teacher's answer to one claim: log P(yes) and log P(no) of the next token after the question.</summary>
public sealed record JudgedClaim(string Claim, double LogProbYes, double LogProbNo)
{
    /// <summary>The verdict rule: supported when P(yes) ≥ P(no).</summary>
    public bool Supported => LogProbYes >= LogProbNo;

    /// <summary>As stored in the claims JSON; a false claim names its content words as hallucinated.</summary>
    public ClaimVerdict ToVerdict() => new(Claim, Supported, Supported ? null : ClaimSplitter.ContentWords(Claim));
}

/// <summary>A response judged claim by claim: score = −(number of false claims), severity = 1 + that number.</summary>
public sealed record JudgedResponse(double Score, double Severity, IReadOnlyList<JudgedClaim> Claims)
{
    public string? ClaimsJson => Claims.Count == 0 ? null : Preferences.ClaimsJson.Serialize(Claims.Select(c => c.ToVerdict()));
}

/// <summary>
/// Teacher as judge (RLAIF-V style, for data without ground truth): each claim of a response
/// (<see cref="ClaimSplitter"/>) becomes the question <see cref="QuestionTemplate"/> about the image,
/// rendered with the chat template the teacher was trained with; one teacher-forced forward pass
/// over a batch of claims reads the next-token distribution after the assistant prefix. P(yes) is
/// the summed probability of the single-token spellings "yes", "Yes", " yes", " Yes" (likewise for
/// no); with a vocabulary subset only the spellings inside the subset count, and the softmax runs
/// over the subset, as in training. A claim is supported when P(yes) ≥ P(no).
/// </summary>
public sealed class TeacherJudge
{
    /// <summary>Scorer version: change it when the question, the spellings, the rule or the splitter change.</summary>
    public const string Version = "judge-v1";
    public const string QuestionTemplate = "Is the following statement about the image true? Statement: {0} Answer yes or no.";

    readonly LlavaModel _model;
    readonly ChatTemplate _template;
    readonly Device _device;
    readonly int _maxClaimsPerForward;
    readonly long[] _yesColumns, _noColumns;

    public TeacherJudge(LlavaModel model, QwenTokenizer tokenizer, ChatTemplateKind template, Device device, int maxClaimsPerForward = 64)
    {
        _model = model;
        _template = ChatTemplate.Create(template, tokenizer);
        _device = device;
        _maxClaimsPerForward = Math.Max(1, maxClaimsPerForward);
        YesTokenIds = AnswerIds(tokenizer, model.VocabSubset, "yes");
        NoTokenIds = AnswerIds(tokenizer, model.VocabSubset, "no");
        _yesColumns = YesTokenIds.Select(Column).ToArray();
        _noColumns = NoTokenIds.Select(Column).ToArray();
    }

    public ChatTemplateKind Template => _template.Kind;

    /// <summary>Tokenizer ids counted as "yes" / "no" (single-token spellings the model's output layer has).</summary>
    public IReadOnlyList<int> YesTokenIds { get; }
    public IReadOnlyList<int> NoTokenIds { get; }

    /// <summary>Prompt ids of the question about one claim (the image placeholder first when there is an image).</summary>
    public int[] QuestionPrompt(string claim, bool withImage)
    {
        string question = string.Format(System.Globalization.CultureInfo.InvariantCulture, QuestionTemplate, claim);
        return _template.TokenizePrompt([new ChatTurn(ChatTurn.User, withImage ? ChatTemplate.ImageTag + "\n" + question : question)]);
    }

    /// <summary>Splits the response into claims and judges them.</summary>
    public JudgedResponse Score(string response, byte[]? image) => FromClaims(Judge(ClaimSplitter.Split(response), image));

    /// <summary>Score and severity of already judged claims.</summary>
    public static JudgedResponse FromClaims(IReadOnlyList<JudgedClaim> claims)
    {
        int falseClaims = claims.Count(c => !c.Supported);
        return new JudgedResponse(-falseClaims, 1 + falseClaims, claims);
    }

    /// <summary>Judges claims about one image (null: a text-only prompt), <c>maxClaimsPerForward</c> per forward pass.</summary>
    public IReadOnlyList<JudgedClaim> Judge(IReadOnlyList<string> claims, byte[]? image)
    {
        var judged = new List<JudgedClaim>(claims.Count);
        foreach (var chunk in claims.Chunk(_maxClaimsPerForward)) judged.AddRange(JudgeBatch(chunk, image));
        return judged;
    }

    IEnumerable<JudgedClaim> JudgeBatch(IReadOnlyList<string> claims, byte[]? image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            // Each row is the question plus one labelled token: the head then runs at exactly the
            // position after the assistant prefix, through the training path (image splicing, subset).
            long target = YesTokenIds[0];
            var examples = claims.Select((claim, i) =>
            {
                var prompt = QuestionPrompt(claim, image is not null).Select(id => (long)id).ToArray();
                return SupervisedExample.PromptAndResponse($"claim-{i}", prompt, [target], image);
            }).ToList();
            using var output = _model.Forward(LlavaBatch.FromExamples(examples, _model.Config.Vision, _device), lossPositionsOnly: true);
            if (output.Rows!.Length != claims.Count) throw new LlavaModException($"judge: {output.Rows.Length} answer positions for {claims.Count} claims");
            var logProbs = nn.functional.log_softmax(output.Logits, -1);
            var yes = logProbs.index_select(1, tensor(_yesColumns, device: logProbs.device)).logsumexp(1).cpu().data<float>().ToArray();
            var no = logProbs.index_select(1, tensor(_noColumns, device: logProbs.device)).logsumexp(1).cpu().data<float>().ToArray();
            var judged = new JudgedClaim[claims.Count];
            for (int i = 0; i < judged.Length; i++) judged[output.Rows[i]] = new JudgedClaim(claims[(int)output.Rows[i]], yes[i], no[i]);
            return judged;
        }
        finally { _model.train(wasTraining); }
    }

    long Column(int tokenId) => _model.VocabSubset is { } subset ? subset.IndexOf(tokenId) : tokenId;

    static int[] AnswerIds(QwenTokenizer tokenizer, VocabSubset? subset, string word)
    {
        string capital = char.ToUpperInvariant(word[0]) + word[1..];
        var ids = new[] { word, capital, " " + word, " " + capital }
            .Select(tokenizer.Encode).Where(e => e.Count == 1).Select(e => e[0])
            .Where(id => subset is null || subset.IndexOf(id) >= 0).Distinct().ToArray();
        if (ids.Length == 0)
            throw new LlavaModException($"the teacher cannot answer '{word}': no single-token spelling of it is in its " +
                                        (subset is null ? "tokenizer" : "vocabulary subset (rebuild the subset from data that has yes/no answers)"));
        return ids;
    }
}
