// The verdicts a fast-path function returns for a packet (see ./fast-path). One set, shared by the
// tun's reader thread, the in-memory tun and the VNet fast path.

/** Hand the packet to read() (the slow path, on the main thread). */
export const PASS = 0;
/** The function rewrote the packet in place (same length): write it back to the device. */
export const REPLY = 1;
/** Discard it. */
export const DROP = 2;
