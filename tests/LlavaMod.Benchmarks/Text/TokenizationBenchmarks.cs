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
/// the ETL does per row). The "Tokens/s" column divides the token count by the mean time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokensPerSecondConfig))]
public class TokenizationBenchmarks
{
    QwenTokenizer _ours = null!;
    Tokenizers.DotNet.Tokenizer _huggingFace = null!;
    string[] _lines = [];

    [Params(2000)]
    public int Lines { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ours = QwenTokenizer.Load(QwenTokenizer.BundledPath);
        _huggingFace = new Tokenizers.DotNet.Tokenizer(vocabPath: QwenTokenizer.BundledPath);
        _lines = CorpusLines(Lines);
    }

    internal static string[] CorpusLines(int generated) => TokenizerCorpus.Lines(generated, seed: 1234).ToArray();

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
            int lines = Convert.ToInt32(benchmarkCase.Parameters[nameof(Lines)], System.Globalization.CultureInfo.InvariantCulture);
            double seconds = report.ResultStatistics.Mean / 1e9;
            return (TokensPerOperation(lines) / seconds).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        }

        // Runs in the host process (the benchmarks run in a child): count the tokens once per size.
        // Both tokenizers produce the same ids, so one count serves both rows.
        readonly Dictionary<int, long> _tokenCounts = [];
        QwenTokenizer? _tokenizer;

        long TokensPerOperation(int lines)
        {
            if (_tokenCounts.TryGetValue(lines, out long n)) return n;
            _tokenizer ??= QwenTokenizer.Load(QwenTokenizer.BundledPath);
            n = CorpusLines(lines).Sum(l => (long)_tokenizer.Encode(l).Count);
            _tokenCounts[lines] = n;
            return n;
        }
    }
}
