// A static server for web/: every file with the cross-origin isolation headers the package
// needs (SharedArrayBuffer), plus two extra routes:
//   /repo/models/...  the repository's own test models (models/)
//   /shared-models/.. the real-model suite (LEGATO_CONFORMANCE_MODELS, default ../shared/models
//                     beside the repository), for npm run bench
//   /native-models/.. the native engine's staged upstream models (LEGATO_NATIVE_MODELS, default
//                     ../shared/models-native beside the repository: cases.json), and
//   /native-models-up/.. its parent folder (the cases name their inputs as "../models/...")
//   /plain/...        the same files served WITHOUT the isolation headers
// Used by test/run.mjs (startServer) and by `npm run demo` (`node scripts/serve.mjs`: port
// 8080 or $PORT, prints the demo's URL).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const repoModels = fileURLToPath(new URL("../../models/", import.meta.url));
const sharedModels = (process.env.LEGATO_CONFORMANCE_MODELS ??
  fileURLToPath(new URL("../../../shared/models", import.meta.url))).replace(/\/?$/, "/");
const nativeModels = (process.env.LEGATO_NATIVE_MODELS ??
  fileURLToPath(new URL("../../../shared/models-native", import.meta.url))).replace(/\/?$/, "/");
const nativeModelsUp = join(nativeModels, "..").replace(/\/?$/, "/");
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
                ".wasm": "application/wasm", ".json": "application/json" };

/** Starts the server on 127.0.0.1:`port` (0: any free port): {server, base}. */
export async function startServer(port = 0) {
  const server = createServer(async (request, response) => {
    let pathname = decodeURIComponent(new URL(request.url, "http://x").pathname);
    const isolated = !pathname.startsWith("/plain/");
    if (!isolated) pathname = pathname.slice("/plain".length);
    const routes = [["/repo/models/", repoModels], ["/shared-models/", sharedModels],
                    ["/native-models/", nativeModels], ["/native-models-up/", nativeModelsUp]];
    const route = routes.find(([prefix]) => pathname.startsWith(prefix));
    const [base, rest] = route ? [route[1], pathname.slice(route[0].length)] : [root, pathname];
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
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { base } = await startServer(Number(process.env.PORT ?? 8080));
  console.log(`Legato demo: ${base}/demo/index.html   (Ctrl+C to stop)`);
}
