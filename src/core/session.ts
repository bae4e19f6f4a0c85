// One pairing, as the explicit state machine of PROTOCOL.md section 4:
//
//   opened ──(commit, reveal, finish, confirm MAC)──▶ sas_ready ──(person types SAS)──▶ confirmed
//      │                                                  │                               │
//      └──────────────── aborted(reason) ◀────────────────┴───────(bootstrap, pin, done)──┴──▶ finalized
//
// A session never blocks: `step` applies one view of the relay slot and makes every write that
// view allows, so the same code serves a status check, a bounded wait for the SAS and a
// resumable `finalize`. Everything needed to resume lives in two records (sessionRecord.ts:
// `SessionRecord`, public, and `SessionSecrets`, vault only). The SAS and the SPAKE2 key are
// never persisted; a restore re-derives them without network I/O.

import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8, wipe } from './bytes.js';
import { codeHash, formatCode, generateSecret, parseCode } from './codePhrase.js';
import { type ErrorCode, PairError, badInput, isPairError } from './errors.js';
import { type Card, canonicalJson, cardFingerprint, loadIdentity, verifyCard } from './identity.js';
import { healGrants } from './grants.js';
import { type MessagingDeps, SendRunner } from './inbox.js';
import { grantOnInbox, rememberPendingGrant, takePendingGrant } from './inboxes.js';
import {
  MAX_BOOTSTRAP_PAYLOAD_BYTES,
  confirmMac,
  deriveSas,
  formatSas,
  openBootstrap,
  pakeCommitment,
  sealBootstrap,
  spake2Entropy,
  typedSasMatches,
  verifyPeerConfirm,
} from './keySchedule.js';
import { Mailbox } from './mailbox.js';
import { PAIR_FIELDS, type PairField, type Role, type SlotView } from './ports.js';
import { type Spake2Pending, spake2Start } from './spake2.js';
import { type GivenKey, parseGivenKeys } from './messagesV2.js';
import { ReceiveKeys } from './receiveKeys.js';
import { pinPeer, rememberRevocation } from './trust.js';
import { isRelayUrlShape, jsonQuote } from './untrusted.js';
import { type PeerSummary, type SessionRecord, type SessionSecrets, SLOT_TOKEN, newRecord } from './sessionRecord.js';
import {
  BAD_BOOTSTRAP_REASON_PREFIX,
  COMMITMENT_MISMATCH_REASON,
  EXPIRED_REASON,
  clipAbortReason,
  MAX_LONG_POLL_SECONDS,
  OWN_KEY_REASON,
  PROTOCOL_VIOLATION_REASON_PREFIX,
  SAS_MISMATCH_REASON,
  type SessionState,
  WRONG_CODE_REASON,
  isTerminal,
} from './vocabulary.js';

/**
 * The ports a pairing uses: a messaging side's (pinning hands the bootstrap's receive keys to the
 * peer under the mailbox lock, and a moved inbox heals the grants), without its log.
 */
export type SessionDeps = Omit<MessagingDeps, 'log'>;

/** What adapters show. Never carries the SAS, the seed, the key or the token. */
export interface SessionSnapshot {
  sessionId: string;
  role: Role;
  state: SessionState;
  relayUrl: string;
  nameplate: string;
  /** The code phrase, for the host to read out while it waits for the guest. */
  code?: string;
  openedAt: string;
  expiresAt: string;
  secondsLeft: number;
  peerJoined: boolean;
  personMustAct: boolean;
  abortCode?: ErrorCode;
  /** Why it ended: this side's reason, or for `peer_aborted` the reason the peer wrote. */
  abortReason?: string;
  peer?: PeerSummary;
}

interface BootstrapPayload {
  card: Card;
  relayUrl: string;
  slotId: string;
  sendToken: string;
  /** The receive keys the peer gave (section 7.1); empty from a peer that predates section 7. */
  keys: GivenKey[];
}

/** Parses the peer's opened bootstrap: `{"v":1,"card","relay_url","slot_id","send_token"}` and optionally `keys`, nothing else. */
export function parseBootstrapPayload(bytes: Uint8Array): BootstrapPayload {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes, 'bootstrap payload'));
  } catch (error) {
    throw new PairError('protocol_violation', 'The peer\'s bootstrap is not JSON.', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PairError('protocol_violation', 'The peer\'s bootstrap is not a JSON object.');
  }
  const fields = value as Record<string, unknown>;
  // `keys` is optional: peers that predate section 7 send none.
  const expected = Object.hasOwn(fields, 'keys') ? ['card', 'keys', 'relay_url', 'send_token', 'slot_id', 'v'] : ['card', 'relay_url', 'send_token', 'slot_id', 'v'];
  const names = Object.keys(fields).sort();
  if (names.join() !== expected.join()) {
    throw new PairError('protocol_violation', `The peer's bootstrap has fields [${names.join(', ')}]; expected exactly [${expected.join(', ')}] (keys optional).`);
  }
  if (fields['v'] !== 1) throw new PairError('protocol_violation', 'The peer\'s bootstrap has an unsupported version; expected v 1.');
  const { relay_url: relayUrl, slot_id: slotId, send_token: sendToken } = fields;
  if (!isRelayUrlShape(relayUrl)) {
    throw new PairError('protocol_violation', 'The peer\'s bootstrap relay_url is not an http(s) URL without user, password, query or fragment.');
  }
  if (typeof slotId !== 'string' || !SLOT_TOKEN.test(slotId) || typeof sendToken !== 'string' || !SLOT_TOKEN.test(sendToken)) {
    throw new PairError('protocol_violation', 'The peer\'s bootstrap slot_id or send_token is malformed.');
  }
  let keys: GivenKey[] = [];
  try {
    if (fields['keys'] !== undefined) keys = parseGivenKeys(fields['keys']);
  } catch (error) {
    throw new PairError('protocol_violation', `The peer's bootstrap keys ${error instanceof Error ? error.message : 'are malformed'}.`, { cause: error });
  }
  let card: Card;
  try {
    card = verifyCard(fields['card']);
  } catch (error) {
    if (isPairError(error)) throw new PairError('bad_card', `The peer's identity card is invalid: ${error.message}`, { cause: error });
    throw error;
  }
  return { card, relayUrl, slotId, sendToken, keys };
}

/** Opens a pairing at the relay. Host: gets a nameplate and draws the secret. Guest: joins by code. */
export async function openPairing(deps: SessionDeps, role: Role, relayUrl: string, code?: string): Promise<PairingSession> {
  const relay = deps.relays(relayUrl);
  const openedAt = deps.clock.now();
  let record: SessionRecord;
  let canonicalCode: string;
  let token: string;
  if (role === 'host') {
    if (code !== undefined) throw badInput('code', 'was given to the host', 'no code: the host receives one from the relay');
    const opened = await relay.openHost();
    canonicalCode = formatCode(opened.nameplate, generateSecret(deps.random));
    token = opened.token;
    record = newRecord({ pairId: opened.pairId, role, relayUrl: relay.url, nameplate: opened.nameplate, openedAt, relayExpiresAt: opened.expiresAt });
  } else {
    if (code === undefined) throw badInput('code', 'is missing', 'the code phrase the host read out, like 47-UE2BZG');
    const parsed = parseCode(code); // a malformed code fails here, before any network I/O
    let joined;
    try {
      joined = await relay.joinGuest(parsed.nameplate);
    } catch (error) {
      if (isPairError(error, 'not_found')) {
        throw new PairError('not_found', `No pairing waits under nameplate ${parsed.nameplate} on ${relay.url}. Check the code and the relay with your peer; a code works for one join only.`, { cause: error });
      }
      if (isPairError(error, 'conflict')) {
        throw new PairError('conflict', `Someone already joined the pairing under nameplate ${parsed.nameplate}. Ask your peer to host a new pairing.`, { cause: error });
      }
      throw error;
    }
    canonicalCode = parsed.code;
    token = joined.token;
    record = newRecord({ pairId: joined.pairId, role, relayUrl: relay.url, nameplate: parsed.nameplate, openedAt, relayExpiresAt: joined.expiresAt });
  }
  const secrets: SessionSecrets = { seed: toHex(deps.random.bytes(32)), token, code: canonicalCode };
  // The host's slot was created just now, empty: its first step needs no read to know that.
  const knownView: SlotView | undefined = role === 'host' ? { version: 0, expiresAt: record.expiresAt, self: {}, peer: {} } : undefined;
  return new PairingSession(deps, record, secrets, knownView);
}

export class PairingSession {
  /** Absent once the session has ended: there is nothing left to derive. */
  private readonly pending: Spake2Pending | undefined;
  private readonly codeHash: string;
  private key: Uint8Array | undefined;
  private sas: string | undefined;
  /**
   * The newest view of the slot this object applied (not persisted): everything it allowed is
   * done, so a driver can start from it and go straight to a long poll instead of a plain read.
   */
  private appliedView: SlotView | undefined;

  /**
   * Rebuilds a session at any stage from its two records, without network I/O: the SPAKE2
   * message is re-derived from the seed, and once the peer's message is known, so are the key
   * and the SAS. `knownView` is a view of the slot known to be current (a just-opened one).
   */
  constructor(
    private readonly deps: SessionDeps,
    private readonly record: SessionRecord,
    private secrets: SessionSecrets | undefined,
    knownView?: SlotView,
  ) {
    this.appliedView = knownView;
    this.codeHash = secrets ? codeHash(secrets.code) : '';
    if (!secrets || isTerminal(record.state)) {
      this.secrets = undefined;
      this.pending = undefined;
      return;
    }
    const seed = fromHex(secrets.seed, 'session seed', 32);
    const entropy = spake2Entropy(seed);
    this.pending = spake2Start(utf8(secrets.code), utf8(record.pairId), entropy);
    wipe(seed, entropy);
    if (record.peerPake !== undefined) {
      this.key = this.pending.finish(fromBase64(record.peerPake, 'peer pake', 33));
      if (record.state === 'sas_ready') this.sas = deriveSas(this.key, this.codeHash);
    }
  }

  get id(): string {
    return this.record.pairId;
  }

  get state(): SessionState {
    return this.record.state;
  }

  get expiresAt(): number {
    return this.record.expiresAt;
  }

  /** The newest slot view applied by this object, if any (see `appliedView`). */
  get lastAppliedView(): SlotView | undefined {
    return this.appliedView;
  }

  get isEnded(): boolean {
    return isTerminal(this.record.state);
  }

  /** When the session ended, for retention of its public record. */
  get endedAt(): number | undefined {
    return this.record.endedAt;
  }

  persistedRecord(): SessionRecord {
    return structuredClone(this.record);
  }

  persistedSecrets(): SessionSecrets | undefined {
    return this.secrets ? { ...this.secrets } : undefined;
  }

  /** The SAS, for the person only (the CLI's terminal, the webview, an elicitation). */
  sasForPerson(): string {
    if (this.record.state !== 'sas_ready' || this.sas === undefined) {
      throw new PairError('invalid_state', `There is no SAS to show: the pairing is ${this.describeState()}.`);
    }
    return formatSas(this.sas);
  }

  snapshot(): SessionSnapshot {
    const now = this.deps.clock.now();
    const record = this.record;
    const snapshot: SessionSnapshot = {
      sessionId: record.pairId,
      role: record.role,
      state: record.state,
      relayUrl: record.relayUrl,
      nameplate: record.nameplate,
      openedAt: new Date(record.openedAt).toISOString(),
      expiresAt: new Date(record.expiresAt).toISOString(),
      secondsLeft: this.isEnded ? 0 : Math.max(0, Math.ceil((record.expiresAt - now) / 1000)),
      peerJoined: record.peerCommit !== undefined,
      personMustAct: record.state === 'sas_ready',
    };
    if (record.role === 'host' && record.state === 'opened' && this.secrets) snapshot.code = this.secrets.code;
    if (record.abort) {
      snapshot.abortCode = record.abort.code;
      snapshot.abortReason = record.abort.reason;
    }
    if (record.peer) snapshot.peer = { ...record.peer };
    return snapshot;
  }

  private describeState(): string {
    // The reason may be the peer's own words: quoted, never part of this side's sentence.
    return this.record.state === 'aborted' ? `aborted (reason ${jsonQuote(this.record.abort?.reason ?? 'unknown')})` : this.record.state;
  }

  private requireSecrets(): SessionSecrets {
    if (!this.secrets) throw this.endedError();
    return this.secrets;
  }

  private endedError(): PairError {
    if (this.record.state === 'finalized') return new PairError('invalid_state', 'This pairing is already finalized.');
    const abort = this.record.abort;
    return new PairError('aborted', `This pairing has ended (reason ${jsonQuote(abort ? abort.reason : 'aborted')}). Start a new pairing.`);
  }

  /**
   * The slot as the relay sees it now, or after the next write (a long poll of at most
   * `waitSeconds`, for news after the version this side already holds). `signal` ends a long
   * poll early: it then rejects with `cancelled`.
   */
  async fetchView(waitSeconds: number, signal?: AbortSignal): Promise<SlotView> {
    const secrets = this.requireSecrets();
    const relay = this.deps.relays(this.record.relayUrl);
    if (waitSeconds <= 0) return relay.get(this.record.pairId, secrets.token);
    const poll = { after: this.record.relayVersion, waitSeconds: Math.min(waitSeconds, MAX_LONG_POLL_SECONDS) };
    return relay.get(this.record.pairId, secrets.token, signal ? { ...poll, signal } : poll);
  }

  /**
   * One step of the machine: takes a view of the slot (fetching one without waiting if none is
   * given) and makes every write that view allows. Returns true if the record changed.
   */
  async step(view?: SlotView): Promise<boolean> {
    if (this.isEnded) return false;
    const before = JSON.stringify(this.record);
    if (this.deps.clock.now() >= this.record.expiresAt) {
      await this.end('expired', EXPIRED_REASON, false);
      return true;
    }
    try {
      const current = view ?? (await this.fetchView(0));
      if (this.appliedView === undefined || current.version >= this.appliedView.version) this.appliedView = current;
      this.record.relayVersion = Math.max(this.record.relayVersion, current.version);
      // What the relay already holds from us counts as sent, even if our own record missed the
      // acknowledgement (a crash or a timeout right after the write): never write a field twice.
      for (const field of PAIR_FIELDS) if (current.self[field] !== undefined) this.record.sent[field] = true;
      const peerAbort = current.peer.abort;
      if (peerAbort === WRONG_CODE_REASON && this.record.state === 'opened') {
        // The peer's MAC check failed first; ours would fail the same way, so both sides end alike.
        await this.end('wrong_code', WRONG_CODE_REASON, false);
      } else if (peerAbort !== undefined) {
        await this.end('peer_aborted', peerAbort, false);
      } else if (this.record.state === 'opened') {
        await this.advanceKeyExchange(current);
      } else if (this.record.state === 'confirmed') {
        await this.advanceBootstrap(current);
      }
    } catch (error) {
      if (isPairError(error, 'expired')) await this.end('expired', EXPIRED_REASON, false);
      else throw error;
    }
    return JSON.stringify(this.record) !== before;
  }

  private async put(field: PairField, value: string): Promise<void> {
    const secrets = this.requireSecrets();
    await this.deps.relays(this.record.relayUrl).put(this.record.pairId, secrets.token, field, value);
    this.record.sent[field] = true;
    // A field is sent only while the relay lacks it, so this write moved the slot's version on
    // by one. Counting it lets the next long poll wait for the peer's news instead of returning
    // at once with our own write. (If another process of this side wrote the same value first,
    // the relay answered 204 without a new version; the count is then one ahead, which delays
    // at most one wake-up until that poll's timeout, never loses a write.)
    this.record.relayVersion++;
  }

  /** Steps 3 to 7: commit, reveal, finish, confirm, SAS. */
  private async advanceKeyExchange(view: SlotView): Promise<void> {
    const record = this.record;
    const pending = this.requirePending();
    if (!record.sent.commit) await this.put('commit', pakeCommitment(pending.message));

    const peerCommit = view.peer.commit;
    if (record.peerCommit === undefined && peerCommit !== undefined) {
      fromHex(peerCommit, 'peer commit', 32);
      record.peerCommit = peerCommit;
    }
    if (record.peerCommit === undefined) return;
    if (!record.sent.pake) await this.put('pake', toBase64(pending.message));

    const peerPake = view.peer.pake;
    if (this.key === undefined && peerPake !== undefined) {
      const peerMessage = fromBase64(peerPake, 'peer pake', 33);
      if (pakeCommitment(peerMessage) !== record.peerCommit) {
        await this.end('commitment_mismatch', COMMITMENT_MISMATCH_REASON, true);
        return;
      }
      try {
        this.key = pending.finish(peerMessage);
      } catch (error) {
        if (!isPairError(error, 'protocol_violation')) throw error;
        await this.end('protocol_violation', PROTOCOL_VIOLATION_REASON_PREFIX + error.message, true);
        return;
      }
      record.peerPake = peerPake;
    }
    if (this.key === undefined) return;
    if (!record.sent.confirm) await this.put('confirm', toBase64(confirmMac(this.key, this.codeHash, record.role)));

    const peerConfirm = view.peer.confirm;
    if (peerConfirm === undefined) return;
    const peerRole: Role = record.role === 'host' ? 'guest' : 'host';
    let mac: Uint8Array | undefined;
    try {
      mac = fromBase64(peerConfirm, 'peer confirm', 32);
    } catch {
      mac = undefined;
    }
    if (mac === undefined || !verifyPeerConfirm(this.key, this.codeHash, peerRole, mac)) {
      await this.end('wrong_code', WRONG_CODE_REASON, true);
      return;
    }
    this.sas = deriveSas(this.key, this.codeHash);
    record.state = 'sas_ready';
  }

  /** The person's typed digits: six digits (`594376`, `594-376`, `594 376`), compared in constant time. */
  async confirmSas(typed: string): Promise<void> {
    if (typeof typed !== 'string') throw badInput('digits', 'are not a string', 'the 6 digits the other person reads out, like 594-376');
    if (this.record.state === 'confirmed') throw new PairError('invalid_state', 'The SAS is already confirmed; finalize the pairing next.');
    if (this.isEnded) throw this.endedError();
    if (this.record.state !== 'sas_ready' || this.sas === undefined) {
      throw new PairError('invalid_state', 'There is no SAS to confirm yet: the key exchange has not finished. Poll until the state is sas_ready.');
    }
    // Not six digits says nothing about the peer (an empty line, a slip): the person is asked
    // again. Only six digits that differ abort (PROTOCOL.md section 4).
    if (normaliseSasDigits(typed) === undefined) throw badInput('digits', 'are not six digits', 'the 6 digits the other person reads out, like 594-376');
    if (!typedSasMatches(this.sas, typed)) {
      await this.end('sas_mismatch', SAS_MISMATCH_REASON, true);
      throw new PairError('sas_mismatch', 'The typed digits do not match this side\'s SAS; the pairing was aborted on both sides.');
    }
    this.record.state = 'confirmed';
    this.sas = undefined;
  }

  /** Step 8, sending half: seal our card and inbox coordinates once, and send the same bytes on every retry. */
  private async advanceBootstrap(view: SlotView): Promise<void> {
    const secrets = this.requireSecrets();
    const key = this.requireKey();
    if (!this.record.sent.bootstrap) {
      secrets.sealedBootstrap ??= await this.sealOwnBootstrap(key);
      await this.put('bootstrap', secrets.sealedBootstrap);
    }

    const peerSealed = view.peer.bootstrap;
    if (peerSealed === undefined) return;
    const peerRole: Role = this.record.role === 'host' ? 'guest' : 'host';
    let payload: BootstrapPayload;
    try {
      payload = parseBootstrapPayload(openBootstrap(key, this.codeHash, peerRole, this.record.pairId, peerSealed));
    } catch (error) {
      if (!isPairError(error)) throw error;
      await this.end(error.code === 'bad_card' ? 'bad_card' : 'protocol_violation', BAD_BOOTSTRAP_REASON_PREFIX + error.message, true);
      return;
    }
    const own = await loadIdentity(this.deps);
    if (own && own.card.key === payload.card.key) {
      await this.end('own_key', OWN_KEY_REASON, true);
      return;
    }
    const fingerprint = cardFingerprint(payload.card);
    await pinPeer(
      this.deps,
      { fingerprint, handle: payload.card.handle, card: payload.card, relayUrl: payload.relayUrl, slotId: payload.slotId, pinnedAt: new Date(this.deps.clock.now()).toISOString(), ...(await takePendingGrant(this.deps, this.record.pairId)) },
      payload.sendToken,
    );
    // Section 7.1: the keys this side gave in its bootstrap are this peer's now; its own are its
    // pool. Under the mail lock, like every spend and top-up, so a send to this peer at the same
    // time (a peer paired again) loses neither.
    const receiveKeys = new ReceiveKeys(this.deps);
    await new Mailbox(this.deps).exclusive(async () => {
      await receiveKeys.adoptPairing(this.record.pairId, fingerprint);
      await receiveKeys.resetPool(fingerprint, payload.keys);
    });
    this.record.peer = { handle: payload.card.handle, fingerprint, relayUrl: payload.relayUrl };
    await this.put('done', '1');
    this.record.state = 'finalized';
    this.record.endedAt = this.deps.clock.now();
    this.forgetSecrets();
  }

  private requirePending(): Spake2Pending {
    if (!this.pending) throw this.endedError();
    return this.pending;
  }

  private requireKey(): Uint8Array {
    if (this.key === undefined) throw new PairError('invalid_state', 'The key exchange has not finished.');
    return this.key;
  }

  private async sealOwnBootstrap(key: Uint8Array): Promise<string> {
    const identity = await loadIdentity(this.deps);
    if (!identity) {
      throw new PairError('identity_missing', 'This side has no identity yet: set one up (a handle such as your name) before finalizing, then finalize again.');
    }
    // The identity's inbox on the relay it pairs through (made if needed, made anew if that relay
    // forgot it); the grant is remembered so the peer's messages are known by its grant_id.
    const { inbox, sendToken, grantId, moved } = await grantOnInbox(this.deps, this.deps.relays(this.record.relayUrl));
    await rememberPendingGrant(this.deps, this.record.pairId, { relayUrl: inbox.relayUrl, slotId: inbox.slotId, grantId, heldUntil: this.record.expiresAt });
    if (moved !== undefined) await healGrants(this.deps, new SendRunner(this.deps));
    const keys = await new ReceiveKeys(this.deps).forPairing(this.record.pairId);
    const payload = canonicalJson({ v: 1, card: identity.card, relay_url: inbox.relayUrl, slot_id: inbox.slotId, send_token: sendToken, keys });
    const payloadBytes = utf8(payload);
    if (payloadBytes.length > MAX_BOOTSTRAP_PAYLOAD_BYTES) throw new PairError('bad_input', 'Our own bootstrap payload is too large to send.');
    return sealBootstrap(key, this.codeHash, this.record.role, this.record.pairId, payloadBytes, this.deps.random.bytes(12));
  }

  /** Ends the session for good; tells the peer (best effort) when `notifyPeer`. */
  async end(code: ErrorCode, reason: string, notifyPeer: boolean): Promise<void> {
    if (this.isEnded) return;
    this.record.state = 'aborted';
    this.record.abort = { code, reason };
    this.record.endedAt = this.deps.clock.now();
    // A grant sealed into our bootstrap for a peer never pinned: its messages wait no more, and
    // the relay is told to refuse it (by the receive runner, once it answers).
    const { grant } = await takePendingGrant(this.deps, this.record.pairId);
    if (grant) await rememberRevocation(this.deps, grant);
    // The receive keys sealed into our bootstrap will never be any peer's.
    await new ReceiveKeys(this.deps).dropPairing(this.record.pairId);
    if (notifyPeer && this.secrets && !this.record.sent.abort) {
      try {
        await this.put('abort', clipAbortReason(reason));
      } catch {
        // The peer learns of it on its own: its next poll ends in `expired` or its own check fails.
      }
    }
    this.forgetSecrets();
  }

  private forgetSecrets(): void {
    if (this.key) wipe(this.key);
    this.key = undefined;
    this.sas = undefined;
    this.secrets = undefined;
  }

  /** The person or agent aborts; the peer ends as `peer_aborted` with `reason`. */
  async abort(reason: string): Promise<void> {
    if (typeof reason !== 'string' || reason.trim() === '') throw badInput('reason', 'is empty', 'a short reason for the other side');
    if (this.isEnded) throw this.endedError();
    await this.end('aborted', reason.trim(), true);
  }
}

/**
 * What a person may type for the SAS: six digits, optionally split 3-3 by a dash or a space,
 * as `594376`; undefined for anything else (which is asked again, never checked).
 */
export function normaliseSasDigits(typed: string): string | undefined {
  if (typeof typed !== 'string') return undefined;
  const trimmed = typed.trim();
  if (!/^[0-9]{3}[- ]?[0-9]{3}$/.test(trimmed)) return undefined;
  return trimmed.replace(/[- ]/g, '');
}
