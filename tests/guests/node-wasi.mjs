// `spry run`'s WASI command line on node's node:wasi, the cross-check runtime
// of the guest suite (GUEST_RUNTIME=node scripts/run-guests.sh).
//
//   node --no-warnings node-wasi.mjs [--dir HOST[::GUEST]] [--dir-ro HOST[::GUEST]]
//                                    [--env K=V] FILE.wasm [ARGS...]
//
// Differences from spry run (see node-deviations.txt for their effect):
//   --dir-ro pre-opens read-write (node:wasi has no read-only pre-opens);
//   --tcplisten and --invoke are refused (exit 2).
// A trap prints spry's one-line form, built from V8's stack trace, and exits
// 134; proc_exit's code becomes the exit status.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

function usage(msg) {
  process.stderr.write(`node-wasi: ${msg}\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
const env = {};
const preopens = {};
let i = 0;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') { i++; break; }
  if (!a.startsWith('--')) break;
  const v = argv[++i];
  if (v === undefined) usage(`${a} needs a value`);
  if (a === '--dir' || a === '--dir-ro') {
    const sep = v.indexOf('::');
    const host = sep < 0 ? v : v.slice(0, sep);
    const guest = sep < 0 ? v : v.slice(sep + 2);
    preopens[guest] = host;
  } else if (a === '--env') {
    const eq = v.indexOf('=');
    if (eq <= 0) usage(`--env wants K=V, got '${v}'`);
    env[v.slice(0, eq)] = v.slice(eq + 1);
  } else {
    usage(`${a} is not supported on node:wasi`);
  }
}
const file = argv[i];
if (file === undefined) usage('no FILE.wasm');

const wasi = new WASI({
  version: 'preview1',
  args: [file, ...argv.slice(i + 1)],
  env,
  preopens,
  returnOnExit: true,
});

let module;
try {
  module = await WebAssembly.compile(readFileSync(file));
} catch (e) {
  process.stderr.write(`spry: ${file}: ${e.message}\n`);
  process.exit(1);
}
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
try {
  process.exitCode = wasi.start(instance);
} catch (e) {
  if (!(e instanceof WebAssembly.RuntimeError)) throw e;
  // "    at NAME (wasm://wasm/HASH:wasm-function[N]:0xOFF)"; unnamed: "at wasm://..."
  const m = /at (?:(\S+) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:(0x[0-9a-f]+)/.exec(e.stack);
  const func = m && m[1] ? `'${m[1]}'` : 'wasm';
  const msg = e.message === 'unreachable' ? 'unreachable' : e.message;
  process.stderr.write(`spry: trap in ${func} (function ${m ? m[2] : '?'}, offset ${m ? m[3] : '?'}): ${msg}\n`);
  process.exitCode = 134;
}
