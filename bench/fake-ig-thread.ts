/**
 * The fake IG (test/support/fake-ig) on a worker thread of its own, for the live latency bench: IG
 * is remote, and the fake's own work (parsing each PUT, answering it, pushing the stream's updates)
 * must not run on the event loop whose latency is measured. The two threads talk by messages; the
 * fake reports every PUT (an amend) as it comes in, so the bench waits for it without polling.
 */
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';

import { startWorker } from '../src/core/adapters/threads/start-worker.js';
import { startFakeIg, type FakeIgOptions } from '../test/support/fake-ig/index.js';

type Tick = { epic: string; bid: number; ask: number; time: number };

type ToFake =
  | { type: 'pushTick'; tick: Tick }
  | { type: 'ask'; id: number; what: 'subscriptions' | 'positions' }
  | { type: 'close' };

/** Where the fake listens, and the credentials it accepts. */
interface FakeIgAccess {
  restUrl: string;
  streamUrl: string;
  apiKey: string;
  identifier: string;
  password: string;
  accountId: string;
}

type FromFake =
  | ({ type: 'ready' } & FakeIgAccess)
  | { type: 'put' }
  | { type: 'answer'; id: number; value: unknown }
  | { type: 'closed' };

export interface FakeIgThread extends FakeIgAccess {
  pushTick(tick: Tick): void;
  /** Lightstreamer items subscribed to. */
  subscriptions(): Promise<string[]>;
  /** Open positions on the fake. */
  positionCount(): Promise<number>;
  /** Resolves when the fake has received the next PUT not yet waited for. */
  nextPut(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the fake IG on its own thread (the `markets` etc. of startFakeIg; no callbacks). */
export function startFakeIgThread(options: Omit<FakeIgOptions, 'onRequest'>): Promise<FakeIgThread> {
  const worker: Worker = startWorker(import.meta.url, './fake-ig-thread.ts', 'fake-ig-thread', {
    workerData: options,
  });
  const answers = new Map<number, (value: unknown) => void>();
  const putWaiters: (() => void)[] = [];
  let putsUnclaimed = 0;
  let nextId = 0;
  let closed: (() => void) | undefined;
  const send = (msg: ToFake) => worker.postMessage(msg);
  const ask = <T>(what: 'subscriptions' | 'positions') =>
    new Promise<T>((resolve) => {
      const id = ++nextId;
      answers.set(id, resolve as (value: unknown) => void);
      send({ type: 'ask', id, what });
    });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (msg: FromFake) => {
      switch (msg.type) {
        case 'ready':
          resolve({
            ...msg,
            pushTick: (tick) => send({ type: 'pushTick', tick }),
            subscriptions: () => ask<string[]>('subscriptions'),
            positionCount: () => ask<number>('positions'),
            nextPut: () => {
              if (putsUnclaimed > 0) {
                putsUnclaimed--;
                return Promise.resolve();
              }
              return new Promise<void>((r) => putWaiters.push(r));
            },
            close: () =>
              new Promise<void>((r) => {
                closed = r;
                send({ type: 'close' });
              }),
          });
          return;
        case 'put': {
          const waiter = putWaiters.shift();
          if (waiter === undefined) putsUnclaimed++;
          else waiter();
          return;
        }
        case 'answer':
          answers.get(msg.id)?.(msg.value);
          answers.delete(msg.id);
          return;
        case 'closed':
          void worker.terminate().then(() => closed?.());
          return;
      }
    });
  });
}

if (!isMainThread && parentPort !== null && (workerData as { markets?: unknown } | undefined)?.markets !== undefined) {
  const port = parentPort;
  const post = (msg: FromFake) => port.postMessage(msg);
  const fake = await startFakeIg({
    ...(workerData as FakeIgOptions),
    onRequest: (request) => {
      if (request.method === 'PUT') post({ type: 'put' });
    },
  });
  port.on('message', (msg: ToFake) => {
    switch (msg.type) {
      case 'pushTick':
        fake.pushTick(msg.tick);
        return;
      case 'ask':
        post({
          type: 'answer',
          id: msg.id,
          value: msg.what === 'subscriptions' ? fake.subscriptions() : fake.positions().length,
        });
        return;
      case 'close':
        void fake.close().then(() => post({ type: 'closed' }));
        return;
    }
  });
  const { restUrl, streamUrl, apiKey, identifier, password, accountId } = fake;
  post({ type: 'ready', restUrl, streamUrl, apiKey, identifier, password, accountId });
}
