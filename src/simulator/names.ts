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

/**
 * Prompts that try to run, load or break out of whatever shows them: a gallery or a terminal must show each as
 * the literal text it is. Handed out instead of `PROMPTS` with `hostilePrompts`.
 */
export const HOSTILE_PROMPTS: readonly string[] = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '</script><script>window.__pwned = "breakout"</script>',
  '<a href="javascript:window.__pwned = \'link\'">click me</a>',
  '<style>body { background: url(http://evil.example/beacon) }</style>',
  '<iframe src="http://evil.example/frame"></iframe>',
  '{{constructor.constructor("window.__pwned = 1")()}}',
  '\u001b]0;owned title\u0007 \u001b[31mred terminal',
  '<!-- comment --> & <![CDATA[ x ]]> \u2028 line separator',
  '"; window.__pwned = "quote"; //',
];

/** A model as Runway names it in an asset's name, and the `taskType` its tasks carry. */
export interface SimModel {
  readonly label: string;
  readonly taskType: string;
}

const VIDEO_MODELS: readonly SimModel[] = [
  { label: 'Gen-3 Alpha', taskType: 'gen3a' },
  { label: 'Gen-3 Alpha Turbo', taskType: 'gen3a_turbo' },
  { label: 'Gen-4', taskType: 'gen4' },
  { label: 'Gen-4 Turbo', taskType: 'gen4_turbo' },
  { label: 'Act-One', taskType: 'act_one' },
];
const IMAGE_MODELS: readonly SimModel[] = [
  { label: 'Frames', taskType: 'frames' },
  { label: 'Gen-4 Image', taskType: 'gen4_image' },
  { label: 'Text to Image', taskType: 'text_to_image' },
];
const AUDIO_MODELS: readonly SimModel[] = [
  { label: 'Text to Speech', taskType: 'text_to_speech' },
  { label: 'Voice Changer', taskType: 'voice_changer' },
  { label: 'Sound Effects', taskType: 'sound_effects' },
];

/** What a generation's name is made of: `<model> <seed>, <prompt>` (Runway's own naming). */
export interface GenerationParts {
  model: SimModel;
  seed: number;
  prompt: string;
}

/** The model, seed and prompt of a new generation of this type. */
export function generationParts(
  random: () => number,
  mediaType: MediaType,
  hostilePrompts: boolean,
): GenerationParts {
  const models = mediaType === 'video' ? VIDEO_MODELS : mediaType === 'image' ? IMAGE_MODELS : AUDIO_MODELS;
  const model = pick(random, models);
  const seed = intBetween(random, 10_000_000_000, 99_999_999_999);
  const prompt = pick(random, PROMPTS);
  // The same draws either way, so that a seed makes the same catalogue with or without hostile prompts.
  const hostile = HOSTILE_PROMPTS[PROMPTS.indexOf(prompt) % HOSTILE_PROMPTS.length] ?? prompt;
  return { model, seed, prompt: hostilePrompts ? hostile : prompt };
}

/** The name Runway gives a generation's output: `Gen-4 Turbo 35801490234, funny cats jumping over.mp4`. */
export function generationName(parts: GenerationParts, ext: string): string {
  return `${parts.model.label} ${parts.seed}, ${parts.prompt}.${ext}`;
}

/** A name for an upload of this extension: what a camera or a screen recorder calls a file. */
export function uploadName(random: () => number, ext: string): string {
  const stem = pick(random, ['IMG', 'clip', 'recording', 'export', 'Screen Recording']);
  return `${stem}_${intBetween(random, 1000, 9999)}.${ext}`;
}
