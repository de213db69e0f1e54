// A small message window (icon, title, text, OK), shown with show(), never exec(): a nested Qt loop
// would block Node's. Used for Diagnostics… until the keyvnet command brings its report.
import type { QLabel, QWidget } from '@nodegui/nodegui';
import { wrapText } from './format';
import type { NodeGui } from './qt-runtime';
import { appIconLabel, label, placeWindow, TITLE } from './widgets';

export class InfoWindow {
  private readonly window: QWidget;
  private readonly heading: QLabel;
  private readonly text: QLabel;

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
    this.window.adjustSize();
    placeWindow(this.qt, this.window, 'centre');
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
