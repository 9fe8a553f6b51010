import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/api/client.js';
import { inferMediaType, parseArtifact, parseFileSize, parseTask } from '../src/api/parse-task.js';
import { ApiError, MalformedResponseError, UsageError } from '../src/errors.js';
import { RateGate } from '../src/retry.js';

const BASE = 'https://api.example.test';
const TOKEN = 'tok-SECRET-456';
const OWNER = 'user:1-runwayml:a@b.c';

function client(extra: Partial<Parameters<typeof createClient>[0]> = {}) {
  return createClient({ token: TOKEN, baseUrl: BASE, backoffBaseMs: 1, retries: 3, ...extra });
}

const artifact = (n: number, extra: Record<string, unknown> = {}) => ({
  assetId: `${OWNER}-asset:${n}`,
  id: `${n}`,
  taskId: `${OWNER}-task:t${n}`,
  filename: `Gen-3 Alpha ${n}, cats`,
  url: `https://cdn.example.test/${n}/main.mp4?Expires=9999999999&Signature=abc`,
  previewUrls: [`https://cdn.example.test/${n}/p.webp?sig=1`],
  fileSize: '12345678',
  isDirectory: false,
  deleted: false,
  metadata: { frameRate: 24, duration: 10, dimensions: [1280, 768], size: { width: 1280, height: 768 } },
  ...extra,
});

const task = (n: number, artifacts: unknown[] = [artifact(n)], extra: Record<string, unknown> = {}) => ({
  taskId: `${OWNER}-task:t${n}`,
  id: `t${n}`,
  taskType: 'gen3a_turbo',
  status: 'SUCCEEDED',
  createdAt: '2026-01-02T03:04:05.000Z',
  progressRatio: '1',
  artifacts,
  ...extra,
});

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('listTasks', () => {
  it('sends the Bearer token, offset, limit up to 1000, statuses comma-separated and email', async () => {
    const scope = nock(BASE, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .get('/v1/runwayml/tasks/')
      .query({ offset: '1000', limit: '1000', statuses: 'SUCCEEDED,FAILED', email: 'a@b.c' })
      .reply(200, [task(1)]);
    const page = await client().listTasks!({
      offset: 1000,
      limit: 1000,
      statuses: ['SUCCEEDED', 'FAILED'],
      email: 'a@b.c',
    });
    scope.done();
    expect(page.rawCount).toBe(1);
    expect(page.rawIds).toEqual([`${OWNER}-task:t1`]);
    const [first] = page.tasks[0]!.artifacts;
    expect(first).toMatchObject({
      kind: 'asset',
      asset: {
        assetId: `${OWNER}-asset:1`,
        source: 'tasks',
        taskId: `${OWNER}-task:t1`,
        mediaType: 'video',
        fileExt: 'mp4',
        fileSize: 12_345_678,
        name: 'Gen-3 Alpha 1, cats',
        width: 1280,
        height: 768,
        createdAt: '2026-01-02T03:04:05.000Z',
      },
    });
  });

  it('omits statuses and email when not given', async () => {
    nock(BASE).get('/v1/runwayml/tasks/?offset=0&limit=1').reply(200, []);
    const page = await client().listTasks!({ offset: 0, limit: 1 });
    expect(page).toEqual({ tasks: [], rawCount: 0, rawIds: [], skipped: [] });
  });

  it.each([
    [{ offset: -1, limit: 10 }, /`offset` to be an integer from 0 to 1000/],
    [{ offset: 1001, limit: 10 }, /`offset`/],
    [{ offset: 0.5, limit: 10 }, /`offset`/],
    [{ offset: 0, limit: 0 }, /`limit` to be an integer from 1 to 1000/],
    [{ offset: 0, limit: 1001 }, /`limit`/],
    [{ offset: 0, limit: 10, statuses: ['DONE'] }, /`statuses` to be a non-empty list of PENDING/],
    [{ offset: 0, limit: 10, statuses: [] }, /`statuses`/],
    [{ offset: 0, limit: 10, statuses: 'SUCCEEDED' }, /`statuses`/],
    [{ offset: 0, limit: 10, email: 'a b@c' }, /`email`/],
  ])('rejects %j before any request', async (params, message) => {
    // No interceptor: a request would fail with a nock "no match" error instead of UsageError.
    const error = await client().listTasks!(params as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  it('retries a 429 after Retry-After through the shared gate, then a 5xx, then answers', async () => {
    const gate = new RateGate();
    nock(BASE)
      .get('/v1/runwayml/tasks/')
      .query(true)
      .reply(429, { error: 'Too Many Requests', code: 429 }, { 'retry-after': '1' })
      .get('/v1/runwayml/tasks/')
      .query(true)
      .reply(503, 'down')
      .get('/v1/runwayml/tasks/')
      .query(true)
      .reply(200, [task(1)]);
    const retries: number[] = [];
    const c = client({ gate, maxRetryAfterMs: 50, onRetry: (r) => retries.push(r.delayMs) });
    const page = await c.listTasks!({ offset: 0, limit: 10 });
    expect(page.tasks).toHaveLength(1);
    // The 429's Retry-After (capped at 50 ms) was obeyed, not the backoff.
    expect(retries[0]).toBe(50);
    expect(c.requestCount).toBe(3);
  });

  it.each([
    [401, 'ERR_API_UNAUTHORIZED', /401 Unauthorized.*USEAPI_TOKEN/],
    [402, 'ERR_API_PAYMENT_REQUIRED', /subscription has expired/],
    [400, 'ERR_API_BAD_REQUEST', /rejected the request \(400\): Parameter limit \(0\) is out of valid range/],
  ])('%i is a typed error, not retried', async (status, code, message) => {
    nock(BASE)
      .get('/v1/runwayml/tasks/')
      .query(true)
      .once()
      .reply(status, { error: 'Parameter limit (0) is out of valid range 1…1000', code: status });
    const c = client();
    const error = (await c.listTasks!({ offset: 0, limit: 10 }).catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(c.requestCount).toBe(1);
  });

  it('an answer that is not a list is malformed', async () => {
    nock(BASE).get('/v1/runwayml/tasks/').query(true).reply(200, { tasks: [] });
    await expect(client({ retries: 0 }).listTasks!({ offset: 0, limit: 10 })).rejects.toBeInstanceOf(
      MalformedResponseError,
    );
  });

  it('skips a malformed task or artifact, keeps the rest of the page', async () => {
    nock(BASE)
      .get('/v1/runwayml/tasks/')
      .query(true)
      .reply(200, [
        task(1),
        'not a task',
        task(2, 'not a list' as never),
        task(3, [
          artifact(3, { url: undefined }),
          null,
          artifact(4),
          { filename: 'x', url: 'https://c/x.mp4' },
        ]),
        task(5, [], { status: 'FAILED' }),
      ]);
    const page = await client().listTasks!({ offset: 0, limit: 10 });
    expect(page.rawCount).toBe(5);
    expect(page.rawIds).toEqual([
      `${OWNER}-task:t1`,
      undefined,
      undefined,
      `${OWNER}-task:t3`,
      `${OWNER}-task:t5`,
    ]);
    expect(page.skipped).toEqual([
      { index: 1, assetId: undefined, reason: 'task is not an object' },
      {
        index: 2,
        assetId: undefined,
        reason: `task ${OWNER}-task:t2 has an artifacts field that is not a list`,
      },
    ]);
    expect(page.tasks.map((t) => t.taskId)).toEqual([
      `${OWNER}-task:t1`,
      `${OWNER}-task:t3`,
      `${OWNER}-task:t5`,
    ]);
    expect(page.tasks[1]!.artifacts.map((a) => (a.kind === 'skipped' ? a.reason : a.kind))).toEqual([
      'artifact has no usable url',
      'artifact is not an object',
      'asset',
      'artifact has no assetId',
    ]);
    expect(page.tasks[2]).toMatchObject({ status: 'FAILED', artifacts: [] });
  });
});

describe('getTask', () => {
  it('answers one task, its id encoded in the path', async () => {
    const id = `${OWNER}-task:t9`;
    nock(BASE)
      .get(`/v1/runwayml/tasks/${encodeURIComponent(id)}`)
      .query({ email: 'a@b.c' })
      .reply(200, task(9));
    const got = await client().getTask!(id, { email: 'a@b.c' });
    expect(got.taskId).toBe(id);
    expect(got.artifacts[0]).toMatchObject({ kind: 'asset', asset: { assetId: `${OWNER}-asset:9` } });
  });

  it('404 is ApiError ERR_API_NOT_FOUND; an empty id is refused before any request', async () => {
    nock(BASE).get('/v1/runwayml/tasks/nope').reply(404, { error: 'Not found.', code: 404 });
    await expect(client().getTask!('nope')).rejects.toMatchObject({ code: 'ERR_API_NOT_FOUND', status: 404 });
    await expect(client().getTask!(' ')).rejects.toBeInstanceOf(UsageError);
  });
});

describe('artifact parsing', () => {
  const context = { taskId: `${OWNER}-task:t1`, taskType: undefined, createdAt: undefined };

  it.each([
    ['12345678', 12_345_678],
    [' 42 ', 42],
    [1234, 1234],
    ['0', 0],
    ['12.5', undefined],
    ['-3', undefined],
    ['lots', undefined],
    [-1, undefined],
    [1.5, undefined],
    ['99999999999999999', undefined],
    [null, undefined],
  ])('fileSize %j reads as %j', (value, expected) => {
    expect(parseFileSize(value)).toBe(expected);
  });

  it('a filename without extension gets the URL extension, never a word after a dot in the name', () => {
    const result = parseArtifact(
      artifact(1, {
        filename: 'clip v2.final',
        url: 'https://cdn.example.test/1/main.MOV?x=1',
        metadata: undefined,
      }),
      context,
    );
    expect(result).toMatchObject({ kind: 'asset', asset: { name: 'clip v2.final', fileExt: 'mov' } });
  });

  it.each([
    ['the URL extension', { url: 'https://cdn.example.test/a/b.png?s=1' }, undefined, 'image', 'png'],
    ['fileExtStandardized when present', { fileExtStandardized: 'wav' }, undefined, 'audio', 'wav'],
    ['a mediaType that is there after all', { mediaType: 'audio' }, undefined, 'audio', 'mp4'],
    ['the task type (image model)', { url: 'https://c.test/x/file' }, 'gen4_image', 'image', 'png'],
    ['the task type (speech)', { url: 'https://c.test/x/file' }, 'text_to_speech', 'audio', 'mp3'],
    ['the task type (Gen-N)', { url: 'https://c.test/x/file' }, 'gen3a_turbo', 'video', 'mp4'],
    [
      'metadata with a frame rate',
      { url: 'https://c.test/x/file', metadata: { frameRate: 24, width: 1, height: 1 } },
      'mystery',
      'video',
      'mp4',
    ],
    [
      'metadata with a size and no duration (new flat shape)',
      { url: 'https://c.test/x/file', metadata: { width: 640, height: 480 } },
      undefined,
      'image',
      'png',
    ],
    [
      'metadata with a size and no duration (old shape)',
      {
        url: 'https://c.test/x/file',
        metadata: { dimensions: [640, 480], size: { width: 640, height: 480 } },
      },
      undefined,
      'image',
      'png',
    ],
    [
      'metadata with only a duration',
      { url: 'https://c.test/x/file', metadata: { duration: 3.5 } },
      undefined,
      'audio',
      'mp3',
    ],
    ['nothing at all', { url: 'https://c.test/x/file', metadata: {} }, 'mystery', undefined, undefined],
  ])('mediaType is inferred from %s', (_label, extra, taskType, mediaType, ext) => {
    const result = parseArtifact(artifact(1, extra), { ...context, taskType });
    expect(result.kind).toBe('asset');
    if (result.kind !== 'asset') return;
    expect(result.asset.mediaType).toBe(mediaType);
    expect(result.asset.fileExt).toBe(ext);
    expect(inferMediaType(result.asset.raw, result.asset.url, taskType)).toBe(mediaType);
  });

  it('deleted artifacts and directories are not assets, whatever else they carry or lack', () => {
    expect(parseArtifact(artifact(1, { deleted: true }), context)).toEqual({
      kind: 'deleted',
      assetId: `${OWNER}-asset:1`,
    });
    expect(parseArtifact({ assetId: 'd', isDirectory: true }, context)).toEqual({
      kind: 'directory',
      assetId: 'd',
    });
  });

  it('an artifact with only its id gets the key the assets listing uses, rebuilt from the task id', () => {
    const result = parseArtifact(artifact(7, { assetId: undefined, taskId: undefined }), context);
    expect(result).toMatchObject({
      kind: 'asset',
      asset: { assetId: `${OWNER}-asset:7`, taskId: context.taskId },
    });
  });

  it('a task needs nothing but to be an object; its createdAt stands in for the artifact', () => {
    const parsed = parseTask(
      { artifacts: [artifact(1, { createdAt: undefined })], createdAt: '2025-05-05' },
      0,
    );
    expect(parsed).toMatchObject({
      ok: true,
      task: { taskId: undefined, artifacts: [{ kind: 'asset', asset: { createdAt: '2025-05-05' } }] },
    });
    expect(parseTask({}, 0)).toMatchObject({ ok: true, task: { artifacts: [] } });
  });
});
