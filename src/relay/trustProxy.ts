// `--trust-proxy`: the proxies whose X-Forwarded-For the relay believes (node.ts). Apart from
// the server so the CLI checks the option's value without loading the relay.

import type { BlockList } from 'node:net';

/** The trusted proxies as a BlockList; throws a one-line error naming a malformed entry. */
export function trustedProxies(entries: readonly string[]): BlockList {
  // node:net is loaded when there is a list to check, not when the CLI starts.
  const { BlockList, isIP } = process.getBuiltinModule('node:net');
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefixText, extra] = entry.trim().split('/');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
    if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= maxPrefix)) {
      throw new Error(`--trust-proxy ${entry} is not an address or CIDR; expected a list like 10.0.0.0/8,::1`);
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}
