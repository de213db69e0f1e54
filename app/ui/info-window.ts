// A small message window (icon, title, text, OK), shown with show(), never exec(): a nested Qt loop
// would block Node's. Also shows long reports (Diagnostics…: the `keyvnet diag` text) in a read-only,
// scrollable, monospaced box instead of the label, so columns line up and nothing runs off screen.
import type { QLabel, QPlainTextEdit, QWidget } from '@nodegui/nodegui';
import { wrapText } from './format';
import type { NodeGui } from './qt-runtime';
import { appIconLabel, label, placeWindow, TITLE } from './widgets';

export class InfoWindow {
  private readonly window: QWidget;
  private readonly heading: QLabel;
  private readonly text: QLabel;
  private readonly report: QPlainTextEdit;

  constructor(
    private readonly qt: NodeGui,
    windowTitle: string,
  ) {
    this.window = new qt.QWidget();
    this.window.setObjectName('keyvnet-info');
    this.window.setWindowTitle(windowTitle);
    this.window.setMinimumWidth(420);
    const root = new qt.QBoxLayout(qt.Direction.LeftToRight);
    root.setContentsMargins(20, 20, 20, 16);
    root.setSpacing(16);
    root.addWidget(appIconLabel(qt, 48), 0, qt.AlignmentFlag.AlignTop);
    const col = new qt.QBoxLayout(qt.Direction.TopToBottom);
    col.setSpacing(8);
    this.heading = label(qt, '', TITLE);
    this.text = label(qt, '', '', { select: true });
    col.addWidget(this.heading);
    col.addWidget(this.text);
    this.report = new qt.QPlainTextEdit();
    this.report.setReadOnly(true);
    this.report.setLineWrapMode(qt.LineWrapMode.NoWrap);
    this.report.setMinimumSize(480, 300);
    this.report.setStyleSheet('font-family: monospace; font-size: 12px;');
    this.report.hide();
    col.addWidget(this.report, 1);
    const buttons = new qt.QBoxLayout(qt.Direction.LeftToRight);
    buttons.addStretch(1);
    const ok = new qt.QPushButton();
    ok.setText('OK');
    ok.setDefault(true);
    ok.addEventListener('clicked', () => this.window.hide());
    buttons.addWidget(ok);
    col.addSpacing(8);
    col.addLayout(buttons);
    root.addLayout(col, 1);
    this.window.setLayout(root);
  }

  show(heading: string, text: string): void {
    this.heading.setText(heading);
    this.text.setText(wrapText(text, 64));
    this.text.show();
    this.report.hide();
    this.present();
  }

  /** A long, preformatted text (a report): scrollable, monospaced, never wrapped. */
  showReport(heading: string, text: string): void {
    this.heading.setText(heading);
    this.text.hide();
    this.report.setPlainText(text);
    this.report.show();
    this.present({ width: 820, height: 600 });
  }

  /** `size`: at least this big (within the screen); adjustSize alone stops at 2/3 of the screen. */
  private present(size?: { width: number; height: number }): void {
    this.window.adjustSize();
    const area = this.qt.QApplication.primaryScreen()?.availableGeometry();
    if (size && area) {
      const w = Math.min(size.width, area.width() - 32);
      const h = Math.min(size.height, area.height() - 48);
      this.window.resize(w, h);
      this.window.move(
        area.left() + Math.floor((area.width() - w) / 2),
        area.top() + Math.floor((area.height() - h) / 3),
      );
    } else placeWindow(this.qt, this.window, 'centre');
    this.window.show();
    this.window.raise();
    this.window.activateWindow();
  }

  isVisible(): boolean {
    return this.window.isVisible();
  }

  hide(): void {
    this.window.hide();
  }
}
