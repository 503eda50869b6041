// A custom worklet processor for the web tests (LegatoProcessor from the package): its own
// AudioParam "gain", read once per quantum and set on the model's "gain" parameter tensor;
// the handler runs in blocks of 512 (the node's blockSize).
import { LegatoProcessor } from "../../dist/worklet-processor.js";

class GainProcessor extends LegatoProcessor {
  static get parameterDescriptors() {
    return [{ name: "gain", defaultValue: 0.5, automationRate: "k-rate" }];
  }
  process(inputs, outputs, parameters) {
    this.setParameter("gain", parameters.gain[0]);
    this.processLegato(inputs[0] ?? [], outputs[0] ?? []);
    return true;
  }
}
registerProcessor("legato-test-gain", GainProcessor);
