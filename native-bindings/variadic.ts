// How to call a C variadic function (ioctl, fcntl, ...) through ffi-rs, which can only describe
// fixed-argument signatures.
//
// On Linux (x86_64 and arm64) and on macOS x86_64, variadic arguments travel exactly like fixed ones
// (registers first, then stack), so declaring `ioctl(int, unsigned long, void *)` as a fixed
// three-argument function is correct.
//
// On macOS arm64 it is not: Apple's ABI ("Writing ARM64 code for Apple platforms", section
// "Update code that passes arguments to variadic functions") passes EVERY variadic argument on the
// stack, in 8-byte slots, while fixed arguments still use x0..x7. A fixed 3-argument declaration
// would put the pointer in x2, where ioctl's va_arg never looks. The trick: declare the function with
// the real fixed arguments, then enough dummy integer arguments to fill x0..x7, then the variadic
// arguments. Those land in the first stack slots, exactly where va_arg reads them. Each variadic
// argument is passed as a full 64-bit value so its whole 8-byte slot is defined (Apple packs fixed
// stack arguments by natural alignment, so a 4-byte int would only fill half a slot).

export type ArgKind = 'i32' | 'u64' | 'i64' | 'ptr';

export interface AbiTarget {
  platform: NodeJS.Platform;
  arch: string;
}

/** Number of general-purpose argument registers (x0..x7) in AAPCS64. */
const ARM64_GPR_ARGS = 8;

export function variadicOnStack(target: AbiTarget): boolean {
  return target.platform === 'darwin' && target.arch === 'arm64';
}

export interface VariadicLayout {
  /** Parameter kinds to declare to the FFI, in order. */
  kinds: ArgKind[];
  /** Builds the actual argument list from the fixed and variadic values. */
  values(fixed: readonly unknown[], variadic: readonly unknown[]): unknown[];
}

/**
 * The declared signature for a variadic call with these fixed and variadic argument kinds.
 * Only integer/pointer arguments are supported (no floats: they would use the v registers).
 */
export function variadicLayout(
  target: AbiTarget,
  fixed: readonly ArgKind[],
  variadic: readonly ArgKind[],
): VariadicLayout {
  if (!variadicOnStack(target)) {
    return { kinds: [...fixed, ...variadic], values: (f, v) => [...f, ...v] };
  }
  if (fixed.length > ARM64_GPR_ARGS) throw new Error('more than 8 fixed arguments are not supported');
  const pad = ARM64_GPR_ARGS - fixed.length;
  const widened = variadic.map((k): ArgKind => (k === 'ptr' ? 'ptr' : 'i64'));
  return {
    kinds: [...fixed, ...new Array<ArgKind>(pad).fill('i64'), ...widened],
    values: (f, v) => [...f, ...new Array<number>(pad).fill(0), ...v],
  };
}
