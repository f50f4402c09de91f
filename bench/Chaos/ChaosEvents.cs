using System.Globalization;
using System.Text;

namespace OrleansKafka.Bench.Chaos;

/// <summary>Reads the audit event files (<c>*.events</c>) the silos write, while they may still be writing.</summary>
internal static class ChaosEvents
{
    /// <summary>Every complete event line of every event file in <paramref name="directory"/>.</summary>
    /// <exception cref="FormatException">A complete line is not an event; the message names the file and line.</exception>
    public static List<ChaosEvent> ReadAll(string directory)
    {
        var events = new List<ChaosEvent>();
        foreach (var path in Directory.EnumerateFiles(directory, "*.events").Order(StringComparer.Ordinal))
        {
            string text;

            // ReadWrite sharing: the silo that owns the file may be appending to it.
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream, Encoding.UTF8))
            {
                text = reader.ReadToEnd();
            }

            // Whatever follows the last newline is a line still being written, or cut short by a kill.
            var complete = text.LastIndexOf('\n') + 1;
            var lines = text[..complete].Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length == 0)
                {
                    continue;
                }

                if (!TryParse(lines[i], out var e))
                {
                    throw new FormatException($"{path}:{i + 1}: '{lines[i]}' is not an audit event; expected 'S|E <group> <partition> <offset> <key> <silo> <epoch> <timestamp> [<state>]'.");
                }

                events.Add(e);
            }
        }

        return events;
    }

    /// <summary>Parses one line, <c>S|E &lt;group&gt; &lt;partition&gt; &lt;offset&gt; &lt;key&gt; &lt;silo&gt; &lt;epoch&gt; &lt;timestamp&gt; [&lt;state&gt;]</c>.</summary>
    public static bool TryParse(string line, out ChaosEvent e)
    {
        e = default;
        var fields = line.Split(' ');
        if (fields.Length is not (8 or 9)
            || fields[0] is not ("S" or "E")
            || !int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var partition)
            || !long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var offset)
            || !long.TryParse(fields[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch)
            || !long.TryParse(fields[7], NumberStyles.Integer, CultureInfo.InvariantCulture, out var timestamp))
        {
            return false;
        }

        e = new ChaosEvent(fields[0] == "S", fields[1], partition, offset, fields[4], fields[5], epoch, timestamp, fields.Length == 9 ? fields[8] : null);
        return true;
    }
}
