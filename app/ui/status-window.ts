// The status window ("Status…" in the menu): VNet's state at the top, then apps with their virtual
// addresses, live connections, bastion sessions and the last errors, each in a rounded card. It
// renders status-model.ts and updates in place as the agent's state changes.
import { join } from 'node:path';
import type { QBoxLayout, QLabel, QPushButton, QShortcut, QWidget } from '@nodegui/nodegui';
import type { NodeGui } from './qt-runtime';
import type { StatusModel } from './status-model';
import { ASSETS_DIR } from './tray';
import { ellipsize, wrapText } from './format';
import {
  appIconLabel,
  card,
  keepOnScreen,
  label,
  placeWindow,
  SECONDARY,
  SECTION,
  TITLE,
  TONE_COLOURS,
} from './widgets';

export const STATUS_WINDOW_TITLE = 'KeyVNet Status';

/** Rows shown per card; the rest is counted ("and 12 more"). */
const MAX_ROWS = { apps: 14, connections: 10, bastions: 8, errors: 6 };

type Align = 'left' | 'right';
interface Column {
  title: string;
  align: Align;
  /** Takes the spare width. */
  stretch?: boolean;
  /** Main text (not grey). */
  primary?: boolean;
  /** Longer texts are cut with an ellipsis; the whole text is the cell's tooltip. */
  max: number;
}

interface Section {
  key: keyof typeof MAX_ROWS;
  title: string;
  empty: string;
  columns: Column[];
  rows: (m: StatusModel) => string[][];
}

const SECTIONS: Section[] = [
  {
    key: 'apps',
    title: 'APPS',
    empty: 'No apps in the config yet: add [[app]] entries (Open Config… in the menu).',
    columns: [
      { title: 'Name', align: 'left', stretch: true, primary: true, max: 40 },
      { title: 'Address', align: 'left', primary: true, max: 18 },
      { title: 'Via', align: 'left', max: 16 },
      { title: 'Ports', align: 'left', max: 24 },
    ],
    rows: (m) => m.apps.map((a) => [a.name, a.address, a.via, a.ports]),
  },
  {
    key: 'connections',
    title: 'CONNECTIONS',
    empty: 'No connections yet.',
    columns: [
      { title: 'App', align: 'left', stretch: true, primary: true, max: 40 },
      { title: 'Port', align: 'right', max: 6 },
      { title: 'Process', align: 'left', max: 16 },
      { title: 'Sent', align: 'right', max: 10 },
      { title: 'Received', align: 'right', max: 10 },
      { title: 'Age', align: 'right', max: 20 },
    ],
    rows: (m) => m.connections.map((c) => [c.app, c.port, c.process, c.up, c.down, c.age]),
  },
  {
    key: 'bastions',
    title: 'BASTIONS',
    empty: 'No bastions in the config.',
    columns: [
      { title: 'Name', align: 'left', primary: true, max: 24 },
      { title: 'State', align: 'left', stretch: true, max: 44 },
      { title: 'Up', align: 'right', max: 10 },
      { title: 'Touches', align: 'right', max: 6 },
      { title: 'Policy', align: 'left', max: 10 },
    ],
    rows: (m) => m.bastions.map((b) => [b.name, b.state, b.age, b.touches, b.policy]),
  },
  {
    key: 'errors',
    title: 'RECENT ERRORS',
    empty: 'No errors.',
    columns: [
      { title: 'When', align: 'left', max: 24 },
      { title: 'What', align: 'left', stretch: true, primary: true, max: 84 },
    ],
    rows: (m) => m.errors.map((e) => [e.when, e.message]),
  },
];

export class StatusWindow {
  private readonly window: QWidget;
  private readonly title: QLabel;
  private readonly dot: QLabel;
  private readonly detail: QLabel;
  private readonly summary: QLabel;
  private readonly toggle: QPushButton;
  private readonly body: QBoxLayout;
  /** One card per section, rebuilt when its rows change. */
  private readonly cards = new Map<string, { widget: QWidget; key: string }>();
  private last: StatusModel | null = null;
  /** Kept referenced: a collected QShortcut stops working. */
  readonly shortcuts: QShortcut[];

  constructor(
    private readonly qt: NodeGui,
    private readonly onToggle: () => void,
  ) {
    const window = new qt.QWidget();
    this.window = window;
    window.setObjectName('keyvnet-status');
    window.setWindowTitle(STATUS_WINDOW_TITLE);
    window.setWindowIcon(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')));
    window.setMinimumWidth(600);
    // Escape and Cmd-W (Qt's Ctrl is Cmd on macOS) close it, as a utility window's do.
    this.shortcuts = ['Escape', 'Ctrl+W'].map((key) => {
      const sc = new qt.QShortcut(window);
      sc.setKey(new qt.QKeySequence(key));
      sc.addEventListener('activated', () => this.hide());
      return sc;
    });

    const root = new qt.QBoxLayout(qt.Direction.TopToBottom);
    root.setContentsMargins(20, 18, 20, 20);
    root.setSpacing(6);

    // Header: icon, title + status, the switch.
    const header = new qt.QBoxLayout(qt.Direction.LeftToRight);
    header.setSpacing(12);
    header.addWidget(appIconLabel(qt, 44), 0, qt.AlignmentFlag.AlignTop);
    const texts = new qt.QBoxLayout(qt.Direction.TopToBottom);
    texts.setSpacing(2);
    const line = new qt.QBoxLayout(qt.Direction.LeftToRight);
    line.setSpacing(6);
    this.dot = label(qt, '●');
    this.title = label(qt, '', TITLE);
    line.addWidget(this.dot);
    line.addWidget(this.title, 1);
    texts.addLayout(line);
    this.detail = label(qt, '', '', { select: true });
    texts.addWidget(this.detail);
    this.summary = label(qt, '', SECONDARY, { select: true });
    texts.addWidget(this.summary);
    header.addLayout(texts, 1);
    this.toggle = new qt.QPushButton();
    this.toggle.addEventListener('clicked', () => this.onToggle());
    header.addWidget(this.toggle, 0, qt.AlignmentFlag.AlignTop);
    root.addLayout(header);
    root.addSpacing(8);

    this.body = new qt.QBoxLayout(qt.Direction.TopToBottom);
    this.body.setSpacing(6);
    root.addLayout(this.body);
    root.addStretch(1);
    window.setLayout(root);
  }

  show(): void {
    const first = !this.window.isVisible();
    this.window.show();
    if (first) {
      this.window.adjustSize();
      placeWindow(this.qt, this.window, 'top-right');
    }
    this.window.raise();
    this.window.activateWindow();
  }

  hide(): void {
    this.window.hide();
  }

  isVisible(): boolean {
    return this.window.isVisible();
  }

  /** What the window shows, for the --ui-probe report. */
  snapshot(): {
    visible: boolean;
    title: string;
    rows: Record<string, number>;
    connections: string[][];
  } {
    const rows: Record<string, number> = {};
    if (this.last) for (const s of SECTIONS) rows[s.key] = s.rows(this.last).length;
    // The connection cells as shown (app, port, process, sent, received, age): tests read them here.
    const connections = this.last ? SECTIONS.find((s) => s.key === 'connections')!.rows(this.last) : [];
    return { visible: this.isVisible(), title: this.title.text(), rows, connections };
  }

  update(m: StatusModel, wantUp: boolean): void {
    this.last = m;
    this.title.setText(m.status.title);
    this.dot.setStyleSheet(`color: ${TONE_COLOURS[m.tone]}; font-size: 14px;`, false);
    this.detail.setText(wrapText(m.status.detail ?? '', 72));
    this.detail.setStyleSheet(m.tone === 'bad' ? `color: ${TONE_COLOURS.bad};` : '', false);
    this.detail.setVisible(Boolean(m.status.detail));
    this.summary.setText(m.summary);
    this.summary.setVisible(m.summary !== '');
    this.toggle.setText(wantUp ? 'Turn VNet Off' : 'Turn VNet On');

    let index = 0;
    for (const section of SECTIONS) {
      const rows = section.rows(m);
      const key = JSON.stringify(rows);
      const old = this.cards.get(section.key);
      if (old && old.key === key) {
        index++;
        continue;
      }
      const widget = this.sectionWidget(section, rows);
      if (old) {
        this.body.removeWidget(old.widget);
        old.widget.hide();
        old.widget.deleteLater();
      }
      this.body.insertWidget(index++, widget);
      this.cards.set(section.key, { widget, key });
    }
    if (this.window.isVisible()) {
      this.window.adjustSize();
      keepOnScreen(this.qt, this.window);
    }
  }

  private sectionWidget(section: Section, rows: string[][]): QWidget {
    const qt = this.qt;
    const outer = new qt.QWidget();
    const v = new qt.QBoxLayout(qt.Direction.TopToBottom);
    v.setContentsMargins(0, 8, 0, 0);
    v.setSpacing(6);
    v.addWidget(label(qt, section.title, SECTION));
    const box = card(qt);
    const grid = new qt.QGridLayout();
    grid.setContentsMargins(14, 10, 14, 10);
    grid.setHorizontalSpacing(18);
    grid.setVerticalSpacing(7);
    if (rows.length === 0) {
      grid.addWidget(label(qt, section.empty, SECONDARY, { wrap: true }), 0, 0);
    } else {
      section.columns.forEach((c, col) => {
        grid.addWidget(label(qt, c.title, SECTION), 0, col, 1, 1, alignment(qt, c.align));
        if (c.stretch) grid.setColumnStretch(col, 1);
      });
      const shown = rows.slice(0, MAX_ROWS[section.key]);
      shown.forEach((row, r) => {
        row.forEach((text, col) => {
          const c = section.columns[col];
          const shown = ellipsize(text, c.max);
          const l = label(qt, shown, c.primary ? '' : SECONDARY, { select: c.primary });
          if (shown !== text) l.setToolTip(text);
          grid.addWidget(l, r + 1, col, 1, 1, alignment(qt, c.align));
        });
      });
      if (rows.length > shown.length) {
        grid.addWidget(
          label(qt, `and ${rows.length - shown.length} more`, SECONDARY),
          shown.length + 1,
          0,
          1,
          section.columns.length,
        );
      }
    }
    box.setLayout(grid);
    v.addWidget(box);
    outer.setLayout(v);
    return outer;
  }
}

function alignment(qt: NodeGui, a: Align): number {
  return (
    (a === 'right' ? qt.AlignmentFlag.AlignRight : qt.AlignmentFlag.AlignLeft) | qt.AlignmentFlag.AlignVCenter
  );
}
