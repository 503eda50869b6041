// Compile-time checks of the package's types (npm test runs `tsc -p test/tsconfig.json` first):
// each @ts-expect-error line must fail to compile, or tsc reports the directive as unused.
import type { InferenceHandler, LegatoNode, Context } from "../dist/index.js";

declare const node: LegatoNode;
declare const handler: InferenceHandler;
declare const context: Context;

// A node's handler is a view: the node does not own it, so it cannot dispose it.
// @ts-expect-error: HandlerView has no dispose()
node.handler.dispose();
node.handler.statistics();
node.handler.setEngine(0);
// Owners can, explicitly or with `using`.
handler.dispose();
context.dispose();
node.dispose();
{
  using owned = handler;
  void owned.latency;
}
