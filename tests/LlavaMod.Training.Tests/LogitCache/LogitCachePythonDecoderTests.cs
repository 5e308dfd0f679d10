using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlavaMod.LogitCache;
using ParquetSharp;

namespace LlavaMod.Training.Tests.LogitCache;

/// <summary>The Python decoder of docs/logit-cache.md, run as written (standard library + numpy, Debian's
/// /usr/bin/python3) on the columns of a cache the test writes, read by ParquetSharp; its output must be
/// the rows that were written, within the documented bound.</summary>
public sealed class LogitCachePythonDecoderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llavamod-cache-py-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static string DocDecoder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string doc = Path.Combine(dir.FullName, "docs", "logit-cache.md");
            if (!File.Exists(doc)) continue;
            string text = File.ReadAllText(doc);
            int start = text.IndexOf("```python\n", StringComparison.Ordinal);
            Assert.True(start >= 0, "docs/logit-cache.md has no ```python block");
            start += "```python\n".Length;
            return text[start..text.IndexOf("```", start, StringComparison.Ordinal)];
        }
        throw new InvalidOperationException("docs/logit-cache.md not found above the test folder");
    }

    /// <summary>Every column of every row, by row group, as ParquetSharp reads them (binary as hex).</summary>
    static JsonObject Columns(string path)
    {
        using var file = new ParquetFileReader(path);
        var schema = file.FileMetaData.Schema;
        var groups = new JsonArray();
        for (int g = 0; g < file.FileMetaData.NumRowGroups; g++)
        {
            using var rg = file.RowGroup(g);
            int n = checked((int)rg.MetaData.NumRows);
            var rows = Enumerable.Range(0, n).Select(_ => new JsonObject()).ToArray();
            for (int c = 0; c < file.FileMetaData.NumColumns; c++)
            {
                string name = schema.Column(c).Name;
                if (name == "key") { using var r = rg.Column(c).LogicalReader<string>(); var v = r.ReadAll(n); for (int i = 0; i < n; i++) rows[i][name] = v[i]; }
                else if (name == "token_count") { using var r = rg.Column(c).LogicalReader<int>(); var v = r.ReadAll(n); for (int i = 0; i < n; i++) rows[i][name] = v[i]; }
                else { using var r = rg.Column(c).LogicalReader<byte[]?>(); var v = r.ReadAll(n); for (int i = 0; i < n; i++) rows[i][name] = v[i] is null ? null : Convert.ToHexString(v[i]!); }
            }
            groups.Add(new JsonArray(rows.Cast<JsonNode>().ToArray()));
        }
        return new JsonObject { ["meta"] = JsonNode.Parse(file.FileMetaData.KeyValueMetadata[LogitCacheMetadata.MetadataKey]), ["groups"] = groups };
    }

    const string Harness = """

        import sys
        data = json.load(open(sys.argv[1]))
        meta, out = data["meta"], []
        for group in data["groups"]:
            rows = [{c: (bytes.fromhex(v) if isinstance(v, str) and c not in ("key",) else v) for c, v in r.items()} for r in group]
            dictionary = decode_dictionary(rows[0]["id_dictionary"], id_planes(meta["vocab_size"]))
            for row in rows:
                ids, logprobs, tail = decode_row(row, meta, dictionary)
                out.append({"key": row["key"], "ids": ids.tolist(), "logprobs": logprobs.tolist(),
                            "tail": [None if t == float("-inf") else float(t) for t in tail]})
        json.dump(out, open(sys.argv[2], "w"))
        """;

    [Theory]
    [InlineData(151_936, 8, 3, false)]  // ids spread over Qwen's vocabulary: raw byte planes, no dictionary
    [InlineData(20, 4, 40, true)]       // a teacher that keeps to 20 tokens scattered over Qwen's vocabulary: id dictionaries
    [InlineData(70, 1, 2, false)]       // one plane, k = 1 (no gaps)
    public async Task The_documented_decoder_reads_a_cache_back_within_the_bound(int teacherVocab, int k, int rowGroupRows, bool dictionary)
    {
        int vocab = dictionary ? 151_936 : teacherVocab;
        var rows = SyntheticTeacher.Rows(rows: dictionary ? 80 : 8, minTokens: 0, maxTokens: 5, teacherVocab, k, scale: 3, zipf: 0, seed: 11);
        if (dictionary) rows = rows.Select(r => r with { Ids = r.Ids.Select(t => t.Select(id => id * 7919 + 13).ToArray()).ToArray() }).ToList();
        // A token with no mass outside its k ids: the tail is stored as code 0 (−∞).
        if (rows.FirstOrDefault(r => r.TokenCount > 0) is { } first) first.TailLogMass[0] = float.NegativeInfinity;
        var metadata = SyntheticTeacher.Metadata(vocab, k, rowGroupRows);
        string cache = Path.Combine(_dir, "cache.logits.parquet");
        await SyntheticTeacher.WriteAsync(cache, metadata, rows);
        string input = Path.Combine(_dir, "columns.json"), output = Path.Combine(_dir, "decoded.json"), script = Path.Combine(_dir, "decode.py");
        var columns = Columns(cache);
        Assert.Equal(dictionary, columns["groups"]!.AsArray().Any(g => ((string?)g![0]!["id_dictionary"] ?? "").Length > 0));
        File.WriteAllText(input, columns.ToJsonString());
        File.WriteAllText(script, DocDecoder() + Harness);

        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { script, input, output }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            string stderr = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"the documented decoder failed (it needs numpy in /usr/bin/python3):\n{stderr}");
        }

        var decoded = JsonNode.Parse(File.ReadAllText(output))!.AsArray();
        Assert.Equal(rows.Count, decoded.Count);
        double bound = metadata.MaxLogProbError + 1e-6;
        foreach (var (expected, got) in rows.Zip(decoded))
        {
            Assert.Equal(expected.Key, (string)got!["key"]!);
            var ids = got["ids"]!.AsArray();
            Assert.Equal(expected.TokenCount, ids.Count);
            for (int t = 0; t < expected.TokenCount; t++)
            {
                // the writer stores each token's entries in descending log-prob order (ties by position)
                var order = Enumerable.Range(0, k).OrderByDescending(j => expected.LogProbs[t][j]).ThenBy(j => j).ToArray();
                Assert.Equal(order.Select(j => expected.Ids[t][j]), ids[t]!.AsArray().Select(x => (int)x!));
                var lps = got["logprobs"]![t]!.AsArray().Select(x => (double)x!).ToArray();
                Assert.Equal(expected.LogProbs[t][order[0]], (float)lps[0]);
                for (int j = 1; j < k; j++) Assert.InRange(lps[j] - expected.LogProbs[t][order[j]], -bound, bound);
                var tail = got["tail"]![t];
                if (float.IsNegativeInfinity(expected.TailLogMass[t])) Assert.Null(tail);
                else Assert.InRange((double)tail! - expected.TailLogMass[t], -bound, bound);
            }
        }
    }
}
