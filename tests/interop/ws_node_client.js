#!/usr/bin/env node
// node-ws as a client of an echo endpoint (ember's echo_server GET /ws):
// text, binary, 16 MiB, a fragmented message (fin: false sends), pings,
// permessage-deflate on or off, the close handshake. One line per check
// ("ok: ..." or "FAIL: ..."); exit 1 when any failed.
//   node ws_node_client.js URL [--no-compression] [--big BYTES]
'use strict';
const WebSocket = require('ws');
const crypto = require('crypto');

const args = process.argv.slice(2);
const url = args[0];
const deflate = !args.includes('--no-compression');
const bi = args.indexOf('--big');
const big = bi >= 0 ? Number(args[bi + 1]) : 16 << 20;
const tag = `node ws (deflate ${deflate ? 'on' : 'off'})`;
let failed = 0;
function check(ok, what) {
  console.log((ok ? 'ok: ' : 'FAIL: ') + tag + ': ' + what);
  if (!ok) failed++;
}

const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: 32 << 20 });
const queue = [];
let waiter = null;
ws.on('message', (data, isBinary) => {
  queue.push({ data, isBinary });
  if (waiter) { const w = waiter; waiter = null; w(); }
});
function recv(ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within ' + ms + ' ms')), ms);
    const take = () => { clearTimeout(t); resolve(queue.shift()); };
    if (queue.length) take(); else waiter = take;
  });
}
function send(data, opts) {
  return new Promise((resolve, reject) => ws.send(data, opts || {}, (e) => (e ? reject(e) : resolve())));
}
async function roundTrip(data, binary, what, ms) {
  await send(data, { binary });
  const m = await recv(ms || 30000);
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
  check(m.isBinary === binary && Buffer.compare(m.data, want) === 0, what + ' echoed');
}

ws.on('error', (e) => { check(false, 'error: ' + e.message); process.exit(1); });
ws.on('open', async () => {
  try {
    const ext = ws.extensions || '';
    if (deflate) check(ext.startsWith('permessage-deflate'), `permessage-deflate negotiated ('${ext}')`);
    else check(ext === '', `no extension negotiated ('${ext}')`);
    await roundTrip('hello', false, 'short text');
    await roundTrip('κόσμε ✓ 𝄞'.repeat(50), false, 'UTF-8 text');
    await roundTrip('', false, 'empty text');
    await roundTrip(crypto.randomBytes(1000), true, '1000 random bytes');
    await roundTrip(Buffer.alloc(0), true, 'empty binary');
    await roundTrip('compress me '.repeat(5000), false, '60 KB compressible text');
    await roundTrip(crypto.randomBytes(big), true, `${big}-byte binary`, 120000);
    await roundTrip('0123456789abcdef'.repeat(big / 16), false, `${big}-byte text`, 120000);
    // A fragmented message: ws sends fin: false pieces as one message.
    await send('frag-1 ', { fin: false });
    await send('frag-2 κόσμε ', { fin: false });
    await send('frag-3', { fin: true });
    let m = await recv(30000);
    check(!m.isBinary && m.data.toString() === 'frag-1 frag-2 κόσμε frag-3', 'text in 3 fragments echoed whole');
    const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('ping-payload');
    check((await Promise.race([pong, new Promise((r) => setTimeout(() => r(null), 10000))])) === 'ping-payload',
      'ping answered with its payload');
    for (let i = 0; i < 200; i++) ws.send('round trip ' + i);
    let inOrder = true;
    for (let i = 0; i < 200; i++) {
      m = await recv(30000);
      if (m.data.toString() !== 'round trip ' + i) inOrder = false;
    }
    check(inOrder, '200 pipelined messages echoed in order');
    ws.on('close', (code) => {
      check(code === 1000, `close 1000 answered with ${code}`);
      process.exit(failed ? 1 : 0);
    });
    ws.close(1000, 'bye');
    setTimeout(() => { check(false, 'no close reply within 10 s'); process.exit(1); }, 10000);
  } catch (e) {
    check(false, e.message);
    process.exit(1);
  }
});
