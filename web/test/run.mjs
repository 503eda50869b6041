// `npm test`: serves web/ with the cross-origin isolation headers and runs test/page.html in
// headless Chromium (Debian's, through playwright-core), printing every check; exits 1 on any
// failure.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
// /repo/models/ is the repository's own test models (models/).
const repoModels = fileURLToPath(new URL("../../models/", import.meta.url));
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
                ".wasm": "application/wasm", ".json": "application/json" };
// Everything under /plain/ is the same files served without the isolation headers.
const server = createServer(async (request, response) => {
  let pathname = decodeURIComponent(new URL(request.url, "http://x").pathname);
  const isolated = !pathname.startsWith("/plain/");
  if (!isolated) pathname = pathname.slice("/plain".length);
  const [base, rest] = pathname.startsWith("/repo/models/")
    ? [repoModels, pathname.slice("/repo/models/".length)] : [root, pathname];
  const path = normalize(join(base, rest));
  if (!path.startsWith(base)) { response.writeHead(403).end(); return; }
  try {
    const body = await readFile(path);
    const headers = { "Content-Type": types[extname(path)] ?? "application/octet-stream" };
    if (isolated) {
      headers["Cross-Origin-Opener-Policy"] = "same-origin";
      headers["Cross-Origin-Embedder-Policy"] = "require-corp";
    }
    response.writeHead(200, headers);
    response.end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.LEGATO_CHROMIUM ?? "/usr/lib/chromium/chromium",
  args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
});
let failed = 0;
// Each page sets window.legatoTestResults = [{name, ok, detail}] when done.
async function runPage(path) {
  const page = await browser.newPage();
  page.on("console", (message) => console.log(`[page] ${message.text()}`));
  page.on("pageerror", (error) => console.log(`[page error] ${error.message}`));
  await page.goto(base + path);
  await page.waitForFunction(() => window.legatoTestResults !== undefined, null, { timeout: 120000 });
  const results = await page.evaluate(() => window.legatoTestResults);
  for (const r of results) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}${r.detail && !r.ok ? `: ${r.detail}` : ""}`);
    if (!r.ok) ++failed;
  }
  if (results.length === 0) ++failed;
  await page.close();
}
try {
  await runPage("/test/page.html");
  await runPage("/plain/test/isolation.html");
} finally {
  await browser.close();
  server.close();
}
console.log(failed ? `${failed} web check(s) failed` : "all web checks passed");
process.exit(failed ? 1 : 0);
