using Microsoft.Extensions.Configuration;
using OrleansKafka.AspNetCore.Health;
using OrleansKafka.Silo.Settings;
using OrleansKafka.Testing.Processes;
using YamlDotNet.RepresentationModel;

namespace OrleansKafka.Tests.Deployment;

/// <summary>
/// Docker and Kubernetes do not run here, so deploy/ is checked as far as it can be: the YAML
/// parses, every setting the files give the silo is one it reads with a value it can read, the
/// probes ask for the endpoints the silo serves on the port it listens on, and what the files
/// refer to (the ConfigMap, the Secret's keys, the kustomization's resources) exists.
/// </summary>
public sealed class DeploymentFilesTests
{
    /// <summary>What Orleans' Kubernetes hosting reads from the environment: not silo settings.</summary>
    private static readonly HashSet<string> OrleansKubernetesVariables = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID"];

    private static readonly string Deploy = Path.Combine(SiloHostAssembly.RepositoryRoot(), "deploy");

    [Fact]
    public void Kubernetes_EverySettingOfTheSiloContainer_IsReadByTheSilo_WithAValueItCanRead()
    {
        var documents = Kubernetes();
        var container = SiloContainer(documents);
        var configMap = Single(documents, "ConfigMap");
        Assert.Equal(Scalar(configMap, "metadata", "name"), Scalar(Sequence(container, "envFrom")[0], "configMapRef", "name"));

        var env = Sequence(container, "env").Select(e => (Name: Scalar(e, "name"), Value: e is YamlMappingNode m && m.Children.ContainsKey("value") ? Scalar(e, "value") : null)).ToList();
        var configMapData = ((YamlMappingNode)Node(configMap, "data")).Children.Select(c => (Name: ((YamlScalarNode)c.Key).Value!, Value: ((YamlScalarNode)c.Value).Value)).ToList();
        var settings = Dockerfile().Concat(configMapData).Concat(env).ToList();

        AssertSiloReads(settings, "deploy/kubernetes");
        Assert.Equal("true", env.Single(e => e.Name == "Silo__Kubernetes").Value);
        Assert.NotEqual("Localhost", env.Single(e => e.Name == "Silo__Clustering").Value);
    }

    [Fact]
    public void Kubernetes_Probes_AskForTheSilosHealthEndpoints_OnThePortItsWebHostListensOn()
    {
        var documents = Kubernetes();
        var container = SiloContainer(documents);
        var ports = Sequence(container, "ports").ToDictionary(p => Scalar(p, "name"), p => Scalar(p, "containerPort"));
        var webPort = new Uri(Dockerfile().Single(s => s.Name == "Dashboard__Urls").Value!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(HealthEndpoints.DefaultReadyPath, Scalar(container, "readinessProbe", "httpGet", "path"));
        Assert.Equal(HealthEndpoints.DefaultLivePath, Scalar(container, "livenessProbe", "httpGet", "path"));
        Assert.Equal(HealthEndpoints.DefaultLivePath, Scalar(container, "startupProbe", "httpGet", "path"));
        foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
        {
            Assert.Equal(webPort, ports[Scalar(container, probe, "httpGet", "port")]);
        }

        // The Service reaches the web host and the gateway by the container's port names.
        var service = Single(documents, "Service");
        Assert.All(Sequence(service, "spec", "ports"), p => Assert.Contains(Scalar(p, "targetPort"), ports.Keys));
    }

    [Fact]
    public void Kubernetes_WhatTheFilesReferTo_Exists()
    {
        var documents = Kubernetes();
        var container = SiloContainer(documents);
        var pod = Node(Single(documents, "Deployment"), "spec", "template");

        // The ids Orleans' Kubernetes hosting reads come from the pod's own labels.
        var labels = ((YamlMappingNode)Node(pod, "metadata", "labels")).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value);
        foreach (var variable in Sequence(container, "env").Where(e => Scalar(e, "name") is "ORLEANS_SERVICE_ID" or "ORLEANS_CLUSTER_ID" or "Silo__ClusterId" or "Silo__ServiceId"))
        {
            var label = Scalar(variable, "valueFrom", "fieldRef", "fieldPath");
            Assert.Matches(@"^metadata\.labels\['orleans/(serviceId|clusterId)'\]$", label);
            Assert.Contains(label[17..^2], labels.Keys);
        }

        // Secrets come as files: the Secret's volume is mounted where the silo reads them, every key
        // it takes exists in the example Secret, and every file is named after a setting the silo reads.
        var secret = Single(Parse(Path.Combine(Deploy, "kubernetes", "secret.example.yaml")), "Secret");
        var secretKeys = ((YamlMappingNode)Node(secret, "stringData")).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        Assert.DoesNotContain(Sequence(container, "env"), e => Has(e, "valueFrom", "secretKeyRef"));
        var volume = Sequence(pod, "spec", "volumes").Single(v => Has(v, "secret"));
        Assert.Equal(Scalar(secret, "metadata", "name"), Scalar(volume, "secret", "secretName"));
        var mount = Sequence(container, "volumeMounts").Single(m => Scalar(m, "name") == Scalar(volume, "name"));
        Assert.Equal(SecretFiles.DefaultDirectory, Scalar(mount, "mountPath"));
        var files = Sequence(volume, "secret", "items").ToList();
        Assert.NotEmpty(files);
        foreach (var item in files)
        {
            Assert.Contains(Scalar(item, "key"), secretKeys);
            var setting = Scalar(item, "path").Replace("__", ":", StringComparison.Ordinal);
            Assert.True(KnownSettings.IsKnown(setting), $"the secret file {Scalar(item, "path")} names no setting the silo reads");
        }

        // The pod watcher's account and its permissions: what Orleans' Kubernetes hosting uses on pods, and nothing else.
        Assert.Equal(Scalar(Single(documents, "ServiceAccount"), "metadata", "name"), Scalar(pod, "spec", "serviceAccountName"));
        var rule = Sequence(Single(documents, "Role"), "rules").Single();
        Assert.Equal(["pods"], Sequence(rule, "resources").Select(v => ((YamlScalarNode)v).Value));
        Assert.Equal(new HashSet<string?> { "get", "list", "watch", "patch" }, Sequence(rule, "verbs").Select(v => ((YamlScalarNode)v).Value).ToHashSet());

        // The gateway is not published; the NetworkPolicy admits the silo and gateway ports from the silos and operator pods alone.
        Assert.DoesNotContain(Sequence(Single(documents, "Service"), "spec", "ports"), p => Scalar(p, "targetPort") is "gateway" or "silo");
        var policy = Single(documents, "NetworkPolicy");
        Assert.Equal(Scalar(Node(pod, "metadata", "labels"), "app"), Scalar(policy, "spec", "podSelector", "matchLabels", "app"));
        foreach (var ingress in Sequence(policy, "spec", "ingress"))
        {
            var from = Sequence(ingress, "from").Single();
            var ports = Sequence(ingress, "ports").Select(p => Scalar(p, "port")).ToList();
            Assert.True(Has(from, "podSelector"), "a rule of the NetworkPolicy admits more than pods of the namespace");
            Assert.All(ports, p => Assert.Contains(p, new[] { "silo", "gateway", "http" }));
        }

        // One namespace for everything, created by the kustomization.
        var kustomization = Parse(Path.Combine(Deploy, "kubernetes", "kustomization.yaml"))[0];
        Assert.Equal(Scalar(Single(documents, "Namespace"), "metadata", "name"), Scalar(kustomization, "namespace"));

        // The kustomization lists files that are there, and every manifest but the example Secret.
        var resources = Sequence(Parse(Path.Combine(Deploy, "kubernetes", "kustomization.yaml"))[0], "resources").Select(r => ((YamlScalarNode)r).Value!).ToHashSet();
        var manifests = Directory.GetFiles(Path.Combine(Deploy, "kubernetes"), "*.yaml").Select(Path.GetFileName).Where(f => f is not "kustomization.yaml" and not "secret.example.yaml");
        Assert.Equal(manifests.Order(StringComparer.Ordinal), resources.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Compose_EverySiloIsGivenSettingsItReads_AndAdvertisesItsOwnFixedAddress()
    {
        var compose = Parse(Path.Combine(Deploy, "compose", "compose.yaml"))[0];
        var silos = ((YamlMappingNode)Node(compose, "services")).Children
            .Where(s => Has(s.Value, "build"))
            .ToList();
        Assert.Equal(3, silos.Count);
        foreach (var (name, silo) in silos)
        {
            Assert.Equal("deploy/docker/Dockerfile", Scalar(silo, "build", "dockerfile"));
            Assert.True(File.Exists(Path.Combine(Deploy, "compose", Scalar(silo, "build", "context"), Scalar(silo, "build", "dockerfile"))));
            var environment = ((YamlMappingNode)Node(silo, "environment")).Children
                .Select(c => (Name: ((YamlScalarNode)c.Key).Value!, Value: ((YamlScalarNode)c.Value).Value))
                .ToList();
            AssertSiloReads([.. Dockerfile(), .. environment], $"compose service {name}");

            var address = Scalar(silo, "networks", "cluster", "ipv4_address");
            Assert.Equal(address, environment.Single(e => e.Name == "Silo__AdvertisedAddress").Value);
            Assert.All(Sequence(silo, "ports"), p => Assert.Matches(@"^127\.0\.0\.1:\d+:8080$", ((YamlScalarNode)p).Value!));
        }
    }

    /// <summary>Each name is a silo setting (or one Orleans' Kubernetes hosting reads), and the literal values pass the silo's own start-up check.</summary>
    private static void AssertSiloReads(IEnumerable<(string Name, string? Value)> settings, string where)
    {
        var literal = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in settings)
        {
            if (OrleansKubernetesVariables.Contains(name))
            {
                continue;
            }

            var key = name.Replace("__", ":", StringComparison.Ordinal);
            Assert.True(KnownSettings.Sections.Contains(key.Split(':')[0]) && KnownSettings.IsKnown(key), $"{where} sets {name}, which the silo does not read");
            if (value is not null && !value.Contains("$(", StringComparison.Ordinal) && !value.Contains("${", StringComparison.Ordinal))
            {
                literal[key] = value;
            }
        }

        Assert.Empty(KnownSettings.Problems(new ConfigurationBuilder().AddInMemoryCollection(literal).Build()));
    }

    [Fact]
    public void Autoscaling_KedaAndHpa_ScaleTheSiloDeployment_OnTheMaxOfTheSilosDesiredGaugeTheSilosExport()
    {
        var deployment = Scalar(Single(Kubernetes(), "Deployment"), "metadata", "name");
        var gauge = OrleansKafka.Telemetry.PlacementMetrics.SilosDesiredName.Replace('.', '_');
        var folder = Path.Combine(Deploy, "kubernetes", "autoscaling");

        var keda = Single(Parse(Path.Combine(folder, "keda-scaledobject.yaml")), "ScaledObject");
        Assert.Equal(deployment, Scalar(keda, "spec", "scaleTargetRef", "name"));
        var trigger = Assert.Single(Sequence(keda, "spec", "triggers"));
        Assert.Equal("prometheus", Scalar(trigger, "type"));
        Assert.Equal($"max({gauge})", Scalar(trigger, "metadata", "query"));
        Assert.Equal(("AverageValue", "1"), (Scalar(trigger, "metadata", "metricType"), Scalar(trigger, "metadata", "threshold")));

        var hpaPath = Path.Combine(folder, "hpa.yaml");
        var hpa = Single(Parse(hpaPath), "HorizontalPodAutoscaler");
        Assert.Equal(("Deployment", deployment), (Scalar(hpa, "spec", "scaleTargetRef", "kind"), Scalar(hpa, "spec", "scaleTargetRef", "name")));
        var metric = Assert.Single(Sequence(hpa, "spec", "metrics"));
        Assert.Equal(("AverageValue", "1"), (Scalar(metric, "external", "target", "type"), Scalar(metric, "external", "target", "averageValue")));

        // The prometheus-adapter rule in its comment serves that external metric from the same query.
        var text = File.ReadAllText(hpaPath);
        Assert.Contains($"name: {{ as: \"{Scalar(metric, "external", "metric", "name")}\" }}", text, StringComparison.Ordinal);
        Assert.Contains($"metricsQuery: 'max({gauge})'", text, StringComparison.Ordinal);
    }

    private static List<YamlNode> Kubernetes() =>
        [.. Directory.GetFiles(Path.Combine(Deploy, "kubernetes"), "*.yaml").Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal)).SelectMany(Parse)];

    private static List<YamlNode> Parse(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return [.. stream.Documents.Select(d => d.RootNode)];
    }

    /// <summary>
    /// The image restores before it copies the sources, from the project files it copied first: a
    /// project the silo references that is not among them is skipped by the restore, and the
    /// publish fails (NETSDK1004). Found in session 17: src/AspNetCore, referenced since issue 23, was missing.
    /// </summary>
    [Fact]
    public void Dockerfile_CopiesEveryProjectTheSiloReferences_BeforeItRestores()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "docker", "Dockerfile"));
        var restore = text.IndexOf("dotnet restore", StringComparison.Ordinal);
        var copied = text[..restore].Split('\n')
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).SkipLast(1))
            .ToHashSet(StringComparer.Ordinal);
        var root = Path.GetFullPath(Path.Combine(Deploy, ".."));
        var pending = new Stack<string>([Path.Combine(root, "src", "Silo", "OrleansKafka.Silo.csproj")]);
        var needed = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryPop(out var project))
        {
            if (!needed.Add(Path.GetRelativePath(root, project).Replace('\\', '/')))
            {
                continue;
            }

            foreach (var reference in System.Xml.Linq.XDocument.Load(project).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, reference.Attribute("Include")!.Value.Replace('\\', '/'))));
            }
        }

        Assert.All(needed, n => Assert.Contains(n, copied));
    }

    /// <summary>The <c>ENV</c> settings of the silo image.</summary>
    private static IEnumerable<(string Name, string? Value)> Dockerfile()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "docker", "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        return text.Split('\n')
            .Where(l => l.StartsWith("ENV ", StringComparison.Ordinal))
            .SelectMany(l => l[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(pair => (pair[..pair.IndexOf('=', StringComparison.Ordinal)], (string?)pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]));
    }

    private static YamlNode SiloContainer(List<YamlNode> documents) =>
        Sequence(Single(documents, "Deployment"), "spec", "template", "spec", "containers").Single(c => Scalar(c, "name") == "silo");

    private static YamlNode Single(List<YamlNode> documents, string kind) =>
        documents.Single(d => d is YamlMappingNode m && m.Children.ContainsKey("kind") && Scalar(d, "kind") == kind);

    private static bool Has(YamlNode node, params string[] path)
    {
        foreach (var step in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(step, out var next))
            {
                return false;
            }

            node = next;
        }

        return true;
    }

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (var step in path)
        {
            node = ((YamlMappingNode)node).Children[step];
        }

        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    private static List<YamlNode> Sequence(YamlNode node, params string[] path) => [.. (YamlSequenceNode)Node(node, path)];
}
