import { type TestServer, withServer } from './server.js';

/**
 * An assets API in endless drift: every page answers 50 items never seen before, so no page shows the anchor of
 * the page before and every page sets off a re-read. A walk of it can only end by its request budget.
 */
export function driftingServer(): Promise<TestServer> {
  let next = 0;
  return withServer((_req, res) => {
    const items = Array.from({ length: 50 }, () => {
      const n = String(next++).padStart(12, '0');
      return {
        assetId: `user:1-runwayml:a@b.c-asset:${n.slice(0, 8)}-aaaa-bbbb-cccc-${n}`,
        url: `http://127.0.0.1:9/cdn/${n}.mp4`,
        mediaType: 'video',
        name: `clip ${n}`,
        createdAt: '2026-11-01T00:00:00.000Z',
        fileSize: 5,
      };
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items));
  });
}
