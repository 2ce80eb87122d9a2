// The node ws anchor of bench/ws.sh: a WebSocket echo server (any path)
// on Node's one event-loop thread, each message sent back with its type.
// ws validates the UTF-8 of text messages itself. --deflate turns on
// perMessageDeflate with ws's defaults except threshold 64 (ws's default
// sends messages under 1024 bytes uncompressed; ember's min_size is 64).
//
//   node ws_anchor_node.js PORT [--deflate]
//
// ws from npm when it is installed, else Debian's node-ws
// (/usr/share/nodejs/ws). Prints "listening on 127.0.0.1:PORT"; SIGTERM
// stops it.
'use strict';

let ws;
try {
  ws = require('ws');
} catch (e) {
  ws = require('/usr/share/nodejs/ws');
}

const port = Number(process.argv[2]);
const deflate = process.argv[3] === '--deflate';
if (!port || (process.argv[3] && !deflate)) {
  console.error('usage: node ws_anchor_node.js PORT [--deflate]');
  process.exit(2);
}

const wss = new ws.WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate ? { threshold: 64 } : false,
});
wss.on('connection', (sock) => {
  sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
