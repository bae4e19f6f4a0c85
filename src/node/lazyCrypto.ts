// node:crypto, loaded at its first use instead of at import: loading it is a sixth of the VS
// Code extension's module load (and a CLI command that hashes or signs nothing need not pay it).

export function nodeCrypto(): typeof import('node:crypto') {
  return process.getBuiltinModule('node:crypto');
}
