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
  results.push(...await nativeModeTest(browser, base));
  return results;
}

/** The demo's in-worklet mode on the page served WITHOUT isolation (/plain/): start wavenet.nam
 *  on the generated plucks, check the cost is measured, switch to lstm.json while playing, then
 *  to slimmable.nam and move its size slider, and screenshot the page to /tmp/demo-native.png. */
async function nativeModeTest(browser, base) {
  const results = [];
  const check = (name, ok, detail = "") => results.push({ name: `demo (in-worklet): ${name}`, ok: Boolean(ok), detail: String(detail) });
  const page = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  page.on("console", (message) => console.log(`[demo native] ${message.text()}`));
  page.on("pageerror", (error) => console.log(`[demo native error] ${error.message}`));
  const text = (id) => page.evaluate((id) => document.getElementById(id).textContent, id);
  try {
    await page.goto(`${base}/plain/demo/index.html`);
    await page.waitForSelector("#native-start:not([disabled])", { timeout: 60000 });
    check("the page is not cross-origin isolated", await page.evaluate(() => !crossOriginIsolated));
    await page.selectOption("#native-model", "wavenet.nam");
    await page.click("#native-start");
    await page.waitForFunction(() => document.getElementById("native-cost").dataset.value !== undefined,
                               null, { timeout: 60000 });
    const cost = await page.evaluate(() => Number(document.getElementById("native-cost").dataset.value));
    check(`wavenet.nam plays (${await text("native-status")}), cost ${await text("native-cost")}, headroom ${await text("native-headroom")}`,
          /playing/.test(await text("native-status")) && (await text("native-format")) === "nam" && cost >= 0,
          await text("native-status"));
    await page.evaluate(() => delete document.getElementById("native-cost").dataset.value);
    await page.selectOption("#native-model", "lstm.json");
    await page.waitForFunction(() => document.getElementById("native-cost").dataset.value !== undefined,
                               null, { timeout: 60000 });
    const status = await text("native-status");
    check(`switched to lstm.json while playing: "${status}", format ${await text("native-format")}`,
          /switched at frame/.test(status) && (await text("native-format")) === "rtneural-json", status);
    check(`lstm.json has one size: the size slider is off (${await text("native-size-value")})`,
          await page.evaluate(() => document.getElementById("native-size").disabled));
    await page.evaluate(() => delete document.getElementById("native-cost").dataset.value);
    await page.selectOption("#native-model", "slimmable.nam");
    await page.waitForFunction(() => document.getElementById("native-cost").dataset.value !== undefined,
                               null, { timeout: 60000 });
    const full = await text("native-size-value");
    await page.evaluate(() => {
      const slider = document.getElementById("native-size");
      slider.value = "0.4";
      slider.dispatchEvent(new Event("input"));
    });
    const slim = await text("native-size-value");
    const slimDescription = await text("native-description");
    check(`slimmable.nam: the size slider reads "${full}", then "${slim}" at 0.4, the description follows ` +
          `("${slimDescription.slice(0, 60)}…")`,
          full === "1.00: 4 of 4 (full)" && slim === "0.40: 2 of 4" && slimDescription.includes("channels 2, 2") &&
          !(await page.evaluate(() => document.getElementById("native-size").disabled)), `${full}; ${slim}`);
    await page.screenshot({ path: "/tmp/demo-native.png", fullPage: true });
    await page.click("#native-start");  // Stop
    await page.waitForFunction(() => document.getElementById("native-status").textContent === "stopped",
                               null, { timeout: 10000 });
    check("Stop closes the audio", true);
  } catch (e) {
    check("the in-worklet mode runs", false, e.message);
  } finally {
    await page.close();
  }
  return results;
}
