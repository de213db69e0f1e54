// Bundles the two processes for packaging (the macOS .app and the Linux tarball):
// dist/app/main.js (the user agent) and dist/systemext/main.js (the root daemon), plus the
// tun I/O worker, which Node loads as a separate file. Native addons stay external and ship in
// node_modules next to the bundle.
const path = require('node:path');

const externals = {
  '@nodegui/nodegui': 'commonjs @nodegui/nodegui',
  'ffi-rs': 'commonjs ffi-rs',
  'node-hid': 'commonjs node-hid',
  'node-mac-permissions': 'commonjs node-mac-permissions',
  'cpu-features': 'commonjs cpu-features',
  // ssh2 loads its optional native crypto binding (built by setup.sh) with a computed require.
  ssh2: 'commonjs ssh2',
  // Development-only loaders: referenced on the .ts code path, never taken in a bundle.
  tsx: 'commonjs tsx',
  'tsx/cjs': 'commonjs tsx/cjs',
};

const common = {
  mode: 'production',
  target: 'node20',
  devtool: 'source-map',
  externals,
  resolve: { extensions: ['.ts', '.js'] },
  module: {
    rules: [
      {
        test: /\.ts$/,
        loader: 'ts-loader',
        exclude: /node_modules/,
        options: { transpileOnly: true, compilerOptions: { noEmit: false } },
      },
    ],
  },
  node: { __dirname: false, __filename: false },
  optimization: { minimize: false },
  // fast-path.ts keeps plain `require` as its fallback for tsx; in the bundle it uses Node's own.
  ignoreWarnings: [{ module: /systemext[\\/]tun[\\/]fast-path\.ts/ }],
};

module.exports = [
  {
    ...common,
    name: 'app',
    entry: { main: './app/main.ts' },
    output: { path: path.resolve(__dirname, 'dist/app'), filename: '[name].js' },
  },
  {
    ...common,
    name: 'systemext',
    // The tun reader thread, the fast path it loads and the relay worker are separate files, found
    // next to main.js.
    entry: {
      main: './systemext/main.ts',
      worker: './systemext/tun/worker.ts',
      'relay-worker': './systemext/vnet/relay-worker.ts',
      'fast-path': { import: './systemext/vnet/fast-path.ts', library: { type: 'commonjs2' } },
    },
    output: { path: path.resolve(__dirname, 'dist/systemext'), filename: '[name].js' },
  },
];
