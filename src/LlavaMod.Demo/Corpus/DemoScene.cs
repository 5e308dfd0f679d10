namespace LlavaMod.Demo.Corpus;

/// <summary>
/// One object of a scene: its kind, grid cell (row, col from the top left), size (diameter in
/// pixels) and centre in image pixels.
/// </summary>
public sealed record DemoObject(string Color, string Shape, int Row, int Col, int Size, double CenterX, double CenterY)
{
    public ObjectKind Kind => new(Color, Shape);
    public string Position => DemoVocabulary.PositionName(Row, Col);
}

/// <summary>
/// One synthetic scene: its objects in reading order (row by row, left to right), whether its
/// background is noisy, and the seed of that noise (so rendering needs nothing else).
/// </summary>
public sealed record DemoScene(string Id, IReadOnlyList<DemoObject> Objects, bool NoisyBackground, int NoiseSeed)
{
    public bool Contains(ObjectKind kind) => Objects.Any(o => o.Kind == kind);
}
