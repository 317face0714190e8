import { describe, expect, it } from 'vitest';
import { ChunkAssemblies, ChunkOffsetError } from '../src/proxy/chunks/assemblies.js';
import { beginsInsidePicture, judgeWholeFile } from '../src/proxy/chunks/whole-file.js';
import { memorySpoolFactory } from '../src/proxy/spool/spool-memory.js';

/** The assembly store on its own, with a clock the test moves (memory spools: the same interface as disk). */
function store(now: { t: number }, limits: Partial<ConstructorParameters<typeof ChunkAssemblies>[1]> = {}) {
  return new ChunkAssemblies(memorySpoolFactory(1024 * 1024), { maxUploadBytes: 1000, maxTotalBytes: 2500, maxAssemblies: 3, idleMs: 60_000, ...limits }, () => now.t);
}
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('chunk assemblies', () => {
  it('takes pieces only at the offset it has reached, and gives the whole file back once', async () => {
    const s = store({ t: 0 });
    const a = await s.start('owner', 10);
    expect(await s.append(a, 0, bytes(4, 1))).toBe(false);
    await expect(s.append(a, 8, bytes(2))).rejects.toBeInstanceOf(ChunkOffsetError);
    await expect(s.append(a, 0, bytes(4))).rejects.toMatchObject({ expected: 4 });
    expect(await s.append(a, 4, bytes(6, 2))).toBe(true);
    expect([...(await s.take(a))]).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    expect(s.count).toBe(0);
    await expect(s.take(a)).rejects.toThrow(/expired or was already finished/);
  });

  it('belongs to its owner and is unguessable', async () => {
    const s = store({ t: 0 });
    const a = await s.start('alice', 10);
    const b = await s.start('alice', 10);
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.id).not.toBe(b.id);
    expect(await s.find(a.id, 'alice')).toBe(a);
    expect(await s.find(a.id, 'bob')).toBeUndefined();
  });

  it('refuses more than it announced, files over the limit, and too much at once', async () => {
    const s = store({ t: 0 });
    const a = await s.start('o', 5);
    await expect(s.append(a, 0, bytes(6))).rejects.toThrow(/more than the size it announced/);
    await expect(s.start('o', 1001)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    await expect(s.start('o', 0)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await s.start('o', 1000);
    await s.start('o', 1000);
    await expect(s.start('o', 600)).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
  });

  it('drops an abandoned assembly after the idle time', async () => {
    const now = { t: 0 };
    const s = store(now);
    const a = await s.start('o', 10);
    await s.append(a, 0, bytes(5));
    now.t = 59_000;
    expect(await s.find(a.id, 'o')).toBeDefined();
    now.t = 59_000 + 60_001;
    expect(await s.find(a.id, 'o')).toBeUndefined();
    expect(s.count).toBe(0);
    await s.close();
  });
});

describe('judging a whole file', () => {
  const jpegHead = [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
  it('a picture is a picture; a file with a JPEG or PNG inside, or starting inside one, is refused', async () => {
    expect((await judgeWholeFile(Uint8Array.from([...jpegHead, 1, 2, 3]))).kind).toBe('picture');
    expect((await judgeWholeFile(Uint8Array.from([0x25, 0x50, 0x44, 0x46, 0, 0, ...jpegHead, 9]))).kind).toBe('refused');
    expect((await judgeWholeFile(Uint8Array.from([0, 0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).kind).toBe('refused');
    expect((await judgeWholeFile(Uint8Array.from([0xff, 0xdb, 0x00, 0x43, 0, 0]))).kind).toBe('refused');
    expect((await judgeWholeFile(new TextEncoder().encode('%PDF-1.7 plain text only'))).kind).toBe('other');
  });

  it('the start of a JPEG segment counts as inside a picture; MP3 and AAC frame starts do not', () => {
    expect(beginsInsidePicture(Uint8Array.from([0xff, 0xc4, 0x00, 0x1f]))).toBe(true);
    expect(beginsInsidePicture(Uint8Array.from([0xff, 0xe1, 0x12, 0x34]))).toBe(true);
    expect(beginsInsidePicture(Uint8Array.from([0xff, 0xfb, 0x90, 0x64]))).toBe(false);
    expect(beginsInsidePicture(Uint8Array.from([0xff, 0xf1, 0x50, 0x80]))).toBe(false);
    expect(beginsInsidePicture(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]))).toBe(false);
  });
});
