using LlavaMod.Cli;
using LlavaMod.Models.Runtime;

ProcessAllocator.UseJemallocWhereInstalled(); // the same command again on jemalloc where it is installed (see ProcessAllocator)
return await CliRunner.RunAsync(CommandCatalog.CreateRoot(), args);
