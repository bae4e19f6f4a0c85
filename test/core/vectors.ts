// Loads the shared vectors (/work/shared/vectors, next to the repository) at test time, so the
// tests check the implementation against the files the other implementations are held to.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const VECTORS_DIRECTORY = resolve(import.meta.dirname, '../../../shared/vectors');

function load(name: string): unknown {
  return JSON.parse(readFileSync(resolve(VECTORS_DIRECTORY, name), 'utf8'));
}

export interface Spake2Side {
  entropy_seed: string;
  entropy_hex: string;
  entropy_calls: number[];
  xy_scalar_dec: string;
  xy_scalar_le_hex: string;
  msg_out_hex: string;
}

export interface Spake2Vector {
  label: string;
  password: string;
  password_hex: string;
  identity: string;
  identity_hex: string;
  side1: Spake2Side;
  side2: Spake2Side;
  pw_scalar_dec: string;
  pw_scalar_le_hex: string;
  K_bytes_hex: string;
  transcript_hex: string;
  shared_key_hex: string;
}

export interface Spake2Vectors {
  params: {
    S_seed: string;
    S_point_hex: string;
    M_seed: string;
    M_point_hex: string;
    N_seed: string;
    N_point_hex: string;
    base_point_hex: string;
    group_order_L: string;
    field_prime_Q: string;
    upstream_arbitrary_element_vectors: { seed_hex: string; element_hex: string }[];
    upstream_password_to_scalar_vectors: { pw_hex: string; scalar_le_hex: string }[];
  };
  vectors: Spake2Vector[];
  negative: { label: string; side1_msg_out_hex: string; side2_msg_out_hex: string; side1_key_hex: string; side2_key_hex: string }[];
}

interface ProtocolSide {
  seed_hex: string;
  entropy_hex: string;
  pake_msg_hex: string;
  commit: string;
  confirm_b64: string;
  bootstrap_key_hex: string;
}

export interface ProtocolVectors {
  code: string;
  pair_id: string;
  code_hash: string;
  host: ProtocolSide;
  guest: ProtocolSide;
  K_hex: string;
  sas: string;
  card: {
    private_seed_hex: string;
    card: { v: 1; handle: string; key: string; created_at: string; sig: string };
    canonical_unsigned: string;
    fingerprint: string;
  };
  bootstrap: { sender_role: 'host' | 'guest'; nonce_hex: string; payload_utf8: string; sealed_b64: string };
}

export const spake2Vectors = load('spake2.json') as Spake2Vectors;
export const protocolVectors = load('protocol.json') as ProtocolVectors;

interface MessageSide {
  ed25519_seed_hex: string;
  ed25519_public_b64: string;
  fingerprint: string;
  x25519_secret_hex: string;
  x25519_public_hex: string;
}

export interface MessageVectors {
  alice: MessageSide;
  bob: MessageSide;
  alice_to_bob: {
    bob_slot_id: string;
    aad_utf8: string;
    message: { v: 1; id: string; from: string; to: string; n: number; sent_at: string; body: { type: 'text'; text: string; reply_to: string } };
    plaintext_utf8: string;
    ephemeral_ikm_hex: string;
    ephemeral_public_hex: string;
    envelope_utf8: string;
  };
  must_fail: {
    opened_as_if_from_carol: { carol_ed25519_seed_hex: string; carol_fingerprint: string };
    opened_under_another_slot_id: string;
    one_ciphertext_bit_flipped: string;
  };
  grant_id: { send_token: string; grant_id: string };
}

export const messageVectors = load('messages.json') as MessageVectors;

interface ReceiveKeyVector {
  kid: string;
  x25519_secret_hex: string;
  pub: string;
  last?: true;
}

export interface MessageV2Vectors {
  alice: { ed25519_seed_hex: string; ed25519_public_b64: string; fingerprint: string };
  bob: { ed25519_seed_hex: string; ed25519_public_b64: string; fingerprint: string; x25519_secret_hex: string; x25519_public_hex: string };
  bob_receive_key_given_to_alice: ReceiveKeyVector;
  alice_receive_keys_given_to_bob: ReceiveKeyVector[];
  alice_to_bob: {
    bob_slot_id: string;
    aad_utf8: string;
    kid: string;
    ephemeral_ikm_hex: string;
    message_unsigned: Record<string, unknown>;
    signed_bytes_hex: string;
    sig: string;
    plaintext_utf8: string;
    enc: string;
    ct: string;
    envelope_utf8: string;
  };
  alice_to_bob_first_keys_under_identity_key: { kid: string; ephemeral_ikm_hex: string; message: Record<string, unknown>; envelope_utf8: string };
  must_fail: Record<string, { envelope_utf8?: string; kid?: string; reason: string }>;
}

export const messageV2Vectors = load('messages-v2.json') as MessageV2Vectors;
