using System.CommandLine;
using LlavaMod.Inspector;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace LlavaMod.Cli.Commands.Pairs;

/// <summary><c>pairs serve</c>: the inspection web page (read-only) until Ctrl+C.</summary>
public static class PairsServeCommand
{
    public static Command Create(Option<string> db)
    {
        var imageRoot = new Option<string?>("--image-root") { Description = "Folder the pairs' image paths are resolved under; images outside it are not served (default: the current folder)." };
        var port = new Option<int>("--port") { Description = "TCP port (0 picks a free one).", DefaultValueFactory = _ => 5080 };
        var host = new Option<string>("--host") { Description = "Address to listen on; the default serves this machine only.", DefaultValueFactory = _ => "127.0.0.1" };
        var command = new Command("serve", "Serve a web page to browse pairs: image beside both responses, hallucinated words marked, histograms.");
        foreach (var o in new Option[] { imageRoot, port, host }) command.Options.Add(o);
        command.SetAction(async (p, ct) =>
        {
            string address = p.GetValue(host)!;
            if (address.Contains(':') && !address.StartsWith('[')) address = $"[{address}]";
            await using var app = InspectorApp.Build(p.GetValue(db)!, p.GetValue(imageRoot), $"http://{address}:{p.GetValue(port)}");
            await app.StartAsync(ct);
            foreach (var url in app.Urls) AnsiConsole.MarkupLine($"serving [bold]{Markup.Escape(url)}[/] (Ctrl+C stops)");
            await app.WaitForShutdownAsync(ct);
            return 0;
        });
        return command;
    }
}
