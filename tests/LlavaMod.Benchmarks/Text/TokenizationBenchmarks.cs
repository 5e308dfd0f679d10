using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using LlavaMod.Data.Tests.Text;
using LlavaMod.Data.Text;

namespace LlavaMod.Benchmarks.Text;

/// <summary>
/// Encoding speed of our Qwen tokenizer (Microsoft.ML.Tokenizers) against Hugging Face's Rust
/// tokenizer through Tokenizers.DotNet, on the same generated lines (one Encode call per line, as
/// the ETL does per row). Two texts: "chat", LLaVA-style conversations as the ETL sees them
/// (<see cref="ConversationLines"/>), and "corpus", the mixed-script test corpus (emoji, CJK, astral
/// letters, combining marks, code), the worst case for the BPE cache. The "Tokens/s" column divides
/// the token count by the mean time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokensPerSecondConfig))]
public class TokenizationBenchmarks
{
    QwenTokenizer _ours = null!;
    Tokenizers.DotNet.Tokenizer _huggingFace = null!;
    string[] _lines = [];

    [Params("chat", "corpus")]
    public string Text { get; set; } = "chat";

    [GlobalSetup]
    public void Setup()
    {
        _ours = QwenTokenizer.Load(QwenTokenizer.BundledPath);
        _huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: QwenTokenizer.BundledPath);
        _lines = LinesOf(Text);
    }

    /// <summary>2,000 lines of the named text (plus the corpus's hand-picked cases).</summary>
    internal static string[] LinesOf(string text) => text == "corpus"
        ? TokenizerCorpus.Lines(2000, seed: 1234).ToArray()
        : ConversationLines.Create(2000);

    [Benchmark(Baseline = true)]
    public long Ours()
    {
        long n = 0;
        foreach (string line in _lines) n += _ours.Encode(line).Count;
        return n;
    }

    [Benchmark]
    public long HuggingFaceRust()
    {
        long n = 0;
        foreach (string line in _lines) n += _huggingFace.Encode(line).Length;
        return n;
    }

    sealed class TokensPerSecondConfig : ManualConfig
    {
        public TokensPerSecondConfig() => AddColumn(new TokensPerSecondColumn());
    }

    sealed class TokensPerSecondColumn : IColumn
    {
        public string Id => nameof(TokensPerSecondColumn);
        public string ColumnName => "Tokens/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "tokens encoded per second (token count of one operation / mean time)";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is null) return "?";
            string text = (string)benchmarkCase.Parameters[nameof(Text)];
            double seconds = report.ResultStatistics.Mean / 1e9;
            return (TokensPerOperation(text) / seconds).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }

        // Runs in the host process (the benchmarks run in a child): count the tokens once per size.
        // Both tokenizers produce the same ids, so one count serves both rows.
        readonly Dictionary<string, long> _tokenCounts = [];
        QwenTokenizer? _tokenizer;

        long TokensPerOperation(string text)
        {
            if (_tokenCounts.TryGetValue(text, out long n)) return n;
            _tokenizer ??= QwenTokenizer.Load(QwenTokenizer.BundledPath);
            n = LinesOf(text).Sum(l => (long)_tokenizer.Encode(l).Count);
            _tokenCounts[text] = n;
            return n;
        }
    }
}
