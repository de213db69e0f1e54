// Types shared by the per-platform bindings.

export interface OpenTunOptions {
  /**
   * Linux: a name (`kvn0`) or a kernel template (`kvn%d`, the default). macOS: `utunN`, or omitted for
   * the next free utun.
   */
  name?: string;
}

/** An open tun: the fd to read/write packets on, and the interface name the kernel gave it. */
export interface TunFd {
  fd: number;
  name: string;
}
