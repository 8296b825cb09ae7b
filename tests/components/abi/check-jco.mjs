// A host for the canonical-ABI test component in JavaScript, on the bindings
// `jco transpile --instantiation async` generates: it implements
// spry:abi/host and log as README.md says, calls run() and every export with
// the README's inputs, and checks the README's outputs. A cross-check of the
// guest and of README.md (jco's ABI is not Spry's), run by
// scripts/check-abi-guest.sh for the utf8 and utf16 builds (jco's
// transpiler has no latin1+utf16 support).
//
//   node check-jco.mjs DIR     (DIR: the transpiled component, abi.js inside)
//
// Prints one "ok NAME", "skip NAME: known jco deviation: ..." or
// "FAIL NAME: ..." line per check, then "N passed, N failed, N skipped";
// exit status 1 when a check failed.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { deepStrictEqual } from "node:assert";

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
const same = (a, b) => { try { deepStrictEqual(a, b); return true; } catch { return false; } };
// known: [what jco's bindings give instead, why] for a known jco deviation.
function check(name, got, want, known) {
    if (same(got, want)) {
        console.log(`ok   ${name}`);
        passed++;
    } else if (known && same(got, known[0])) {
        console.log(`skip ${name}: known jco deviation: ${known[1]}`);
        skipped++;
    } else {
        console.log(`FAIL ${name}: got ${fmt(got)}, want ${fmt(want)}`);
        failed++;
    }
}
const fmt = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? [...x] : x));

// ---- the host: spry:abi/host and log, as README.md specifies -----------------
const logged = [];
const calls = [];
const liveBlobs = new Set();
class Blob {
    constructor(init) {
        this.bytes = Uint8Array.from(init);
        liveBlobs.add(this);
        calls.push(["blob.new", [...init]]);
    }
    write(bytes) {
        const b = new Uint8Array(this.bytes.length + bytes.length);
        b.set(this.bytes);
        b.set(bytes, this.bytes.length);
        this.bytes = b;
    }
    read(n) {
        return this.bytes.slice(0, n);
    }
    size() {
        return this.bytes.length;
    }
    static merge(a, b) {
        const m = new Blob([]);
        m.write(a.bytes);
        m.write(b.bytes);
        return m;
    }
    [Symbol.dispose]() {
        liveBlobs.delete(this);
    }
}
const host = {
    Blob,
    consume(b) {
        const n = b.size();
        liveBlobs.delete(b);
        return n;
    },
    hostScalars(...a) {
        calls.push(["host-scalars", a]);
        const [b, vS8, vU8, vS16, vU16, vS32, vU32, vS64, vU64, vF32, vF64, c] = a;
        return { b, vS8, vU8, vS16, vU16, vS32, vU32, vS64, vU64, vF32, vF64, c };
    },
    hostSumMany(...a) {
        calls.push(["host-sum-many", a]);
        return a.reduce((s, x) => s + Number(x), 0);
    },
    hostStrings(s, l) {
        calls.push(["host-strings", [s, l]]);
        return [s, ...l];
    },
    hostGroup(g) {
        calls.push(["host-group", g]);
        return g;
    },
    hostVariants(s, c, f, o) {
        calls.push(["host-variants", [s, c, f, o]]);
        return [s, c, f, o];
    },
    hostResults(a, b, c, d) {
        calls.push(["host-results", [a, b, c, d]]);
        return [a, b, c, d];
    },
};

const mod = await import(pathToFileURL(join(dir, "abi.js")).href);
const getCoreModule = async (p) => WebAssembly.compile(await readFile(join(dir, p)));
const root = await mod.instantiate(getCoreModule, {
    // jco looks imports up without their version
    "spry:abi/host": host,
    "spry:abi/types": {},
    log: { default: (m) => logged.push(m) },
});
const g = root.guest;

// ---- run: what the guest passes to the host ------------------------------------
let runResult = "ok";
try {
    root.run();
} catch (e) {
    runResult = `err ${e.payload ?? e}`;
}
const liveAfterRun = liveBlobs.size;
check("run", runResult, "ok");
check("run: log", logged, ["run: start", "run: done"]);
const BIG = "h\u00e9llo w\u00f6rld \u2603 \u{1F600}";
const STRS = ["", "a", "h\u00e9llo", "\u65e5\u672c\u8a9e", "\u{1F600}"];
check("run: host-scalars arguments", calls.find((c) => c[0] === "host-scalars")[1],
    [true, -128, 255, -32768, 65535, -2147483648, 4294967295, -(2n ** 63n), 2n ** 64n - 1n, 1.5, -0.25, "\u{1F600}"]);
check("run: host-sum-many arguments", calls.find((c) => c[0] === "host-sum-many")[1],
    [1, -2, 3, -4, 5, -6, 7n, -8n, 0.5, 0.25, 10, 11, 12, 13, 14, 15, 16]);
check("run: host-strings arguments", calls.find((c) => c[0] === "host-strings")[1], [BIG, STRS]);
const GROUP = {
    label: "outer",
    items: [
        { name: "first", tags: ["x", "y"], points: [{ x: 1, y: 2 }, { x: -3, y: 4 }] },
        { name: "", tags: [], points: [] },
        { name: "third \u2603", tags: ["\u{1F600}"], points: [{ x: 2147483647, y: -2147483648 }] },
    ],
};
check("run: host-group argument", calls.find((c) => c[0] === "host-group")[1], GROUP);
const bigFlags = (v) => Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`b${String(i).padStart(2, "0")}`, ((v >>> i) & 1) === 1]));
const variantArgs = (rectX) => [
    [{ tag: "none" }, "red", bigFlags(0), undefined],
    [{ tag: "circle", val: 1.5 }, "green", bigFlags(0xffffffff), ""],
    [{ tag: "rect", val: { x: rectX, y: 2 } }, "blue", bigFlags(0x80000001), "\u{1F600}"],
    [{ tag: "label", val: "\u00df\u2603" }, "red", bigFlags(0x12345678), undefined],
    [{ tag: "big", val: 2n ** 64n - 1n }, "green", bigFlags(1), ""],
    [{ tag: "tiny", val: 200 }, "blue", bigFlags(0x7fffffff), "\u{1F600}"],
];
check("run: host-variants arguments", calls.filter((c) => c[0] === "host-variants").map((c) => c[1]),
    variantArgs(-1), [variantArgs(4294967295),
        "rect's s32 x, joined into the i64 payload slot, is lifted without wrapping back to a signed i32"]);
check("run: host-results arguments", calls.filter((c) => c[0] === "host-results").map((c) => c[1]), [
    [{ tag: "ok", val: 7 }, { tag: "ok", val: undefined }, { tag: "ok", val: "fine" }, { tag: "ok", val: undefined }],
    [{ tag: "err", val: undefined }, { tag: "err", val: "bad \u2603" }, { tag: "err", val: 42 }, { tag: "err", val: undefined }],
]);
check("run: blob constructors", calls.filter((c) => c[0] === "blob.new").map((c) => c[1]), [[1, 2, 3], [], [], [9]]);

// ---- the exports ------------------------------------------------------------------
check("echo-scalars", g.echoScalars(false, 127, 255, -1, 0, 2147483647, 41, 2n ** 63n - 1n, 0n, 2.5, -1e300, "\u00e9"), {
    b: true, vS8: -128, vU8: 0, vS16: 0, vU16: 1, vS32: -2147483648, vU32: 42,
    vS64: -(2n ** 63n), vU64: 1n, vF32: -2.5, vF64: 1e300, c: "\u00e9",
});
check("sum-many", g.sumMany(1, -2, 3, -4, 5, -6, 7n, -8n, 0.5, 0.25, 10, 11, 12, 13, 14, 15, 16), 87.75);
check("echo-strings", g.echoStrings(BIG, STRS), [BIG + "!", 15, [...STRS].reverse()]);
check("echo-strings empty", g.echoStrings("", []), ["!", 0, []]);
check("reverse-bytes", g.reverseBytes(Uint8Array.from([1, 2, 3, 255])), Uint8Array.from([255, 3, 2, 1]));
check("reverse-bytes empty", g.reverseBytes(new Uint8Array(0)), new Uint8Array(0));
check("echo-group", g.echoGroup(GROUP), GROUP);
check("make-group 0", g.makeGroup(0), { label: "g0", items: [] });
check("make-group 3", g.makeGroup(3), {
    label: "g3",
    items: [
        { name: "item0", tags: [], points: [] },
        { name: "item1", tags: ["t0"], points: [{ x: 1, y: 0 }] },
        { name: "item2", tags: ["t0", "t1"], points: [{ x: 2, y: 0 }, { x: 2, y: -1 }] },
    ],
});
check("flip-flags", g.flipFlags({ read: true, write: false, exec: false }, bigFlags(0x0000ffff)),
    [{ read: false, write: true, exec: true }, bigFlags(0xffff0000)]);
check("next-color", ["red", "green", "blue"].map((c) => g.nextColor(c)), ["green", "blue", "red"]);
check("maybe-double", [g.maybeDouble(undefined), g.maybeDouble(4294967295)], [undefined, 8589934590n]);
check("maybe-len", [g.maybeLen(undefined), g.maybeLen(""), g.maybeLen(BIG)], [undefined, 0, 15]);
const res = (f) => { try { return { tag: "ok", val: f() }; } catch (e) { return { tag: "err", val: e.payload }; } };
check("check-ok", [res(() => g.checkOk(4)), res(() => g.checkOk(7))], [{ tag: "ok", val: 5 }, { tag: "err", val: undefined }]);
check("check-err", [res(() => g.checkErr(4)), res(() => g.checkErr(7))], [{ tag: "ok", val: undefined }, { tag: "err", val: "odd 7" }]);
check("check-both", [res(() => g.checkBoth(123)), res(() => g.checkBoth(-2147483648)), res(() => g.checkBoth(-3))],
    [{ tag: "ok", val: "123" }, { tag: "err", val: 0 }, { tag: "err", val: 3 }]);
check("check-neither", [res(() => g.checkNeither(true)), res(() => g.checkNeither(false))],
    [{ tag: "ok", val: undefined }, { tag: "err", val: undefined }]);
check("transform", [
    { tag: "none" }, { tag: "circle", val: 1.25 }, { tag: "rect", val: { x: 3, y: -4 } },
    { tag: "label", val: "\u00df\u2603" }, { tag: "big", val: 2n ** 64n - 1n }, { tag: "tiny", val: 255 },
].map((s) => g.transform(s)), [
    { tag: "none" }, { tag: "circle", val: 2.5 }, { tag: "rect", val: { x: -4, y: 3 } },
    { tag: "label", val: "\u00df\u2603?" }, { tag: "big", val: 0n }, { tag: "big", val: 255000n },
]);
check("swap-tuple", g.swapTuple([7, "\u{1F600}x", -0.5]), [-0.5, "\u{1F600}x", 7]);

// ---- the exported resource ------------------------------------------------------------
const a = new g.Accumulator(10n);
a.add(5n);
a.add(-20n);
check("accumulator.total", a.total(), -5n);
const b = new g.Accumulator(100n);
const m = g.Accumulator.merge(a, b);
check("accumulator.merge", m.total(), 95n);
check("live-accumulators 3", g.liveAccumulators(), 3);
check("take-accumulator", g.takeAccumulator(m), 95n);
check("live-accumulators after take", g.liveAccumulators(), 2);
a[Symbol.dispose]();
b[Symbol.dispose]();
check("live-accumulators after drops", g.liveAccumulators(), 0);
check("blobs left on the host after run", liveAfterRun, 0);
check("post-returns counted", g.postReturns() > 0, true);

console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed ? 1 : 0;
