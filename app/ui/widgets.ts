// Small building blocks for KeyVNet's windows, so they share one look: plain-text labels (never
// rich text: names and reasons come from requests and configs), secondary grey text, section
// headers, and rounded "cards" that follow the light or dark palette.
import { join } from 'node:path';
import type { QLabel, QWidget } from '@nodegui/nodegui';
import type { NodeGui } from './qt-runtime';
import { ASSETS_DIR } from './tray';

/** Grey that reads on light and dark window backgrounds alike. */
export const SECONDARY = 'color: #8a8a8e;';
export const TITLE = 'font-size: 15px; font-weight: 600;';
export const SECTION = 'color: #8a8a8e; font-size: 11px; font-weight: 600;';
export const CARD =
  'QWidget#card { background: palette(base); border: 1px solid palette(midlight); border-radius: 8px; }';

export const TONE_COLOURS = { ok: '#28a745', busy: '#e0a100', off: '#9a9a9e', bad: '#d93025' } as const;

export function label(
  qt: NodeGui,
  text: string,
  style = '',
  opts: { wrap?: boolean; select?: boolean } = {},
): QLabel {
  const l = new qt.QLabel();
  l.setTextFormat(qt.TextFormat.PlainText);
  l.setText(text);
  if (style) l.setStyleSheet(style, false);
  if (opts.wrap) l.setWordWrap(true);
  // Names and addresses can be selected and copied.
  if (opts.select) l.setTextInteractionFlags(qt.TextInteractionFlag.TextSelectableByMouse);
  return l;
}

export function appIconLabel(qt: NodeGui, size: number): QLabel {
  const l = new qt.QLabel();
  l.setPixmap(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')).pixmap(size, size));
  l.setFixedSize(size, size);
  return l;
}

/** A rounded panel; its layout is the caller's. */
export function card(qt: NodeGui): QWidget {
  const w = new qt.QWidget();
  w.setObjectName('card');
  w.setAttribute(qt.WidgetAttribute.WA_StyledBackground, true);
  w.setStyleSheet(CARD, false);
  return w;
}

/** Without a window manager (Xvfb) windows land at 0,0: put them where eyes are. */
export function placeWindow(qt: NodeGui, w: QWidget, where: 'centre' | 'top-right'): void {
  const screen = qt.QApplication.primaryScreen();
  if (screen === null) return;
  const area = screen.availableGeometry();
  const size = w.sizeHint();
  const width = Math.max(size.width(), w.minimumWidth());
  if (where === 'top-right') {
    w.move(area.left() + Math.max(0, area.width() - width - 16), area.top() + 32);
  } else {
    w.move(
      area.left() + Math.max(0, Math.floor((area.width() - width) / 2)),
      area.top() + Math.max(0, Math.floor((area.height() - size.height()) / 3)),
    );
  }
}

/** After a window grew: move it back inside the screen if it now sticks out. */
export function keepOnScreen(qt: NodeGui, w: QWidget): void {
  const screen = qt.QApplication.primaryScreen();
  if (screen === null) return;
  const area = screen.availableGeometry();
  const pos = w.pos();
  const size = w.size();
  const x = Math.max(area.left(), Math.min(pos.x, area.left() + area.width() - size.width() - 8));
  const y = Math.max(area.top(), Math.min(pos.y, area.top() + area.height() - size.height() - 8));
  if (x !== pos.x || y !== pos.y) w.move(x, y);
}
