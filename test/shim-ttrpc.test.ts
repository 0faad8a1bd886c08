// ttrpc framing (src/shim/ttrpc.ts) against containerd/ttrpc's PROTOCOL.md, and the shim's ttrpc
// server over a real unix socket: good calls, and bad input answered with an error status on its
// own stream while the connection goes on serving.
import t from 'tap';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, FrameDecoder, FLAG, HEADER_LENGTH, MAX_DATA_LENGTH, MESSAGE_TYPE, type Frame } from '../src/shim/ttrpc.js';
import { TtrpcServer } from '../src/shim/ttrpc-server.js';
import { TtrpcClient } from '../src/shim/ttrpc-client.js';
import { decode, encode } from '../src/shim/proto.js';
import { CODE, StatusError } from '../src/shim/ttrpc-status.js';
import { deleteResponse } from '../src/shim/cleanup.js';

t.test('a frame is a 10-byte header (length, stream id: u32 big-endian; type; flags) and the data', async (t) => {
  const f = encodeFrame({ streamId: 0x01020305, type: MESSAGE_TYPE.REQUEST, flags: FLAG.REMOTE_CLOSED, data: Buffer.from('abc') });
  t.equal(HEADER_LENGTH, 10);
  t.same([...f], [0, 0, 0, 3, 1, 2, 3, 5, 1, 1, 0x61, 0x62, 0x63]);
  t.equal(f[0], 0, 'the first byte is always zero (data under 16 MB)');
  t.equal(MAX_DATA_LENGTH, 4 * 1024 * 1024);
  t.throws(() => encodeFrame({ streamId: 1, type: 1, flags: 0, data: Buffer.alloc(MAX_DATA_LENGTH + 1) }), /4 MiB/);
  t.same(MESSAGE_TYPE, { REQUEST: 1, RESPONSE: 2, DATA: 3 });
  t.same(FLAG, { REMOTE_CLOSED: 1, REMOTE_OPEN: 2, NO_DATA: 4 });
});

t.test("`delete`'s hand-encoded DeleteResponse is the message protobufjs reads", async (t) => {
  for (const [pid, status, at] of [
    [0, 137, 1_700_000_000_123],
    [4194304, 0, 0],
    [1, 255, 2 ** 40 + 999],
  ]) {
    t.same(
      decode('containerd.task.v2.DeleteResponse', deleteResponse(pid, status, at)),
      { pid, exit_status: status, exited_at: { seconds: Math.floor(at / 1000), nanos: (at % 1000) * 1e6 } },
      `pid ${pid}, status ${status}, at ${at}`,
    );
  }
});

t.test('the decoder finds frames across any chunking, empty data included', async (t) => {
  const frames = [
    { streamId: 1, type: 1, flags: 0, data: Buffer.from('hello') },
    { streamId: 3, type: 3, flags: FLAG.REMOTE_CLOSED | FLAG.NO_DATA, data: Buffer.alloc(0) },
    { streamId: 2, type: 2, flags: 0, data: Buffer.alloc(70000, 7) },
  ];
  const bytes = Buffer.concat(frames.map(encodeFrame));
  for (const size of [1, 3, 10, 11, 4096, bytes.length]) {
    const d = new FrameDecoder();
    const got: Frame[] = [];
    for (let i = 0; i < bytes.length; i += size) got.push(...d.push(bytes.subarray(i, i + size)));
    t.same(
      got.map((f) => ({ ...f, data: [...f.data].length })),
      frames.map((f) => ({ ...f, data: f.data.length })),
      `chunks of ${size}`,
    );
    t.equal(d.pending, 0);
  }
});

t.test('a frame over 4 MiB is reported and its data skipped; the next frame is found', async (t) => {
  const d = new FrameDecoder();
  const head = Buffer.alloc(10);
  head.writeUInt32BE(MAX_DATA_LENGTH + 5, 0);
  head.writeUInt32BE(7, 4);
  head[8] = 1;
  const first = d.push(Buffer.concat([head, Buffer.alloc(1000)]));
  t.same(
    first.map((f) => [f.streamId, f.oversized]),
    [[7, MAX_DATA_LENGTH + 5]],
  );
  t.same(d.push(Buffer.alloc(MAX_DATA_LENGTH + 5 - 1000 - 3)), []);
  const next = d.push(Buffer.concat([Buffer.alloc(3), encodeFrame({ streamId: 9, type: 1, flags: 0, data: Buffer.from('x') })]));
  t.same(
    next.map((f) => [f.streamId, f.data.toString()]),
    [[9, 'x']],
  );
});

t.test('the server answers good calls and every kind of bad input on the stream that sent it', async (t) => {
  const dir = mkdtempSync('/tmp/runt-ttrpc-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sock');
  const server = new TtrpcServer();
  server.register(
    'containerd.task.v2.Task',
    'Connect',
    'containerd.task.v2.ConnectRequest',
    'containerd.task.v2.ConnectResponse',
    async (req) => {
      if (req.id === 'missing') throw new StatusError(CODE.NOT_FOUND, 'container "missing": not found');
      return { shim_pid: process.pid, task_pid: 42, version: `v2-${String(req.id)}` };
    },
  );
  server.register(
    'containerd.task.v2.Task',
    'Wait',
    'containerd.task.v2.WaitRequest',
    'containerd.task.v2.WaitResponse',
    () => new Promise((resolve) => setTimeout(() => resolve({ exit_status: 7 }), 200)),
  );
  await server.listen({ path });
  t.teardown(() => server.close());

  const client = await TtrpcClient.connect(path);
  t.teardown(() => client.close());
  const call = (method: string, id: string) =>
    client.call('containerd.task.v2.Task', method, `containerd.task.v2.${method}Request`, { id }, `containerd.task.v2.${method}Response`);
  const waiting = call('Wait', 'a');
  t.same(await call('Connect', 'a'), { shim_pid: process.pid, task_pid: 42, version: 'v2-a' }, 'served while an earlier call is pending');
  t.equal((await waiting).exit_status, 7);
  await t.rejects(call('Connect', 'missing'), { code: CODE.NOT_FOUND, message: 'container "missing": not found' });
  await t.rejects(
    client.call('containerd.task.v2.Task', 'Nope', 'containerd.task.v2.ConnectRequest', {}, 'containerd.task.v2.ConnectResponse'),
    { code: CODE.UNIMPLEMENTED },
  );

  // Raw frames, as a broken client would send them.
  const raw = net.connect(path);
  t.teardown(() => raw.destroy());
  await new Promise((r) => raw.once('connect', r));
  const answers = new Map<number, { code: number; message: string } | null>();
  const d = new FrameDecoder();
  raw.on('data', (c: Buffer) => {
    for (const f of d.push(c))
      answers.set(f.streamId, decode<{ status: { code: number; message: string } | null }>('ttrpc.Response', f.data).status);
  });
  const req = (payload: Buffer) => encode('ttrpc.Request', { service: 'containerd.task.v2.Task', method: 'Connect', payload });
  raw.write(encodeFrame({ streamId: 1, type: 1, flags: 0, data: Buffer.from([0xff, 0xff, 0xff]) })); // not a Request
  raw.write(encodeFrame({ streamId: 3, type: 1, flags: 0, data: req(Buffer.from([0x0a, 0x50, 0x41])) })); // payload cut short
  raw.write(encodeFrame({ streamId: 4, type: 1, flags: 0, data: req(Buffer.alloc(0)) })); // even stream id
  raw.write(encodeFrame({ streamId: 5, type: 3, flags: 0, data: Buffer.from('x') })); // data, no stream
  const big = Buffer.alloc(10);
  big.writeUInt32BE(MAX_DATA_LENGTH + 1, 0);
  big.writeUInt32BE(7, 4);
  big[8] = 1;
  raw.write(Buffer.concat([big, Buffer.alloc(MAX_DATA_LENGTH + 1)])); // over 4 MiB
  raw.write(encodeFrame({ streamId: 9, type: 1, flags: 0, data: req(encode('containerd.task.v2.ConnectRequest', { id: 'b' })) }));
  const deadline = Date.now() + 30_000;
  while (answers.size < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.match(answers.get(1), { code: CODE.INVALID_ARGUMENT, message: /unmarshal request/ }, 'bytes that are not a Request');
  t.match(answers.get(3), { code: CODE.INVALID_ARGUMENT, message: /ConnectRequest/ }, "a payload that is not the method's message");
  t.match(answers.get(4), { code: CODE.INVALID_ARGUMENT, message: /even/ }, 'an even (server) stream id');
  t.match(answers.get(5), { code: CODE.INVALID_ARGUMENT, message: /message type 3/ }, 'data on no stream');
  t.match(answers.get(7), { code: CODE.RESOURCE_EXHAUSTED, message: /4 MiB/ }, 'a frame over 4 MiB');
  t.equal(answers.get(9), null, 'and then a good call on the same connection is answered');
  t.same(await call('Connect', 'c'), { shim_pid: process.pid, task_pid: 42, version: 'v2-c' }, 'other connections are served throughout');
});
