/**
 * Issue 4, live target: from a tick arriving on the stream to the amend request leaving the
 * process, p99 ≤ 2 ms, against the project's fake IG on loopback. Measured in the live code path:
 * from the stream handing the tick to the run loop to the PUT's bytes being written to a socket
 * (the engine, the IG broker, the REST client's limiter and coalescer, axios). The fake runs on a
 * thread of its own (bench/fake-ig-thread.ts), as IG runs elsewhere: its work stays off the
 * measured event loop. The end-to-end time through the fake is given too.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { RateLimiter } from '../src/core/adapters/ig/limiter.js';
import { runLive, type LiveHandle } from '../src/core/services/live.js';
import { startFakeIgThread } from './fake-ig-thread.js';

const DAX = 'IX.D.DAX.DAILY.IP';

export interface LiveLatency {
  samples: number;
  /** In the live process: the tick handed to the engine → the PUT written to the socket. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** End to end: the tick sent to the fake's thread → that thread's word that the PUT came in (both hops, both sides, two thread messages). */
  endToEndP50Ms: number;
  endToEndP99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export async function measureLiveLatency(samples = 1000): Promise<LiveLatency> {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 10_000;
  const fake = await startFakeIgThread({
    markets: [{ epic: DAX, bid: 100, ask: 101, minStopDistance: 0, decimals: 1 }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'tg-latency-'));
  const configPath = join(dir, 'trailguard.yaml');
  writeFileSync(
    configPath,
    `broker: { kind: ig, environment: demo, restUrl: "${fake.restUrl}", streamUrl: "${fake.streamUrl}" }
stateDir: ./state
journal: ./trade_history.csv
markets:
  ${DAX}:
    pointSize: 1
    decimals: 1
    entry: { kind: signals, file: ./signals.csv, size: 1 }
    exits: { trailing: { activateAt: 0, distance: 2 } }
`,
  );
  writeFileSync(
    join(dir, 'signals.csv'),
    `time,market,direction,size,stopPoints\n${new Date(start).toISOString()},${DAX},BUY,1,50\n`,
  );
  const abort = new AbortController();
  let handle: LiveHandle | undefined;
  const done = runLive({
    configPath,
    dryRun: false,
    env: {
      IG_API_KEY: fake.apiKey,
      IG_IDENTIFIER: fake.identifier,
      IG_PASSWORD: fake.password,
      IG_ACCOUNT_ID: fake.accountId,
    },
    signal: abort.signal,
    clock: { now: () => Date.now() },
    log: () => undefined,
    limiter: new RateLimiter({
      accountTrading: { max: 1e9, windowMs: 60_000 },
      accountNonTrading: { max: 1e9, windowMs: 60_000 },
      appNonTrading: { max: 1e9, windowMs: 60_000 },
    }),
    onReady: (h) => (handle = h),
  });
  const until = async (cond: () => boolean | Promise<boolean>) => {
    const t0 = Date.now();
    while (!(await cond())) {
      if (Date.now() - t0 > 10_000) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await until(() => handle !== undefined);
  await until(async () => (await fake.subscriptions()).includes(`CHART:${DAX}:TICK`));
  await new Promise((r) => setTimeout(r, 300));
  fake.pushTick({ epic: DAX, bid: 100, ask: 101, time: start }); // the entry
  await until(async () => (await fake.positionCount()) === 1);
  await handle!.idle();

  // In-process timestamps: when live hands a tick to the engine, and when a PUT's bytes are
  // written to a socket (the request leaving the process).
  let tickAt = 0;
  let putAt = 0;
  const runner = handle!.runner;
  const processTick = runner.processTick.bind(runner);
  runner.processTick = (tick) => {
    tickAt = performance.now();
    processTick(tick);
  };
  const write = Socket.prototype.write;
  Socket.prototype.write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (
      putAt === 0 &&
      (typeof chunk === 'string'
        ? chunk.startsWith('PUT ')
        : Buffer.isBuffer(chunk) && chunk.subarray(0, 4).toString() === 'PUT ')
    ) {
      putAt = performance.now();
    }
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof Socket.prototype.write;

  const latencies: number[] = [];
  const endToEnd: number[] = [];
  let bid = 100;
  for (let i = 0; i < samples + 50; i++) {
    bid += 1; // every tick is a new high: the trailing stop moves, one amend per tick
    putAt = 0;
    const put = fake.nextPut();
    const t = performance.now();
    fake.pushTick({ epic: DAX, bid, ask: bid + 1, time: start + (i + 1) * 100 });
    await put;
    if (i >= 50) {
      // warm-up first
      endToEnd.push(performance.now() - t);
      latencies.push(putAt - tickAt);
    }
    await handle!.idle();
  }
  Socket.prototype.write = write;
  abort.abort();
  await done;
  await fake.close();
  latencies.sort((a, b) => a - b);
  endToEnd.sort((a, b) => a - b);
  return {
    samples: latencies.length,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    endToEndP50Ms: percentile(endToEnd, 0.5),
    endToEndP99Ms: percentile(endToEnd, 0.99),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `--json [samples]`: the figures as JSON, for bench/run.ts, which runs this in a process of its own.
  const json = process.argv[2] === '--json';
  const r = await measureLiveLatency(json && process.argv[3] !== undefined ? Number(process.argv[3]) : 1000);
  if (json) console.log(JSON.stringify(r));
  else
    console.log(
      `live tick → amend request leaving the process: p50 ${r.p50Ms.toFixed(3)} ms, p99 ${r.p99Ms.toFixed(3)} ms, max ${r.maxMs.toFixed(3)} ms over ${r.samples} ticks (target p99 ≤ 2 ms: ${r.p99Ms <= 2 ? 'PASS' : 'FAIL'}); end to end through the fake: p50 ${r.endToEndP50Ms.toFixed(3)} ms, p99 ${r.endToEndP99Ms.toFixed(3)} ms`,
    );
}
