// The operators' dashboard (Aspire's) in a real browser (Debian's Chromium, headless, driven by playwright-core),
// against the whole system started by the AppHost exactly as ./build.sh run starts it, with its login token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const configuration = process.env.CONFIGURATION ?? "Debug";
const appHostDll = join(root, "AppHost", "bin", configuration, "net10.0", "CallLogs.AppHost.dll");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const dataDirectory = join(root, ".data", `dashboard-test-${process.pid}`);
const services = ["profile", "ingest", "telephony", "export", "stream", "audit"];
const servers = ["messaging", "messaging-epmd", "postgres", "storage", "profiledb", "ingestdb", "exportdb", "streamdb", "auditdb", "telephonydb"];

let appHost, browser, page;
let output = "";
const found = {};

function waitFor(description, condition, timeoutMs = 600_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      try {
        const value = await condition();
        if (value) return resolve(value);
      } catch { /* not yet */ }
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${description}\n${output.slice(-4000)}`));
      setTimeout(poll, 500);
    };
    poll();
  });
}

const freePort = () => new Promise((resolve) => {
  const server = createServer();
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});

before(async () => {
  const [dashboard, otlp, resources] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    ASPNETCORE_URLS: `http://localhost:${dashboard}`,
    ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL: `http://localhost:${otlp}`,
    ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL: `http://localhost:${resources}`,
    ASPIRE_ALLOW_UNSECURED_TRANSPORT: "true",
    DOTNET_ENVIRONMENT: "Development",
    Infrastructure__Mode: "executables",
    Infrastructure__DataDirectory: dataDirectory,
  };
  appHost = spawn("dotnet", [appHostDll], { env, stdio: ["ignore", "pipe", "pipe"] });
  // Values are read from whole lines of one stream only: a chunk can end inside a token or an address, and a value
  // read from half a line (or from two streams' chunks spliced together) would stick.
  const lines = { stdout: "", stderr: "" };
  const collect = (stream) => (chunk) => {
    output += chunk.toString();
    lines[stream] += chunk.toString();
    const whole = lines[stream].slice(0, lines[stream].lastIndexOf("\n") + 1);
    const match = (pattern) => whole.match(pattern)?.[1];
    found.login ??= match(/Login to the dashboard at (\S+)/);
    found.ingest ??= match(/^\s+ingest\s+(http:\/\/\S+)/m);
    found.profile ??= match(/^\s+profile\s+(http:\/\/\S+)/m);
    found.area ??= match(/demo area id: (\S+)/);
    found.gateway ??= match(/ingest \(demo area gateway\): (\S+)/);
  };
  appHost.stdout.on("data", collect("stdout"));
  appHost.stderr.on("data", collect("stderr"));
  await waitFor("the AppHost's dashboard login and demo tokens", () => found.login && found.gateway && found.ingest && found.area);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  await page.goto(found.login);
});

after(async () => {
  await browser?.close();
  if (appHost && appHost.exitCode === null) {
    const exited = new Promise((resolve) => appHost.once("exit", resolve));
    appHost.kill("SIGTERM");
    await exited;
    assert.equal(appHost.exitCode, 0, "the AppHost exits 0 on SIGTERM");
  }
  // DCP stops the servers as the AppHost exits: within a minute nothing started from the run's folder is left.
  const left = () => readdirSync("/proc").filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try { return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dataDirectory); } catch { return false; }
  });
  await waitFor("every server of the run stopped", () => left().length === 0, 60_000);
  rmSync(dataDirectory, { recursive: true, force: true });
});

const resourcesPage = async () => {
  if (!new URL(page.url()).pathname.endsWith("/")) await page.goto(new URL("/", found.login).toString());
};
// The dashboard now and then loses a page's Blazor circuit ("An unhandled error has occurred. Reload", an
// ObjectDisposedException in its virtualised grid; microsoft/aspire#5027, #4979): the page stops updating until it is
// reloaded. An operator reloads, and so does this test.
const reloadIfCircuitLost = async () => {
  if (await page.locator("#blazor-error-ui").isVisible()) await page.reload();
};
const row = (name) => page.locator("tr.resource-row", { has: page.locator(".resource-name-text", { hasText: new RegExp(`^${name}$`) }) });
const healthy = async (name) => {
  const state = row(name).locator("td[col-index='2']");
  return (await state.getAttribute("title")) === "Running" && (await state.locator("svg.severity-icon").getAttribute("style")).includes("--success");
};

const postBatch = async (count) => {
  const records = Array.from({ length: count }, (_, i) => ({
    request_uuid: crypto.randomUUID(),
    request_time: new Date().toISOString(),
    http_status_code: i % 10 === 0 ? 500 : 200,
    api_key: `key-${i % 7}`,
  }));
  const response = await fetch(new URL(`/api/areas/${found.area}/call-records`, found.ingest), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${found.gateway}` },
    body: JSON.stringify(records),
  });
  assert.ok(response.ok, `ingest answered ${response.status}: ${await response.text()}`);
};

test("without its login token the dashboard asks for it", async () => {
  const response = await fetch(new URL("/", found.login));
  assert.match(response.url, /\/login/);
});

test("every resource shows running and healthy", async () => {
  await resourcesPage();
  for (const name of [...servers, ...services]) {
    await waitFor(`${name} running and healthy`, async () => {
      await reloadIfCircuitLost();
      return healthy(name);
    }, 300_000);
  }
  const messaging = await row("messaging").locator("a", { hasText: "Management UI" }).getAttribute("href");
  assert.equal((await fetch(messaging)).status, 200, "the RabbitMQ management UI answers at its link");
  for (const name of services) {
    assert.ok(await row(name).locator("a", { hasText: "OpenAPI" }).count(), `${name} links its OpenAPI document`);
  }
});

test("a posted batch is one trace with spans from ingest, export and stream", async () => {
  await postBatch(50);
  await page.goto(new URL("/traces", found.login).toString());
  const trace = page.locator("tr", { hasText: "POST /api/areas/{areaId:guid}/call-records" }).first();
  await waitFor("the batch's trace with export and stream spans", async () => {
    const text = await trace.innerText({ timeout: 1000 });
    return text.includes("export") && text.includes("stream");
  }, 120_000);
  await trace.locator("td").nth(1).click();
  await page.waitForURL(/\/traces\/detail\//, { timeout: 30_000 });
  await waitFor("the trace's spans", async () => {
    const text = await page.locator("body").innerText();
    return ["ingest", "export", "stream"].every((s) => text.includes(s)) && /MassTransit|publish|receive|send/i.test(text);
  }, 60_000);
});

test("a CallLogs metric is on the ingest's metrics page", async () => {
  await postBatch(20);
  await page.goto(new URL("/metrics/resource/ingest?meter=CallLogs&instrument=calllogs.ingest.records_accepted&duration=5&view=Table", found.login).toString());
  let text = "";
  await waitFor("calllogs.ingest.records_accepted with a value", async () => {
    await reloadIfCircuitLost();
    const instrument = page.locator("fluent-tree-item", { hasText: /^\s*calllogs\.ingest\.records_accepted\s*$/ });
    if (await instrument.count() && !(await instrument.first().evaluate((item) => item.selected))) await instrument.first().click({ timeout: 1000 });
    text = await page.locator("body").innerText();
    return text.includes("calllogs.ingest.records_accepted") && /\b[1-9]\d*\b/.test(text.split("calllogs.ingest.records_accepted").pop());
  }, 120_000).catch(async (error) => {
    await page.screenshot({ path: join(root, ".data", "dashboard-metrics-failure.png") });
    throw new Error(`${error.message.split("\n")[0]}; the page showed:\n${text.slice(0, 6000)}`);
  });
});

test("the audit trail validation runs to completion as a resource command", async () => {
  // The command's dialog: on a busy machine a click on the menu can be lost while the menu is still opening, so the
  // menu is closed and opened again until the dialog shows.
  await waitFor("the command's dialog", async () => {
    await page.keyboard.press("Escape");
    await resourcesPage();
    await row("audit").getByRole("button", { name: "Actions" }).click();
    await page.getByRole("menuitem", { name: "Validate audit trail" }).click();
    return page.getByText("Hours back").waitFor({ timeout: 20_000 }).then(() => true, () => false);
  }, 120_000);
  await page.locator("fluent-button", { hasText: /^\s*Validate audit trail\s*$/ }).last().click();
  await page.getByText("Hours back").waitFor({ state: "hidden" });
  await waitFor("the command's result", async () => /Validate audit trail" (succeeded|completed)|The audit trail is valid|nothing to prove yet|Nothing was delivered/.test(await page.locator("body").innerText()), 120_000);
});

test("the resources page, as docs/dashboard.png shows it", async () => {
  await postBatch(200);
  await resourcesPage();
  for (const name of [...servers, ...services]) await waitFor(`${name} healthy`, () => healthy(name), 60_000);
  // The banner about a development certificate concerns https only; this run is plain http on loopback.
  const banner = page.locator(".dashboard-message-bar", { hasText: "development certificate" });
  if (await banner.count()) await banner.getByLabel("Dismiss notification").click();
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(root, "docs", "dashboard.png") });
});
