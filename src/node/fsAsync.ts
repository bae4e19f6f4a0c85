// Node's asynchronous file calls as promises, made from node:fs's callback API rather than
// imported from node:fs/promises: loading node:fs/promises compiles seven more of Node's own
// modules (its FileHandle, readline, directory and watch support), about 3 ms at every start of
// a CLI command that reads or writes its home (issue 20's row for `send`). Same calls, same
// thread pool, same errors.

import { close as closeCallback, fsync as fsyncCallback, mkdir as mkdirCallback, open as openCallback, read as readCallback, readFile as readFileCallback, rm as rmCallback } from 'node:fs';
import { promisify } from 'node:util';

export const close = promisify(closeCallback);
export const fsync = promisify(fsyncCallback);
export const mkdir = promisify(mkdirCallback);
export const open = promisify(openCallback);
export const read = promisify(readCallback);
export const readFile = promisify(readFileCallback);
export const rm = promisify(rmCallback);
