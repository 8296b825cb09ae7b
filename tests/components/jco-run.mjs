// Runs a WASI command component transpiled by `jco transpile` on node with
// @bytecodealliance/preview2-shim: the cross-check runtime of
// scripts/run-components.sh (COMPONENT_RUNTIME=jco), as node-wasi.mjs is for
// the module form. It takes `spry run`'s flags:
//
//   node jco-run.mjs SHIM_DIR COMPONENT_JS [--dir HOST::GUEST] [--dir-ro HOST::GUEST]
//                    [--env NAME=VALUE] [--tcplisten ADDR] -- ARGS...
//
// SHIM_DIR is the installed preview2-shim (BUILD/npm/node_modules/...), so
// that this script sets up the very module instances the component imports.
// --dir-ro becomes a read-write pre-open (the shim has no read-only one);
// --tcplisten is ignored (no pre-opened sockets in WASI 0.2). Nothing is
// inherited: no environment, no pre-opens but those given. The exit status is the component's (wasi:cli/exit
// maps err to 1); a trap prints "jco-run: trap: MESSAGE" and exits 134.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [shimDir, componentJs, ...rest] = process.argv.slice(2);
const preopens = {};
const env = {};
let i = 0;
for (; i < rest.length && rest[i] !== "--"; i++) {
    const opt = rest[i];
    const val = rest[++i];
    if (val === undefined) usage(`${opt} needs a value`);
    if (opt === "--dir" || opt === "--dir-ro") {
        const sep = val.indexOf("::");
        if (sep < 0) usage(`${opt} wants HOST::GUEST`);
        preopens[val.slice(sep + 2)] = val.slice(0, sep);
    } else if (opt === "--env") {
        const eq = val.indexOf("=");
        if (eq < 0) usage("--env wants NAME=VALUE");
        env[val.slice(0, eq)] = val.slice(eq + 1);
    } else if (opt === "--tcplisten") {
        // WASI 0.2 has no pre-opened sockets: accepted and ignored, as
        // `spry run` does for a component (the sockets test checks that the
        // component sees no listener).
    } else {
        usage(`unknown option ${opt}`);
    }
}
const args = rest.slice(i + 1);

function usage(msg) {
    console.error(`jco-run: ${msg}`);
    process.exit(2);
}

const shim = (name) => import(pathToFileURL(join(shimDir, "dist/nodejs", `${name}.js`)).href);
const cli = await shim("cli");
const fs = await shim("filesystem");
cli._setEnv(env);
cli._setArgs([componentJs, ...args]);
cli._setCwd("/");
fs._setPreopens(preopens);

const mod = await import(pathToFileURL(componentJs).href);
try {
    mod.run.run();
} catch (e) {
    // wasi:cli/exit throws nothing here: the shim calls process.exit itself.
    console.error(`jco-run: trap: ${e && e.message ? e.message : e}`);
    process.exitCode = 134;
}
