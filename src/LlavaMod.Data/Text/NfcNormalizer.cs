using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlavaMod.Data.Text;

/// <summary>
/// Unicode NFC, the normalizer Qwen's tokenizer.json declares. .NET implements it through ICU, so it
/// works only when globalization-invariant mode is off (see Directory.Build.props);
/// <see cref="EnsureAvailable"/> turns a silent no-op into a clear error.
/// </summary>
internal sealed class NfcNormalizer : Normalizer
{
    public static readonly NfcNormalizer Instance = new();

    public override string Normalize(string original) =>
        original.IsNormalized(NormalizationForm.FormC) ? original : original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());

    /// <summary>Throws when the runtime cannot normalise (invariant globalization mode makes NFC a no-op).</summary>
    public static void EnsureAvailable()
    {
        if ("e\u0301".Normalize(NormalizationForm.FormC) != "\u00e9")
            throw new Core.LlavaModException(
                "Unicode NFC normalization is unavailable in this process (.NET globalization-invariant mode is on, or ICU is missing); " +
                "the Qwen tokenizer needs it. Run with InvariantGlobalization=false (DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=0) and libicu installed.");
    }
}
