/**
 * First Ctrl-C: abort (the backup stops taking work, flushes its manifest, keeps .part files). Second: leave at
 * once with 130. Returns a function that removes the handlers.
 */
export function onInterrupt(controller: AbortController, say: (line: string) => void): () => void {
  let count = 0;
  const handler = (): void => {
    count++;
    if (count === 1) {
      say(
        'interrupted: finishing the manifest (Ctrl-C again to quit at once; .part files are kept for resume)',
      );
      controller.abort();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
