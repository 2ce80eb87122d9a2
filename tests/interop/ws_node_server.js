#!/usr/bin/env node
// A node-ws echo server for ember's client: every message back unchanged
// (text as text, binary as binary), permessage-deflate accepted, the
// first offered subprotocol chosen. On /info it first sends one text
// message describing the handshake it saw:
//   "protocol=<chosen> extensions=<negotiated> x-test=<X-Test field>"
// Prints "listening on 127.0.0.1:PORT"; SIGTERM stops it (exit 0).
//   node ws_node_server.js [--port N]
'use strict';
const WebSocket = require('ws');

const pi = process.argv.indexOf('--port');
const port = pi >= 0 ? Number(process.argv[pi + 1]) : 0;
const wss = new WebSocket.Server({
  host: '127.0.0.1',
  port,
  perMessageDeflate: true,
  maxPayload: 32 << 20,
  handleProtocols: (protocols) => (protocols.size ? protocols.values().next().value : false),
});
wss.on('listening', () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws, req) => {
  if (req.url === '/info') {
    ws.send(`protocol=${ws.protocol} extensions=${ws.extensions} x-test=${req.headers['x-test'] || ''}`);
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  wss.close(() => process.exit(0));
});
