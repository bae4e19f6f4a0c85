import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { lockPerStore } from '../../src/core/lock.js';

describe('lockPerStore', () => {
  it('gives one store one lock, and another store another, so only the same store waits', async () => {
    const lockOf = lockPerStore();
    const first = {};
    const second = {};
    assert.equal(lockOf(first), lockOf(first));
    assert.notEqual(lockOf(first), lockOf(second));

    const order: string[] = [];
    let release!: () => void;
    const held = lockOf(first).run(() => new Promise<void>((resolve) => (release = resolve)).then(() => order.push('first held')));
    const sameStore = lockOf(first).run(() => Promise.resolve(order.push('first again')));
    await lockOf(second).run(() => Promise.resolve(order.push('second')));
    assert.deepEqual(order, ['second']);
    assert.equal(lockOf(first).busy, true);
    release();
    await Promise.all([held, sameStore]);
    assert.deepEqual(order, ['second', 'first held', 'first again']);
  });
});
