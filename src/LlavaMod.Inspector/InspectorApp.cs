using LlavaMod.Core;
using LlavaMod.Preferences;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlavaMod.Inspector;

/// <summary>The pair inspector: a small read-only web app over a pair index. HTML pages <c>/</c> (list
/// with filters and keyset paging), <c>/pairs/{id}</c> (image beside both responses), <c>/stats</c>
/// (histograms); the image at <c>/pairs/{id}/image</c>; JSON at <c>/api/pairs</c> and
/// <c>/api/pairs/{id}</c>. Each request opens its own read-only connection.</summary>
public static class InspectorApp
{
    public const string DefaultUrls = "http://127.0.0.1:5080";

    /// <summary>
    /// The Host header values the inspector answers to: the loopback names, the hosts of the URLs it
    /// listens on, and, when it listens on every address (0.0.0.0, ::), this machine's name and addresses.
    /// </summary>
    public static List<string> AllowedHosts(string urls)
    {
        var hosts = new List<string> { "localhost", "127.0.0.1", "[::1]" };
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string host = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
            host = host.StartsWith('[') ? host[..(host.IndexOf(']') + 1)] : host.Split(':', '/')[0];
            if (host is "0.0.0.0" or "[::]" or "*" or "+")
            {
                hosts.Add(System.Net.Dns.GetHostName());
                foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
                    foreach (var a in nic.GetIPProperties().UnicastAddresses)
                        hosts.Add(a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{a.Address}]" : a.Address.ToString());
            }
            else hosts.Add(host);
        }
        return hosts.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>Builds (does not start) the app. <paramref name="imageRoot"/> is the folder image paths
    /// are resolved under and confined to (default: the current folder). <paramref name="configure"/>
    /// may adjust the builder before it is built (tests use it for an in-memory server).</summary>
    public static WebApplication Build(string dbPath, string? imageRoot = null, string urls = DefaultUrls, Action<WebApplicationBuilder>? configure = null)
    {
        // Fail at start, not on the first request, when the index is missing or of another schema.
        using (PairStore.Open(dbPath, readOnly: true)) { }
        string db = Path.GetFullPath(dbPath);
        string root = imageRoot ?? Directory.GetCurrentDirectory();
        if (!Directory.Exists(root)) throw LlavaModException.ForFile(root, "image root folder not found");
        var images = new ImageFiles(root);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(InspectorApp).Assembly.GetName().Name });
        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Binding to loopback does not stop a DNS-rebinding page from reaching the server under its
        // own host name; answering only to loopback names and the address given does (400 otherwise).
        builder.Services.AddHostFiltering(o => o.AllowedHosts = AllowedHosts(urls));
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseHostFiltering();
        app.Use(ReportUserErrors);
        app.Use((context, next) =>
        {
            // Defence in depth behind the HTML encoding: no scripts, nothing fetched from elsewhere.
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.ContentSecurityPolicy = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'";
            return next(context);
        });

        app.MapGet("/", (HttpRequest request) =>
        {
            var query = ListRequest.Parse(request.Query);
            using var store = PairStore.Open(db, readOnly: true);
            return HtmlResult(ListPage.Render(query, store.ListPairs(query), store.CountPairs(query), store.ListRuns()));
        });
        app.MapGet("/pairs/{id:long}", (long id) =>
        {
            using var store = PairStore.Open(db, readOnly: true);
            if (store.GetPair(id) is not { } pair) return NotFoundPage($"no pair with id {id}");
            var image = images.Resolve(pair.ImagePath);
            long? previous = store.ListPairs(new PairQuery { After = id, Descending = true, Limit = 1 }).FirstOrDefault()?.Id;
            long? next = store.ListPairs(new PairQuery { After = id, Limit = 1 }).FirstOrDefault()?.Id;
            return HtmlResult(DetailPage.Render(pair, image is not null, image is { } i ? ImageFiles.Size(i.File) : null, previous, next));
        });
        app.MapGet("/pairs/{id:long}/image", (long id) =>
        {
            using var store = PairStore.Open(db, readOnly: true);
            var pair = store.GetPair(id);
            if (pair is null) return NotFoundPage($"no pair with id {id}");
            return images.Resolve(pair.ImagePath) is { } file
                ? Results.File(file.File, file.ContentType)
                : NotFoundPage($"pair {id} has no image under the image root");
        });
        app.MapGet("/stats", (HttpRequest request) =>
        {
            var query = ListRequest.Parse(request.Query);
            int bins = request.Query["bins"] is { Count: > 0 } b && int.TryParse(b, out int n) && n is >= 1 and <= 200 ? n : 20;
            using var store = PairStore.Open(db, readOnly: true);
            return HtmlResult(StatsPage.Render(store.GetStatistics(query, bins), query));
        });
        app.MapGet("/api/pairs", (HttpRequest request) =>
        {
            var query = ListRequest.Parse(request.Query);
            using var store = PairStore.Open(db, readOnly: true);
            var rows = store.ListPairs(query);
            long? nextAfter = rows.Count == query.Limit && rows.Count > 0 ? rows[^1].Id : null;
            string? next = nextAfter is null ? null : "/api/pairs" + ListRequest.ToQueryString(query with { After = nextAfter });
            return Results.Json(new PairPage(store.CountPairs(query), rows.Count, nextAfter, next, rows), Json.Options);
        });
        app.MapGet("/api/pairs/{id:long}", (long id) =>
        {
            using var store = PairStore.Open(db, readOnly: true);
            if (store.GetPair(id) is not { } pair) return Results.Json(new ApiError($"no pair with id {id}"), Json.Options, statusCode: 404);
            string? imageUrl = images.Resolve(pair.ImagePath) is null ? null : $"/pairs/{id}/image";
            var chosen = DetailPage.ReadClaims(pair.Chosen);
            var rejected = DetailPage.ReadClaims(pair.Rejected);
            return Results.Json(new PairApiDetail(pair, imageUrl, chosen.Claims, rejected.Claims, chosen.Error, rejected.Error), Json.Options);
        });
        return app;
    }

    /// <summary>Turns a <see cref="LlavaModException"/> (bad query value, unknown --after id) into a 400 with its message.</summary>
    static async Task ReportUserErrors(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (LlavaModException e) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            if (context.Request.Path.StartsWithSegments("/api"))
                await context.Response.WriteAsJsonAsync(new ApiError(e.Message), Json.Options);
            else
                await HtmlResult(Html.Page("error", $"<h1>Bad request</h1><p class=\"error\">{Html.E(e.Message)}</p><p><a href=\"/\">back to the list</a></p>"), 400).ExecuteAsync(context);
        }
    }

    static IResult HtmlResult(string html, int status = 200) => Results.Content(html, "text/html; charset=utf-8", statusCode: status);

    static IResult NotFoundPage(string message) =>
        HtmlResult(Html.Page("not found", $"<h1>Not found</h1><p>{Html.E(message)}</p><p><a href=\"/\">back to the list</a></p>"), 404);
}

/// <summary>One page of <c>/api/pairs</c>: <see cref="Next"/> is the URL of the following page (keyset), null on the last.</summary>
public sealed record PairPage(long Total, int Count, long? NextAfter, string? Next, IReadOnlyList<PairRow> Pairs);

/// <summary><c>/api/pairs/{id}</c>: the pair, its image URL (null when not served) and the parsed claims of
/// both responses (empty, with the reason in the error field, when a response's claims JSON is malformed).</summary>
public sealed record PairApiDetail(PairDetail Pair, string? ImageUrl, IReadOnlyList<ClaimVerdict> ChosenClaims, IReadOnlyList<ClaimVerdict> RejectedClaims,
    string? ChosenClaimsError = null, string? RejectedClaimsError = null);

/// <summary>The JSON body of an API error.</summary>
public sealed record ApiError(string Error);
