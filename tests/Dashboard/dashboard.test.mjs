// The operators' dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core),
// against the running system started by the AppHost.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const configuration = process.env.CONFIGURATION ?? "Debug";
const appHostDll = join(root, "AppHost", "bin", configuration, "net10.0", "CallLogs.AppHost.dll");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

let appHost, browser, page;
let output = "";
const found = {};

function waitFor(description, condition, timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      try {
        const value = await condition();
        if (value) return resolve(value);
      } catch { /* not yet */ }
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${description}\n${output.slice(-4000)}`));
      setTimeout(poll, 250);
    };
    poll();
  });
}

before(async () => {
  const env = { ...process.env };
  if (process.env.CALLLOGS_TEST_RABBITMQ) {
    env.ConnectionStrings__messaging = process.env.CALLLOGS_TEST_RABBITMQ;
    env.ConnectionStrings__postgres = process.env.CALLLOGS_TEST_POSTGRES;
    env.ConnectionStrings__storage = process.env.CALLLOGS_TEST_S3;
    env.RABBITMQ_MANAGEMENT_URL = process.env.CALLLOGS_TEST_RABBITMQ_MANAGEMENT;
  }
  appHost = spawn("dotnet", [appHostDll, "run"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const collect = (chunk) => {
    output += chunk.toString();
    const dashboard = output.match(/Dashboard \(operator token\): (\S+)/);
    if (dashboard) found.dashboard = dashboard[1];
    const ingest = output.match(/^\s+ingest\s+\w+\s+(http:\/\/\S+)/m);
    if (ingest) found.ingest = ingest[1];
    const area = output.match(/demo area id: (\S+)/);
    if (area) found.area = area[1];
    const gateway = output.match(/ingest \(demo area gateway\): (\S+)/);
    if (gateway) found.gateway = gateway[1];
    const admin = output.match(/area-admin \(demo area\): (\S+)/);
    if (admin) found.admin = admin[1];
    const profile = output.match(/^\s+profile\s+\w+\s+(http:\/\/\S+)/m);
    if (profile) found.profile = profile[1];
  };
  appHost.stdout.on("data", collect);
  appHost.stderr.on("data", collect);
  await waitFor("the AppHost's tokens", () => found.dashboard && found.gateway && found.ingest && found.area && found.admin && found.profile);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1500 } });
  await page.goto(found.dashboard);
});

after(async () => {
  await browser?.close();
  if (appHost && appHost.exitCode === null) {
    const exited = new Promise((resolve) => appHost.once("exit", resolve));
    appHost.kill("SIGTERM");
    await exited;
    assert.equal(appHost.exitCode, 0, "the AppHost exits 0 on SIGTERM");
  }
});

const state = (name) => page.getAttribute(`tr[data-resource="${name}"]`, "data-state");
const services = ["profile", "ingest", "export", "stream", "audit"];

test("without the operator token the dashboard refuses", async () => {
  const response = await fetch(new URL("/api/resources", found.dashboard));
  assert.equal(response.status, 401);
});

test("every resource shows healthy", async () => {
  await waitFor("all services healthy on the page", async () => {
    for (const name of services) if ((await state(name)) !== "healthy") return false;
    return true;
  });
  for (const name of ["rabbitmq", "postgres", "s3"]) {
    const row = await page.$(`tr[data-resource="${name}"]`);
    if (row) assert.equal(await state(name), "running");
  }
});

const postBurst = async (count) => {
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

test("a burst of ingested records appears in the ingest chart", async () => {
  await postBurst(500);
  await waitFor("the accepted total on the page", async () =>
    Number((await page.textContent("#ingest-accepted-total")).replace(/,/g, "")) >= 500, 60_000);
  await waitFor("a rate drawn in the chart", async () => (await page.$$("#ingest-chart polyline")).length === 2, 30_000);
});

test("a new export profile's status is shown", async () => {
  const response = await fetch(new URL(`/api/areas/${found.area}/export-profiles`, found.profile), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${found.admin}` },
    body: JSON.stringify({ name: `Dashboard ${crypto.randomUUID()}`, s3Bucket: "dashboard-exports", collectFrom: new Date(Date.now() + 3 * 3600_000).toISOString() }),
  });
  const body = await response.text();
  assert.equal(response.status, 201, body);
  const profile = JSON.parse(body);
  await waitFor("the profile in the export table", async () => (await page.textContent("#status-export")).includes(profile.id), 60_000);
});

test("a regeneration of telephony call logs shows as a long operation with its progress", async () => {
  const response = await fetch(new URL(`/api/areas/${found.area}/telephony/call-logs/generate`, found.ingest), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${found.admin}` },
    body: JSON.stringify({ days: 1 }),
  });
  assert.equal(response.status, 200, await response.text());
  await waitFor("the operation in the long operations table", async () => {
    const text = await page.textContent("#operations");
    return text.includes("telephony-generate") && text.includes("succeeded");
  }, 60_000);
  assert.ok(await page.$("#operations tr.operation .bar > i"), "a progress bar");

  // The picture of docs/dashboard.png: live figures while records come in.
  let live = false;
  for (let i = 0; i < 30 && !live; i++) {
    await postBurst(400);
    await new Promise((resolve) => setTimeout(resolve, 500));
    live = Number((await page.textContent("#ingest-accepted-rate")).replace(/,/g, "")) > 0;
  }
  assert.ok(live, "the ingest rate shows records coming in");
  mkdirSync(join(root, ".data"), { recursive: true });
  await page.screenshot({ path: join(root, ".data", "dashboard.png"), fullPage: true });
});

test("a stopped service shows as not healthy and comes back healthy after its restart", async () => {
  const resources = await page.evaluate(async () => (await fetch("/api/resources")).json());
  const stream = resources.find((r) => r.name === "stream");
  process.kill(stream.processId, "SIGKILL");
  await waitFor("stream shown as not healthy", async () => ["crashed", "starting", "unhealthy"].includes(await state("stream")), 30_000);
  await waitFor("stream healthy again", async () => (await state("stream")) === "healthy", 120_000);
  const restarts = await page.textContent('tr[data-resource="stream"] td:nth-child(4)');
  assert.ok(Number(restarts) >= 1, "the restart is counted");
});
