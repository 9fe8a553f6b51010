// The simulator tells one story: an asset's name is what Runway calls it, its task's options agree with the name
// and the metadata, uploads have no task, folders and favourites vary, older tasks lie beyond the 2,000-task
// window, and DELETE removes an asset as useapi.net documents it.
import { describe, expect, it } from 'vitest';
import { HOSTILE_PROMPTS } from '../src/simulator/index.js';
import { sim } from './helpers/sim.js';

async function api(
  base: string,
  path: string,
  init: { method?: string; token?: string } = {},
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: init.token === '' ? {} : { authorization: `Bearer ${init.token ?? 'sim-token'}` },
  });
  return { status: response.status, json: await response.json() };
}

type RawTask = { taskId: string; taskType: string; name: string; options: Record<string, unknown> };

describe('simulator story', () => {
  it("names every generation `<model> <seed>, <prompt>.<ext>` and its task's options agree", async () => {
    const s = await sim({ assets: 200, seed: 3 });
    const listed = (await api(s.url, '/v1/runwayml/assets/?offset=0&limit=50')).json as Record<
      string,
      unknown
    >[];
    const generated = s.assets().filter((a) => s.rawAsset(a.assetId)?.taskId);
    const uploads = s.assets().filter((a) => !s.rawAsset(a.assetId)?.taskId);
    expect(generated.length).toBeGreaterThan(100);
    expect(uploads.length).toBeGreaterThan(5);
    for (const upload of uploads) expect(s.rawAsset(upload.assetId)?.isUserUpload).toBe(true);
    let videosChecked = 0;
    for (const asset of generated) {
      const raw = s.rawAsset(asset.assetId);
      const task = s.rawTask(String(raw?.taskId)) as RawTask;
      const o = task.options;
      expect(asset.name).toBe(`${task.name}.${raw?.fileExtStandardized}`);
      expect(task.name).toMatch(/^[A-Z][\w -]+ \d{11}, .+$/);
      expect(task.name).toContain(`${o.seed}, ${o.text_prompt}`);
      expect(raw?.isUserUpload).toBe(false);
      const meta = (raw?.metadata ?? {}) as {
        width?: number;
        height?: number;
        duration?: number;
        size?: { width: number; height: number };
      };
      if (asset.mediaType === 'video') {
        videosChecked++;
        expect(o.seconds).toBe(Math.round(Number(meta.duration)));
        expect(o.resolution).toBe(`${meta.width ?? meta.size?.width}:${meta.height ?? meta.size?.height}`);
        expect(task.taskType).toMatch(/^(gen3a|gen3a_turbo|gen4|gen4_turbo|act_one)$/);
      }
    }
    expect(videosChecked).toBeGreaterThan(50);
    // The folder named in a task is the folder its outputs are in; some are in the root, some in folders.
    const folders = new Set(generated.map((a) => s.rawAsset(a.assetId)?.parentAssetGroupId));
    expect(folders.size).toBeGreaterThan(1);
    const named = generated.filter(
      (a) => (s.rawTask(String(s.rawAsset(a.assetId)?.taskId)) as RawTask).options.assetGroupName,
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.length).toBeLessThan(generated.length);
    const favourites = listed.filter((a) => a.favorite === true).length;
    expect(favourites).toBeLessThan(listed.length);
    expect(s.assets().some((a) => s.rawAsset(a.assetId)?.favorite === true)).toBe(true);
    // A video made from an image carries that image's signed URL, as a real task does.
    const fromImage = generated
      .map((a) => s.rawTask(String(s.rawAsset(a.assetId)?.taskId)) as RawTask)
      .find((t) => typeof t.options.init_image === 'string');
    expect(String(fromImage?.options.init_image)).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/cdn\/[0-9a-f-]+\/main-0\.\w+\?.+/,
    );
  });

  it('hands out hostile prompts in the names and the tasks alike', async () => {
    const s = await sim({ assets: 60, hostilePrompts: true });
    const generated = s.assets().filter((a) => s.rawAsset(a.assetId)?.taskId);
    const prompts = new Set(
      generated.map((a) => (s.rawTask(String(s.rawAsset(a.assetId)?.taskId)) as RawTask).options.text_prompt),
    );
    for (const prompt of prompts) expect(HOSTILE_PROMPTS).toContain(prompt);
    expect(prompts.size).toBeGreaterThan(3);
    for (const asset of generated) expect(HOSTILE_PROMPTS.some((p) => asset.name?.includes(p))).toBe(true);
  });

  it('puts older generations beyond the 2,000-task window with discarded takes, still readable by id', async () => {
    const s = await sim({ assets: 300, discardedTakes: 8, seed: 5 });
    const tasks = s.tasks();
    expect(tasks.length).toBeGreaterThan(2000);
    const listed = (await api(s.url, '/v1/runwayml/tasks/?offset=1000&limit=1000&statuses=SUCCEEDED'))
      .json as RawTask[];
    expect(listed).toHaveLength(1000);
    const inWindow = new Set<string>();
    for (const offset of [0, 1000]) {
      const page = (await api(s.url, `/v1/runwayml/tasks/?offset=${offset}&limit=1000&statuses=SUCCEEDED`))
        .json as RawTask[];
      for (const task of page) inWindow.add(task.taskId);
    }
    const beyond = s
      .assets()
      .map((a) => s.rawAsset(a.assetId)?.taskId as string | null)
      .filter((id): id is string => typeof id === 'string' && !inWindow.has(id));
    expect(beyond.length).toBeGreaterThan(10);
    const one = await api(s.url, `/v1/runwayml/tasks/${encodeURIComponent(beyond[0] as string)}`);
    expect(one.status).toBe(200);
    expect((one.json as RawTask).taskId).toBe(beyond[0]);
    // A discarded take lists its only artifact as deleted, with the same prompt as the kept one and another seed.
    const take = tasks.find((t) => t.artifacts.length === 1 && t.artifacts[0]?.deleted);
    expect(take).toBeDefined();
  });

  it('DELETE /assets/{assetId} deletes as useapi.net does: success, then 404, listed deleted by its task', async () => {
    const s = await sim({ assets: 30 });
    const victim = s.assets().find((a) => s.rawAsset(a.assetId)?.taskId);
    if (!victim) throw new Error('no generated asset');
    const taskId = String(s.rawAsset(victim.assetId)?.taskId);
    const path = `/v1/runwayml/assets/${encodeURIComponent(victim.assetId)}`;
    expect((await api(s.url, path, { method: 'DELETE', token: '' })).status).toBe(401);
    expect(s.asset(victim.assetId)).toBeDefined();
    const deleted = await api(s.url, path, { method: 'DELETE' });
    expect(deleted).toEqual({ status: 200, json: { success: true } });
    expect(s.stats.deleteRequests).toBe(2);
    expect((await api(s.url, path)).status).toBe(404);
    expect((await api(s.url, path, { method: 'DELETE' })).status).toBe(404);
    const all = (await api(s.url, '/v1/runwayml/assets/?offset=0&limit=50')).json as { assetId: string }[];
    expect(all.map((a) => a.assetId)).not.toContain(victim.assetId);
    const task = (await api(s.url, `/v1/runwayml/tasks/${encodeURIComponent(taskId)}`)).json as {
      artifacts: { assetId: string; deleted: boolean }[];
    };
    expect(task.artifacts.find((a) => a.assetId === victim.assetId)?.deleted).toBe(true);
    expect(s.assets()).toHaveLength(29);
  });
});
