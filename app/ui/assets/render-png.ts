// Renders the PNG copies of the SVG icons with Qt's own SVG renderer (the one the app uses), for
// places that want a bitmap (notification services, the autostart entry, docs). Run after editing
// an SVG:  QT_QPA_PLATFORM=offscreen KEYVNET_QODE_STANDIN=$(scripts/qode-standin/build.sh) \
//            node --import tsx app/ui/assets/render-png.ts
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadNodeGui } from '../qt-runtime';

const qt = loadNodeGui();
for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.svg'))) {
  const size = file === 'keyvnet.svg' ? 128 : 64;
  const out = join(__dirname, file.replace(/\.svg$/, '.png'));
  if (!new qt.QIcon(join(__dirname, file)).pixmap(size, size).save(out, 'PNG')) {
    throw new Error(`could not write ${out}`);
  }
  console.log(`${out} (${size}×${size})`);
}
process.exit(0);
