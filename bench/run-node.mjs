// Node runner: instantiates one kernel's .wasm with V8 and times run(n).
// Usage: node run-node.mjs <kernel.wasm> <n> <repetitions>
// Prints the line described in bench.h.
import { readFileSync } from 'node:fs';

const [file, nArg, repsArg] = process.argv.slice(2);
const n = Number(nArg);
const reps = Number(repsArg);
if (!file || !Number.isInteger(n) || n < 0 || n > 0xffffffff || !Number.isInteger(reps) || reps < 1) {
  console.error('usage: node run-node.mjs <kernel.wasm> <n> <repetitions>');
  process.exit(2);
}

const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const run = instance.exports.run;
const ms = [];
let checksum;
for (let i = 0; i < reps; i++) {
  const t0 = process.hrtime.bigint();
  const c = BigInt.asUintN(64, run(n));
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (i > 0 && c !== checksum) {
    console.error(`checksum differs between repetitions: ${checksum.toString(16)} then ${c.toString(16)}`);
    process.exit(1);
  }
  checksum = c;
}
const sorted = [...ms].sort((a, b) => a - b);
const mid = sorted.length >> 1;
const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
console.log(`checksum=${checksum.toString(16).padStart(16, '0')} median_ms=${median.toFixed(3)} ` +
  `min_ms=${sorted[0].toFixed(3)} reps=${reps}`);
