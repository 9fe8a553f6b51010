/**
 * Asset names: plausible ones shaped like Runway's ("Gen-3 Alpha 35801490234, funny cats jumping over.mp4"), and
 * a catalogue of hostile ones that a backup tool must turn into safe, unique paths.
 */
import type { MediaType } from '../types.js';
import { intBetween, pick } from './prng.js';

/**
 * Names that break naive path building, in the order they are handed out. `undefined` means the `name` field is
 * absent from the item; the two equal entries test that equal names do not overwrite each other.
 */
export const HOSTILE_NAMES: readonly (string | undefined)[] = [
  '../../etc/passwd',
  '/abs/path.mp4',
  'a\\b\\c.mp4',
  'C:evil.mp4',
  'name\u0000with nul',
  'ctrl\u0001\u001f\u007fchars.mp4',
  'CON',
  'nul.txt',
  'trailing dots...',
  'trailing spaces   ',
  `${'L'.repeat(296)}.mp4`,
  '🎬🐱'.repeat(60),
  '',
  undefined,
  'same name.mp4',
  'same name.mp4',
  '..',
  '.',
  'what?*<>|".mp4',
];

const PROMPTS = [
  'funny cats jumping over',
  'a lighthouse in a storm, cinematic',
  'slow dolly shot through a neon alley',
  'portrait of an astronaut, golden hour',
  'waves crashing on black sand',
  'café terrace at night, Van Gogh style',
  'drone shot over snowy mountains',
  'a robot learning to paint',
  '東京の夜景, timelapse',
  'macro shot of a dew drop on a leaf',
  'über-detailed clockwork city',
  'two dogs playing chess in the park',
];

const VIDEO_MODELS = ['Gen-3 Alpha', 'Gen-3 Alpha Turbo', 'Gen-4', 'Gen-4 Turbo', 'Act-One'];
const IMAGE_MODELS = ['Frames', 'Gen-4 Image', 'Text to Image'];
const AUDIO_MODELS = ['Text to Speech', 'Voice', 'Lip Sync'];

/** A Runway-like name for an asset of this type and extension. */
export function plausibleName(
  random: () => number,
  mediaType: MediaType,
  ext: string,
  upload: boolean,
): string {
  if (upload) {
    const stem = pick(random, ['IMG', 'clip', 'recording', 'export', 'Screen Recording']);
    return `${stem}_${intBetween(random, 1000, 9999)}.${ext}`;
  }
  const models = mediaType === 'video' ? VIDEO_MODELS : mediaType === 'image' ? IMAGE_MODELS : AUDIO_MODELS;
  const number = intBetween(random, 10_000_000_000, 99_999_999_999);
  return `${pick(random, models)} ${number}, ${pick(random, PROMPTS)}.${ext}`;
}
