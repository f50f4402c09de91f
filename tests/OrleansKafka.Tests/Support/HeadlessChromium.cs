using Microsoft.Playwright;

namespace OrleansKafka.Tests.Support;

/// <summary>Debian's Chromium (installed by test.sh), headless, driven by Playwright for .NET.</summary>
public static class HeadlessChromium
{
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    });
}
