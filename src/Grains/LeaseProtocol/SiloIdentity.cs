namespace OrleansKafka.LeaseProtocol;

/// <summary>A silo's identity for leases: its endpoint, without the generation, so a restarted silo is recognised.</summary>
internal static class SiloIdentity
{
    public static string Of(SiloAddress address) => address.Endpoint.ToString();
}
