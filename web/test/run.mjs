// `npm test`: serves web/ with the cross-origin isolation headers and runs test/page.html in
// headless Chromium (Debian's, through playwright-core), printing every check; exits 1 on any
// failure.
import { chromium } from "playwright-core";
import { startServer } from "../scripts/serve.mjs";
import { demoTest } from "./demo.test.mjs";

// Serves web/ cross-origin isolated, /repo/models/ and /plain/ (scripts/serve.mjs).
const { server, base } = await startServer();
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
  await runPage("/test/load.html");
  await runPage("/plain/test/isolation.html");
  // The in-worklet native engine, also without isolation (no SharedArrayBuffer).
  await runPage("/plain/test/native.html");
  // ... and in a real AudioContext, switching models while playing.
  await runPage("/plain/test/native-live.html");
  // createModelNode(): the worklet or the pool, on a page with and without isolation.
  await runPage("/test/choose.html");
  await runPage("/plain/test/choose.html");
  // The demo page (demo/), driven like a user: start, switch engine, screenshot.
  const demo = await demoTest(browser, base);
  for (const r of demo) {
    console.log(`${r.ok ? "ok  " : "FAIL"} ${r.name}${r.detail && !r.ok ? `: ${r.detail}` : ""}`);
    if (!r.ok) ++failed;
  }
  if (demo.length === 0) ++failed;
} finally {
  await browser.close();
  server.close();
}
console.log(failed ? `${failed} web check(s) failed` : "all web checks passed");
process.exit(failed ? 1 : 0);
