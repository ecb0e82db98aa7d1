/**
 * Just enough of a Lightstreamer server, TLCP 2.x over WebSocket, for the real
 * lightstreamer-client-node 9.2.2 (TLCP-2.5.0) to connect, subscribe and receive IG's items.
 *
 * Sources:
 * - TLCP Specification (Lightstreamer, "Text Lightstreamer Client Protocol", v2.x,
 *   https://www.lightstreamer.com/docs/client_TLCP_base/TLCP%20Specifications.pdf).
 * - What the client really sends and parses: node_modules/lightstreamer-client-node/lightstreamer-node.js
 *   (openWS: ws path "lightstreamer", subprotocol "TLCP-2.5.0.lightstreamer.com"; sendCreateWS:
 *   "wsok" then "create_session\r\n" + params; encodeAdd: "control\r\n" + LS_reqId, LS_op=add,
 *   LS_subId, LS_mode, LS_group, LS_schema, LS_snapshot, LS_ack=false; evtMessage: the server
 *   lines it understands; parseUpdate: "" unchanged, "#" null, "$" empty, %XX unquoting, and that
 *   the first update of an item must not contain "unchanged"; sendRecovery: after a dropped
 *   socket the client first tries `POST /lightstreamer/bind_session.txt` with LS_recovery_from,
 *   and answers CONERR 4/6/20/40/41/48 by creating a new session and re-adding every subscription).
 * - Error codes: the client's types.d.ts (ClientListener.onServerError, SubscriptionListener.onSubscriptionError).
 * - IG items and fields: https://labs.ig.com/streaming-api-reference (TRADE:{accountId} CONFIRMS/OPU/WOU
 *   in DISTINCT mode; CHART:{epic}:TICK BID OFR LTP LTV TTV UTM DAY_*; MARKET:{epic}), and a raw
 *   TLCP line captured from IG: `U,3,1,|{...OPU json...}|` (JSON sent unencoded, other fields unchanged).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { MarketState, TradeField } from './broker.js';
import { timeOfDay } from './wire.js';

const WS_PATH = '/lightstreamer';
const REQUEST_LIMIT = 50_000;
const DEFAULT_KEEPALIVE_MS = 5_000;

type Values = (string | null)[];

interface Sub {
  subId: number;
  mode: string;
  items: string[];
  fields: string[];
  /** Last values sent per item index (1-based), for TLCP's "unchanged" encoding. */
  last: Map<number, Values>;
}

interface Session {
  id: string;
  ws: WebSocket;
  subs: Map<number, Sub>;
  keepalive: NodeJS.Timeout;
}

export interface StreamAuth {
  accepts(user: string | undefined, password: string | undefined): boolean;
  accountId: string;
  knownEpic(epic: string): boolean;
  market(epic: string): MarketState | undefined;
}

export class LightstreamerFake {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // The client refuses a socket without its TLCP subprotocol.
    handleProtocols: (protocols) => [...protocols].find((p) => p.startsWith('TLCP-')) ?? false,
  });
  private readonly sessions = new Map<string, Session>();
  private sessionCounter = 0;
  /** While true the endpoint is unreachable: WebSocket upgrades and HTTP requests are cut off (an outage). */
  private refusing = false;
  /** Subscriptions to refuse next: items starting with `prefix` get REQERR `code`, `times` times. */
  private readonly refusals: { prefix: string; code: number; times: number }[] = [];

  constructor(private readonly auth: StreamAuth) {
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== WS_PATH || this.refusing) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /**
   * HTTP requests under /lightstreamer/. The fake keeps no session once its socket is gone, so a
   * recovery (bind_session.txt) is refused with CONERR 20 and the client opens a new session.
   * Everything else over HTTP is refused loudly: the fake speaks WebSocket only.
   */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!path.startsWith(`${WS_PATH}/`)) return false;
    if (this.refusing) {
      req.socket.destroy();
      return true;
    }
    req.resume();
    req.on('end', () => {
      const line = path.endsWith('/bind_session.txt')
        ? 'CONERR,20,Session not found'
        : 'CONERR,68,The fake IG server supports the WS-STREAMING transport only';
      res.writeHead(200, { 'Content-Type': 'text/enriched; charset=UTF-8' });
      res.end(`${line}\r\n`);
    });
    return true;
  }

  /** Items currently subscribed, over every session, each once. */
  subscriptions(): string[] {
    const out: string[] = [];
    for (const s of this.sessions.values()) {
      for (const sub of s.subs.values()) for (const item of sub.items) if (!out.includes(item)) out.push(item);
    }
    return out;
  }

  publishTick(m: MarketState, time: number): void {
    this.publish(`CHART:${m.epic}:TICK`, (field) => chartTickValue(m, time, field), null);
    this.publish(`MARKET:${m.epic}`, (field) => marketValue(m, field), null);
  }

  publishTrade(field: TradeField, json: string): void {
    // Only the field that carries the event is sent; the others stay as they were ("unchanged"),
    // or null on an item's first update (captured from IG; the client rejects "unchanged" first).
    this.publish(`TRADE:${this.auth.accountId}`, (f) => (f === field ? json : KEEP), field);
  }

  /**
   * An outage of the stream endpoint (IG's maintenance, a network down) while `on`: new
   * connections, WebSocket or HTTP, are cut off at once. Sessions already open are left alone.
   */
  refuseConnections(on: boolean): void {
    this.refusing = on;
  }

  /**
   * Sends LOOP to every session and closes it, as a server does that wants its clients to rebind
   * (TLCP "LOOP,<expected delay>"); with `refuseConnections` on, the rebind finds the server gone.
   */
  loopAll(): void {
    for (const s of [...this.sessions.values()]) {
      send(s.ws, 'LOOP,0');
      this.endSession(s);
      s.ws.close();
    }
  }

  /** The next `times` subscriptions of an item starting with `prefix` are refused: REQERR `code`. */
  refuseSubscriptions(prefix: string, times: number, code = 68): void {
    this.refusals.push({ prefix, code, times });
  }

  /** Closes every stream socket at once, as a network failure would; sessions are lost. */
  dropAll(): void {
    for (const s of [...this.sessions.values()]) {
      this.endSession(s);
      s.ws.terminate();
    }
  }

  async close(): Promise<void> {
    this.dropAll();
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---------------------------------------------------------------- connection

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    let session: Session | undefined;
    const clientIp = req.socket.remoteAddress ?? '127.0.0.1';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const lines = data.toString('utf8').split('\r\n');
      const kind = lines[0];
      const params = lines
        .slice(1)
        .filter((l) => l.length > 0)
        .map(parseParams);
      switch (kind) {
        case 'wsok':
          send(ws, 'WSOK');
          break;
        case 'create_session':
          session = this.createSession(ws, params[0] ?? new Map(), clientIp);
          break;
        case 'bind_session':
          // A WS bind would follow an HTTP create, which the fake never grants.
          send(ws, 'CONERR,20,Session not found');
          ws.close();
          break;
        case 'control':
          if (session !== undefined) for (const p of params) this.control(session, p);
          break;
        case 'heartbeat':
        case 'msg':
          for (const p of params) {
            const reqId = p.get('LS_reqId');
            if (reqId !== undefined)
              send(ws, kind === 'msg' ? `REQERR,${reqId},68,Messages are not supported` : `REQOK,${reqId}`);
          }
          break;
        default:
          break;
      }
    });
    ws.on('close', () => {
      if (session !== undefined) this.endSession(session);
    });
    ws.on('error', () => {
      if (session !== undefined) this.endSession(session);
    });
  }

  private createSession(ws: WebSocket, p: Map<string, string>, clientIp: string): Session | undefined {
    const adapterSet = p.get('LS_adapter_set');
    // IG's clients leave the adapter set unset (the server's "DEFAULT") or name DEFAULT.
    if (adapterSet !== undefined && adapterSet !== 'DEFAULT') {
      send(ws, 'CONERR,2,Requested Adapter Set not available');
      ws.close();
      return undefined;
    }
    if (!this.auth.accepts(p.get('LS_user'), p.get('LS_password'))) {
      send(ws, 'CONERR,1,User/password check failed');
      ws.close();
      return undefined;
    }
    const requested = Number(p.get('LS_keepalive_millis') ?? DEFAULT_KEEPALIVE_MS);
    const keepaliveMs = Number.isFinite(requested) && requested >= 1000 ? requested : DEFAULT_KEEPALIVE_MS;
    this.sessionCounter += 1;
    const id = `S${this.sessionCounter.toString(16).padStart(8, '0')}fakeig`;
    const session: Session = {
      id,
      ws,
      subs: new Map(),
      // Idle streams carry PROBE so the client does not declare the connection stalled.
      keepalive: setInterval(() => send(ws, 'PROBE'), keepaliveMs),
    };
    this.sessions.set(id, session);
    send(
      ws,
      `CONOK,${id},${REQUEST_LIMIT},${keepaliveMs},*`,
      'SERVNAME,Fake IG Lightstreamer',
      `CLIENTIP,${clientIp}`,
      'CONS,unlimited',
    );
    return session;
  }

  private endSession(s: Session): void {
    clearInterval(s.keepalive);
    this.sessions.delete(s.id);
    s.subs.clear();
  }

  // ---------------------------------------------------------------- control requests

  private control(s: Session, p: Map<string, string>): void {
    const reqId = p.get('LS_reqId') ?? '0';
    const ack = p.get('LS_ack') !== 'false';
    switch (p.get('LS_op')) {
      case 'add':
        this.add(s, p, reqId, ack);
        break;
      case 'delete': {
        const subId = Number(p.get('LS_subId'));
        if (!s.subs.has(subId)) {
          send(s.ws, `REQERR,${reqId},19,Specified subscription not found`);
          return;
        }
        s.subs.delete(subId);
        if (ack) send(s.ws, `REQOK,${reqId}`);
        send(s.ws, `UNSUB,${subId}`);
        break;
      }
      case 'destroy':
        send(s.ws, `REQOK,${reqId}`, 'END,31,Session closed by the client');
        this.endSession(s);
        s.ws.close();
        break;
      default:
        // reconf, constrain, force_rebind...: accepted and ignored.
        send(s.ws, `REQOK,${reqId}`);
    }
  }

  private add(s: Session, p: Map<string, string>, reqId: string, ack: boolean): void {
    const subId = Number(p.get('LS_subId'));
    const mode = p.get('LS_mode') ?? '';
    const items = (p.get('LS_group') ?? '').split(' ').filter((x) => x.length > 0);
    const fields = (p.get('LS_schema') ?? '').split(' ').filter((x) => x.length > 0);
    if (mode !== 'MERGE' && mode !== 'DISTINCT') {
      send(s.ws, `REQERR,${reqId},24,Mode not allowed for an Item`);
      return;
    }
    const refusal = this.refusals.find((r) => r.times > 0 && items.some((i) => i.startsWith(r.prefix)));
    if (refusal !== undefined) {
      refusal.times -= 1;
      send(s.ws, `REQERR,${reqId},${refusal.code},The server could not fulfil the request (test)`);
      return;
    }
    if (items.length === 0 || !items.every((i) => this.knownItem(i))) {
      send(s.ws, `REQERR,${reqId},21,Bad Group name`);
      return;
    }
    if (fields.length === 0) {
      send(s.ws, `REQERR,${reqId},23,Bad Schema name`);
      return;
    }
    const sub: Sub = { subId, mode, items, fields, last: new Map() };
    s.subs.set(subId, sub);
    if (ack) send(s.ws, `REQOK,${reqId}`);
    send(s.ws, `SUBOK,${subId},${items.length},${fields.length}`);
    if (p.get('LS_snapshot') !== 'true') return;
    items.forEach((item, i) => {
      // A price item's snapshot is its latest price; TRADE has no snapshot.
      const price = this.snapshotOf(item);
      if (price !== undefined) this.sendUpdate(s, sub, i + 1, fields.map(price));
      if (mode === 'DISTINCT') send(s.ws, `EOS,${subId},${i + 1}`);
    });
  }

  private knownItem(item: string): boolean {
    const chart = /^CHART:(.+):TICK$/.exec(item);
    if (chart?.[1] !== undefined) return this.auth.knownEpic(chart[1]);
    const market = /^MARKET:(.+)$/.exec(item);
    if (market?.[1] !== undefined) return this.auth.knownEpic(market[1]);
    return item === `TRADE:${this.auth.accountId}`;
  }

  private snapshotOf(item: string): ((field: string) => string | null) | undefined {
    const chart = /^CHART:(.+):TICK$/.exec(item);
    const market = /^MARKET:(.+)$/.exec(item);
    const m = this.auth.market(chart?.[1] ?? market?.[1] ?? '');
    if (m === undefined) return undefined;
    return chart !== null ? (f) => chartTickValue(m, m.updatedAt, f) : (f) => marketValue(m, f);
  }

  // ---------------------------------------------------------------- updates

  private publish(
    item: string,
    valueOf: (field: string) => string | null | typeof KEEP,
    eventField: string | null,
  ): void {
    for (const s of this.sessions.values()) {
      for (const sub of s.subs.values()) {
        // A TRADE event for a field outside the schema is not an update of this subscription.
        if (eventField !== null && !sub.fields.includes(eventField)) continue;
        sub.items.forEach((it, i) => {
          if (it !== item) return;
          const prev = sub.last.get(i + 1);
          const values = sub.fields.map((f, k) => {
            const v = valueOf(f);
            return v === KEEP ? (prev?.[k] ?? null) : v;
          });
          this.sendUpdate(s, sub, i + 1, values, eventField === null ? undefined : sub.fields.indexOf(eventField));
        });
      }
    }
  }

  /** U,<subId>,<item>,<v1>|<v2>|...: unchanged values as "", except `force` (the event's field). */
  private sendUpdate(s: Session, sub: Sub, itemIdx: number, values: Values, force?: number): void {
    const prev = sub.last.get(itemIdx);
    const encoded = values.map((v, k) => (prev !== undefined && k !== force && prev[k] === v ? '' : encodeValue(v)));
    sub.last.set(itemIdx, values);
    send(s.ws, `U,${sub.subId},${itemIdx},${encoded.join('|')}`);
  }
}

/** Marker: keep the field's previous value. */
const KEEP = Symbol('keep');

/** TLCP value encoding: null "#", empty "$", and percent-encoding of what would break the line. */
export function encodeValue(v: string | null): string {
  if (v === null) return '#';
  if (v === '') return '$';
  let out = v.replace(/[%|\r\n]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (out.startsWith('#') || out.startsWith('$') || out.startsWith('^')) {
    out = `%${out.charCodeAt(0).toString(16).toUpperCase()}${out.slice(1)}`;
  }
  return out;
}

/** CHART:{epic}:TICK fields. Values the fake has no data for (volumes, LTP) are empty. */
function chartTickValue(m: MarketState, time: number, field: string): string | null {
  switch (field) {
    case 'BID':
      return String(m.bid);
    case 'OFR':
      return String(m.ask);
    case 'UTM':
      return String(time);
    case 'LTP':
    case 'LTV':
    case 'TTV':
      return '';
    case 'DAY_OPEN_MID':
      return String(m.open);
    case 'DAY_NET_CHG_MID':
      return String(round((m.bid + m.ask) / 2 - m.open, m.decimals));
    case 'DAY_PERC_CHG_MID':
      return String(m.open === 0 ? 0 : round((((m.bid + m.ask) / 2 - m.open) / m.open) * 100, 2));
    case 'DAY_HIGH':
      return String(m.high);
    case 'DAY_LOW':
      return String(m.low);
    default:
      return null;
  }
}

/** MARKET:{epic} fields (labs streaming reference). */
function marketValue(m: MarketState, field: string): string | null {
  switch (field) {
    case 'BID':
      return String(m.bid);
    case 'OFFER':
      return String(m.ask);
    case 'HIGH':
      return String(m.high);
    case 'LOW':
      return String(m.low);
    case 'MID_OPEN':
      return String(m.open);
    case 'CHANGE':
      return String(round((m.bid + m.ask) / 2 - m.open, m.decimals));
    case 'UPDATE_TIME':
      return timeOfDay(m.updatedAt);
    case 'MARKET_DELAY':
      return '0';
    case 'MARKET_STATE':
      return 'TRADEABLE';
    default:
      return null;
  }
}

function round(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/** `LS_a=1&LS_b=x%20y` → Map (the client encodes with encodeURIComponent). */
function parseParams(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of line.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    out.set(decodeURIComponent(pair.slice(0, eq)), decodeURIComponent(pair.slice(eq + 1)));
  }
  return out;
}

function send(ws: WebSocket, ...lines: string[]): void {
  if (ws.readyState !== WebSocket.OPEN) return;
  ws.send(lines.map((l) => `${l}\r\n`).join(''));
}
