// ONNX Runtime's CPU provider for bench_models.py (a benchmark, not a test), through the npm package
// onnxruntime-node, which the driver installs into its cache directory.
//
//   node bench_ort.js ORT_DIR MODEL.onnx INPUT.f32 BATCH HEIGHT WIDTH THREADS
//
// ORT_DIR: the npm prefix holding node_modules/onnxruntime-node. INPUT.f32: the batch as raw
// little-endian float32 (N, 3, H, W), the same array the other runners get. The session uses
// intraOpNumThreads = THREADS, interOpNumThreads 1, graphOptimizationLevel 'all', sequential execution,
// the CPU provider. It prints "ready", then answers one line per command read from stdin:
//   run        -> the wall time of one session.run in milliseconds (the whole batch)
//   dump PATH  -> runs once, writes the first output as raw float32 to PATH, prints "ok"
// and exits at end of input. The driver sends "run" in turn with its other runners, so the timings are
// of the same run; it keeps the best.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

async function main() {
  const [ortDir, modelPath, inputPath, batch, height, width, threads] = process.argv.slice(2);
  if (threads === undefined) {
    process.stderr.write('usage: node bench_ort.js ORT_DIR MODEL.onnx INPUT.f32 BATCH HEIGHT WIDTH THREADS\n');
    process.exit(2);
  }
  const ort = require(path.join(path.resolve(ortDir), 'node_modules', 'onnxruntime-node'));
  const dims = [Number(batch), 3, Number(height), Number(width)];
  const raw = fs.readFileSync(inputPath);
  const count = dims.reduce((a, b) => a * b, 1);
  if (raw.length !== count * 4) throw new Error(`${inputPath}: ${raw.length} bytes, expected ${count * 4}`);
  // A copy into an aligned Float32Array (the Buffer may start at any offset of Node's pool).
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(raw);
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
  const out = session.outputNames[0];
  console.log('ready');
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, arg] = line.trim().split(/\s+/, 2);
    if (cmd === 'run') {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      console.log((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(4));
    } else if (cmd === 'dump') {
      const r = await session.run(feeds);
      const v = r[out].data;
      fs.writeFileSync(arg, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      console.log('ok');
    } else if (cmd) {
      throw new Error(`unknown command: ${cmd}`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`bench_ort.js: ${e.stack || e}\n`);
  process.exit(1);
});
