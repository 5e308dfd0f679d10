using LlavaMod.Cli;

return await CliRunner.RunAsync(CommandCatalog.CreateRoot(), args);
