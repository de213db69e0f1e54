// The GUI side of UserPrompter (app/fido/api.ts): a small always-on-top "touch your key" window
// (the same window says "insert your security key" while none is plugged in) plus a tray
// notification, and a modal PIN dialog. Dialogs are opened with open(), never exec():
// exec() would spin a nested Qt loop and block Node's (see scripts/qode-standin/qode_standin.cc).
// Every label is Qt::PlainText (Qt's default AutoText would render a user name like "<b>" as
// markup). A request that ends (its AbortSignal) closes its dialog or touch window at once, and
// the next dialog waiting moves up. Both say how many more requests wait behind them ("2 more
// waiting") and have a Cancel that cancels the request itself (its waiting connections fail at once).
import { join } from 'node:path';
import type { QDialog, QLabel, QLineEdit, QPushButton, QWidget } from '@nodegui/nodegui';
import type { ConfirmPrompt, InsertKeyPrompt, PassphrasePrompt, UserPrompter } from '../fido/api';
import { SerialChain } from '../fido/serial';
import { pinLengthOk } from './pin-rules';
import {
  confirmPromptText,
  insertKeyPromptText,
  passphrasePromptText,
  pinPromptText,
  touchPromptText,
  type PinPromptText,
  type PinRequest,
  type TouchPromptText,
  type TouchRequest,
} from './prompt-text';
import type { NodeGui } from './qt-runtime';
import { ASSETS_DIR, type Tray } from './tray';

const WARNING_STYLE = 'color: #b00020; font-weight: bold;';
const TITLE_STYLE = 'font-size: 15px; font-weight: bold;';
const SECONDARY_STYLE = 'color: #8a8a8e;';

/** Where a widget is on screen (for tests that click it). */
export interface ScreenRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What the prompter shows, for the --ui-probe report. */
export interface VisiblePrompts {
  /** The small window is up: a touch prompt, or "insert your security key" (`insert`). */
  touch: boolean;
  touchTitle?: string;
  /** The small window asks to insert a key rather than touch it. */
  insert?: boolean;
  dialog: { kind: string; title: string; warning: string | null } | null;
  /** The "N more waiting" line, when shown. */
  waiting: string | null;
  /** The Cancel button of the touch window or the dialog in front, on screen. */
  cancel: ScreenRect | null;
}

interface TouchWindow {
  window: QWidget;
  title: QLabel;
  detail: QLabel;
  waiting: QLabel;
  cancel: QPushButton;
}

interface OpenDialog {
  dialog: QDialog;
  kind: string;
  text: PinPromptText;
  waiting: QLabel;
  cancel: QPushButton;
}

/** What the small window shows: a touch wait or an insert wait. */
interface WindowRequest {
  requestId: number;
  kind: 'touch' | 'insert';
  text: TouchPromptText;
  /** The insert prompt's own Cancel (it is not in the request queue). */
  cancel?: () => void;
}

/** "2 more waiting", or '' when nothing waits behind the prompt. */
export function waitingText(n: number): string {
  return n > 0 ? `${n} more waiting` : '';
}

export class GuiPrompter implements UserPrompter {
  private touchWindow: TouchWindow | null = null;
  /** The dialog on screen (one at a time). */
  private openDialog: OpenDialog | null = null;
  /** The request the small window shows now (its Cancel cancels it). */
  private touchShown: WindowRequest | null = null;
  private waitingCount = 0;
  /** Cancels a request by id (the UI's request queue); without it, Cancel only closes the window. */
  onCancel: ((requestId: number) => void) | null = null;
  /** Called after a prompt window appeared, changed or went (the --ui-probe report). */
  onChange: (() => void) | null = null;
  /** Touch and insert prompts out, by request id; the window shows the latest. */
  private readonly touches = new Map<number, WindowRequest>();
  /** Dialogs wait for the one in front of them: one dialog at a time. */
  private readonly dialogs = new SerialChain();

  constructor(
    private readonly qt: NodeGui,
    private readonly tray: Tray | null = null,
  ) {}

  touchNeeded(req: TouchRequest): void {
    this.windowNeeded(req.signal, {
      requestId: req.requestId,
      kind: 'touch',
      text: touchPromptText(req),
    });
  }

  /** No key plugged in: the same small window, saying so, until the wait ends (its signal). */
  insertKey(req: InsertKeyPrompt): void {
    this.windowNeeded(req.signal, {
      requestId: req.requestId,
      kind: 'insert',
      text: insertKeyPromptText(req),
      cancel: req.cancel,
    });
  }

  private windowNeeded(signal: AbortSignal, w: WindowRequest): void {
    if (signal.aborted) return;
    this.touches.set(w.requestId, w);
    signal.addEventListener('abort', () => this.touchDone(w), { once: true });
    this.showTouch(w);
  }

  touchDone(req: { requestId: number }): void {
    if (!this.touches.delete(req.requestId)) return;
    const latest = [...this.touches.values()].pop();
    if (latest) return this.showTouch(latest);
    this.touchShown = null;
    this.touchWindow?.window.hide();
    this.tray?.clearNotification();
    this.changed();
  }

  /** How many requests wait behind the prompt on screen ("2 more waiting"). */
  setWaiting(n: number): void {
    if (n === this.waitingCount) return;
    this.waitingCount = n;
    const text = waitingText(n);
    if (this.touchWindow) {
      this.touchWindow.waiting.setText(text);
      this.touchWindow.waiting.setVisible(text !== '');
    }
    if (this.openDialog) {
      this.openDialog.waiting.setText(text);
      this.openDialog.waiting.setVisible(text !== '');
    }
    this.changed();
  }

  private changed(): void {
    this.onChange?.();
  }

  private showTouch(req: WindowRequest): void {
    const text = req.text;
    const w = this.touchWindow ?? (this.touchWindow = this.createTouchWindow());
    this.touchShown = req;
    w.title.setText(text.title);
    w.detail.setText(text.detail);
    w.waiting.setText(waitingText(this.waitingCount));
    w.waiting.setVisible(this.waitingCount > 0);
    w.window.adjustSize();
    centre(this.qt, w.window);
    w.window.show();
    w.window.raise();
    this.tray?.notify(text.title, text.detail);
    this.changed();
  }

  askPin(req: PinRequest): Promise<string | null> {
    return this.dialogs.run(() => this.showSecretDialog(req.signal, pinPromptText(req), 'PIN'));
  }

  askPassphrase(req: PassphrasePrompt): Promise<string | null> {
    return this.dialogs.run(() => this.showSecretDialog(req.signal, passphrasePromptText(req), 'Passphrase'));
  }

  async confirm(req: ConfirmPrompt): Promise<boolean> {
    const text = confirmPromptText(req);
    const answer = await this.dialogs.run(() =>
      this.showSecretDialog(req.signal, { ...text, warning: null }, null),
    );
    return answer !== null;
  }

  /** What is on screen (for tests and the --ui-probe report). */
  visiblePrompts(): VisiblePrompts {
    const touch = this.touchWindow?.window.isVisible() ?? false;
    const d = this.openDialog;
    const front = d ?? (touch ? this.touchWindow : null);
    const waiting = front && this.waitingCount > 0 ? waitingText(this.waitingCount) : null;
    return {
      touch,
      ...(touch ? { touchTitle: this.touchWindow!.title.text() } : {}),
      ...(touch && this.touchShown?.kind === 'insert' ? { insert: true } : {}),
      dialog: d ? { kind: d.kind, title: d.text.title, warning: d.text.warning } : null,
      waiting,
      cancel: front ? screenRect(this.qt, front.cancel) : null,
    };
  }

  private createTouchWindow(): TouchWindow {
    const qt = this.qt;
    const window = new qt.QWidget();
    window.setObjectName('keyvnet-touch');
    window.setWindowTitle('KeyVNet');
    window.setWindowFlag(qt.WindowType.WindowStaysOnTopHint, true);
    window.setWindowIcon(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')));
    const layout = new qt.QBoxLayout(qt.Direction.LeftToRight);
    const icon = new qt.QLabel();
    icon.setPixmap(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')).pixmap(48, 48));
    layout.addWidget(icon, 0, qt.AlignmentFlag.AlignTop);
    const texts = new qt.QBoxLayout(qt.Direction.TopToBottom);
    const title = plainLabel(qt);
    title.setStyleSheet(TITLE_STYLE, false);
    title.setWordWrap(true); // a long bastion name wraps instead of being cut
    const detail = plainLabel(qt);
    detail.setWordWrap(true);
    detail.setStyleSheet(SECONDARY_STYLE, false);
    texts.addWidget(title);
    texts.addWidget(detail);
    layout.addLayout(texts, 1);
    window.setLayout(layout);
    const row = new qt.QBoxLayout(qt.Direction.LeftToRight);
    const waiting = plainLabel(qt);
    waiting.setStyleSheet(SECONDARY_STYLE, false);
    waiting.setVisible(false);
    row.addWidget(waiting);
    row.addStretch(1);
    const cancel: QPushButton = new qt.QPushButton();
    cancel.setText('Cancel');
    cancel.setAutoDefault(false);
    cancel.addEventListener('clicked', () => {
      const req = this.touchShown;
      if (req === null) return;
      // Cancelling the request ends its touch (or insert) wait; the abort closes this window.
      if (this.onCancel) this.onCancel(req.requestId);
      else if (req.cancel) req.cancel();
      else this.touchDone(req);
    });
    row.addWidget(cancel);
    texts.addSpacing(6);
    texts.addLayout(row);
    layout.setSpacing(16);
    layout.setContentsMargins(20, 18, 20, 16);
    texts.setSpacing(6);
    // One width, as a macOS alert has: texts wrap in it, the height follows.
    window.setFixedWidth(480);
    return { window, title, detail, waiting, cancel };
  }

  /**
   * A PIN or passphrase dialog (`secret` names the field), or a yes/no one (`secret` null: resolves
   * '' for Allow). Resolves null on Cancel, Escape, close, or when `signal` aborts.
   */
  private showSecretDialog(
    signal: AbortSignal,
    text: PinPromptText,
    secret: 'PIN' | 'Passphrase' | null,
  ): Promise<string | null> {
    if (signal.aborted) return Promise.resolve(null);
    const qt = this.qt;
    const dialog: QDialog = new qt.QDialog();
    dialog.setObjectName(
      secret === 'PIN' ? 'keyvnet-pin' : secret ? 'keyvnet-passphrase' : 'keyvnet-confirm',
    );
    dialog.setWindowTitle(
      secret === 'PIN' ? 'KeyVNet — security key PIN' : secret ? 'KeyVNet — key file passphrase' : 'KeyVNet',
    );
    dialog.setWindowFlag(qt.WindowType.WindowStaysOnTopHint, true);
    dialog.setModal(true);
    const layout = new qt.QBoxLayout(qt.Direction.TopToBottom);
    const title = plainLabel(qt);
    title.setText(text.title);
    title.setWordWrap(true);
    title.setStyleSheet(TITLE_STYLE, false);
    layout.addWidget(title);
    const detail = plainLabel(qt);
    detail.setText(text.detail);
    detail.setWordWrap(true);
    detail.setStyleSheet(SECONDARY_STYLE, false);
    layout.addWidget(detail);
    if (text.warning !== null) {
      const warning = plainLabel(qt);
      warning.setText(text.warning);
      warning.setStyleSheet(WARNING_STYLE, false);
      layout.addWidget(warning);
    }
    const pin: QLineEdit = new qt.QLineEdit();
    pin.setEchoMode(qt.EchoMode.Password);
    pin.setPlaceholderText(secret ?? '');
    if (secret) layout.addWidget(pin);
    // A PIN has CTAP's length rules; a passphrase only must not be empty; a question needs nothing.
    const acceptable = (t: string): boolean =>
      secret === 'PIN' ? pinLengthOk(t) : secret ? t.length > 0 : true;
    const buttons = new qt.QBoxLayout(qt.Direction.LeftToRight);
    const waiting = plainLabel(qt);
    waiting.setStyleSheet(SECONDARY_STYLE, false);
    waiting.setText(waitingText(this.waitingCount));
    waiting.setVisible(this.waitingCount > 0);
    buttons.addWidget(waiting);
    buttons.addStretch(1);
    const cancel: QPushButton = new qt.QPushButton();
    cancel.setText('Cancel');
    cancel.setAutoDefault(false);
    const ok: QPushButton = new qt.QPushButton();
    ok.setText(secret ? 'OK' : 'Allow');
    ok.setDefault(true);
    ok.setEnabled(!secret);
    buttons.addWidget(cancel);
    buttons.addWidget(ok);
    layout.addLayout(buttons);
    layout.setSpacing(8);
    // The app's icon at the left, the texts and field beside it, like a macOS alert.
    const outer = new qt.QBoxLayout(qt.Direction.LeftToRight);
    const icon = new qt.QLabel();
    icon.setPixmap(new qt.QIcon(join(ASSETS_DIR, 'keyvnet.svg')).pixmap(48, 48));
    outer.addWidget(icon, 0, qt.AlignmentFlag.AlignTop);
    outer.addLayout(layout, 1);
    outer.setSpacing(16);
    outer.setContentsMargins(20, 18, 20, 16);
    dialog.setLayout(outer);
    dialog.setFixedWidth(480);
    const kind = secret === 'PIN' ? 'pin' : secret ? 'passphrase' : 'confirm';

    return new Promise((resolve) => {
      let settled = false;
      const onAbort = (): void => finish(null);
      const finish = (value: string | null): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        pin.setText(''); // do not leave the PIN in the widget
        dialog.hide();
        if (this.openDialog?.dialog === dialog) this.openDialog = null;
        this.changed();
        resolve(value);
      };
      // The request ended (cancelled, timed out, the client went away): close now.
      signal.addEventListener('abort', onAbort, { once: true });
      pin.addEventListener('textChanged', (t) => ok.setEnabled(acceptable(t)));
      pin.addEventListener('returnPressed', () => {
        if (acceptable(pin.text())) dialog.accept();
      });
      ok.addEventListener('clicked', () => dialog.accept());
      cancel.addEventListener('clicked', () => dialog.reject());
      dialog.addEventListener('accepted', () => finish(secret ? pin.text() : ''));
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
      if (secret) pin.setFocus();
      this.openDialog = { dialog, kind, text, waiting, cancel };
      this.changed();
    });
  }
}

/** Prompt texts are plain text: never let Qt guess they are rich text. */
function plainLabel(qt: NodeGui): QLabel {
  const label = new qt.QLabel();
  label.setTextFormat(qt.TextFormat.PlainText);
  return label;
}

function screenRect(qt: NodeGui, w: QWidget): ScreenRect | null {
  if (!w.isVisible()) return null;
  const at = w.mapToGlobal(new qt.QPoint(0, 0));
  return { x: at.x(), y: at.y(), width: w.width(), height: w.height() };
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
