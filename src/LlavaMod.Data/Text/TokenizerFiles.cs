using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Data.Text;

/// <summary>
/// The parsed content of a byte-level BPE tokenizer: vocabulary, merges (rank order) and the added
/// tokens, plus the files it came from (for the fingerprint).
/// </summary>
internal sealed record TokenizerDefinition(
    Dictionary<string, int> Vocabulary,
    List<string> Merges,
    Dictionary<string, int> AddedTokens,
    IReadOnlyList<string> SourceFiles);

/// <summary>
/// Reads the two layouts Hugging Face model folders use: one <c>tokenizer.json</c>, or the older
/// <c>vocab.json</c> + <c>merges.txt</c> pair with added tokens in <c>tokenizer_config.json</c>
/// (<c>added_tokens_decoder</c>) and/or <c>added_tokens.json</c>.
/// </summary>
internal static class TokenizerFiles
{
    public const string TokenizerJson = "tokenizer.json";
    public const string VocabJson = "vocab.json";
    public const string MergesTxt = "merges.txt";
    public const string TokenizerConfigJson = "tokenizer_config.json";
    public const string AddedTokensJson = "added_tokens.json";

    public static TokenizerDefinition Read(string path)
    {
        if (File.Exists(path)) return ReadTokenizerJson(path);
        if (!Directory.Exists(path))
            throw LlavaModException.ForFile(path, "tokenizer not found (expected a tokenizer.json file or a folder holding tokenizer.json, or vocab.json + merges.txt)");
        string json = Path.Combine(path, TokenizerJson);
        if (File.Exists(json)) return ReadTokenizerJson(json);
        string vocab = Path.Combine(path, VocabJson), merges = Path.Combine(path, MergesTxt);
        if (File.Exists(vocab) && File.Exists(merges)) return ReadVocabAndMerges(path, vocab, merges);
        throw LlavaModException.ForFile(path, "folder holds neither tokenizer.json nor vocab.json + merges.txt");
    }

    static TokenizerDefinition ReadTokenizerJson(string file)
    {
        using JsonDocument doc = ParseJson(file);
        JsonElement root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
            throw LlavaModException.ForFile(file, "not a Hugging Face tokenizer.json (no \"model\" object)");
        string type = model.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "BPE";
        if (type != "BPE")
            throw LlavaModException.ForFile(file, $"tokenizer model type is \"{type}\"; only byte-level BPE (Qwen) is supported");
        if (!model.TryGetProperty("vocab", out JsonElement vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw LlavaModException.ForFile(file, "model.vocab is missing or not an object");
        if (!model.TryGetProperty("merges", out JsonElement mergesEl) || mergesEl.ValueKind != JsonValueKind.Array)
            throw LlavaModException.ForFile(file, "model.merges is missing or not an array");

        var vocab = ReadVocabObject(vocabEl, file);
        var merges = new List<string>(mergesEl.GetArrayLength());
        int index = 0;
        foreach (JsonElement m in mergesEl.EnumerateArray())
        {
            merges.Add(m.ValueKind switch
            {
                JsonValueKind.String => m.GetString()!,
                JsonValueKind.Array when m.GetArrayLength() == 2
                    && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String
                    => m[0].GetString() + " " + m[1].GetString(),
                _ => throw LlavaModException.ForFile(file, $"model.merges[{index}] is neither \"a b\" nor [\"a\", \"b\"]"),
            });
            index++;
        }

        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out JsonElement addedEl) && addedEl.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement a in addedEl.EnumerateArray())
            {
                if (!a.TryGetProperty("id", out JsonElement id) || !id.TryGetInt32(out int idValue)
                    || !a.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
                    throw LlavaModException.ForFile(file, "added_tokens entry without integer \"id\" and string \"content\"");
                added[content.GetString()!] = idValue;
            }
        }
        return new TokenizerDefinition(vocab, merges, added, [file]);
    }

    static TokenizerDefinition ReadVocabAndMerges(string folder, string vocabFile, string mergesFile)
    {
        Dictionary<string, int> vocab;
        using (JsonDocument doc = ParseJson(vocabFile))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw LlavaModException.ForFile(vocabFile, "expected a JSON object mapping tokens to ids");
            vocab = ReadVocabObject(doc.RootElement, vocabFile);
        }

        var merges = new List<string>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(mergesFile))
        {
            lineNo++;
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version", StringComparison.Ordinal))) continue;
            if (line.Split(' ').Length != 2)
                throw LlavaModException.ForRow(mergesFile, lineNo, "expected two tokens separated by one space");
            merges.Add(line);
        }

        var files = new List<string> { vocabFile, mergesFile };
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        string config = Path.Combine(folder, TokenizerConfigJson);
        if (File.Exists(config))
        {
            files.Add(config);
            using JsonDocument doc = ParseJson(config);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("added_tokens_decoder", out JsonElement decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in decoder.EnumerateObject())
                {
                    if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id)
                        || !p.Value.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
                        throw LlavaModException.ForFile(config, $"added_tokens_decoder entry \"{p.Name}\" needs an integer key and a string \"content\"");
                    added[content.GetString()!] = id;
                }
            }
        }
        string addedFile = Path.Combine(folder, AddedTokensJson);
        if (File.Exists(addedFile))
        {
            files.Add(addedFile);
            using JsonDocument doc = ParseJson(addedFile);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw LlavaModException.ForFile(addedFile, "expected a JSON object mapping tokens to ids");
            foreach (var (token, id) in ReadVocabObject(doc.RootElement, addedFile)) added[token] = id;
        }
        return new TokenizerDefinition(vocab, merges, added, files);
    }

    static Dictionary<string, int> ReadVocabObject(JsonElement obj, string file)
    {
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out int id) || id < 0)
                throw LlavaModException.ForFile(file, $"token \"{p.Name}\" has no non-negative integer id");
            vocab[p.Name] = id;
        }
        if (vocab.Count == 0) throw LlavaModException.ForFile(file, "vocabulary is empty");
        return vocab;
    }

    static JsonDocument ParseJson(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw LlavaModException.ForFile(file, $"malformed JSON at line {e.LineNumber + 1}: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw LlavaModException.ForFile(file, $"cannot read: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw LlavaModException.ForFile(file, $"cannot read: {e.Message}", e);
        }
    }
}
