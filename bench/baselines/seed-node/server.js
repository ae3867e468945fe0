// The seed's design, for the subset hubbub's benchmark drives: Node.js + the official
// socket.io v4 + pg, on the seed's own schema (schema.sql).
//
// What is kept from the seed, on purpose, because it is what the comparison is about:
// - "optimistic" sending: `message_sent` and `new_message` go out at once, and the
//   message is written by a fire-and-forget background transaction (INSERT, then the
//   conversation's last message, then `unread_count + 1` on every other participant's
//   row); a failed write is only logged;
// - JWT verification cached under the token's last 10 characters for 5 minutes
//   (in process memory: the seed's cache manager without Redis);
// - on connect, "auto-join" of every conversation of the user and a last_seen update,
//   in parallel; `connection_success` after both;
// - history pages ordered by created_at, with a `totalCount` count.
// Left out: the seed's page cache (the benchmark never asks for the same page twice, so
// it could only add work) and everything the scenarios do not use. There is no `sync`
// (the seed has no resume). Passwords are hashed with scrypt at a low cost: accounts are
// benchmark setup, no scenario measures a login.
//
// Environment: PORT, HOST (127.0.0.1), DATABASE_URL, JWT_SECRET.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const jwt = require("jsonwebtoken");
const { Pool } = require("pg");
const { Server } = require("socket.io");

const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || "127.0.0.1";
const SECRET = process.env.JWT_SECRET || "seed-node-baseline-secret-change-me";
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });

// ---------------------------------------------------------------- helpers

function send(res, status, body) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

function error(res, status, message) {
  const names = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict" };
  send(res, status, { statusCode: status, error: names[status] || "Error", message });
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on("error", reject);
  });
}

function hashPassword(password) {
  const salt = crypto.randomBytes(16);
  const key = crypto.scryptSync(password, salt, 32, { N: 1024 });
  return `scrypt$${salt.toString("hex")}$${key.toString("hex")}`;
}

function checkPassword(password, stored) {
  const [, salt, key] = stored.split("$");
  const again = crypto.scryptSync(password, Buffer.from(salt, "hex"), 32, { N: 1024 });
  return crypto.timingSafeEqual(again, Buffer.from(key, "hex"));
}

const tokenCache = new Map(); // the seed: `jwt_verification:${token.slice(-10)}`, 5 minutes

function verifyToken(token) {
  const key = `jwt_verification:${token.slice(-10)}`;
  const hit = tokenCache.get(key);
  if (hit && hit.expires > Date.now()) return hit.payload;
  const payload = jwt.verify(token, SECRET);
  tokenCache.set(key, { payload, expires: Date.now() + 300000 });
  return payload;
}

function bearer(req) {
  const header = req.headers.authorization || "";
  if (!header.startsWith("Bearer ")) return null;
  try {
    return verifyToken(header.slice(7)).sub;
  } catch {
    return null;
  }
}

function userView(row) {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    avatar: row.avatar,
    createdAt: row.created_at,
  };
}

function session(user) {
  const token = jwt.sign({ sub: user.id, username: user.username }, SECRET, { expiresIn: "1d" });
  return { user: userView(user), token, refreshToken: crypto.randomBytes(24).toString("hex") };
}

function messageView(row) {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    senderId: row.sender_id,
    sender: row.username ? { id: row.sender_id, username: row.username } : undefined,
    type: row.type,
    content: row.content,
    status: row.status,
    attachments: row.attachments,
    metadata: row.metadata,
    optimisticId: row.optimistic_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

// ---------------------------------------------------------------- HTTP routes

async function register(req, res) {
  const body = await readJson(req);
  try {
    const { rows } = await pool.query(
      "INSERT INTO users (username, email, password_hash, display_name) VALUES ($1, $2, $3, $4) RETURNING *",
      [body.username, String(body.email).toLowerCase(), hashPassword(body.password), body.displayName || null],
    );
    send(res, 201, session(rows[0]));
  } catch (e) {
    if (e.code === "23505") return error(res, 409, "Username or email already taken");
    throw e;
  }
}

async function login(req, res) {
  const body = await readJson(req);
  const { rows } = await pool.query("SELECT * FROM users WHERE email = $1 OR username = $1", [
    String(body.email || ""),
  ]);
  if (!rows.length || !checkPassword(String(body.password || ""), rows[0].password_hash)) {
    return error(res, 401, "Invalid credentials");
  }
  send(res, 200, session(rows[0]));
}

async function createConversation(req, res, userId) {
  const body = await readJson(req);
  const others = (body.participantIds || []).filter((id) => id !== userId);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query(
      "INSERT INTO conversations (name, type, created_by) VALUES ($1, $2, $3) RETURNING *",
      [body.name || null, body.type || "GROUP", userId],
    );
    const conversation = rows[0];
    await client.query(
      "INSERT INTO conversation_participants (conversation_id, user_id, role) VALUES ($1, $2, 'OWNER')",
      [conversation.id, userId],
    );
    for (const other of others) {
      await client.query(
        "INSERT INTO conversation_participants (conversation_id, user_id, role) VALUES ($1, $2, 'MEMBER')",
        [conversation.id, other],
      );
    }
    await client.query("COMMIT");
    for (const id of [userId, ...others]) joinLive(id, conversation.id);
    send(res, 201, {
      conversation: {
        id: conversation.id,
        type: conversation.type,
        name: conversation.name,
        createdBy: userId,
        participantCount: others.length + 1,
      },
    });
  } catch (e) {
    await client.query("ROLLBACK");
    throw e;
  } finally {
    client.release();
  }
}

async function history(req, res, userId, conversationId, query) {
  const member = await pool.query(
    "SELECT 1 FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2 AND status = 'ACTIVE'",
    [conversationId, userId],
  );
  if (!member.rowCount) return error(res, 404, "Conversation not found");
  const limit = Math.min(Math.max(Number(query.get("limit")) || 50, 1), 100);
  const params = [conversationId, limit + 1];
  let where = "m.conversation_id = $1 AND m.status != 'DELETED'";
  const before = query.get("before");
  if (before) {
    params.push(before);
    where += " AND m.created_at < (SELECT created_at FROM messages WHERE id = $3)";
  }
  const page = await pool.query(
    `SELECT m.*, u.username FROM messages m LEFT JOIN users u ON u.id = m.sender_id
     WHERE ${where} ORDER BY m.created_at DESC LIMIT $2`,
    params,
  );
  const count = await pool.query(
    "SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND status != 'DELETED'",
    [conversationId],
  );
  const rows = page.rows.slice(0, limit).reverse();
  send(res, 200, {
    messages: rows.map(messageView),
    hasMore: page.rows.length > limit,
    totalCount: count.rows[0].n,
  });
}

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const parts = url.pathname.split("/").filter(Boolean);
  try {
    if (req.method === "GET" && url.pathname === "/healthz") return send(res, 200, { status: "ok" });
    if (req.method === "POST" && url.pathname === "/auth/register") return await register(req, res);
    if (req.method === "POST" && url.pathname === "/auth/login") return await login(req, res);
    const userId = bearer(req);
    if (!userId) return error(res, 401, "Unauthorized");
    if (req.method === "POST" && url.pathname === "/conversations") {
      return await createConversation(req, res, userId);
    }
    if (req.method === "GET" && parts.length === 3 && parts[0] === "conversations" && parts[2] === "messages") {
      return await history(req, res, userId, parts[1], url.searchParams);
    }
    error(res, 404, "Not Found");
  } catch (e) {
    console.error("request failed:", e.message);
    if (!res.headersSent) error(res, 400, "Bad Request");
  }
});

// ---------------------------------------------------------------- Socket.IO gateway

const io = new Server(httpServer, {
  cors: { origin: true, methods: ["GET", "POST"], credentials: true },
  perMessageDeflate: false,
});
const messaging = io.of("/messaging");
const socketsOfUser = new Map(); // userId -> Set of sockets

function joinLive(userId, conversationId) {
  for (const socket of socketsOfUser.get(userId) || []) socket.join(conversationId);
}

messaging.use((socket, next) => {
  const token =
    (socket.handshake.auth && socket.handshake.auth.token) ||
    (socket.handshake.headers.authorization || "").replace(/^Bearer /, "");
  try {
    socket.data.userId = verifyToken(String(token)).sub;
    next();
  } catch {
    next(new Error("unauthorized"));
  }
});

messaging.on("connection", async (socket) => {
  const started = Date.now();
  const userId = socket.data.userId;
  if (!socketsOfUser.has(userId)) socketsOfUser.set(userId, new Set());
  socketsOfUser.get(userId).add(socket);
  socket.on("disconnect", () => {
    const set = socketsOfUser.get(userId);
    if (set) {
      set.delete(socket);
      if (!set.size) socketsOfUser.delete(userId);
    }
    pool.query("UPDATE users SET last_seen = NOW() WHERE id = $1", [userId]).catch(() => {});
  });
  socket.on("send_message", (data, ack) => sendMessage(socket, userId, data, ack));
  try {
    await Promise.all([
      pool.query("UPDATE users SET last_seen = NOW() WHERE id = $1", [userId]),
      pool
        .query(
          "SELECT conversation_id FROM conversation_participants WHERE user_id = $1 AND status = 'ACTIVE'",
          [userId],
        )
        .then(({ rows }) => socket.join(rows.map((r) => r.conversation_id))),
    ]);
  } catch (e) {
    console.error("connection setup failed:", e.message);
  }
  socket.emit("connection_success", {
    userId,
    socketId: socket.id,
    connectionTime: Date.now() - started,
    serverTime: new Date().toISOString(),
  });
});

function sendMessage(socket, userId, data, ack) {
  const reply = typeof ack === "function" ? ack : () => {};
  if (!data || typeof data.conversationId !== "string" || typeof data.content !== "string") {
    const error = { code: "invalid_message", message: "conversationId and content required" };
    socket.emit("message_error", { optimisticId: data && data.optimisticId, success: false, error });
    return reply({ ok: false, error });
  }
  if (!socket.rooms.has(data.conversationId)) {
    const error = { code: "conversation_not_found", message: "Conversation not found" };
    socket.emit("message_error", { optimisticId: data.optimisticId, success: false, error });
    return reply({ ok: false, error });
  }
  // The seed's "optimistic" flow: answer first, persist in the background.
  const now = new Date().toISOString();
  const message = {
    id: crypto.randomUUID(),
    conversationId: data.conversationId,
    senderId: userId,
    type: data.type || "TEXT",
    content: data.content,
    status: "SENT",
    attachments: [],
    metadata: data.metadata || {},
    optimisticId: data.optimisticId,
    clientTimestamp: data.clientTimestamp,
    serverTimestamp: now,
    createdAt: now,
    updatedAt: now,
  };
  socket.to(data.conversationId).emit("new_message", { message, conversationId: data.conversationId });
  socket.emit("message_sent", { optimisticId: data.optimisticId, message, success: true });
  reply({ ok: true, message });
  processMessageInBackground(message).catch((e) => {
    console.error("Background operation failed:", e.message);
  });
}

async function processMessageInBackground(message) {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO messages (id, conversation_id, sender_id, type, content, status, metadata,
         server_timestamp, created_at, updated_at, optimistic_id)
       VALUES ($1, $2, $3, $4, $5, 'SENT', $6, $7, $7, $7, $8)`,
      [
        message.id,
        message.conversationId,
        message.senderId,
        message.type,
        message.content,
        message.metadata,
        message.createdAt,
        message.optimisticId || null,
      ],
    );
    await client.query(
      "UPDATE conversations SET last_message_at = $2, last_message_id = $3, updated_at = $2 WHERE id = $1",
      [message.conversationId, message.createdAt, message.id],
    );
    await client.query(
      "UPDATE conversation_participants SET unread_count = unread_count + 1 WHERE conversation_id = $1 AND user_id != $2",
      [message.conversationId, message.senderId],
    );
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

// ---------------------------------------------------------------- start

async function main() {
  const { rows } = await pool.query("SELECT to_regclass('public.users') AS t");
  if (!rows[0].t) {
    await pool.query(fs.readFileSync(path.join(__dirname, "schema.sql"), "utf8"));
  }
  httpServer.listen(PORT, HOST, () => {
    console.log(`seed-node baseline on http://${HOST}:${PORT}`);
  });
}

process.on("SIGTERM", () => {
  io.close();
  pool.end().finally(() => process.exit(0));
});

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
