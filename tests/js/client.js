// The official socket.io-client v4 against hubbub's gateway; driven by tests/test_gateway_js.py.
// Input: the JSON scenario in argv[2]. Output: one JSON line of what the clients saw.
"use strict";
const { io } = require("socket.io-client");

const scenario = JSON.parse(process.argv[2]);
const url = scenario.url + "/messaging";

function once(socket, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

async function main() {
  const out = {};
  const a = io(url, { auth: { token: scenario.a.token, userId: scenario.a.id }, reconnection: false });
  const b = io(url, { auth: { token: scenario.b.token, userId: scenario.b.id }, reconnection: false });
  try {
    const received = once(b, "new_message");
    [out.helloA, out.helloB] = await Promise.all([
      once(a, "connection_success"),
      once(b, "connection_success"),
    ]);
    out.socketIdA = a.id;
    out.sentEvent = once(a, "message_sent");
    out.ack = await a.timeout(10000).emitWithAck("send_message", {
      conversationId: scenario.conversationId,
      content: "hello from socket.io-client",
      optimisticId: "js-1",
    });
    out.sentEvent = await out.sentEvent;
    out.received = await received;
    out.transport = b.io.engine.transport.name;

    const bad = io(url, { auth: { token: scenario.badToken }, reconnection: false });
    try {
      const err = await once(bad, "connect_error");
      out.connectError = { message: err.message, connected: bad.connected };
    } finally {
      bad.close();
    }
  } finally {
    a.close();
    b.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
