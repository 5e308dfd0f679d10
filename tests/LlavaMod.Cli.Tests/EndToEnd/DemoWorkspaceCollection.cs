namespace LlavaMod.Cli.Tests.EndToEnd;

/// <summary>Verb tests that read the demo workspace and write only into folders of their own share one workspace.</summary>
[CollectionDefinition(Name)]
public sealed class DemoWorkspaceCollection : ICollectionFixture<DemoWorkspace>
{
    public const string Name = "demo workspace, read only";
}
