// Bundles src/index.js into OUT/bundle.js the way Spin's http-js template
// does: esbuild, ES module, with the Spin plugin marking the interfaces
// the component imports (from the packages' witDependencies) as external.
// Usage (from the directory holding node_modules): node build.mjs SRC_DIR OUT_DIR
import { build } from 'esbuild';
import path from 'node:path';
import { SpinEsbuildPlugin } from '@spinframework/build-tools/plugins/esbuild/index.js';

const [srcDir, outDir] = process.argv.slice(2);
if (!srcDir || !outDir) {
    console.error('usage: node build.mjs SRC_DIR OUT_DIR');
    process.exit(2);
}
await build({
    entryPoints: [path.join(srcDir, 'index.js')],
    outfile: path.join(outDir, 'bundle.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    minify: false,
    sourcemap: false,
    logLevel: 'error',
    plugins: [await SpinEsbuildPlugin()],
});
