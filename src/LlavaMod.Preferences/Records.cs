namespace LlavaMod.Preferences;

/// <summary>One mining (or import) run: which teacher, sampler and scorer made the pairs, with their
/// versions and settings. <see cref="Name"/> is the run's natural key.</summary>
public sealed record RunInfo(
    string Name,
    string Teacher,
    string TeacherVersion,
    string Sampler,
    string SamplerVersion,
    string Scorer,
    string ScorerVersion,
    string SettingsJson = "{}");

/// <summary>A prompt of a run. <see cref="PromptKey"/> is unique within the run (for mined prompts:
/// the data shard row key; use <see cref="PromptKeys.For"/> when there is none). <see cref="ImageKey"/>
/// is the data shard row key of the image, <see cref="ImagePath"/> the image file.</summary>
public sealed record PromptRecord(
    string PromptKey,
    string Text,
    int[]? TokenIds = null,
    string? ImageKey = null,
    string? ImagePath = null,
    string? MetaJson = null);

/// <summary>One sampled response. <see cref="Score"/> is the scorer's scalar (RLAIF-V: −number of
/// false claims); <see cref="ClaimsJson"/> the claims with verdicts (see <see cref="ClaimVerdict"/>);
/// <see cref="SamplerLogp"/> the summed log-prob under the sampler.</summary>
public sealed record ResponseRecord(
    string Text,
    int[]? TokenIds = null,
    double? Score = null,
    string? ClaimsJson = null,
    double? SamplerLogp = null)
{
    /// <summary>Token count: the length of <see cref="TokenIds"/>, null when the text was not tokenized.</summary>
    public int? TokenCount => TokenIds?.Length;
}

/// <summary>Which split a pair belongs to.</summary>
public enum PairSplit { Train, Val }

/// <summary>Whether a pair was mined by the teacher pass or imported from a file.</summary>
public enum PairSource { Mined, Imported }

/// <summary>A pair: which response is chosen and which rejected, by their ids in the store (<see cref="PairStore.AddPairs"/>)
/// or, inside a <see cref="MinedPrompt"/>, by their indexes in its response list (both responses belong to one prompt).
/// The reference is the teacher: <see cref="RefChosenLogp"/> is the teacher's summed log-prob of the
/// chosen response over <see cref="RefChosenTokens"/> tokens, likewise for the rejected one.
/// <see cref="Severity"/> is the HSA-DPO weight w_r of the rejected response (1 = plain DPO).</summary>
public sealed record PairRecord(
    long Chosen,
    long Rejected,
    double Severity = 1.0,
    double? RefChosenLogp = null,
    int? RefChosenTokens = null,
    double? RefRejectedLogp = null,
    int? RefRejectedTokens = null,
    PairSplit Split = PairSplit.Train,
    PairSource Source = PairSource.Mined);

/// <summary>Everything the teacher pass produced for one prompt; <see cref="PairStore.AddMinedBatch"/>
/// writes a batch of these in one transaction.</summary>
public sealed record MinedPrompt(PromptRecord Prompt, IReadOnlyList<ResponseRecord> Responses, IReadOnlyList<PairRecord> Pairs);

/// <summary>What the preference-distillation stage reads per pair. Token id arrays are null when
/// the pair was imported without tokenization (then tokenize the texts).</summary>
public sealed record PreferencePair(
    long PairId,
    string PromptText,
    string? ImagePath,
    string? ImageKey,
    int[]? PromptTokenIds,
    string ChosenText,
    int[]? ChosenTokenIds,
    string RejectedText,
    int[]? RejectedTokenIds,
    double? RefChosenLogp,
    double? RefRejectedLogp,
    double Severity);
