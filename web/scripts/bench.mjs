// `npm run bench`: runs bench/index.html in headless Chromium (Debian's, through
// playwright-core) on the cross-origin isolated server and prints median / p99 / mean per row;
// writes them to ../build/web/bench.json. Uses the real-model suite for the ONNX Runtime Web rows
// (LEGATO_CONFORMANCE_MODELS, default ../shared/models beside the repository) and the staged
// native models for the in-worklet rows (LEGATO_NATIVE_MODELS, default ../shared/models-native),
// whose ratio to the native x86 build comes from the Google Benchmark program of a native build
// (LEGATO_NATIVE_BENCH, default ../build/release/bench/legato_native_bench), run right after.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
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
// The in-worklet rows against the native build: the same models at blocks of 128 (median of 5
// repetitions of Google Benchmark's ns_per_sample counter).
const nativeRows = result.rows.filter((r) => r.name.includes("native-model:"));
const nativeBench = process.env.LEGATO_NATIVE_BENCH ??
  fileURLToPath(new URL("../../build/release/bench/legato_native_bench", import.meta.url));
if (nativeRows.length > 0 && existsSync(nativeBench)) {
  const names = nativeRows.map((r) => r.name.split("native-model:")[1]);
  const filter = names.join("|");
  const models = process.env.LEGATO_NATIVE_MODELS ??
    fileURLToPath(new URL("../../../shared/models-native", import.meta.url));
  const report = JSON.parse(execFileSync(nativeBench, [
    `--benchmark_filter=^(${filter})$`, "--benchmark_repetitions=5", "--benchmark_min_time=0.3",
    "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
  { env: { ...process.env, LEGATO_NATIVE_MODELS: models }, encoding: "utf8", maxBuffer: 1 << 24 }));
  for (const [k, row] of nativeRows.entries()) {
    const median = report.benchmarks.find((b) => b.run_name === names[k] && b.aggregate_name === "median");
    if (!median) continue;
    const label = row.name.split("  native-model:")[0].replace("in-worklet native engine, ", "");
    const ns = median.ns_per_sample * 1e9;  // the counter is in seconds per sample in the JSON
    result.rows.push({ name: `native x86 build (${names[k]}), ${label.split(",")[0]}`, median: ns, unit: "ns", n: 5 });
    result.rows.push({ name: `in-worklet / native x86, ${label.split(",")[0]} (ratio of medians)`,
                       median: row.median / ns, unit: "x", n: 1 });
  }
} else if (nativeRows.length > 0) {
  result.rows.push({ name: `native x86 ratio: skipped (no ${nativeBench}: build the release preset or set LEGATO_NATIVE_BENCH)`,
                     unit: "", n: 0 });
}
for (const r of result.rows) r.name = r.name.split("  native-model:")[0];
const fmt = (v) => (v === undefined ? "" : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
console.log(`${"".padEnd(100)}  median      p99     mean  unit   n`);
for (const r of result.rows)
  console.log(`${r.name.padEnd(100)} ${fmt(r.median).padStart(7)} ${fmt(r.p99).padStart(8)} ${fmt(r.mean).padStart(8)}  ${r.unit.padEnd(4)} ${r.n}`);
const out = fileURLToPath(new URL("../../build/web/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}bench.json`, JSON.stringify(result, null, 2));
if (result.error) { console.log(result.error); process.exit(1); }
