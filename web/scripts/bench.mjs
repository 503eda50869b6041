// `npm run bench`: runs bench/index.html in headless Chromium (Debian's, through
// playwright-core) on the cross-origin isolated server and prints median / p99 / mean per row;
// writes them to ../build/web/bench.json. Uses the real-model suite for the ONNX Runtime Web rows
// (LEGATO_CONFORMANCE_MODELS, default ../shared/models beside the repository).
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "./serve.mjs";

const { server, base } = await startServer();
const browser = await chromium.launch({
  executablePath: process.env.LEGATO_CHROMIUM ?? "/usr/lib/chromium/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
let result;
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.log(`[page error] ${error.message}`));
  await page.goto(`${base}/bench/index.html`);
  await page.waitForFunction(() => window.legatoBench !== undefined, null, { timeout: 300000 });
  result = await page.evaluate(() => window.legatoBench);
} finally {
  await browser.close();
  server.close();
}
const fmt = (v) => (v === undefined ? "" : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
console.log(`${"".padEnd(100)}  median      p99     mean  unit   n`);
for (const r of result.rows)
  console.log(`${r.name.padEnd(100)} ${fmt(r.median).padStart(7)} ${fmt(r.p99).padStart(8)} ${fmt(r.mean).padStart(8)}  ${r.unit.padEnd(4)} ${r.n}`);
const out = fileURLToPath(new URL("../../build/web/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}bench.json`, JSON.stringify(result, null, 2));
if (result.error) { console.log(result.error); process.exit(1); }
