// The GUI side of UserPrompter (app/fido/api.ts): a small always-on-top "touch your key" window
// plus a tray notification, and a modal PIN dialog. Dialogs are opened with open(), never exec():
// exec() would spin a nested Qt loop and block Node's (see scripts/qode-standin/qode_standin.cc).
import { join } from 'node:path';
import type { QDialog, QLabel, QLineEdit, QPushButton, QWidget } from '@nodegui/nodegui';
import type { UserPrompter } from '../fido/api';
import { pinLengthOk } from './pin-rules';
import { pinPromptText, touchPromptText, type PinRequest, type TouchRequest } from './prompt-text';
import type { NodeGui } from './qt-runtime';
import { ASSETS_DIR, type Tray } from './tray';

const WARNING_STYLE = 'color: #b00020; font-weight: bold;';
const TITLE_STYLE = 'font-size: 15px; font-weight: bold;';

export class GuiPrompter implements UserPrompter {
  private touchWindow: { window: QWidget; title: QLabel; detail: QLabel } | null = null;
  /** PIN requests wait for the dialog in front of them: one PIN dialog at a time. */
  private pinQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly qt: NodeGui,
    private readonly tray: Tray | null = null,
  ) {}

  touchNeeded(req: TouchRequest): void {
    const text = touchPromptText(req);
    const w = this.touchWindow ?? (this.touchWindow = this.createTouchWindow());
    w.title.setText(text.title);
    w.detail.setText(text.detail);
    w.window.adjustSize();
    centre(this.qt, w.window);
    w.window.show();
    w.window.raise();
    this.tray?.notify(text.title, text.detail);
  }

  touchDone(): void {
    this.touchWindow?.window.hide();
    this.tray?.clearNotification();
  }

  askPin(req: PinRequest): Promise<string | null> {
    const next = this.pinQueue.then(() => this.showPinDialog(req));
    this.pinQueue = next.catch(() => undefined);
    return next;
  }

  /** Is a prompt on screen? (for tests and the --ui-probe report) */
  visiblePrompts(): { touch: boolean } {
    return { touch: this.touchWindow?.window.isVisible() ?? false };
  }

  private createTouchWindow(): { window: QWidget; title: QLabel; detail: QLabel } {
    const qt = this.qt;
    const window = new qt.QWidget();
    window.setObjectName('keyvnet-touch');
    window.setWindowTitle('KeyVNet');
    window.setWindowFlag(qt.WindowType.WindowStaysOnTopHint, true);
    window.setWindowIcon(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')));
    const layout = new qt.QBoxLayout(qt.Direction.LeftToRight);
    const icon = new qt.QLabel();
    icon.setPixmap(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')).pixmap(48, 48));
    layout.addWidget(icon);
    const texts = new qt.QBoxLayout(qt.Direction.TopToBottom);
    const title = new qt.QLabel();
    title.setStyleSheet(TITLE_STYLE, false);
    const detail = new qt.QLabel();
    detail.setWordWrap(true);
    texts.addWidget(title);
    texts.addWidget(detail);
    layout.addLayout(texts, 1);
    window.setLayout(layout);
    window.setMinimumWidth(360);
    return { window, title, detail };
  }

  private showPinDialog(req: PinRequest): Promise<string | null> {
    const qt = this.qt;
    const text = pinPromptText(req);
    const dialog: QDialog = new qt.QDialog();
    dialog.setObjectName('keyvnet-pin');
    dialog.setWindowTitle('KeyVNet — security key PIN');
    dialog.setWindowFlag(qt.WindowType.WindowStaysOnTopHint, true);
    dialog.setModal(true);
    const layout = new qt.QBoxLayout(qt.Direction.TopToBottom);
    const title = new qt.QLabel();
    title.setText(text.title);
    title.setStyleSheet(TITLE_STYLE, false);
    layout.addWidget(title);
    const detail = new qt.QLabel();
    detail.setText(text.detail);
    detail.setWordWrap(true);
    layout.addWidget(detail);
    if (text.warning !== null) {
      const warning = new qt.QLabel();
      warning.setText(text.warning);
      warning.setStyleSheet(WARNING_STYLE, false);
      layout.addWidget(warning);
    }
    const pin: QLineEdit = new qt.QLineEdit();
    pin.setEchoMode(qt.EchoMode.Password);
    pin.setPlaceholderText('PIN');
    layout.addWidget(pin);
    const buttons = new qt.QBoxLayout(qt.Direction.LeftToRight);
    buttons.addStretch(1);
    const cancel: QPushButton = new qt.QPushButton();
    cancel.setText('Cancel');
    cancel.setAutoDefault(false);
    const ok: QPushButton = new qt.QPushButton();
    ok.setText('OK');
    ok.setDefault(true);
    ok.setEnabled(false);
    buttons.addWidget(cancel);
    buttons.addWidget(ok);
    layout.addLayout(buttons);
    dialog.setLayout(layout);
    dialog.setMinimumWidth(380);

    return new Promise((resolve) => {
      let settled = false;
      const finish = (value: string | null): void => {
        if (settled) return;
        settled = true;
        pin.setText(''); // do not leave the PIN in the widget
        dialog.hide();
        resolve(value);
      };
      pin.addEventListener('textChanged', (t) => ok.setEnabled(pinLengthOk(t)));
      pin.addEventListener('returnPressed', () => {
        if (pinLengthOk(pin.text())) dialog.accept();
      });
      ok.addEventListener('clicked', () => dialog.accept());
      cancel.addEventListener('clicked', () => dialog.reject());
      dialog.addEventListener('accepted', () => finish(pin.text()));
      // NodeGui 0.74 declares but never connects QDialog's `rejected`/`finished` signals
      // (qdialog_macro.h wires `accepted` only). Escape, Cancel and the close button all hide the
      // dialog; QDialog::done() hides before it emits `accepted`, so a hide not followed by
      // `accepted` within the same Qt pump is a cancel.
      dialog.addEventListener(qt.WidgetEventTypes.Hide, () => {
        setImmediate(() => finish(null));
      });
      dialog.adjustSize();
      centre(qt, dialog);
      dialog.open();
      dialog.raise();
      dialog.activateWindow();
      pin.setFocus();
    });
  }
}

/** Without a window manager (Xvfb) new windows land at 0,0: put prompts where eyes are. */
function centre(qt: NodeGui, w: QWidget): void {
  const screen = qt.QApplication.primaryScreen();
  if (screen === null) return;
  const area = screen.availableGeometry();
  const size = w.sizeHint();
  w.move(
    area.left() + Math.max(0, Math.floor((area.width() - size.width()) / 2)),
    area.top() + Math.max(0, Math.floor((area.height() - size.height()) / 3)),
  );
}
