// Runs one ONNX model in ONNX Runtime (CPU, graph optimizations disabled) for the parity tests:
//   node ort_run.js MODEL.onnx INPUTS.json OUTPUTS.json
// INPUTS.json: {name: {"type": "float32"|"int32"|"int64"|"uint8"|"int8", "dims": [...],
// "data": [...]}};
// OUTPUTS.json gets the same form for every model output, or {"error": message} when the session
// fails.
const ort = require('onnxruntime-node');
const fs = require('fs');

async function main() {
  const [model, inputsPath, outputsPath] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(inputsPath, 'utf8'));
  const feeds = {};
  for (const [name, t] of Object.entries(spec)) {
    const data = t.type === 'int32' ? Int32Array.from(t.data)
      : t.type === 'int64' ? BigInt64Array.from(t.data, BigInt)
      : t.type === 'uint8' ? Uint8Array.from(t.data)
      : t.type === 'int8' ? Int8Array.from(t.data) : Float32Array.from(t.data);
    feeds[name] = new ort.Tensor(t.type, data, t.dims);
  }
  let result;
  try {
    const session = await ort.InferenceSession.create(model, {
      graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, executionProviders: ['cpu'] });
    const out = await session.run(feeds);
    result = {};
    for (const [name, t] of Object.entries(out)) {
      result[name] = { type: t.type, dims: Array.from(t.dims), data: Array.from(t.data, Number) };
    }
  } catch (e) {
    result = { error: String(e && e.message ? e.message : e) };
  }
  fs.writeFileSync(outputsPath, JSON.stringify(result));
}
main();
