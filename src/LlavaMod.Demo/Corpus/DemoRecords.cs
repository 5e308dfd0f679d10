using System.Text.Json.Serialization;

namespace LlavaMod.Demo.Corpus;

/// <summary>One record of a LLaVA conversation file (the layout users bring: id, image, conversations).</summary>
public sealed record LlavaConversationRecord(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("image")] string Image,
    [property: JsonPropertyName("conversations")] IReadOnlyList<LlavaTurn> Conversations);

/// <summary>One turn: from "human" (the first carries "&lt;image&gt;\n") or "gpt".</summary>
public sealed record LlavaTurn(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("value")] string Value);

/// <summary>One line of a split's scenes.jsonl: the ground truth of one image.</summary>
public sealed record DemoSceneRecord(string SceneId, string Image, bool NoisyBackground, IReadOnlyList<DemoObjectRecord> Objects);

public sealed record DemoObjectRecord(string Color, string Shape, int Row, int Col, string Position, int Size, double CenterX, double CenterY);

/// <summary>One line of a split's questions.jsonl: a question, its answer and what it asks about.</summary>
public sealed record DemoQuestionRecord(string Id, string SceneId, DemoQuestionKind Kind, string Question, string Answer, ObjectKindRecord? Target);

public sealed record ObjectKindRecord(string Color, string Shape);

/// <summary>dataset.json at the corpus root: what was generated, how, and where each split's files are.</summary>
public sealed record DemoManifest(
    string Name,
    string Generator,
    string ToolVersion,
    int Seed,
    int ImageSize,
    int GridSize,
    int CellSize,
    IReadOnlyList<string> Colors,
    IReadOnlyList<string> Shapes,
    IReadOnlyList<DemoBiasPairRecord> BiasPairs,
    IReadOnlyList<DemoSplitSummary> Splits);

public sealed record DemoBiasPairRecord(ObjectKindRecord Trigger, ObjectKindRecord Partner);

/// <summary>What was written for one split; file paths are relative to the corpus root.</summary>
public sealed record DemoSplitSummary(
    string Name,
    int Scenes,
    int Examples,
    bool Biased,
    string Conversations,
    string ScenesFile,
    string QuestionsFile,
    string ImagesDirectory,
    string ConversationsSha256);

/// <summary>The result of <see cref="DemoCorpusWriter.Write"/>.</summary>
public sealed record DemoCorpusSummary(string OutputDirectory, DemoManifest Manifest);
