// Sends one real protocol request to a local server and prints its version.
//
// Usage: node probe.mjs <amqp|kafka|http|mongo|redis> <port> [host]
// Prints {"ok":true,"version":"..."} and exits 0 when the server responded
// correctly, or {"ok":false,"error":"..."} and exits 1. Uses only Node's
// built-in modules, so it runs before any npm install. Every request times
// out after PROBE_TIMEOUT_MS (default 3000) milliseconds.
import net from 'node:net';

const [kind, portText, host = '127.0.0.1'] = process.argv.slice(2);
const port = Number(portText);
const timeoutMs = Number(process.env.PROBE_TIMEOUT_MS ?? 3000);

// Opens a TCP connection and returns helpers to write bytes and read exact counts.
function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = Buffer.alloc(0);
    let waiter = null;
    let failure = null;

    const wake = () => {
      if (waiter) {
        const current = waiter;
        waiter = null;
        current();
      }
    };
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      wake();
    });
    socket.on('error', (error) => {
      failure = error;
      wake();
      reject(error);
    });
    socket.on('close', () => {
      failure ??= new Error('connection closed by server');
      wake();
    });

    const read = async (count) => {
      while (buffer.length < count) {
        if (failure) throw failure;
        await new Promise((r) => { waiter = r; });
      }
      const out = buffer.subarray(0, count);
      buffer = buffer.subarray(count);
      return out;
    };
    // Reads until the buffer contains `marker`, returns everything up to and including it.
    const readUntil = async (marker) => {
      for (;;) {
        const index = buffer.indexOf(marker);
        if (index >= 0) return read(index + marker.length);
        if (failure) throw failure;
        await new Promise((r) => { waiter = r; });
      }
    };
    socket.once('connect', () => resolve({ socket, read, readUntil }));
  });
}

// AMQP 0-9-1: full handshake as guest/guest on vhost "/", then a clean close.
async function probeAmqp() {
  const { socket, read } = await connect();
  const frame = (type, channel, payload) => {
    const header = Buffer.alloc(7);
    header.writeUInt8(type, 0);
    header.writeUInt16BE(channel, 1);
    header.writeUInt32BE(payload.length, 3);
    return Buffer.concat([header, payload, Buffer.from([0xce])]);
  };
  const method = (classId, methodId, body) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(classId, 0);
    head.writeUInt16BE(methodId, 2);
    return frame(1, 0, Buffer.concat([head, body]));
  };
  const shortString = (s) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  const longString = (s) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(s), 0);
    return Buffer.concat([length, Buffer.from(s)]);
  };
  const readMethod = async () => {
    const header = await read(7);
    const size = header.readUInt32BE(3);
    const payload = await read(size + 1);
    if (header[0] !== 1) throw new Error(`expected a method frame, got frame type ${header[0]}`);
    return { classId: payload.readUInt16BE(0), methodId: payload.readUInt16BE(2), args: payload.subarray(4, size) };
  };

  socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
  const start = await readMethod();
  if (start.classId !== 10 || start.methodId !== 10) throw new Error(`expected connection.start, got ${start.classId}.${start.methodId}`);
  // connection.start arguments: version-major, version-minor, then the server-properties table.
  const tableSize = start.args.readUInt32BE(2);
  const version = readTableString(start.args.subarray(6, 6 + tableSize), 'version');

  const emptyTable = Buffer.alloc(4);
  socket.write(method(10, 11, Buffer.concat([emptyTable, shortString('PLAIN'), longString('\0guest\0guest'), shortString('en_US')])));
  const tune = await readMethod();
  if (tune.classId === 10 && tune.methodId === 50) throw new Error('login as guest/guest rejected');
  if (tune.classId !== 10 || tune.methodId !== 30) throw new Error(`expected connection.tune, got ${tune.classId}.${tune.methodId}`);
  socket.write(method(10, 31, tune.args.subarray(0, 8)));
  socket.write(method(10, 40, Buffer.concat([shortString('/'), shortString(''), Buffer.from([0])])));
  const opened = await readMethod();
  if (opened.classId !== 10 || opened.methodId !== 41) throw new Error(`expected connection.open-ok, got ${opened.classId}.${opened.methodId}`);
  const close = Buffer.concat([Buffer.from([0, 200]), shortString('probe done'), Buffer.alloc(4)]);
  socket.write(method(10, 50, close));
  await readMethod();
  socket.end();
  return version;
}

// Returns the long-string value of `key` in an AMQP field table.
function readTableString(table, key) {
  let offset = 0;
  while (offset < table.length) {
    const keyLength = table[offset];
    const name = table.toString('utf8', offset + 1, offset + 1 + keyLength);
    offset += 1 + keyLength;
    const type = String.fromCharCode(table[offset]);
    offset += 1;
    if (type === 'S') {
      const length = table.readUInt32BE(offset);
      const value = table.toString('utf8', offset + 4, offset + 4 + length);
      if (name === key) return value;
      offset += 4 + length;
    } else if (type === 'F') {
      offset += 4 + table.readUInt32BE(offset);
    } else if (type === 't') {
      offset += 1;
    } else {
      break;
    }
  }
  return null;
}

// Kafka: Metadata v4 for all topics. Ready means the broker lists at least one broker.
async function probeKafka() {
  const { socket, read } = await connect();
  const clientId = Buffer.from('bridge-probe');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let offset = 0;
  offset = body.writeInt16BE(3, offset); // api_key: Metadata
  offset = body.writeInt16BE(4, offset); // api_version
  offset = body.writeInt32BE(1, offset); // correlation_id
  offset = body.writeInt16BE(clientId.length, offset);
  offset += clientId.copy(body, offset);
  offset = body.writeInt32BE(-1, offset); // topics: null means all topics
  body.writeInt8(0, offset); // allow_auto_topic_creation
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  socket.write(Buffer.concat([size, body]));

  const length = (await read(4)).readInt32BE(0);
  const response = await read(length);
  socket.end();
  // correlation_id (4), throttle_time_ms (4), then the brokers array length.
  const brokers = response.readInt32BE(8);
  if (brokers < 1) throw new Error('metadata response lists no broker yet');
  return null;
}

// HTTP GET / (OpenSearch), version from version.number.
async function probeHttp() {
  const controller = AbortSignal.timeout(timeoutMs);
  const response = await fetch(`http://${host}:${port}/`, { signal: controller });
  if (!response.ok) throw new Error(`GET / returned HTTP ${response.status}`);
  const json = await response.json();
  return json.version?.number ?? null;
}

// MongoDB wire protocol: OP_MSG buildInfo on admin. FerretDB adds ferretdbVersion.
async function probeMongo() {
  const { socket, read } = await connect();
  const document = encodeBson([['buildInfo', 1], ['$db', 'admin']]);
  const header = Buffer.alloc(16 + 4 + 1);
  header.writeInt32LE(header.length + document.length, 0);
  header.writeInt32LE(1, 4); // requestID
  header.writeInt32LE(0, 8); // responseTo
  header.writeInt32LE(2013, 12); // opCode: OP_MSG
  header.writeUInt32LE(0, 16); // flagBits
  header.writeUInt8(0, 20); // section kind 0: body
  socket.write(Buffer.concat([header, document]));

  const length = (await read(4)).readInt32LE(0);
  const message = await read(length - 4);
  socket.end();
  const fields = decodeBsonTopLevel(message.subarray(12 + 4 + 1));
  if (fields.ok !== 1) throw new Error(`buildInfo failed: ${fields.errmsg ?? 'ok is not 1'}`);
  return fields.ferretdbVersion ?? fields.version ?? null;
}

function encodeBson(entries) {
  const parts = [];
  for (const [key, value] of entries) {
    const name = Buffer.from(`${key}\0`);
    if (typeof value === 'number') {
      const number = Buffer.alloc(4);
      number.writeInt32LE(value, 0);
      parts.push(Buffer.from([0x10]), name, number);
    } else {
      const text = Buffer.from(`${value}\0`);
      const length = Buffer.alloc(4);
      length.writeInt32LE(text.length, 0);
      parts.push(Buffer.from([0x02]), name, length, text);
    }
  }
  const bodyBytes = Buffer.concat([...parts, Buffer.from([0])]);
  const size = Buffer.alloc(4);
  size.writeInt32LE(bodyBytes.length + 4, 0);
  return Buffer.concat([size, bodyBytes]);
}

// Decodes the top-level string and number fields of a BSON document; skips the rest.
function decodeBsonTopLevel(bytes) {
  const fields = {};
  let offset = 4;
  const end = bytes.readInt32LE(0) - 1;
  const fixedSizes = { 0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x11: 8, 0x12: 8, 0x13: 16 };
  while (offset < end) {
    const type = bytes[offset];
    const nameEnd = bytes.indexOf(0, offset + 1);
    const name = bytes.toString('utf8', offset + 1, nameEnd);
    offset = nameEnd + 1;
    if (type === 0x02) {
      const length = bytes.readInt32LE(offset);
      fields[name] = bytes.toString('utf8', offset + 4, offset + 4 + length - 1);
      offset += 4 + length;
    } else if (type === 0x01) {
      fields[name] = bytes.readDoubleLE(offset);
      offset += 8;
    } else if (type === 0x10) {
      fields[name] = bytes.readInt32LE(offset);
      offset += 4;
    } else if (type === 0x03 || type === 0x04) {
      offset += bytes.readInt32LE(offset);
    } else if (type === 0x05) {
      offset += 4 + 1 + bytes.readInt32LE(offset);
    } else if (type in fixedSizes) {
      offset += fixedSizes[type];
    } else {
      break;
    }
  }
  return fields;
}

// Redis: INFO server, version from redis_version.
async function probeRedis() {
  const { socket, read, readUntil } = await connect();
  socket.write('*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n');
  const head = (await readUntil(Buffer.from('\r\n'))).toString();
  if (!head.startsWith('$')) throw new Error(`INFO returned ${head.trim()}`);
  const text = (await read(Number(head.slice(1)) + 2)).toString();
  socket.end();
  return /redis_version:(\S+)/.exec(text)?.[1] ?? null;
}

const probes = { amqp: probeAmqp, kafka: probeKafka, http: probeHttp, mongo: probeMongo, redis: probeRedis };

async function main() {
  if (!probes[kind] || !Number.isInteger(port)) {
    console.log(JSON.stringify({ ok: false, error: `usage: probe.mjs <${Object.keys(probes).join('|')}> <port> [host]` }));
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.log(JSON.stringify({ ok: false, error: `timed out after ${timeoutMs} ms` }));
    process.exit(1);
  }, timeoutMs + 500);
  try {
    const version = await probes[kind]();
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: true, version }));
    process.exit(0);
  } catch (error) {
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: false, error: error.message }));
    process.exit(1);
  }
}

await main();
