// Per-operator kernel time of one model in ONNX Runtime (CPU, one thread), from ONNX Runtime's
// own profiler: prints a JSON object {op: microseconds per run}. Inputs are generated: floats
// from sin(i), int64 ids (i * 7) % 100, masks all ones; symbolic dims are 1 (`seq`: 64) unless
// DIMS sets them (DIMS=batch=2,seq=17). KERNEL_TIME_BY=node prints per-node times instead.
//   NODE_PATH=~/.cache/graphopt-ort/node_modules node kernel_time.js MODEL [LEVEL] [RUNS]
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');

(async () => {
  const [file, level = 'disabled', runs = '100'] = process.argv.slice(2);
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-time-')), 'profile');
  const session = await ort.InferenceSession.create(file, {
    graphOptimizationLevel: level, executionProviders: ['cpu'], intraOpNumThreads: 1,
    interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: prefix, logSeverityLevel: 3 });
  const dims = Object.fromEntries((process.env.DIMS || '').split(',').filter(Boolean)
                                      .map(kv => [kv.split('=')[0], +kv.split('=')[1]]));
  const byNode = process.env.KERNEL_TIME_BY === 'node';
  const feeds = {};
  for (const meta of session.inputMetadata) {
    const shape = meta.shape.map(d => (typeof d === 'number' ? d : d in dims ? dims[d] : d === 'seq' ? 64 : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    feeds[meta.name] = meta.type === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from({ length: n },
                         (_, i) => BigInt(meta.name.includes('mask') ? 1 : (i * 7) % 100)), shape)
        : new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i)), shape);
  }
  for (let i = 0; i < 5; i++) await session.run(feeds);  // warm-up, profiled like the rest
  for (let i = 0; i < +runs; i++) await session.run(feeds);
  session.endProfiling();
  const dir = path.dirname(prefix);
  const trace = JSON.parse(fs.readFileSync(path.join(dir, fs.readdirSync(dir)[0]), 'utf8'));
  fs.rmSync(dir, { recursive: true });
  const total = {};
  let sessionRuns = 0;
  for (const e of trace) {
    if (e.cat === 'Session' && e.name === 'model_run') sessionRuns++;
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
      const key = byNode ? `${e.args.op_name} ${e.name.slice(0, -'_kernel_time'.length)}`
                         : e.args.op_name;
      total[key] = (total[key] || 0) + e.dur;
    }
  }
  for (const op of Object.keys(total)) total[op] = +(total[op] / sessionRuns).toFixed(1);
  console.log(JSON.stringify(total));
})().catch(e => { console.error(e.message || e); process.exit(1); });
