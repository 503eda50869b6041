// The demo page (demo/index.html) driven like a user in headless Chromium: start cnn_past on
// ONNX Runtime Web (the model comes from this server), check the live statistics count up,
// switch the engine while it plays, check they still count up, and screenshot the page to
// ../build/web/demo.png (relative to web/).
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const screenshot = fileURLToPath(new URL("../../build/web/demo.png", import.meta.url));

export async function demoTest(browser, base) {
  const results = [];
  const check = (name, ok, detail = "") => results.push({ name: `demo: ${name}`, ok: Boolean(ok), detail: String(detail) });
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  page.on("console", (message) => console.log(`[demo] ${message.text()}`));
  page.on("pageerror", (error) => console.log(`[demo error] ${error.message}`));
  const read = () => page.evaluate(() => ({
    status: document.getElementById("status").textContent,
    engine: document.getElementById("stat-engine").textContent,
    latency: Number(document.getElementById("stat-latency").dataset.value ?? NaN),
    latencyText: document.getElementById("stat-latency").textContent,
    completed: Number(document.getElementById("stat-completed").dataset.value ?? NaN),
  }));
  try {
    await page.goto(`${base}/demo/index.html`);
    await page.waitForSelector("#start:not([disabled])", { timeout: 60000 });
    check("the page loads Legato (cross-origin isolated, no banner)",
          await page.evaluate(() => crossOriginIsolated && document.getElementById("isolation").hidden));
    await page.selectOption("#model", "cnn_past");
    await page.selectOption("#engine", "0");
    await page.click("#start");
    await page.waitForFunction(() => Number(document.getElementById("stat-completed").dataset.value) > 0,
                               null, { timeout: 30000 });
    await page.waitForTimeout(2000);
    const first = await read();
    check(`cnn_past on onnxruntime-web plays: ${first.completed} inferences, latency ${first.latencyText}`,
          first.completed > 0 && first.latency > 0 && /playing/.test(first.status) &&
            first.engine === "onnxruntime-web", JSON.stringify(first));

    await page.selectOption("#engine", "1");
    await page.waitForTimeout(2000);
    const second = await read();
    check(`switched to "${second.engine}" while playing: inferences still count (${first.completed} -> ${second.completed})`,
          second.engine === "js tanh drive" && second.completed > first.completed + 100 &&
            /playing/.test(second.status), JSON.stringify(second));
    const failed = await page.evaluate(() => document.getElementById("stat-failed").textContent);
    check("no failed inferences", failed === "0", failed);

    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });

    await page.click("#start");  // Stop
    await page.waitForFunction(() => document.getElementById("status").textContent === "stopped",
                               null, { timeout: 10000 });
    check("Stop closes the audio and the page is ready again",
          await page.evaluate(() => document.getElementById("start").textContent === "Start"));
  } catch (e) {
    check("the demo page runs", false, e.message);
  } finally {
    await page.close();
  }
  return results;
}
