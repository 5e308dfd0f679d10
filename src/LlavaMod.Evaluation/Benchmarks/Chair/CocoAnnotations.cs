using System.Text.Json;
using LlavaMod.Core;

namespace LlavaMod.Evaluation.Benchmarks.Chair;

/// <summary>
/// Ground-truth objects per COCO image, as CHAIR builds them: the categories of the image's
/// instance annotations (<c>instances_*.json</c>) ∪ the objects its reference captions mention
/// (<c>captions_*.json</c>, read with <see cref="CocoObjectWords"/>). Every instances and captions
/// file of the folder is read (CHAIR combines train2014 and val2014).
/// </summary>
public sealed class CocoAnnotations
{
    sealed record Image(long Id, string FileName);
    sealed record Category(long Id, string Name);
    sealed record Instance(long ImageId, long CategoryId);
    sealed record CaptionAnnotation(long ImageId, string Caption);
    sealed record InstancesFile(List<Image>? Images, List<Category>? Categories, List<Instance>? Annotations);
    sealed record CaptionsFile(List<Image>? Images, List<CaptionAnnotation>? Annotations);

    readonly Dictionary<long, HashSet<string>> _objects = [];
    readonly Dictionary<string, long> _idByFileName = new(StringComparer.Ordinal);

    public string Folder { get; }
    public int ImageCount => _objects.Count;

    CocoAnnotations(string folder) => Folder = folder;

    public static CocoAnnotations Load(string folder, CocoObjectWords words)
    {
        if (!Directory.Exists(folder)) throw LlavaModException.ForFile(folder, "annotations folder not found");
        var instances = Directory.GetFiles(folder, "instances_*.json").Order(StringComparer.Ordinal).ToList();
        var captions = Directory.GetFiles(folder, "captions_*.json").Order(StringComparer.Ordinal).ToList();
        if (instances.Count == 0 || captions.Count == 0)
            throw LlavaModException.ForFile(folder, "needs COCO instances_*.json and captions_*.json (annotations_trainval2014.zip of cocodataset.org)");
        var result = new CocoAnnotations(folder);
        foreach (var path in instances)
        {
            var file = Read<InstancesFile>(path);
            result.AddImages(file.Images);
            var names = (file.Categories ?? throw LlavaModException.ForFile(path, "no \"categories\"")).ToDictionary(c => c.Id, c => c.Name);
            foreach (var a in file.Annotations ?? [])
            {
                if (!names.TryGetValue(a.CategoryId, out var name)) throw LlavaModException.ForFile(path, $"annotation of image {a.ImageId}: category_id {a.CategoryId} is not in \"categories\"");
                string category = words.CategoryOf(name) ?? throw LlavaModException.ForFile(path, $"category \"{name}\" is not one of the 80 COCO categories CHAIR knows");
                result.ObjectsOf(a.ImageId).Add(category);
            }
        }
        foreach (var path in captions)
        {
            var file = Read<CaptionsFile>(path);
            result.AddImages(file.Images);
            foreach (var c in file.Annotations ?? [])
                result.ObjectsOf(c.ImageId).UnionWith(words.Mentions(c.Caption).Select(m => m.Category));
        }
        return result;
    }

    HashSet<string> ObjectsOf(long imageId) => _objects.TryGetValue(imageId, out var set) ? set : _objects[imageId] = [];

    void AddImages(List<Image>? images)
    {
        foreach (var image in images ?? [])
        {
            ObjectsOf(image.Id);
            _idByFileName.TryAdd(image.FileName, image.Id);
        }
    }

    /// <summary>The image id of a file name (COCO_val2014_000000000042.jpg), or null.</summary>
    public long? IdOf(string fileName) => _idByFileName.TryGetValue(fileName, out var id) ? id : null;

    public IReadOnlySet<string>? Objects(long imageId) => _objects.GetValueOrDefault(imageId);

    static T Read<T>(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(stream, Json.Options) ?? throw LlavaModException.ForFile(path, "is empty");
        }
        catch (JsonException e) { throw LlavaModException.ForFile(path, $"not a COCO annotation file ({e.Message})", e); }
    }
}
