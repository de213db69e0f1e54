// qode stand-in: lets NodeGui's native addon run under plain Node on Linux.
//
// Why: NodeGui's addon (nodegui_core.node) expects to live inside `qode`, a patched Node whose
// main loop is Qt's. It references three symbols from the qode executable
// (node_modules/@nodegui/nodegui/src/cpp/include/nodegui/core/Integration/qode-api.h):
//   int qode::qode_argc;  char **qode::qode_argv;
//   void qode::InjectCustomRunLoop(int (*)());
// qode (github.com/nodegui/qode, src/qode.cc) calls the injected function -- QApplication::exec()
// -- as its main loop and keeps libuv alive from a helper thread. The qode download is not
// reachable here, and Debian's Node is not patched.
//
// How (inverted loop ownership): Node keeps its own libuv loop as the main loop and we pump Qt
// from it. This library is loaded with RTLD_GLOBAL before NodeGui (app/ui/qt-runtime.ts calls
// process.dlopen on it; LD_PRELOAD also works for the symbols), so the addon's undefined qode
// symbols resolve here. It is also a tiny N-API module: loading it hands us the napi_env.
//  - qode_argc/qode_argv: a fixed argv {"keyvnet"} (QApplication keeps a reference to argc, so
//    the storage is static). Node's own arguments are not Qt's business; use QT_* env vars.
//  - InjectCustomRunLoop(fn): the run-loop function is stored but never called, because exec()
//    would block Node's loop forever. Instead we start the pump below.
//  - The pump: a libuv timer on Node's loop calls QCoreApplication::processEvents() with a time
//    cap, so neither loop starves the other; every 16 ms (a display frame) while Qt has events,
//    backing off to every 50 ms after a second without any (an application-wide event filter
//    counts them), which halves idle wake-ups while a click after a pause still lands within
//    50 ms. (A fully event-driven pump would need Qt's private dispatcher or glib's poll fds.) The
//    call runs inside a Node callback scope (napi_open_callback_scope), exactly like an I/O
//    callback: JS handlers NodeGui invokes for Qt signals/events get process.nextTick and promise
//    continuations drained right after, instead of waiting for some unrelated Node callback.
//    The timer is referenced, so Node stays alive while the UI exists; quit the app with
//    process.exit() (QApplication::quit() only ends exec(), which never runs here).
//  - Deferred deletes: Qt runs deleteLater() only when an event loop it entered returns to it;
//    with no exec() that never happens (checked: a widget's DeferredDelete event never arrived),
//    so each pump also delivers QEvent::DeferredDelete explicitly, as
//    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete) allows.
//  - Modal dialogs must use open()/show(), never exec(): a nested Qt loop would block Node.

#include <QApplication>
#include <QCoreApplication>
#include <QEvent>
#include <QEventLoop>
#include <QPoint>
#include <QSystemTrayIcon>
#include <QWidget>
#include <QWindow>
#include <cstdio>
#include <exception>

#include <node_api.h>
#include <uv.h>

namespace qode {

namespace {
char kArg0[] = "keyvnet";
char *gArgvStorage[] = {kArg0, nullptr};
}  // namespace

// Exported with default visibility and C++ linkage: the addon links against qode::qode_argc etc.
int qode_argc = 1;
char **qode_argv = gArgvStorage;

typedef int (*QodeCustomRunLoopFunc)();
void InjectCustomRunLoop(QodeCustomRunLoopFunc customRunLoop);

}  // namespace qode

namespace {

constexpr unsigned kBusyIntervalMs = 16;  // one display frame: smooth animation and typing
constexpr unsigned kIdleIntervalMs = 50;  // after kQuietPumps pumps without a Qt event
constexpr unsigned kQuietPumps = 1000 / kBusyIntervalMs;
constexpr int kMaxProcessMs = 8;  // cap per pump so libuv I/O keeps flowing under UI load

// Sees every event Qt delivers in the main thread; only counts them (never filters).
class EventCounter : public QObject {
 public:
  unsigned seen = 0;
  bool eventFilter(QObject *, QEvent *) override {
    seen++;
    return false;
  }
};

struct Pump {
  napi_env env = nullptr;
  napi_ref resource = nullptr;
  napi_async_context asyncContext = nullptr;
  uv_timer_t timer;
  bool started = false;
  bool closed = false;
  bool inPump = false;
  qode::QodeCustomRunLoopFunc injected = nullptr;
  EventCounter *counter = nullptr;
  unsigned quietPumps = 0;
  unsigned intervalMs = kBusyIntervalMs;
  double pumps = 0;
};

Pump gPump;

void onPumpTimer(uv_timer_t *);

void reportEscapedException(napi_env env, const char *what) {
  // A JS handler threw through NodeGui's C++ (node-addon-api turns it into a C++ exception).
  // Surface it the way Node reports any uncaught exception instead of swallowing it.
  napi_value msg, err;
  if (napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_error(env, nullptr, msg, &err) != napi_ok) return;
  napi_fatal_exception(env, err);
}

void adaptInterval() {
  if (gPump.counter == nullptr) return;
  gPump.quietPumps = gPump.counter->seen > 0 ? 0 : gPump.quietPumps + 1;
  gPump.counter->seen = 0;
  unsigned want = gPump.quietPumps >= kQuietPumps ? kIdleIntervalMs : kBusyIntervalMs;
  if (want == gPump.intervalMs) return;
  gPump.intervalMs = want;
  // Takes effect now: restart so that a burst after a pause is served at the busy rate at once.
  uv_timer_start(&gPump.timer, onPumpTimer, want, want);
}

void onPumpTimer(uv_timer_t *) {
  if (gPump.inPump || QCoreApplication::instance() == nullptr) return;
  gPump.inPump = true;
  gPump.pumps++;
  napi_env env = gPump.env;
  napi_handle_scope handles;
  napi_open_handle_scope(env, &handles);
  napi_value resource;
  napi_get_reference_value(env, gPump.resource, &resource);
  napi_callback_scope scope;
  bool scoped = napi_open_callback_scope(env, resource, gPump.asyncContext, &scope) == napi_ok;
  try {
    QCoreApplication::processEvents(QEventLoop::AllEvents, kMaxProcessMs);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
  } catch (const std::exception &e) {
    reportEscapedException(env, e.what());
  } catch (...) {
    reportEscapedException(env, "unknown C++ exception escaped a Qt event handler");
  }
  // Closing the callback scope runs the nextTick queue and microtasks, as after any I/O callback.
  if (scoped) napi_close_callback_scope(env, scope);
  adaptInterval();
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, handles);
  gPump.inPump = false;
}

void startPumpIfReady() {
  if (gPump.started || gPump.env == nullptr || gPump.injected == nullptr) return;
  uv_loop_t *loop = nullptr;
  if (napi_get_uv_event_loop(gPump.env, &loop) != napi_ok || loop == nullptr) {
    fprintf(stderr, "qode-standin: cannot get Node's event loop; Qt events will not be processed\n");
    return;
  }
  gPump.counter = new EventCounter();
  QCoreApplication::instance()->installEventFilter(gPump.counter);
  uv_timer_init(loop, &gPump.timer);
  uv_timer_start(&gPump.timer, onPumpTimer, 0, kBusyIntervalMs);
  gPump.started = true;
}

void cleanup(void *) {
  // Node is tearing the environment down: stop calling into it.
  if (gPump.started && !gPump.closed) {
    uv_timer_stop(&gPump.timer);
    uv_close(reinterpret_cast<uv_handle_t *>(&gPump.timer), nullptr);
    gPump.closed = true;
  }
  if (gPump.asyncContext != nullptr) napi_async_destroy(gPump.env, gPump.asyncContext);
  if (gPump.resource != nullptr) napi_delete_reference(gPump.env, gPump.resource);
  gPump.asyncContext = nullptr;
  gPump.resource = nullptr;
  gPump.env = nullptr;
}

napi_value getStats(napi_env env, napi_callback_info) {
  napi_value out, v;
  napi_create_object(env, &out);
  napi_get_boolean(env, gPump.started, &v);
  napi_set_named_property(env, out, "pumping", v);
  napi_create_double(env, gPump.pumps, &v);
  napi_set_named_property(env, out, "pumps", v);
  napi_create_uint32(env, gPump.intervalMs, &v);
  napi_set_named_property(env, out, "intervalMs", v);
  return out;
}

// NodeGui 0.74 does not wrap QSystemTrayIcon::isSystemTrayAvailable(), and the app must know
// whether its icon really landed in a tray (an X11 tray is an XEMBED host such as trayer; Qt's
// fallback icon is a QSystemTrayIconSys widget embedded there, see qsystemtrayicon_x11.cpp).
napi_value trayStatus(napi_env env, napi_callback_info) {
  napi_value out, v, icons;
  napi_create_object(env, &out);
  bool haveApp = qobject_cast<QApplication *>(QCoreApplication::instance()) != nullptr;
  napi_get_boolean(env, haveApp && QSystemTrayIcon::isSystemTrayAvailable(), &v);
  napi_set_named_property(env, out, "available", v);
  napi_create_array(env, &icons);
  uint32_t n = 0;
  if (haveApp) {
    for (QWidget *w : QApplication::allWidgets()) {
      if (qstrcmp(w->metaObject()->className(), "QSystemTrayIconSys") != 0) continue;
      napi_value icon;
      napi_create_object(env, &icon);
      napi_get_boolean(env, w->isVisible(), &v);
      napi_set_named_property(env, icon, "visible", v);
      QWindow *win = w->windowHandle();
      napi_get_boolean(env, win != nullptr && win->isExposed(), &v);
      napi_set_named_property(env, icon, "exposed", v);
      const QPoint origin = w->mapToGlobal(QPoint(0, 0));  // where to click, for UI tests
      napi_create_int32(env, origin.x(), &v);
      napi_set_named_property(env, icon, "x", v);
      napi_create_int32(env, origin.y(), &v);
      napi_set_named_property(env, icon, "y", v);
      napi_create_int32(env, w->width(), &v);
      napi_set_named_property(env, icon, "width", v);
      napi_create_int32(env, w->height(), &v);
      napi_set_named_property(env, icon, "height", v);
      napi_set_element(env, icons, n++, icon);
    }
  }
  napi_set_named_property(env, out, "x11Icons", icons);
  return out;
}

}  // namespace

void qode::InjectCustomRunLoop(QodeCustomRunLoopFunc customRunLoop) {
  // Called by NodeGui right after it constructs the QApplication (integration.cpp).
  gPump.injected = customRunLoop;
  if (gPump.env == nullptr) {
    fprintf(stderr,
            "qode-standin: NodeGui loaded before the stand-in module; load it first "
            "(app/ui/qt-runtime.ts) or Qt events will not be processed\n");
    return;
  }
  startPumpIfReady();
}

NAPI_MODULE_INIT() {
  if (gPump.env != nullptr) return exports;  // loaded twice: the first env owns the pump
  gPump.env = env;
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &gPump.resource);
  napi_create_string_utf8(env, "QtEventPump", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &gPump.asyncContext);
  napi_add_env_cleanup_hook(env, cleanup, nullptr);

  napi_value fn;
  napi_create_function(env, "stats", NAPI_AUTO_LENGTH, getStats, nullptr, &fn);
  napi_set_named_property(env, exports, "stats", fn);
  napi_create_function(env, "trayStatus", NAPI_AUTO_LENGTH, trayStatus, nullptr, &fn);
  napi_set_named_property(env, exports, "trayStatus", fn);
  startPumpIfReady();
  return exports;
}
