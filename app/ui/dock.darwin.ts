// macOS: a menu-bar app has no Dock icon and no app menu. A bundle says so with LSUIElement in its
// Info.plist; qode (and a development run) has none, so ask AppKit at run time:
//   [[NSApplication sharedApplication] setActivationPolicy:NSApplicationActivationPolicyAccessory]
import { ObjcRuntime } from '../login/objc';

/** NSApplicationActivationPolicy (AppKit/NSRunningApplication.h). */
export const ACTIVATION_POLICY_ACCESSORY = 1n;

/** True when AppKit took it (it answers NO when the policy cannot change). */
export function hideDockIcon(): boolean {
  const rt = new ObjcRuntime(['AppKit']);
  const app = rt.send('id', rt.cls('NSApplication'), 'sharedApplication') as bigint;
  return rt.send('bool', app, 'setActivationPolicy:', ['long'], [ACTIVATION_POLICY_ACCESSORY]) as boolean;
}
