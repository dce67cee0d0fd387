// Latency of several models in ONNX Runtime (CPU, one thread), run by run in turn on the same
// inputs, so load from other processes falls on all of them alike. Prints per model the median,
// p10 and p90 (ms) and the median of its per-round ratio to the first model.
//   NODE_PATH=~/.cache/graphopt-ort/node_modules DIMS=batch=2 RUNS=20 \
//     node interleaved_latency.js REF.onnx:extended ART.onnx:disabled [MORE.onnx:LEVEL]...
// Inputs: floats uniform in [-1, 1) from a fixed seed; integer inputs (token ids, masks) filled
// with INTS=name=value (default 1, a valid index and an "attend" mask); symbolic dims from DIMS,
// else 1.
const ort = require('onnxruntime-node');

(async () => {
  const specs = process.argv.slice(2).map(s => {
    const i = s.lastIndexOf(':');
    return i > 0 ? { file: s.slice(0, i), level: s.slice(i + 1) } : { file: s, level: 'disabled' };
  });
  const dims = Object.fromEntries((process.env.DIMS || '').split(',').filter(Boolean)
                                      .map(kv => [kv.split('=')[0], +kv.split('=')[1]]));
  const ints = Object.fromEntries((process.env.INTS || '').split(',').filter(Boolean)
                                      .map(kv => [kv.split('=')[0], BigInt(kv.split('=')[1])]));
  const runs = +(process.env.RUNS || 20);
  const sessions = [];
  for (const s of specs) {
    sessions.push(await ort.InferenceSession.create(s.file, {
      graphOptimizationLevel: s.level, executionProviders: ['cpu'], intraOpNumThreads: 1,
      interOpNumThreads: 1, logSeverityLevel: 3 }));
  }
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const feeds = {};
  for (const meta of sessions[0].inputMetadata) {
    const shape = meta.shape.map(d => (typeof d === 'number' ? d : dims[d] ?? 1));
    const n = shape.reduce((a, b) => a * b, 1);
    if (meta.type === 'int64') {
      feeds[meta.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(ints[meta.name] ?? 1n), shape);
    } else {
      feeds[meta.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, rand), shape);
    }
  }
  for (const s of sessions) await s.run(feeds);  // warm-up
  const times = sessions.map(() => []);
  for (let r = 0; r < runs; r++) {
    // Rotate the order each round so no model always runs right after another.
    for (let k = 0; k < sessions.length; k++) {
      const i = (k + r) % sessions.length;
      const t0 = process.hrtime.bigint();
      await sessions[i].run(feeds);
      times[i].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const q = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
  console.log(`DIMS=${process.env.DIMS || ''} runs=${runs}`);
  specs.forEach((s, i) => {
    const ratio = times[i].map((t, r) => t / times[0][r]);
    console.log(`${s.file}:${s.level}  p50 ${q(times[i], 0.5).toFixed(1)}  p10 ${
        q(times[i], 0.1).toFixed(1)}  p90 ${q(times[i], 0.9).toFixed(1)}  ratio p50 ${
        q(ratio, 0.5).toFixed(3)}`);
  });
})().catch(e => { console.error(e.message || e); process.exit(1); });
