// The WebCrypto key types @hpke/* declares its API with. The project compiles without the DOM
// library, and @types/node 20 keeps these inside `crypto.webcrypto`, so without this the HPKE
// calls in src/core/messages.ts would be typed as errors. The keys are only passed through.
type CryptoKey = import('node:crypto').webcrypto.CryptoKey;
type CryptoKeyPair = import('node:crypto').webcrypto.CryptoKeyPair;
